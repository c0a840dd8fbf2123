"""``opsledger demo`` (adapters/demo/run.py): a realistic data set through the real use cases."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.container import build
from adapters.demo.catalogue import DEMO_REQUESTS
from adapters.demo.projects import ABNORMAL_RUNS
from adapters.demo.run import run_demo
from adapters.settings import Settings
from domain.ticket import Status
from tests.support.demo import caught_up_rows

# The demo's scenario tickets, plus the one its project's abnormal inspection opens.
TICKETS = 60
ALL_TICKETS = TICKETS + ABNORMAL_RUNS + DEMO_REQUESTS  # + the catalogue's (ADR 0061)


def settings_for(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One demo run on a SQLite file, shared by the checks below (it takes a second or two)."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    before = datetime.now(UTC)
    code = run_demo(settings_for(path), tickets=TICKETS, seed=7)
    return {"path": path, "code": code, "before": before}


def test_run_demo_returns_0(store):
    assert store["code"] == 0


def test_every_status_occurs_in_the_ticket_list_view(store):
    services = build(settings_for(store["path"]))
    try:
        rows = caught_up_rows(services)
    finally:
        services.close()
    assert len(rows) == ALL_TICKETS
    statuses = Counter(r["status"] for r in rows)
    assert set(statuses) == {s.value for s in Status}, statuses
    assert {r["priority"] for r in rows} >= {"P1", "P2", "P3"}


def test_numbers_are_unique_and_records_are_complete(store):
    services = build(settings_for(store["path"]))
    try:
        rows = caught_up_rows(services)
        numbers = [r["number"] for r in rows]
        assert len(set(numbers)) == len(numbers)
        assert all(n.startswith("SR-") for n in numbers)
        tickets = [services.desk.get_ticket(r["number"]) for r in rows]
    finally:
        services.close()
    accepted = [a for t in tickets for a in t.acceptances if a.passed]
    rejected = [a for t in tickets for a in t.acceptances if not a.passed]
    feedbacks = [f for t in tickets for f in t.feedbacks]
    assert accepted and all(a.number.startswith("SD-") for a in accepted)
    assert rejected and all(a.unmet_items for a in rejected)
    assert feedbacks and all(f.number.startswith("FB-") for f in feedbacks)
    assert any(f.improvement is not None for f in feedbacks)
    assert any(t.reopen_count for t in tickets)
    assert any(t.resolution and t.resolution.first_contact for t in tickets)
    assert any(t.workaround for t in tickets)
    assert any(e.hours > 0 for t in tickets for e in t.work_log)
    assert any(t.classification and t.classification.override_reason for t in tickets)
    # SD/FB numbers are unique too.
    records = [a.number for a in accepted + rejected] + [f.number for f in feedbacks]
    assert len(set(records)) == len(records)
    # Nothing is reported or recorded in the future.
    now = datetime.now(UTC)
    for t in tickets:
        assert t.reported_at <= t.recorded_at <= now
        assert all(e.performed_at <= e.recorded_at <= now for e in t.work_log)


def test_a_second_run_adds_tickets_without_duplicate_numbers(tmp_path, capsys):
    settings = settings_for(tmp_path / "twice.sqlite3")
    assert run_demo(settings, tickets=TICKETS, seed=7) == 0
    first = capsys.readouterr().out
    assert run_demo(settings, tickets=TICKETS, seed=7) == 0
    second = capsys.readouterr().out
    services = build(settings)
    try:
        rows = caught_up_rows(services)
        events = [services.desk.mapper.to_domain_event(n)
                  for n in services.desk.recorder.select_notifications(start=1, limit=100_000)]
    finally:
        services.close()
    numbers = [r["number"] for r in rows]
    assert len(numbers) == 2 * ALL_TICKETS
    assert len(set(numbers)) == len(numbers)
    # Both runs cover the same 60 days (issue 16 item 6): the second is not squeezed after the
    # first. Each record's recorded times still never go backwards (as-of replays by them,
    # ADR 0008) but for the daily number sequences, which continue in log order.
    reported = sorted(datetime.fromisoformat(r["reported_at"]) for r in rows[ALL_TICKETS:])
    assert reported[-1] - reported[0] > timedelta(days=40)
    by_record: dict[Any, list[Any]] = {}
    for e in events:
        by_record.setdefault(e.originator_id, []).append(e)
    for record in by_record.values():
        if type(record[0]).__qualname__.startswith("DailySequence"):
            continue
        times = [e.timestamp for e in sorted(record, key=lambda e: e.originator_version)]
        assert times == sorted(times), type(record[0]).__qualname__
    assert max(e.timestamp for e in events) <= datetime.now(UTC)
    assert f"holds {ALL_TICKETS} tickets" in first
    assert f"holds {2 * ALL_TICKETS} tickets" in second


def test_the_summary_says_where_to_look(tmp_path, capsys):
    assert run_demo(Settings(database_url="memory://"), tickets=20, seed=3) == 0
    out = capsys.readouterr().out
    assert "opsledger serve" in out
    assert "/api/v1/queues/unassigned" in out
    assert "/api/v1/tickets?status=in_progress" in out
    assert "/history" in out and "/docs" in out
    assert "not built yet" not in out
    project = re.search(r"also recorded: project (PRJ-\d{8}-\d{3})", out)
    assert project, out
    assert f"opsledger report {project[1]} " in out
    assert f"/api/v1/projects/{project[1]}/reports/" in out
    assert re.search(r"/api/v1/problems/PRB-\d{8}-\d{3}", out)
    assert re.search(r"/api/v1/changes/CHG-\d{8}-\d{3}", out)
    assert "/api/v1/knowledge?q=" in out
    for status in Status:
        assert status.value in out
