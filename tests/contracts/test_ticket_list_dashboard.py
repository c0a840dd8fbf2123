"""The ticket list's dashboard queries (issue 18): open counts, the clocks breached in a span,
the daily flow, on memory, SQLite and PostgreSQL, against the tickets themselves.

The scenario is test_ticket_list_sla's (2026-11-23, a Monday, Shanghai): eight tickets
reported that morning, in every SLA situation. The law: a ticket is listed as breached in
``[start, now]`` exactly when its own SLA status at ``now`` (``SlaClocks.status`` on the
aggregate) has a breached clock whose due lies in that span (invalid tickets never).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from adapters.stores.views_file import SUFFIX
from application import queues
from application.commands.tickets import Assign
from application.dashboard import dashboard
from projections.ticket_list.projection import breached_clocks
from projections.base import stamp
from tests.contracts.test_ticket_list_sla import Desk, at, scenario
from tests.support.sla import P2, SH


@pytest.fixture
def desk(store_url: str) -> Iterator[Desk]:
    d = Desk(store_url)
    scenario(d)
    d.sync()
    yield d
    d.services.close()


def expected_breaches(d: Desk, start: datetime, now: datetime) -> set[str]:
    found = set()
    for name, ref in d.ids.items():
        ticket = d.desk.get_ticket(ref)
        status = d.desk.sla.status(ticket, now)
        if status is None or ticket.status.value == "invalid":
            continue
        for state, due in ((status.response_state, status.response_due),
                           (status.resolution_state, status.resolution_due)):
            if state == "breached" and start <= due <= now:
                found.add(name)
    return found


SPANS = [(at(0, 0), at(10, 45)), (at(0, 0), at(11, 40)), (at(0, 0), at(12, 0)),
         (at(12, 30), at(14, 30)), (at(0, 0), at(14, 30)), (at(0, 0, day=24), at(10, 0, day=24))]


@pytest.mark.parametrize("span", SPANS, ids=[f"{a:%dT%H%M}-{b:%dT%H%M}" for a, b in SPANS])
def test_breached_lists_the_tickets_whose_clock_breached_in_the_span(desk: Desk, span):
    start, now = span
    count, rows = desk.services.tickets.breached(start, now, limit=100)
    names = {r["title"] for r in rows}
    assert names == expected_breaches(desk, start, now)
    assert count == len(names)
    for r in rows:  # the memory twin's rule says the same of every listed row
        assert breached_clocks(r, stamp(start), stamp(now))  # type: ignore[arg-type]


def test_breached_today_names_each_kind_and_the_limit_keeps_the_count(desk: Desk):
    now = at(14, 30)
    count, rows = desk.services.tickets.breached(at(0, 0), now, limit=2)
    # running past both dues, stopped late (response), running past the resolution due, and
    # rejected (its resolution clock runs again); not: met, paused in time, invalid, no SLA
    assert count == 4
    assert [r["title"] for r in rows] == ["untouched-P1", "responded-P1"]  # P1s, oldest first
    clocks = {r["title"]: breached_clocks(r, stamp(at(0, 0)), stamp(now))
              for r in desk.services.tickets.breached(at(0, 0), now, limit=10)[1]}
    assert clocks == {"untouched-P1": ("response", "resolution"),
                      "responded-P1": ("resolution",),
                      "late-P1": ("response", "resolution"),
                      "rejected-P1": ("resolution",)}


def test_open_counts_and_flow_add_up_to_the_backlog(desk: Desk):
    counts = desk.services.tickets.open_counts()
    by = {(c.status, c.priority, c.assignee, c.group): c.tickets for c in counts}
    assert by == {("classified", "P1", None, None): 1, ("in_progress", "P1", "eng-wang", None): 1,
                  ("assigned", "P1", "eng-wang", None): 1, ("in_progress", "P1", "eng-li", None): 1,
                  ("waiting_customer", "P3", "eng-li", None): 1,
                  ("registered", None, None, None): 1}
    midnights = [datetime(2026, 11, 22 + i, tzinfo=SH) for i in range(4)]
    flow = desk.services.tickets.flow(midnights)
    assert [(f.opened, f.resolved, f.invalidated) for f in flow] == [(0, 0, 0), (8, 1, 1),
                                                                     (0, 0, 0)]
    assert [(f.start, f.end) for f in flow] == list(zip(midnights, midnights[1:]))
    assert desk.services.tickets.flow(midnights[:1]) == []


def test_the_dashboard_reads_them_in_the_local_day(desk: Desk):
    d = dashboard(desk.services, at(14, 30), SH, days=3)
    assert (d.open, d.unresolved, d.unassigned) == (6, 6, 2)
    assert [(p.priority, p.open) for p in d.by_priority] == [
        ("P1", 4), ("P2", 0), ("P3", 1), ("P4", 0), (None, 1)]
    assert [(x.assignee, x.open, x.by_priority) for x in d.load] == [
        ("eng-li", 2, {"P1": 1, "P3": 1}), ("eng-wang", 2, {"P1": 2})]
    assert d.breach_count == 4 and {b.number for b in d.breaches} == {
        r["number"] for r in desk.services.tickets.breached(at(0, 0), at(14, 30))[1]}
    late = next(b for b in d.breaches if b.title == "late-P1")
    assert late.dues == {"response": stamp(at(11, 30)), "resolution": stamp(at(13, 30))}
    # 8 reported, 1 resolved, 1 invalidated on the 23rd: none unresolved the day before
    assert [(x.day.day, x.opened, x.resolved, x.invalidated, x.backlog) for x in d.trend] == [
        (21, 0, 0, 0, 0), (22, 0, 0, 0, 0), (23, 8, 1, 1, 6)]
    # the next morning nothing has breached yet "today"
    tomorrow = dashboard(desk.services, at(8, 0, day=24), SH, days=14)
    assert tomorrow.breach_count == 0 and len(tomorrow.trend) == 14
    assert tomorrow.trend[-2].backlog == tomorrow.trend[-1].backlog == 6


def test_unassigned_is_the_unassigned_queue_and_a_group_alone_is_no_ones_load(desk: Desk):
    desk.register("group-only-P2", at(10, 0), **P2)
    desk.do("group-only-P2", Assign, at(10, 5), group="desktop")
    desk.sync()
    d = dashboard(desk.services, at(14, 30), SH)
    queue = desk.services.tickets.query(
        queues.base_query(queues.UNASSIGNED, user="x", limit=100)).rows  # type: ignore[arg-type]
    assert d.unassigned == len(queue) == 2
    assert (d.open, sum(x.open for x in d.load)) == (7, 4)  # the group's ticket: open, no one's
    assert d.by_priority[1].open == 1  # P2


def test_sqlite_answers_them_from_indexes(store_kind: str, store_url: str, desk: Desk):
    if store_kind != "sqlite":
        pytest.skip("the query plan is SQLite's")
    path = store_url.removeprefix("sqlite:///") + SUFFIX  # the read models' file (ADR 0073)
    con = sqlite3.connect(path)
    view = desk.services.tickets
    statements: list[tuple[str, list]] = []

    class Spy:
        def __init__(self, cur):
            self.cur = cur

        def execute(self, sql, params=()):
            statements.append((sql, list(params)))
            return self.cur.execute(sql, params)

        def __getattr__(self, name):
            return getattr(self.cur, name)

    read = view.store.read

    class Reading:
        def __enter__(self):
            self.inner = read()
            return Spy(self.inner.__enter__())

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    view.store.read = Reading  # type: ignore[method-assign]
    try:
        view.breached(at(0, 0), at(14, 30))
        view.flow([at(0, 0) + timedelta(days=i) for i in range(3)])
        view.open_counts()
    finally:
        view.store.read = read  # type: ignore[method-assign]
    plans = "\n".join(" ".join(str(x) for x in row) for sql, params in statements
                      for row in con.execute("EXPLAIN QUERY PLAN " + sql, params))
    con.close()
    for index in ("ticket_list_response_late", "ticket_list_resolution_late",
                  "ticket_list_reported_at", "ticket_list_resolved_at", "ticket_list_open"):
        assert index in plans, plans
    assert "SCAN ticket_list" not in plans.replace("SCAN ticket_list USING", ""), plans
    assert "ticket_list_status" not in plans, plans  # every invalid ticket, once per day
    assert "COVERING INDEX ticket_list_open" in plans and "TEMP B-TREE FOR GROUP BY" not in plans
