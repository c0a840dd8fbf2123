"""``opsledger report PROJECT PERIOD [--format md|json|html] [--as-of T]`` (ADR 0029) on an
SQLite store filled by ``tests/application/report_scenario.py``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.cli.main import main
from adapters.container import build
from adapters.render.report import to_json
from adapters.settings import Settings
from application.ports import FixedClock
from application.reports import ReportBuilder
from tests.application.report_scenario import START, build_scenario, local

AS_OF = local(20, 18)  # in the past of the machine's clock, which the command reads


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, str, bytes]:
    """The store's URL, the project's number and its report as of ``AS_OF`` (JSON)."""
    if datetime.now(UTC) < AS_OF:
        pytest.skip("the machine's clock is before the data set")
    database = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    services = build(Settings(database_url=database, sla_watch_seconds=0),
                     clock=FixedClock(START))
    try:
        s = build_scenario(services.desk, services.desk.clock)  # type: ignore[arg-type]
        services.runner.catch_up(services.tickets)
        services.runner.catch_up(services.changes)
        report = ReportBuilder(services.desk, services.tickets, services.changes).build(
            str(s.project), "2026-11", AS_OF)
        return database, report.project.number, to_json(report)
    finally:
        services.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_formats(store: tuple[str, str, bytes], capsys: pytest.CaptureFixture[str]) -> None:
    database, number, expected = store
    common = ["--database", database, "--as-of", AS_OF.isoformat()]
    code, out, _ = run(capsys, number, "2026-11", "--format", "json", *common)
    assert code == 0
    assert json.loads(out) == json.loads(expected)
    assert json.loads(out)["routines"]["done"] == 3
    code, out, _ = run(capsys, number, "2026-11", *common)  # Markdown by default
    assert code == 0 and out.startswith(f"# Service report 服务报告 {number}")
    assert "| P1 | 2 |" in out
    code, out, _ = run(capsys, number, "2026-11", "--format", "html", *common)
    assert code == 0 and out.startswith("<!DOCTYPE html>") and "<svg" in out


def test_errors(store: tuple[str, str, bytes], capsys: pytest.CaptureFixture[str]) -> None:
    database, number, _ = store
    code, _, err = run(capsys, number, "2026-13", "--database", database)
    assert code == 2 and "period" in err
    code, _, err = run(capsys, number, "2026-11", "--as-of", "soon", "--database", database)
    assert code == 2 and "--as-of" in err
    code, _, err = run(capsys, "PRJ-20991231-001", "2026-11", "--database", database)
    assert code == 1 and "no project" in err
