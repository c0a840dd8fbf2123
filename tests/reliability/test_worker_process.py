"""``opsledger serve``'s projections worker process (ADR 0038): read-your-writes through it,
restarted when it dies, never outliving its server, and the in-process option."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.driver import API, registration
from tests.support.serve import Process


def children(pid: int) -> list[int]:
    """The running children of ``pid`` (a killed worker the server has not reaped yet, a
    zombie, is not one: with it a restart could briefly show two)."""
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except FileNotFoundError:  # the thread ended since the listing (a report reader
            continue  # ends when its worker dies): it has no children
        found += [int(c) for c in text.split()]
    return [c for c in found if alive(c)]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def register_and_list(url: str, title: str) -> None:
    """A command, then at once the list: it must show the ticket (read your own writes)."""
    created = httpx.post(f"{url}{API}/tickets", json=registration(title), timeout=10)
    assert created.status_code == 201, created.text
    listed = httpx.get(f"{url}{API}/tickets?limit=500", timeout=10)
    assert listed.status_code == 200, listed.text
    assert created.json()["id"] in {t["id"] for t in listed.json()["items"]}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_the_worker_keeps_the_views_is_restarted_and_dies_with_the_server(reliable_url: str,
                                                                         tmp_path: Path):
    # (the default on PostgreSQL; asked for on SQLite)
    server = Process(reliable_url, tmp_path / "serve.log",
                     env={"OPSLEDGER_PROJECTIONS_PROCESS": "1"}).start()
    try:
        assert server.proc is not None
        wait_until(lambda: len(children(server.proc.pid)) == 1)
        [worker] = children(server.proc.pid)
        for i in range(3):
            register_and_list(server.url, f"through the worker {i}")

        # when the worker dies, the server starts another, and lists keep their writes
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: children(server.proc.pid) not in ([], [worker]))
        [worker] = children(server.proc.pid)
        register_and_list(server.url, "through the restarted worker")

        # and a SIGKILL of the server takes the worker with it
        server.kill()
        wait_until(lambda: not alive(worker), timeout=10)
    finally:
        server.stop()


@pytest.mark.parametrize("how", [("serve", "--projections-in-process"), ("serve",)])
def test_in_process_projections_keep_reading_your_writes(reliable_url: str, tmp_path: Path, how):
    """``--projections-in-process``, or SQLite's default (ADR 0038)."""
    if how == ("serve",) and not reliable_url.startswith("sqlite"):
        pytest.skip("a child process is PostgreSQL's default")
    server = Process(reliable_url, tmp_path / "serve.log", command=how)
    with server:
        assert server.proc is not None
        assert children(server.proc.pid) == []
        register_and_list(server.url, "in process")


def test_the_setting_is_1_0_or_auto():
    from adapters.settings import Settings, SettingsError

    read = lambda v: Settings.from_env({"OPSLEDGER_PROJECTIONS_PROCESS": v}).projections_process  # noqa: E731
    assert (read("1"), read("yes"), read("0"), read("off"), read("auto")) == (True, True, False, False, None)
    assert Settings.from_env({}).projections_process is None
    with pytest.raises(SettingsError):
        read("sometimes")
