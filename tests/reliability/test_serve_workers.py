"""``opsledger serve --workers N`` (ADR 0039): N HTTP processes on one port, one projections
worker, nothing lost or issued twice under 8 clients, a dead worker replaced, every child gone
with the supervisor -- on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.driver import Driver, check_store
from tests.reliability.test_worker_process import alive, children, register_and_list, wait_until
from tests.support.serve import Process

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def http_workers(supervisor: int) -> list[int]:
    """The supervisor's HTTP workers (its other child is the projections worker)."""
    return [c for c in children(supervisor)
            if "--http-worker-of" in Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")]


def test_two_http_workers_share_the_port_and_lose_nothing(reliable_url: str, tmp_path: Path):
    server = Process(reliable_url, tmp_path / "serve.log", command=("serve", "--workers", "2"),
                     env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}).start()
    try:
        assert server.proc is not None
        wait_until(lambda: len(children(server.proc.pid)) == 3)  # 2 HTTP workers + projections
        workers = http_workers(server.proc.pid)
        assert len(workers) == 2
        before = {pid: cpu_ticks(pid) for pid in workers}

        driver = Driver(server.url, clients=8, seed=39).start()
        driver.wait_for_acks(240, timeout=120)
        driver.stop()
        assert not driver.unexpected, driver.unexpected[:5]
        assert len(driver.acks) >= 240
        # both processes did work (the kernel hands connections to whichever accepts first)
        assert all(cpu_ticks(pid) > before[pid] + 5 for pid in workers), (before, workers)

        # read your writes, whichever process answers the list
        for i in range(4):
            register_and_list(server.url, f"多进程 {i}")
        health = httpx.get(f"{server.url}/healthz", timeout=10).json()
        assert health["status"] == "ok" and all(v["healthy"] for v in health["projections"])
        if reliable_url.startswith("postgres"):
            # ADR 0083: one pool per process for its read models and side tables, the event
            # store's pool opened as needed: ~100 connections before, PostgreSQL's default
            # max_connections, so a second server could not connect.
            assert connections(reliable_url) <= MAX_CONNECTIONS
    finally:
        assert server.stop() == 0, server.log_tail()
    report = check_store(reliable_url, driver.acks)  # numbers once each, views == rebuild
    assert report.tickets >= 40


MAX_CONNECTIONS = 40  # a server of 2 HTTP workers and its projections worker, after 8 clients


def connections(url: str) -> int:
    """Connections to ``url``'s database but this one."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND pid <> pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_a_dead_worker_is_replaced_and_all_die_with_the_supervisor(reliable_url: str, tmp_path: Path):
    server = Process(reliable_url, tmp_path / "serve.log", command=("serve", "--workers", "2"),
                     env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}).start()
    try:
        assert server.proc is not None
        wait_until(lambda: len(http_workers(server.proc.pid)) == 2)
        first, second = http_workers(server.proc.pid)
        os.kill(first, signal.SIGKILL)
        # the other keeps serving at once; the supervisor starts a replacement
        register_and_list(server.url, "一个进程被杀")
        wait_until(lambda: len(http_workers(server.proc.pid)) == 2 and first not in http_workers(server.proc.pid))
        for i in range(6):
            register_and_list(server.url, f"替换之后 {i}")

        everyone = children(server.proc.pid)
        assert len(everyone) == 3
        server.kill()  # SIGKILL: no shutdown code runs in the supervisor
        wait_until(lambda: not any(alive(pid) for pid in everyone), timeout=15)
    finally:
        server.stop()


def test_sigterm_stops_every_child(reliable_url: str, tmp_path: Path):
    server = Process(reliable_url, tmp_path / "serve.log", command=("serve", "--workers", "3"),
                     env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}).start()
    assert server.proc is not None
    wait_until(lambda: len(children(server.proc.pid)) == 4)
    everyone = children(server.proc.pid)
    register_and_list(server.url, "正常停止")
    assert server.stop() == 0, server.log_tail()
    assert not any(alive(pid) for pid in everyone)


def test_the_setting_is_a_whole_number_from_1_to_64():
    from adapters.settings import Settings, SettingsError

    assert Settings.from_env({}).workers == 1
    assert Settings.from_env({"OPSLEDGER_WORKERS": "4"}).workers == 4
    for bad in ("0", "65", "two", "-1"):
        with pytest.raises(SettingsError):
            Settings.from_env({"OPSLEDGER_WORKERS": bad})


def test_commands_run_inline_by_default():
    from adapters.settings import Settings

    assert Settings.from_env({"OPSLEDGER_DATABASE_URL": "sqlite:///x.db"}).commands_inline
    assert Settings.from_env({"OPSLEDGER_DATABASE_URL": "postgresql://u@h/db"}).commands_inline
    assert not Settings.from_env({"OPSLEDGER_DATABASE_URL": "postgresql://u@h/db",
                                  "OPSLEDGER_INLINE_COMMANDS": "0"}).commands_inline
    assert not Settings.from_env({"OPSLEDGER_DATABASE_URL": "sqlite:///x.db",
                                  "OPSLEDGER_INLINE_COMMANDS": "0"}).commands_inline
    assert Settings.from_env({"OPSLEDGER_DATABASE_URL": "postgresql://u@h/db",
                              "OPSLEDGER_INLINE_COMMANDS": "1"}).commands_inline


def sockets_of(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            pass
    return count


def settled(workers: list[int]) -> dict[int, int]:
    """Each worker's socket count once it has stayed the same for 0.3 s (closes done)."""
    last: dict[int, int] = {}
    for _ in range(100):
        now = {pid: sockets_of(pid) for pid in workers}
        if now == last:
            return now
        last = now
        time.sleep(0.3)
    raise AssertionError(f"socket counts never settled: {last}")


def test_connections_are_spread_evenly_over_the_workers(reliable_url: str, tmp_path: Path):
    """The supervisor hands each accepted connection to the worker with the fewest open ones:
    8 keep-alive clients are served 4 and 4 (workers that accepted on a shared socket split
    them at random, often 7:1)."""
    server = Process(reliable_url, tmp_path / "serve.log", command=("serve", "--workers", "2"),
                     env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}).start()
    clients: list[httpx.Client] = []
    try:
        assert server.proc is not None
        wait_until(lambda: len(http_workers(server.proc.pid)) == 2)
        workers = http_workers(server.proc.pid)
        # both workers up (a connection each, closed again) before counting their sockets
        warm = [httpx.Client(base_url=server.url, timeout=10) for _ in range(2)]
        assert all(c.get("/healthz").status_code == 200 for c in warm)
        for c in warm:
            c.close()
        before = settled(workers)
        for _ in range(8):
            client = httpx.Client(base_url=server.url, timeout=10)
            assert client.get("/healthz").status_code == 200  # the connection stays open
            clients.append(client)
        wait_until(lambda: sum(sockets_of(pid) - before[pid] for pid in workers) == 8)
        assert sorted(sockets_of(pid) - before[pid] for pid in workers) == [4, 4]

        # closed connections are counted back: the next 8 are spread evenly again
        for client in clients[:6]:
            client.close()
        wait_until(lambda: sum(sockets_of(pid) - before[pid] for pid in workers) == 2)
        for _ in range(6):
            client = httpx.Client(base_url=server.url, timeout=10)
            assert client.get("/healthz").status_code == 200
            clients.append(client)
        wait_until(lambda: sum(sockets_of(pid) - before[pid] for pid in workers) == 8)
        assert sorted(sockets_of(pid) - before[pid] for pid in workers) == [4, 4]
    finally:
        for client in clients:
            client.close()
        server.stop()
