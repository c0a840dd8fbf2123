"""Service reports (ADR 0029) over the hand-computed data set of ``report_scenario`` on every
store: the figures as worked out by hand, and the as-of report unchanged by later events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import msgspec
import pytest

from adapters.container import Services, build
from adapters.render.report import to_json
from adapters.settings import Settings
from application.commands.projects import Contract, ContractProject
from application.errors import RecordNotFound
from application.ports import FixedClock
from application.report_period import parse_period
from application.reports import ReportBuilder, p90
from domain.errors import InvalidCommand
from tests.application.report_scenario import (
    P1,
    REPORT_AT,
    START,
    Scenario,
    build_scenario,
    later_events,
    local,
)


@pytest.fixture
def world(store_url: str) -> Iterator[tuple[Services, Scenario]]:
    clock = FixedClock(START)
    services = build(Settings(database_url=store_url, sla_watch_seconds=0), clock=clock)
    try:
        yield services, build_scenario(services.desk, clock)
    finally:
        services.close()


def report(services: Services, project: Any, period: str = "2026-11", as_of: Any = None) -> Any:
    # No runner thread in these tests: bring the two candidate views up to the log's head.
    services.runner.catch_up(services.tickets)
    services.runner.catch_up(services.changes)
    return ReportBuilder(services.desk, services.tickets, services.changes).build(
        str(project), period, as_of)


def plain(r: Any) -> dict[str, Any]:
    return msgspec.json.decode(to_json(r))  # type: ignore[no-any-return]


def test_figures_match_the_hand_computation(world: tuple[Services, Scenario]) -> None:
    services, s = world
    r = plain(report(services, s.project))
    assert r["period"] == {"label": "2026-11", "kind": "month",
                           "start": "2026-11-01T00:00:00+08:00",
                           "end": "2026-12-01T00:00:00+08:00",
                           "timezone": "Asia/Shanghai", "summary_due": "2026-12-05"}
    assert r["as_of"] == r["generated_at"] == "2026-11-23T12:00:00+08:00"
    assert r["project"]["customer"] == "客户R"

    # T1..T7 (not the other customer's, not October's); T7 invalid.
    t = r["tickets"]
    assert (t["total"], t["valid"], t["invalid"]) == (7, 6, 1)
    # T6 open; T5 resolved; T1-T4 closed.
    assert (t["open"], t["resolved"], t["closed"], t["unclassified"]) == (1, 1, 4, 0)
    assert t["by_priority"] == {"P1": 2, "P2": 2, "P3": 2}
    assert t["by_type"] == {"consultation": 1, "fault": 5}
    assert t["by_category"] == {"hardware": 1, "network": 2, "software": 3}
    assert t["by_status"] == {"closed": 4, "in_progress": 1, "invalid": 1, "resolved": 1}

    # Response: T2 missed (14:00 > 13:00), the other five met -> 5/6 = 83.33 %.
    # Resolution: T1 missed (14:30 > 14:00), T6 missed (running past Mon 11:00) -> 4/6.
    sla = r["sla"]
    assert (sla["tickets"], sla["response_met"], sla["response_missed"],
            sla["response_pending"], sla["response_met_pct"]) == (6, 5, 1, 0, 83.33)
    assert (sla["resolution_met"], sla["resolution_missed"], sla["resolution_pending"],
            sla["resolution_met_pct"]) == (4, 2, 0, 66.67)
    by = sla["by_priority"]
    assert [by[p]["response_met_pct"] for p in ("P1", "P2", "P3")] == [100.0, 50.0, 100.0]
    assert [by[p]["resolution_met_pct"] for p in ("P1", "P2", "P3")] == [0.0, 100.0, 100.0]

    # Working seconds: T1 16200, T2 54000, T3 2400, T4 5700, T5 3600 (T6 open).
    # mean 81900 / 5 = 16380 s = 4.55 h; p90 = the 5th of 5 (nearest rank) = 15 h.
    rt = r["resolution_time"]
    assert rt == {"resolved": 5, "mean_working_hours": 4.55, "p90_working_hours": 15.0,
                  "max_working_hours": 15.0}
    # T3 and T5 first contact; T4's standing resolution is not -> 2 / 5.
    assert (r["first_contact_resolved"], r["first_contact_resolution_pct"]) == (2, 40.0)
    assert r["reopens"] == {"resolved_once": 5, "reopened": 1, "reopen_pct": 20.0,
                            "acceptance_rejected": 0}

    # Feedback T1 5/5/4, T2 2/3/3, T3 5/5/5; survey 4/4/4.
    sat = r["satisfaction"]
    assert (sat["responses"], sat["timeliness"], sat["effectiveness"], sat["attitude"],
            sat["mean"]) == (4, 4.0, 4.25, 4.0, 4.08)  # 49 / 12
    assert sat["ticket_feedback"] == {"responses": 3, "timeliness": 4.0, "effectiveness": 4.33,
                                      "attitude": 4.0, "mean": 4.11}  # 37 / 9
    assert sat["surveys"]["mean"] == 4.0
    assert [x["source"] for x in sat["low_scores"]] == ["ticket"]
    assert sat["low_scores"][0]["mean"] == 2.67

    # P1 tickets T1 and T6 (T6 also escalated).
    mi = r["major_incidents"]
    assert mi["count"] == 2
    assert [(x["priority"], x["status"], x["resolution_working_hours"], x["resolution_state"])
            for x in mi["items"]] == [("P1", "closed", 4.5, "breached"),
                                      ("P1", "in_progress", None, "breached")]
    assert mi["items"][1]["escalation_level"] == 1

    pr = r["problems"]
    assert (pr["total"], pr["open"], pr["known_errors"], pr["resolved"], pr["closed"]) == (
        2, 2, 1, 0, 0)
    assert sorted(len(x["tickets"]) for x in pr["items"]) == [1, 2]

    # C1 successful, C2 rolled back, C3 pending; C0 is another customer's.
    c = r["changes"]
    assert (c["total"], c["successful"], c["rolled_back"], c["goal_missed"]) == (3, 1, 1, 0)
    assert (c["success_pct"], c["rollback_pct"]) == (50.0, 50.0)
    assert c["by_kind"] == {"normal": 2, "standard": 1}
    assert [x["outcome"] for x in c["items"]] == ["successful", "rolled_back", "pending"]

    # Due: inspection Nov 2, backups Nov 6, 13, 20 = 4; recorded 3 (one abnormal); the
    # Nov 20 backup is overdue since Nov 20 18:00.
    ro = r["routines"]
    assert (ro["scheduled"], ro["due"], ro["done"], ro["normal"], ro["abnormal"],
            ro["overdue"]) == (2, 4, 3, 2, 1, 1)
    assert ro["abnormal_runs"][0]["run_at"] == "2026-11-13T16:00:00+08:00"

    assert r["workload"] == [
        {"person": "agent-zhou", "assigned": 2, "resolved": 2, "hours_logged": 0.0},
        {"person": "eng-li", "assigned": 2, "resolved": 1, "hours_logged": 5.5},
        {"person": "eng-wang", "assigned": 2, "resolved": 2, "hours_logged": 3.5},
    ]


def test_as_of_report_is_unchanged_by_later_events(world: tuple[Services, Scenario]) -> None:
    services, s = world
    before = to_json(report(services, s.project))
    later_events(s)
    s.at(local(24, 9))
    now = report(services, s.project)
    past = to_json(report(services, s.project, as_of=REPORT_AT))
    assert past == before
    live = plain(now)
    # The later events do show in the live report.
    assert live["tickets"]["total"] == 8
    assert live["routines"]["done"] == 4 and live["routines"]["overdue"] == 0
    assert live["satisfaction"]["responses"] == 7
    assert live["changes"]["total"] == 4
    assert live["problems"]["total"] == 3
    assert live["reopens"]["reopened"] == 2


def test_quarter_and_year_cover_the_month(world: tuple[Services, Scenario]) -> None:
    services, s = world
    month = plain(report(services, s.project))
    for period in ("2026-Q4", "2026"):
        r = plain(report(services, s.project, period))
        assert r["tickets"] == month["tickets"]  # the contract starts on Nov 1
        assert r["period"]["summary_due"] == "2027-01-05"
    empty = plain(report(services, s.project, "2026-10"))
    assert empty["tickets"]["total"] == 0 and empty["sla"]["response_met_pct"] is None


def test_refusals(world: tuple[Services, Scenario]) -> None:
    services, s = world
    for bad in ("2026-13", "2026-Q5", "26-11", "2026/11", "", "1969"):
        with pytest.raises(InvalidCommand) as e:
            report(services, s.project, bad)
        assert [x.field for x in e.value.errors] == ["period"]
    with pytest.raises(InvalidCommand):
        report(services, s.project, as_of=local(30, 9))  # the future
    with pytest.raises(RecordNotFound):
        report(services, s.project, as_of=local(1, 9))  # not yet contracted
    with pytest.raises(RecordNotFound):
        report(services, "PRJ-20990101-001")


def test_period_parsing_and_p90() -> None:
    q = parse_period("2026-q4", "Asia/Shanghai")
    assert (q.label, q.first_day.isoformat(), q.end_day.isoformat()) == (
        "2026-Q4", "2026-10-01", "2027-01-01")
    assert parse_period("2026-12", "UTC").summary_due.isoformat() == "2027-01-05"
    assert parse_period("2024", "UTC").end.isoformat() == "2025-01-01T00:00:00+00:00"
    assert p90([]) is None and p90([7]) == 7
    assert p90(list(range(1, 11))) == 9 and p90(list(range(1, 12))) == 10


def test_a_ticket_typed_with_other_spacing_belongs_to_the_report(
        world: tuple[Services, Scenario]) -> None:
    """Customers and projects keep ``客户 Q`` normalised; a ticket typed ``客户  Q`` (two
    spaces, padded) is stored the same way, so it takes the project's SLA *and* is counted."""
    services, s = world
    s.at(local(23, 9))
    contract = Contract(number="HT-2026-Q", services=["response"], start=date(2026, 11, 1),
                        end=date(2027, 10, 31))
    q = services.desk.handle(ContractProject(name="Q 运维", customer="客户 Q", contract=contract,
                                             sla_policy="default", calendar="china-5x8"),
                             actor="mgr-wang").aggregate.id
    ticket = s.desk.get_ticket(s.register("Q1", local(23, 10), customer="  客户 \u3000 Q ", **P1))
    assert ticket.customer == "客户 Q"
    assert services.desk.sla is not None
    assert services.desk.sla.policy_source(ticket) == ("default", "project")
    s.at(local(23, 11))
    r = plain(report(services, q))
    assert r["tickets"]["total"] == 1 and r["tickets"]["by_priority"]["P1"] == 1


def test_late_feedback_is_counted_and_flagged(world: tuple[Services, Scenario]) -> None:
    """T4 was accepted Tue Nov 17 11:30: its window ends Fri Nov 20 11:30. Feedback given
    Tue Nov 24 is accepted, flagged late, and a low score says so."""
    services, s = world
    on_time = plain(report(services, s.project))["satisfaction"]
    assert (on_time["late_feedback"], on_time["late_items"]) == (0, [])
    s.feedback("T4", local(24, 9), 2, 4, 4)
    [fb] = s.desk.get_ticket(s.tickets["T4"]).feedbacks
    assert fb.late and fb.window_end == local(20, 11, 30)
    s.at(local(24, 10))
    sat = plain(report(services, s.project))["satisfaction"]
    assert (sat["late_feedback"], sat["late_items"]) == (1, [fb.number])
    assert sat["ticket_feedback"]["responses"] == 4 and sat["responses"] == 5
    assert [(x["reference"], x["late"]) for x in sat["low_scores"]] == [
        (sat["low_scores"][0]["reference"], False), (fb.number, True)]
    # As of the Monday before, the late feedback had not been given.
    past = plain(report(services, s.project, as_of=REPORT_AT))["satisfaction"]
    assert past["late_feedback"] == 0 and past["responses"] == 4
