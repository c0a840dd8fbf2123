"""The service report's milestone lines (ADR 0062): one per milestone of the tickets' policy,
each run of the report's tickets counted once as met, missed or pending at the report's time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.container import Services, build
from adapters.settings import Settings
from application.ports import FixedClock
from tests.application.report_scenario import START, Scenario, build_scenario
from tests.application.test_reports import plain, report


@pytest.fixture
def world() -> Iterator[tuple[Services, Scenario]]:
    clock = FixedClock(START)
    services = build(Settings(database_url="memory://", sla_watch_seconds=0), clock=clock)
    try:
        yield services, build_scenario(services.desk, clock)
    finally:
        services.close()


def test_the_report_counts_each_milestone_run_once(world: tuple[Services, Scenario]) -> None:
    services, s = world
    r = plain(report(services, s.project))
    lines = {x["milestone"]: x for x in r["sla"]["milestones"]}
    assert set(lines) <= {"dispatch", "dispatch_followup", "rescheduling", "pm_escalation"}
    d = lines["dispatch"]
    # every valid ticket of the report was registered once: one dispatch run each, decided
    # (assigned, or past its 10 minutes) by the report's time
    assert d["met"] + d["missed"] + d["pending"] == r["sla"]["tickets"]
    assert d["pending"] == 0
    assert d["met_pct"] == round(100.0 * d["met"] / (d["met"] + d["missed"]), 2)


def test_the_rendered_report_has_a_table_of_the_milestone_clocks(
        world: tuple[Services, Scenario]) -> None:
    from adapters.render.report import to_markdown

    services, s = world
    text = to_markdown(report(services, s.project))
    assert "Milestone clocks 内部时限" in text
    assert "| dispatch | 3 | 3 | 0 | 50.00 |" in text
