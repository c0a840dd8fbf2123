"""The ticket list's SLA columns, ``sla_state`` filter, ``breaching`` order and compliance
counts (ADR 0017) on memory, SQLite and PostgreSQL, driven through the real desk, SLA clocks
and watcher with a controlled clock.

The consistency law: for every ticket and several times, the state the list computes from
its row (``sla_state_at``, and the SQL filter) is the ticket view's ``sla.state``
(``SlaClocks.status`` on the aggregate).

Default policy on china-5x8 (Mon-Fri 09:00-18:00): P1 2 h / 4 h, P2 4 h / 24 h, P3 8 h /
3 working days; warnings at 50 % and 75 %. 2026-11-23 is a Monday.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from adapters.container import Services, build
from adapters.settings import Settings
from application.commands.tickets import (
    Assign,
    AwaitCustomer,
    Confirm,
    Invalidate,
    RegisterTicket,
    Resolve,
    Start,
)
from application.ports import FixedClock
from application.sla_compliance import compliance
from domain.ticket import Contact
from projections.ticket_list import projection
from projections.ticket_list.projection import SLA_STATES, sla_state_at, stamp
from projections.ticket_list.view import TicketQuery
from tests.support.sla import P1, P2, P3, SH

OPEN = tuple(s.value for s in projection.OPEN_STATUSES)


def at(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


class Desk:
    def __init__(self, url: str) -> None:
        self.clock = FixedClock(at(9, 0))
        self.services: Services = build(Settings(database_url=url), clock=self.clock)
        self.services.desk.notifier = _Quiet()
        self.ids: dict[str, str] = {}

    @property
    def desk(self) -> Any:
        return self.services.desk

    def when(self, t: datetime) -> Desk:
        self.clock.set(t)
        return self

    def register(self, name: str, reported: datetime, customer: str = "客户A", **fields: Any) -> None:
        self.when(reported)
        self.ids[name] = str(self.desk.handle(RegisterTicket(customer=customer,
                                                             contact=Contact("李四"),
                                                             channel="phone", title=name,
                                                             reported_at=reported, **fields),
                                              actor="agent").ticket.id)

    def do(self, name: str, command: type, t: datetime, **kw: Any) -> None:
        self.when(t)
        self.desk.handle(command(ref=self.ids[name], **kw), actor="eng")

    def sync(self) -> None:
        self.services.runner.catch_up(self.services.tickets)

    def rows(self) -> dict[str, dict[str, Any]]:
        self.sync()
        rows = self.services.tickets.query(TicketQuery(limit=10_000)).rows
        return {r["title"]: dict(r) for r in rows}

    def view_state(self, name: str, now: datetime) -> str | None:
        ticket = self.desk.get_ticket(self.ids[name])
        status = self.desk.sla.status(ticket, now)
        return None if status is None else status.state

    def filtered(self, states: tuple[str, ...], now: datetime, **q: Any) -> list[str]:
        query = TicketQuery(sla_states=states, now=stamp(now), limit=10_000, **q)
        return [r["title"] for r in self.services.tickets.query(query).rows]


class _Quiet:
    def notify(self, notice: Any) -> None:
        pass


RESOLVE = dict(resolution="重启 ERP 应用服务器并清理会话表", root_cause="会话表写满")
CONFIRM = dict(signer="客户", items=("ERP",), criteria=("可登录",), passed=True)


def scenario(d: Desk) -> None:
    """A mix: untouched, responded, late response, paused, met and closed, rejected,
    invalid, unclassified; two customers."""
    d.register("untouched-P1", at(10), **P1)  # response due 12:00, resolution 14:00
    d.register("responded-P1", at(10), customer="客户B", **P1)
    d.do("responded-P1", Assign, at(10, 30), assignee="eng-wang")
    d.do("responded-P1", Start, at(10, 31))
    d.register("late-P1", at(9, 30), **P1)  # response due 11:30
    d.register("paused-P3", at(10), customer="客户B", **P3)
    d.do("paused-P3", Assign, at(10, 5), assignee="eng-li")
    d.do("paused-P3", Start, at(10, 6))
    d.do("paused-P3", AwaitCustomer, at(10, 40), reason="需要截图")
    d.register("closed-P2", at(10), **P2)
    d.do("closed-P2", Assign, at(10, 10), assignee="eng-wang")
    d.do("closed-P2", Start, at(10, 11))
    d.do("closed-P2", Resolve, at(11), **RESOLVE)
    d.do("closed-P2", Confirm, at(11, 5), **CONFIRM)
    d.register("rejected-P1", at(10), **P1)
    d.do("rejected-P1", Assign, at(10, 15), assignee="eng-li")
    d.do("rejected-P1", Start, at(10, 16))
    d.do("rejected-P1", Resolve, at(10, 50), **RESOLVE)
    d.register("invalid-P2", at(10), customer="客户B", **P2)
    d.do("invalid-P2", Invalidate, at(10, 20), reason="重复报障")
    d.register("unclassified", at(10))
    d.do("late-P1", Assign, at(11, 45), assignee="eng-wang")  # 15 min late
    d.do("rejected-P1", Confirm, at(11, 10), **{**CONFIRM, "passed": False,
                                                  "unmet_items": ("ERP",)})


@pytest.fixture
def desk(store_url: str) -> Iterator[Desk]:
    d = Desk(store_url)
    scenario(d)
    yield d
    d.services.close()


TIMES = [at(10, 45), at(11, 0), at(11, 10), at(11, 40), at(12, 0), at(13, 0), at(14, 30),
         at(10, 0, day=24)]


def test_rows_carry_the_deadlines_stops_pause_and_escalation(desk: Desk):
    rows = desk.rows()
    r = rows["responded-P1"]
    assert (r["response_due"], r["resolution_due"]) == (stamp(at(12)), stamp(at(14)))
    assert r["responded_at"] == stamp(at(10, 30)) and r["resolved_at"] is None
    assert r["response_warn_at"] == stamp(at(11)) and r["resolution_warn_at"] == stamp(at(12))
    assert r["sla_next_due"] == stamp(at(14))  # the response clock has stopped
    p = rows["paused-P3"]
    assert (p["paused_since"], p["status"]) == (stamp(at(10, 40)), "waiting_customer")
    c = rows["closed-P2"]
    assert (c["resolved_at"], c["status"]) == (stamp(at(11)), "closed")
    assert rows["rejected-P1"]["resolved_at"] is None  # the resolution clock runs again
    assert rows["invalid-P2"]["resolved_at"] == stamp(at(10, 20))
    u = rows["unclassified"]
    assert (u["response_due"], u["sla_state"], u["sla_next_due"]) == (None, None, None)
    assert rows["untouched-P1"]["sla_state"] == "ok"  # nothing recorded by the watcher yet
    assert set(r) == set(projection.COLUMNS)


def test_the_recorded_state_and_escalation_follow_the_watchers_events(desk: Desk):
    desk.when(at(11, 10)).services.watcher.tick()
    assert desk.rows()["untouched-P1"]["sla_state"] == "warning"
    desk.when(at(12, 1)).services.watcher.tick()
    r = desk.rows()["untouched-P1"]
    assert (r["sla_state"], r["escalation_level"], r["priority"]) == ("breached", 1, "P1")
    # Recorded state follows events only: a later warning never takes a breach back.
    desk.when(at(13, 1)).services.watcher.tick()
    assert desk.rows()["untouched-P1"]["sla_state"] == "breached"


@pytest.mark.parametrize("tick", [False, True])
def test_the_list_state_and_filter_agree_with_the_ticket_view_at_every_time(desk: Desk, tick: bool):
    for now in TIMES:
        if tick:  # the watcher's events (warnings, breaches, escalations) change nothing here
            desk.when(now).services.watcher.tick()
        rows = desk.rows()
        expected = {name: desk.view_state(name, now) for name in desk.ids}
        got = {name: sla_state_at(rows[name], stamp(now)) for name in desk.ids}  # type: ignore[arg-type]
        assert got == expected, now
        for state in SLA_STATES:
            want = sorted(n for n, s in expected.items() if s == state)
            assert sorted(desk.filtered((state,), now)) == want, (now, state)
        both = sorted(n for n, s in expected.items() if s in ("warning", "breached"))
        assert sorted(desk.filtered(("warning", "breached"), now)) == both


def test_the_states_seen_include_each_kind(desk: Desk):
    seen = {desk.view_state(n, t) for n in desk.ids for t in TIMES}
    assert seen >= {"ok", "warning", "breached", "met", None}


def test_breaching_order_is_the_earliest_running_due_then_paging_returns_each_once(desk: Desk):
    now = at(11, 40)
    desk.sync()
    q = TicketQuery(statuses=OPEN, sla_states=("warning", "breached"), now=stamp(now),
                    order="breaching", limit=10_000)
    rows = list(desk.services.tickets.query(q).rows)
    names = [r["title"] for r in rows]
    # At 11:40: untouched-P1 warns (response due 12:00, 50 % at 11:00); late-P1 responded
    # late (11:45 > 11:30: breached), its running clock is the resolution (due 13:30).
    # responded-P1 and rejected-P1 are ok, paused-P3 stands at 10:40 (ok), closed-P2 is
    # closed, invalid-P2 invalid: none of them is listed.
    assert names == ["untouched-P1", "late-P1"]
    assert [r["sla_next_due"] for r in rows] == [stamp(at(12)), stamp(at(13, 30))]
    expected = {n for n in desk.ids if desk.view_state(n, now) in ("warning", "breached")}
    assert set(names) == expected - {"invalid-P2", "closed-P2"}
    for limit in (1, 2):
        seen: list[str] = []
        page = desk.services.tickets.query(replace(q, limit=limit))
        while True:
            seen += [r["title"] for r in page.rows]
            if page.next_cursor is None:
                break
            page = desk.services.tickets.query(replace(q, limit=limit, after=int(page.next_cursor)))
        assert seen == names


def test_compliance_counts_met_missed_and_leaves_out_pending_clocks(desk: Desk):
    desk.sync()
    report = compliance(desk.services, at(0), at(0, day=24), at(12, 30))
    # At 12:30: counted tickets (deadlines, not invalid): untouched-P1, responded-P1, late-P1,
    # paused-P3, closed-P2, rejected-P1 = 6 (invalid-P2 and unclassified are left out).
    # response: met responded-P1, paused-P3, closed-P2, rejected-P1; missed late-P1 (11:45 >
    #   11:30) and untouched-P1 (running, due 12:00 passed).
    # resolution: met closed-P2 (11:00 ≤ 14:00); everything else still running, not yet due.
    t = report.total
    assert (t.tickets, t.response_met, t.response_missed) == (6, 4, 2)
    assert (t.resolution_met, t.resolution_missed) == (1, 0)
    assert (t.response_met_pct, t.resolution_met_pct) == (66.67, 100.0)
    p1 = report.by_priority["P1"]
    assert (p1.tickets, p1.response_met, p1.response_missed, p1.resolution_met_pct) == (
        4, 2, 2, None)
    b = report.by_customer["客户B"]
    assert (b.tickets, b.response_met, b.response_missed, b.response_met_pct) == (2, 2, 0, 100.0)
    # Next day: the P1 resolutions that still run are missed; the paused P3 is not (paused).
    later = compliance(desk.services, at(0), at(0, day=24), at(10, day=24))
    assert (later.total.resolution_met, later.total.resolution_missed) == (1, 4)
    # A period without tickets.
    empty = compliance(desk.services, at(0, day=25), at(0, day=26), at(10, day=24))
    assert (empty.total.tickets, empty.by_priority, empty.by_customer) == (0, {}, {})


def test_a_version_1_table_on_sqlite_is_replaced_by_the_new_shape_and_rebuilt(tmp_path):
    import sqlite3

    from projections.sql import Tracking
    from projections.ticket_list.sqlite import sqlite_ticket_list

    path = tmp_path / "v1.sqlite3"
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE {Tracking.TABLE} (name TEXT PRIMARY KEY, position BIGINT NOT NULL, "
                "version INTEGER NOT NULL)")
    con.execute(f"INSERT INTO {Tracking.TABLE} VALUES ('ticket_list', 42, 1)")
    con.execute("CREATE TABLE ticket_list (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, "
                "number TEXT NOT NULL, status TEXT NOT NULL, version INTEGER NOT NULL)")
    con.execute("INSERT INTO ticket_list VALUES ('x', 1, 'SR-1', 'registered', 1)")
    con.commit()
    con.close()
    view = sqlite_ticket_list(str(path))
    try:
        assert view.position() == 0
        assert view.query(TicketQuery()).rows == []
        cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(ticket_list)")]
        assert cols == list(projection.COLUMNS)
    finally:
        view.close()
