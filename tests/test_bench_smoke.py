"""The benchmarks still run: each at a tiny size on SQLite (seconds, not a measurement).

These check that every benchmark drives the real product end to end and that its figures and
baselines come out consistent (the raw baseline wrote as many rows as opsledger did, the rebuilt
views cover the log, the scale store answers its queries); the figures themselves are not
asserted, they depend on the machine. Request Tracker is pointed at a directory without the
peer's scripts, so the lifecycle benchmark has to take its documented skip path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import append, audit, console, lifecycle, rebuild, scale, search
from bench import mail_intake


@pytest.mark.parametrize("how", [("--client", "asyncio"), ("--client", "threads", "--server-workers", "2")])
def test_lifecycle_runs_and_skips_rt_when_the_peer_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              how: tuple[str, ...]) -> None:
    out = tmp_path / "lifecycle.json"
    code = lifecycle.main(["--stores", "sqlite", "--tickets", "4", "--clients", "2", "--warmup", "1",
                           "--raw-repeats", "1", "--rt-dir", str(tmp_path), "--json", str(out), *how])
    text = capsys.readouterr().out
    assert code == 0
    data = json.loads(out.read_text())
    assert [lv["opsledger"]["clients"] for lv in data["levels"]] == [2]
    for lv in data["levels"]:
        assert lv["opsledger"]["commands"] == 4 * 6
        assert lv["opsledger"]["rows"] > lv["opsledger"]["commands"]  # register and confirm also write numbers
        assert all(r["rows"] == lv["opsledger"]["rows"] for r in lv["raw"])
        assert set(lv["opsledger"]["by_kind"]) == set(lifecycle.KINDS)
    assert data["rt"] == {} and "Request Tracker: skipped" in data["rt_note"]
    assert "Request Tracker: skipped" in text and "target: p99" not in text  # no 8-client level here


def test_append_replays_the_same_rows_raw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "append.json"
    assert append.main(["--tickets", "5", "--warmup", "1", "--raw-repeats", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["desk"]["commands"] == 30 and data["raw"]["rows"] == data["desk"]["rows"] > 30
    assert "ratio desk / raw sqlite3" in capsys.readouterr().out


def test_rebuild_covers_the_log(tmp_path: Path) -> None:
    out = tmp_path / "rebuild.json"
    assert rebuild.main(["--tickets", "40", "--repeats", "1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["events"] == 40 * 7 + 20  # every other ticket logs work twice


def test_scale_generates_readable_events_and_queries_them(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    assert scale.main(["--tickets", "300", "--queries", "3", "--workers", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["events"] > 300 * 6
    assert all(r["events"] >= data["events"] for r in data["rebuild"])  # every view replayed the whole log
    by_name = {q["name"].split(" (")[0]: q for q in data["queries"]}
    assert by_name["GET /api/v1/queues/unassigned"]["rows"] > 0  # 2 in 100 tickets are unassigned
    assert by_name["GET /api/v1/queues/breaching"]["rows"] > 0  # open tickets carry SLA deadlines
    assert any(name.startswith("GET /api/v1/tickets/{id}?as_of=") for name in by_name)


def test_audit_lines_cover_every_event(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    assert audit.main(["--tickets", "20", "--repeats", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["events"] == 20 * 7 + 10
    assert all(line["count"] == data["events"] for line in data["lines"])


def test_console_measures_each_page_beside_its_api_equivalent(tmp_path: Path) -> None:
    out = tmp_path / "console.json"
    assert console.main(["--tickets", "300", "--stores", "sqlite", "--samples", "3", "--events", "30",
                         "--long-tickets", "1", "--workers", "1", "--json", str(out)]) == 0
    [store] = json.loads(out.read_text())["stores"]
    assert store["events"] > 300 * 6 and store["floor"]["n"] == 3
    pairs = {p["page"]: p for p in store["pairs"]}
    assert set(pairs) == {"GET /ui/?queue=all", "GET /ui/?queue=unassigned", "GET /ui/tickets/{number}"}
    for pair in pairs.values():
        assert pair["error"] == "" and pair["page_dist"]["n"] == pair["api_dist"]["n"] == 3
    assert pairs["GET /ui/?queue=all"]["rows"] == 50  # a full page of the 300 tickets
    assert pairs["GET /ui/?queue=unassigned"]["rows"] > 0  # 2 in 1000 of the bulk, numbered first
    assert pairs["GET /ui/tickets/{number}"]["rows"] == 30  # the history has the events asked for


def test_search_times_the_shapes_it_finds(tmp_path: Path) -> None:
    out = tmp_path / "search.json"
    assert search.main(["--tickets", "300", "--samples", "3", "--stores", "sqlite",
                        "--workers", "1", "--json", str(out)]) == 0
    [store] = json.loads(out.read_text())["stores"]
    lines = {line["shape"]: line for line in store["lines"]}
    assert lines["ticket number"]["hits"] == lines["asset tag (1 ticket)"]["hits"] == 1
    assert lines["打印机 (common)"]["hits"] == 10  # a full page of a common word
    assert lines["无果 (2 characters, no match)"]["hits"] == 0
    assert lines["phone, dispatcher"]["hits"] == 1  # contacts searched for a dispatcher
    assert lines["phone, auditor (no contacts)"]["hits"] == 0  # and not for an auditor
    assert all(line["http"]["n"] == line["raw"]["n"] == 3 for line in store["lines"])


def test_mail_intake_registers_every_message_beside_http_registrations(tmp_path: Path) -> None:
    out = tmp_path / "mail.json"
    assert mail_intake.main(["--messages", "6", "--connections", "2", "--attachment-bytes",
                             "2048", "--json", str(out)]) == 0
    [lv] = json.loads(out.read_text())["levels"]
    assert (lv["mail"]["count"], lv["mail"]["failures"], lv["refused"]) == (6, 0, [])
    assert (lv["http"]["count"], lv["http"]["failures"]) == (6, 0)
    assert lv["ratio"] > 0


def test_ci_impact_runs_and_measures_against_its_baseline(tmp_path: Path) -> None:
    from bench import ci_impact  # ADR 0063

    out = tmp_path / "ci.json"
    assert ci_impact.main(["--cis", "300", "--relations", "900", "--queries", "20",
                           "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["cis"] == 300 and 800 <= data["relations"] <= 900
    assert data["index_ms"]["p99"] > 0 and data["baseline_sql_ms"]["p99"] > 0


def test_server_cpu_measures_each_process_beside_a_baseline_commit(tmp_path: Path) -> None:
    from bench import server_cpu

    out = tmp_path / "server-cpu.json"
    assert server_cpu.main(["--tickets", "3", "--clients", "2", "--rounds", "1", "--warmup", "2",
                            "--baseline", "HEAD", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    for label in ("baseline", "this"):
        run = data["runs"][label][0]
        assert run["cpu_ms"]["HTTP workers"] > 0 and run["total_ms"] >= run["cpu_ms"]["HTTP workers"]
    assert set(data["summary"]) >= {"HTTP workers", "projections worker", "total", "p99 ms"}


def test_app_build_times_both_builds_and_finds_the_same_routes(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import app_build

    assert app_build.main(["--builds", "1"]) == 0
    out = capsys.readouterr().out
    assert "RouteMapKeptLitestar" in out and "same routes: True" in out
