"""``opsledger demo`` on a store that already holds events (issue 16 item 6).

README's order: serve, register a ticket (``curl -XPOST …/tickets``), then ``opsledger demo``,
then the ``opsledger report …`` line its summary prints. The demo must give such a store the
same realistic spread of times as a fresh one (its history in the last 60 days, ending before
now), record nothing after now, and its project's report must be there at once.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections import defaultdict
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import pytest

from adapters.cli.main import main
from adapters.container import build
from adapters.demo.catalogue import DEMO_REQUESTS
from adapters.demo.projects import ABNORMAL_RUNS
from adapters.demo.run import WINDOW
from adapters.settings import Settings
from application.commands.tickets import RegisterTicket
from application.errors import RecordNotFound
from application.reports import ReportBuilder
from domain.ticket import Contact
from projections.base import TrackingConflict
from tests.support.demo import caught_up_rows

TICKETS = 60
SEED = 7
SEQUENCE_TOPIC = "opsledger.numbering:DailySequence"


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def _register_now(url: str) -> str:
    """What README's ``curl -XPOST …/api/v1/tickets`` does: one ticket, recorded now."""
    services = build(Settings(database_url=url))
    try:
        return services.desk.handle(RegisterTicket(customer="客户A",
                                                   contact=Contact("李四", "13800005678"),
                                                   channel="phone", title="生产系统无法登录",
                                                   affected_system="ERP", type="fault",
                                                   category="software", urgency="very_urgent",
                                                   impact="all", importance="very_important"),
                                    actor="agent-he").aggregate.number
    finally:
        services.close()


def _quarters(start: datetime, end: datetime) -> list[str]:
    return sorted({f"{d.year}-Q{(d.month - 1) // 3 + 1}" for d in (start, end)})


def _demo(path: Path, used: bool) -> dict[str, Any]:
    url = f"sqlite:///{path}"
    prior = _register_now(url) if used else None
    code, out = _cli("demo", "--tickets", str(TICKETS), "--seed", str(SEED), "--database", url)
    assert code == 0, out
    m = re.search(r"opsledger report (PRJ-\d{8}-\d{3}) (\d{4}-\d{2})", out)
    assert m, out
    project, month = m[1], m[2]
    # The summary's report line, run at once (no waiting for the clock to catch up).
    code, report = _cli("report", project, month, "--format", "json", "--database", url)
    done = datetime.now(UTC)
    services = build(Settings(database_url=url))
    try:
        notifications = services.desk.recorder.select_notifications(start=1, limit=1_000_000)
        events = [(n.originator_id, n.originator_version, n.topic,
                   services.desk.mapper.to_domain_event(n).timestamp) for n in notifications]
        tickets = [services.desk.get_ticket(r["id"]) for r in caught_up_rows(services)
                   if r["number"] != prior]  # the demo's
        builder = ReportBuilder(services.desk, services.tickets, services.changes)
        try:
            quarters = [builder.build(project, q) for q in _quarters(done - WINDOW, done)]
        except RecordNotFound as e:  # checked below
            quarters = [e]
    finally:
        services.close()
    return {"code": code, "report": report, "done": done, "events": events, "tickets": tickets,
            "quarters": quarters, "month": month}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The same demo (seed, size) on a fresh store and on one with a ticket registered just now."""
    root = tmp_path_factory.mktemp("demo-times")
    return {"fresh": _demo(root / "fresh.sqlite3", used=False),
            "used": _demo(root / "used.sqlite3", used=True)}


def _resolution_hours(tickets: list[Any]) -> list[float]:
    return sorted((t.sla_resolved_at - t.reported_at).total_seconds() / 3600
                  for t in tickets if t.sla_resolved_at is not None)


@pytest.mark.parametrize("kind", ["fresh", "used"])
def test_nothing_is_recorded_after_now(runs, kind):
    run = runs[kind]
    late = [e for e in run["events"] if e[3] > run["done"]]
    assert not late, f"{len(late)} events recorded after now, e.g. {late[0]}"


@pytest.mark.parametrize("kind", ["fresh", "used"])
def test_the_summarys_report_line_works_at_once(runs, kind):
    run = runs[kind]
    assert run["code"] == 0, "the report answered: no such project"
    report = json.loads(run["report"])
    assert report["project"]["customer"] == "华东电力集团"


@pytest.mark.parametrize("kind", ["fresh", "used"])
def test_each_records_events_stay_in_time_order(runs, kind):
    """As-of views replay a record's events by recorded time (ADR 0008): per record, the
    recorded times never go backwards. Daily number sequences are the exception on a used
    store (bookkeeping, never read as of a time; numbers continue the day's sequence)."""
    by_record: dict[Any, list[tuple[int, str, datetime]]] = defaultdict(list)
    for originator, version, topic, at in runs[kind]["events"]:
        by_record[originator].append((version, topic, at))
    backwards = []
    for originator, events in by_record.items():
        events.sort()
        if events[0][1].startswith(SEQUENCE_TOPIC):
            continue
        times = [at for _, _, at in events]
        if times != sorted(times):
            backwards.append((originator, events[0][1]))
    assert not backwards, backwards


@pytest.mark.parametrize("kind", ["fresh", "used"])
def test_the_history_spreads_over_the_last_60_days(runs, kind):
    run = runs[kind]
    demo = run["tickets"]
    assert len(demo) == TICKETS + ABNORMAL_RUNS + DEMO_REQUESTS  # + requests (ADR 0061)
    reported = sorted(t.reported_at for t in demo)
    assert reported[-1] <= run["done"]
    assert reported[-1] - reported[0] > WINDOW * 0.7, (reported[0], reported[-1])
    hours = _resolution_hours(demo)
    assert len(hours) >= 10
    assert median(hours) > 0.5, hours  # minutes to days, not all in one minute


def test_a_used_store_gets_the_same_spread_as_a_fresh_one(runs):
    fresh, used = (_resolution_hours(runs[k]["tickets"]) for k in ("fresh", "used"))
    assert len(used) == len(fresh)
    assert median(used) == pytest.approx(median(fresh), rel=0.1)
    assert sum(used) == pytest.approx(sum(fresh), rel=0.1)


@pytest.mark.parametrize("kind", ["fresh", "used"])
def test_the_reports_figures_are_realistic(runs, kind):
    """Over the quarters the demo covers: resolution takes working hours, not none (a demo
    squeezed into one minute resolved everything in 0.00 h and met every deadline). Whether
    one customer's dozen tickets miss a deadline depends on where the window's office hours
    fall (the window ends at the time the test runs), so that is not asserted."""
    reports = runs[kind]["quarters"]
    assert not any(isinstance(r, Exception) for r in reports), reports
    resolved = sum(r.resolution_time.resolved for r in reports)
    assert resolved >= 5
    assert all(r.resolution_time.mean_working_hours > 0
               for r in reports if r.resolution_time.resolved)
    assert max(r.resolution_time.mean_working_hours for r in reports
               if r.resolution_time.resolved) > 1.0


def test_the_used_stores_report_equals_the_fresh_ones(runs):
    fresh, used = (json.loads(runs[k]["report"]) for k in ("fresh", "used"))
    if runs["fresh"]["month"] != runs["used"]["month"]:
        pytest.skip("the two runs straddle the turn of a month")
    assert used["tickets"]["total"] == fresh["tickets"]["total"]
    assert used["resolution_time"]["resolved"] == fresh["resolution_time"]["resolved"]
    fresh_mean = fresh["resolution_time"]["mean_working_hours"]
    used_mean = used["resolution_time"]["mean_working_hours"]
    if fresh_mean is None:  # nothing resolved yet this month (its first days): none either
        assert used_mean is None
    else:
        assert used_mean == pytest.approx(fresh_mean, rel=0.1, abs=0.5)


def test_a_server_writing_on_the_store_meanwhile(tmp_path):
    """README: ``scripts/serve`` keeps running while ``opsledger demo`` fills its store. Its
    read models move on under the demo's, and its SLA watcher records warnings and breaches
    on the demo's tickets as they come in. The demo still finishes, records nothing after
    now, and every ticket's events stay in time order (the rest of a ticket's story comes
    after what the server recorded on it)."""
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    _register_now(url)
    server = build(Settings(database_url=url))
    stop = threading.Event()
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            while not stop.is_set():
                for view in server.runner.views.values():
                    try:
                        server.runner.catch_up(view)
                    except TrackingConflict:
                        pass
                server.watcher.tick()
        except BaseException as e:  # noqa: BLE001  (reported below)
            failures.append(e)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        code, out = _cli("demo", "--tickets", "40", "--seed", str(SEED), "--database", url)
    finally:
        stop.set()
        thread.join()
        server.close()
    assert not failures, failures
    assert code == 0, out
    done = datetime.now(UTC)
    services = build(Settings(database_url=url))
    try:
        events = [(n.originator_id, n.originator_version, n.topic,
                   services.desk.mapper.to_domain_event(n).timestamp)
                  for n in services.desk.recorder.select_notifications(start=1, limit=100_000)]
    finally:
        services.close()
    assert max(at for *_, at in events) <= done
    watched = {o for o, _, topic, _ in events if topic.endswith(("SlaWarningRaised", "SlaBreached"))}
    assert watched, "the server's watcher recorded nothing: the test shows nothing"
    by_record: dict[Any, list[tuple[int, datetime]]] = defaultdict(list)
    for originator, version, topic, at in events:
        if not topic.startswith(SEQUENCE_TOPIC):
            by_record[originator].append((version, at))
    backwards = [o for o, v in by_record.items()
                 if [at for _, at in sorted(v)] != sorted(at for _, at in v)]
    assert not backwards, f"{len(backwards)} records with events out of time order"
