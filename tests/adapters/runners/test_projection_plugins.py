"""Projection plug-ins (ADR 0033): the example package under ``examples/`` is installed with uv
(its own build backend: no network) into a temporary directory put on ``sys.path``, found by
its entry point, run by the services like a built-in view, listed and rebuilt by
``opsledger projections``; broken plug-ins are isolated and reported, never fatal.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from adapters.cli.main import main
from adapters.container import Services, build
from adapters.runners.plugins import GROUP
from adapters.settings import Settings
from application.commands.tickets import Assign, LogWork, RegisterTicket, Resolve
from application.ports import FixedClock
from domain.ticket import Contact
from tests.support.services import built

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "opsledger-weekly-load"
UV = Path(sys.executable).with_name("uv")
# Monday 2026-11-16 09:00 in Shanghai: ISO week 2026-W47.
MONDAY = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def install(source: Path, target: Path) -> None:
    subprocess.run([str(UV), "pip", "install", "--offline", "--no-cache", "--no-deps", "--quiet",
                    "--python", sys.executable, "--target", str(target), str(source)],
                   check=True, capture_output=True, text=True, timeout=120)


def write_plugin(directory: Path, name: str, body: str) -> Path:
    """A one-module plug-in package ``name`` whose entry point is ``<module>:create``."""
    module = f"opsledger_test_{name}"
    (directory / "src" / module).mkdir(parents=True)
    (directory / "src" / module / "__init__.py").write_text(body, encoding="utf-8")
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["uv_build>=0.8,<0.14"]\nbuild-backend = "uv_build"\n'
        f'[project]\nname = "{module.replace("_", "-")}"\nversion = "0.1.0"\n'
        f'[project.entry-points."{GROUP}"]\n{name} = "{module}:create"\n', encoding="utf-8")
    return directory


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """``installed(package_dir)`` installs a package where this test (only) imports from."""
    target = tmp_path / "site"

    def install_here(source: Path) -> None:
        install(source, target)
        monkeypatch.syspath_prepend(str(target))

    return install_here


@pytest.fixture
def weekly(installed: Callable[[Path], None], store_url: str) -> Iterator[Services]:
    installed(EXAMPLE)
    services = build(Settings(database_url=store_url, sla_watch_seconds=0),
                     clock=FixedClock(MONDAY))
    try:
        yield services
    finally:
        services.close()


def work_week(services: Services) -> None:
    """Two tickets for ana in week 47 (one resolved), one moved on to bo, hours in 47 and 48."""
    desk, clock = services.desk, services.desk.clock
    numbers = []
    for title in ("ERP down", "VPN slow"):
        numbers.append(desk.handle(RegisterTicket(customer="acme", contact=Contact("Li"),
                                                  channel="phone", title=title, type="fault",
                                                  category="software", urgency="very_urgent",
                                                  impact="all", importance="very_important"),
                                   actor="desk").aggregate.number)
    erp, vpn = numbers
    desk.handle(Assign(ref=erp, assignee="ana"), actor="lead")
    desk.handle(Assign(ref=vpn, assignee="ana"), actor="lead")
    desk.handle(LogWork(ref=erp, action="restart", hours=1.5), actor="ana")
    desk.handle(Resolve(ref=erp, resolution="restarted the service", root_cause="leak"),
                actor="ana")
    clock.advance(days=7)  # week 48
    desk.handle(Assign(ref=vpn, assignee="bo"), actor="lead")
    desk.handle(LogWork(ref=vpn, action="trace", hours=2.0), actor="bo")
    desk.handle(LogWork(ref=vpn, action="handover note", hours=0.5, performed_at=MONDAY),
                actor="ana")  # logged late: counts in the week it was done
    desk.handle(Resolve(ref=vpn, resolution="replaced the router", root_cause="hardware"),
                actor="bo")


EXPECTED = [
    {"assignee": "ana", "week": "2026-W47", "assigned": 2, "resolved": 1, "hours": 2.0},
    {"assignee": "bo", "week": "2026-W48", "assigned": 1, "resolved": 1, "hours": 2.0},
]


def test_the_example_is_found_by_its_entry_point(installed: Callable[[Path], None]) -> None:
    assert "weekly_load" not in {ep.name for ep in entry_points(group=GROUP)}
    installed(EXAMPLE)
    (ep,) = [ep for ep in entry_points(group=GROUP) if ep.name == "weekly_load"]
    assert ep.value == "opsledger_weekly_load:create"


def test_the_plugin_projects_and_rebuilds(weekly: Services) -> None:
    view: Any = weekly.runner.views["weekly_load"]
    work_week(weekly)
    weekly.runner.catch_up_all()
    assert view.rows() == EXPECTED
    assert view.position() == weekly.desk.max_position()
    count, _ = weekly.runner.rebuild("weekly_load")
    assert count == weekly.desk.max_position()
    assert view.rows() == EXPECTED
    assert view.rows("bo") == EXPECTED[1:]
    (status,) = [s for s in weekly.runner.status() if s["name"] == "weekly_load"]
    assert status["plugin"] and status["healthy"] and status["lag"] == 0


def test_the_cli_lists_and_rebuilds_the_plugin(
        installed: Callable[[Path], None], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    installed(EXAMPLE)
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    with built(Settings(database_url=url), clock=FixedClock(MONDAY)) as services:
        work_week(services)
    assert main(["projections", "status", "--database", url]) == 0
    assert "weekly_load (plug-in)" in capsys.readouterr().out
    assert main(["projections", "rebuild", "weekly_load", "--database", url]) == 0
    err = capsys.readouterr().err
    assert "weekly_load:" in err and "events/s" in err
    with built(Settings(database_url=url)) as services:
        assert services.runner.views["weekly_load"].rows() == EXPECTED  # type: ignore[attr-defined]


RAISES_AT_LOAD = "def create(context):\n    raise RuntimeError('no licence key')\n"

FAILS_TO_APPLY = '''
from domain.ticket import Ticket


class Flaky:
    name = "flaky"
    topics = frozenset({Ticket.Registered.TOPIC})

    def position(self):
        return 0

    def apply(self, events, *, start, end):
        raise RuntimeError("disk full")

    def reset(self):
        pass

    def close(self):
        pass


def create(context):
    return Flaky()
'''


def test_broken_plugins_are_isolated_and_reported(
        installed: Callable[[Path], None], tmp_path: Path) -> None:
    installed(write_plugin(tmp_path / "a", "broken", RAISES_AT_LOAD))
    installed(write_plugin(tmp_path / "b", "flaky", FAILS_TO_APPLY))
    services = build(Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}",
                              sla_watch_seconds=0), clock=FixedClock(MONDAY))
    try:
        services.desk.handle(RegisterTicket(customer="acme", contact=Contact("Li"),
                                            channel="phone", title="printer"), actor="desk")
        services.runner.catch_up_all()  # what ``serve`` does before taking traffic: no raise
        status = {s["name"]: s for s in services.runner.status()}
        assert not status["broken"]["healthy"] and status["broken"]["plugin"]
        assert "no licence key" in status["broken"]["last_error"]
        assert not status["flaky"]["healthy"] and "disk full" in status["flaky"]["last_error"]
        assert services.runner.states["flaky"].retry_at > 0  # backing off, retried later
        assert status["ticket_list"]["healthy"] and status["ticket_list"]["lag"] == 0
        # Read-your-writes waits only for the healthy views.
        assert services.runner.wait_for(services.desk.max_position(), 1.0)
    finally:
        services.close()


def test_healthz_names_a_plugin_that_failed_to_load(
        installed: Callable[[Path], None], tmp_path: Path) -> None:
    from litestar.testing import TestClient

    from adapters.http.app import create_app

    installed(write_plugin(tmp_path / "a", "broken", RAISES_AT_LOAD))
    with built(Settings(database_url="memory://", sla_watch_seconds=0)) as services:
        with TestClient(create_app(services)) as client:
            body = client.get("/healthz").json()
        broken = [p for p in body["projections"] if p["name"] == "broken"]
        assert broken and not broken[0]["healthy"] and "no licence key" in broken[0]["last_error"]


def test_a_plugin_cannot_take_a_builtin_name(
        installed: Callable[[Path], None], tmp_path: Path) -> None:
    installed(write_plugin(tmp_path / "a", "ticket_list", RAISES_AT_LOAD.replace(
        "raise RuntimeError('no licence key')", "return object()")))
    with built(Settings(database_url="memory://", sla_watch_seconds=0)) as services:
        assert type(services.runner.views["ticket_list"]).__name__ != "PluginView"
