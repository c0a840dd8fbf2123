"""The change list and calendar contract (ADR 0022), run against the memory, SQLite and
PostgreSQL views.

Events come from a real desk (in memory, FixedClock) through the change use cases: ``apply``
moves rows and position together, refuses a batch that does not start at the position, gives
the same rows in one batch or many; the list filters and pages; the status follows the gates
as the aggregate decides them; the calendar lists the windows in a period with the conflicts
of each (same system, overlapping windows; cancelled changes left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.stores.persistence import change_list_view
from application import changes as uc
from application.commands.changes import (
    Assess,
    CancelChange,
    Consent,
    CustomerReview,
    PlanChange,
    RequestChange,
    Review,
)
from application.commands.projects import Contract, ContractProject
from application.commands.tickets import RegisterTicket
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.change import PlanInput
from domain.ticket import Contact
from projections.base import Positioned
from projections.change_list.projection import stamp
from projections.change_list.view import ChangeListView, ChangeQuery
from tests.fixtures_stores import (
    ON_DB_STORES,
    apply_in_batches,
    assert_replays_change_nothing,
    open_view_fixture,
)

SH = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def plan(start: datetime, hours: int = 2) -> PlanInput:
    return PlanInput(goal="g", content="c", steps=("s",), people=("p",), budget="1",
                     schedule_start=start, schedule_end=start + timedelta(hours=hours),
                     risk_plan="r", rollback_plan="rb")


@dataclass
class Log:
    events: list[Positioned]
    head: int
    ids: dict[str, str]
    ticket: str
    ticket_number: str


@pytest.fixture(scope="module")
def log() -> Log:
    clock = FixedClock(local(2026, 11, 23, 10, 30))
    desk = ServiceDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    ticket = desk.handle(RegisterTicket(customer="C", contact=Contact("n"), channel="web",
                                        title="t", affected_system="ERP"), actor="a").ticket
    contract = Contract(number="1", services=["s"], start=date(2026, 1, 1),
                        end=date(2026, 12, 31))
    project = desk.handle(ContractProject(name="p", customer="C", contract=contract,
                                          sla_policy="default", calendar="china-5x8"),
                          actor="a").aggregate

    def new(name: str, system: str, start: datetime | None, kind: str = "normal",
            origin: uc.OriginRef | None = None) -> str:
        c = desk.handle(RequestChange(kind=kind, title=name, affected_system=system,
                                      origin=origin or uc.OriginRef(str(project.id), "project")),
                        actor="a").aggregate
        desk.handle(Assess(ref=c.id, risk="medium", impact="i"), actor="a")
        if start is not None:
            desk.handle(PlanChange(ref=c.id, plan=plan(start)), actor="a")
        return str(c.id)

    ids = {
        "erp_a": new("erp_a", "ERP", local(2026, 11, 28, 22), origin=uc.OriginRef(ticket.number)),
        "erp_b": new("erp_b", "erp", local(2026, 11, 28, 23)),  # overlaps erp_a
        "erp_c": new("erp_c", "ERP", local(2026, 11, 29, 0)),  # touches erp_a's end
        "oa": new("oa", "OA", local(2026, 11, 28, 22), kind="emergency"),
        "cancelled": new("cancelled", "ERP", local(2026, 11, 28, 22)),
        "unplanned": new("unplanned", "ERP", None),
        "approved": new("approved", "CRM", local(2026, 12, 5, 9)),
    }
    desk.handle(CancelChange(ref=ids["cancelled"], reason="r"), actor="a")
    approved = ids["approved"]
    for command in (Review(ref=approved, decision="approved", reviewer="r"),
                    CustomerReview(ref=approved, decision="approved", reviewer="c"),
                    Consent(ref=approved, evidence="e", channel="fax")):
        desk.handle(command, actor="a")
    desk.handle(Review(ref=ids["erp_b"], decision="approved", reviewer="r"), actor="a")
    events = [Positioned(n.id, e) for n, e in desk.read_log(0, 10_000)]
    return Log(events, events[-1].position, ids, str(ticket.id), ticket.number)


open_view = open_view_fixture(change_list_view)


def snapshot(view: ChangeListView, log: Log) -> dict[str, Any]:
    return {name: view.get(i) for name, i in log.ids.items()}


def names(view: ChangeListView, log: Log, **query: Any) -> list[str]:
    by_id = {i: n for n, i in log.ids.items()}
    return [by_id[r["id"]] for r in view.query(ChangeQuery(**query)).rows]


def test_rows_status_and_filters(open_view, log):
    view = open_view()
    view.apply(log.events, start=0, end=log.head)
    assert view.position() == log.head
    rows = snapshot(view, log)
    assert rows["approved"]["status"] == "approved" and rows["approved"]["missing_gates"] == ""
    assert rows["erp_b"]["status"] == "planned"
    assert rows["erp_b"]["missing_gates"] == "customer_review,consent"
    assert rows["unplanned"]["status"] == "assessed" and rows["unplanned"]["schedule_start"] is None
    assert rows["cancelled"]["status"] == "cancelled"
    assert rows["erp_a"]["origin_number"] == log.ticket_number
    assert rows["erp_a"]["schedule_start"] == stamp(local(2026, 11, 28, 22))
    assert names(view, log) == list(reversed(list(log.ids)))  # newest first
    assert names(view, log, statuses=("approved", "cancelled")) == ["approved", "cancelled"]
    assert names(view, log, kinds=("emergency",)) == ["oa"]
    assert names(view, log, system="Erp") == ["unplanned", "cancelled", "erp_c", "erp_b",
                                              "erp_a"]
    assert names(view, log, origin=log.ticket) == ["erp_a"]
    assert names(view, log, origin=log.ticket_number) == ["erp_a"]
    first = view.query(ChangeQuery(limit=3))
    assert len(first.rows) == 3 and first.next_cursor is not None
    rest = view.query(ChangeQuery(limit=10, after=int(first.next_cursor)))
    assert [r["id"] for r in first.rows] + [r["id"] for r in rest.rows] == [
        r["id"] for r in view.query(ChangeQuery(limit=50)).rows]
    assert rest.next_cursor is None


def test_calendar_with_conflicts(open_view, log):
    view = open_view()
    view.apply(log.events, start=0, end=log.head)
    ids = {i: n for n, i in log.ids.items()}
    cal = view.calendar(stamp(local(2026, 11, 28)), stamp(local(2026, 11, 30)))
    got = {ids[e["row"]["id"]]: [ids[c["id"]] for c in e["conflicts"]] for e in cal}
    assert got == {"erp_a": ["erp_b"], "erp_b": ["erp_a", "erp_c"], "erp_c": ["erp_b"], "oa": []}
    starts = [e["row"]["schedule_start"] for e in cal]
    assert starts == sorted(starts)
    only_oa = view.calendar(stamp(local(2026, 11, 28)), stamp(local(2026, 11, 30)), "oa")
    assert [ids[e["row"]["id"]] for e in only_oa] == ["oa"]
    # erp_a (ends 00:00) is not in the period, but it still conflicts with erp_b.
    late = view.calendar(stamp(local(2026, 11, 29, 0, 30)), stamp(local(2026, 11, 29, 3)))
    assert {ids[e["row"]["id"]]: [ids[c["id"]] for c in e["conflicts"]] for e in late} == {
        "erp_b": ["erp_a", "erp_c"], "erp_c": ["erp_b"]}
    assert view.calendar(stamp(local(2027, 1, 1)), stamp(local(2027, 2, 1))) == []


def test_one_batch_or_many_give_the_same_rows(open_view, log):
    view = open_view()
    view.apply(log.events, start=0, end=log.head)
    expected = snapshot(view, log)
    view.reset()
    assert view.position() == 0 and view.query(ChangeQuery()).rows == []
    apply_in_batches(view, log.events, 4)
    assert snapshot(view, log) == expected


def test_a_batch_twice_is_refused_and_replayed_events_change_nothing(open_view, log):
    view = open_view()
    view.apply(log.events, start=0, end=log.head)
    replay = [pe for pe in log.events if "Change" in type(pe.event).__qualname__
              and type(pe.event).__name__ != "Requested"]
    assert_replays_change_nothing(view, log.events, lambda: snapshot(view, log), replay)


@ON_DB_STORES  # an in-memory view is its own store
def test_a_second_instance_sees_the_rows(open_view, log, store_kind):
    open_view().apply(log.events, start=0, end=log.head)
    other = open_view()
    assert other.position() == log.head
    assert other.get(log.ids["approved"])["status"] == "approved"
