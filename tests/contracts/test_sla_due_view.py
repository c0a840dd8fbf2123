"""The SLA due index contract (ADR 0016), run against the memory, SQLite and PostgreSQL views.

Events come from a real desk (in memory, FixedClock): ``apply`` moves rows and position
together, refuses a batch that does not start at the position, and gives the same rows in
one batch or many; ``due(now)`` returns the clocks whose next check is at or before ``now``,
earliest first; stopped, paused and fully recorded clocks have no next check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from adapters.calendars.holidays import ChinaHolidaySource
from adapters.stores.persistence import sla_due_view
from application.commands.tickets import (
    Assign,
    AwaitCustomer,
    Invalidate,
    RecordSlaEvents,
    RegisterTicket,
    Resolve,
    Start,
)
from application.desk import ServiceDesk
from application.ports import FixedClock
from application.sla_clocks import SLA_ACTOR, SlaClocks
from domain.ticket import Contact
from projections.base import Positioned
from projections.sla_due.projection import stamp
from projections.sla_due.view import SlaDueView
from tests.fixtures_stores import (
    apply_in_batches,
    assert_replays_change_nothing,
    open_view_fixture,
)
from tests.support.sla import P1, local


@dataclass
class Log:
    events: list[Positioned]
    head: int
    ids: dict[str, str]


@pytest.fixture(scope="module")
def log() -> Log:
    clock = FixedClock(local(2026, 11, 23, 10, 30))
    desk = ServiceDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    desk.sla = SlaClocks(desk, ChinaHolidaySource())

    def reg(minute: int) -> str:
        return str(desk.handle(RegisterTicket(customer="C", contact=Contact("n"), channel="web",
                                              title="t",
                                              reported_at=local(2026, 11, 23, 10, minute), **P1),
                               actor="a").ticket.id)

    ids = {"plain": reg(0), "responded": reg(5), "paused": reg(10), "warned": reg(15),
           "closed": reg(20)}
    clock.set(local(2026, 11, 23, 10, 45))
    for name in ("responded", "paused", "closed"):
        desk.handle(Assign(ref=ids[name], assignee="e"), actor="l")
    desk.handle(Start(ref=ids["paused"]), actor="e")
    desk.handle(AwaitCustomer(ref=ids["paused"], reason="r"), actor="e")
    desk.handle(Invalidate(ref=reg(25), reason="dup"), actor="l")
    clock.set(local(2026, 11, 23, 11, 20))
    desk.handle(RecordSlaEvents(ref=ids["warned"]), actor=SLA_ACTOR)  # response 50 % (11:15)
    clock.set(local(2026, 11, 23, 11, 50))
    desk.handle(Start(ref=ids["closed"]), actor="e")
    desk.handle(Resolve(ref=ids["closed"], resolution="重启服务器并清理会话表", root_cause="满"),
                actor="e")
    events = [Positioned(n.id, e) for n, e in desk.read_log(0, 10_000)]
    return Log(events, events[-1].position, ids)


open_view = open_view_fixture(sla_due_view)


def snapshot(view: SlaDueView, log: Log) -> dict[str, Any]:
    return {(n, c): view.get(t, c) for n, t in log.ids.items() for c in ("response", "resolution")}


def test_rows_and_next_checks(open_view, log):
    view = open_view()
    view.apply(log.events, start=0, end=log.head)
    assert view.position() == log.head
    ids = log.ids
    row = view.get(ids["plain"], "response")
    assert row is not None and row["next_check_at"] == stamp(local(2026, 11, 23, 11, 0))
    assert view.get(ids["plain"], "resolution")["next_check_at"] == stamp(local(2026, 11, 23, 12))
    assert view.get(ids["responded"], "response")["next_check_at"] is None  # stopped
    assert view.get(ids["responded"], "resolution")["next_check_at"] is not None
    assert view.get(ids["paused"], "resolution")["next_check_at"] is None  # paused
    assert view.get(ids["closed"], "resolution")["next_check_at"] is None  # resolved
    # "warned" (reported 10:15): 50 % (11:15) recorded, next is 75 % at 11:45
    assert view.get(ids["warned"], "response")["next_check_at"] == stamp(
        local(2026, 11, 23, 11, 45))

    due = view.due(local(2026, 11, 23, 12, 0))
    assert [d.next_check_at for d in due] == sorted(d.next_check_at for d in due)
    got = {(d.ticket_id, d.clock) for d in due}
    assert (ids["plain"], "response") in got and (ids["warned"], "response") in got
    assert (ids["paused"], "resolution") not in got and (ids["closed"], "resolution") not in got
    assert (ids["responded"], "response") not in got
    early = view.due(local(2026, 11, 23, 10, 59))
    # only the default policy's 10-minute dispatch milestone (ADR 0062) of a ticket not yet
    # assigned is due before 11:00; the responded one was assigned: its dispatch stopped
    assert [d for d in early if d.clock != "milestones"] == []
    assert (ids["plain"], "milestones") in {(d.ticket_id, d.clock) for d in early}
    assert (ids["responded"], "milestones") not in {(d.ticket_id, d.clock) for d in early}
    assert len(view.due(local(2026, 11, 24, 12, 0), limit=2)) == 2
    assert view.count() == len(view.due(local(2030, 1, 1, 0, 0)))


def test_one_batch_or_many_give_the_same_rows(open_view, log):
    one = open_view()
    one.apply(log.events, start=0, end=log.head)
    expected = snapshot(one, log)
    one.reset()
    assert one.position() == 0 and one.due(local(2030, 1, 1, 0, 0)) == []
    apply_in_batches(one, log.events, 3)
    assert snapshot(one, log) == expected


def test_a_batch_twice_is_refused_and_replayed_events_change_nothing(open_view, log):
    view = open_view()
    view.apply(log.events, start=0, end=log.head)
    assert_replays_change_nothing(view, log.events, lambda: snapshot(view, log))


def test_a_crash_mid_batch_leaves_rows_and_position(open_view, log, monkeypatch):
    from projections.sla_due import projection

    view = open_view()
    half = len(log.events) // 2
    view.apply(log.events[:half], start=0, end=log.events[half - 1].position)
    before = (view.position(), snapshot(view, log))
    real = projection.apply
    calls = 0

    def crashing(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("crash")
        return real(*args)

    monkeypatch.setattr(projection, "apply", crashing)
    with pytest.raises(RuntimeError):
        view.apply(log.events[half:], start=before[0], end=log.head)
    assert (view.position(), snapshot(view, log)) == before
