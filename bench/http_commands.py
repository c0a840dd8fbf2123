"""HTTP command latency and throughput: ``opsledger serve`` driven over real HTTP.

    PYTHONPATH=. .venv/bin/python -m bench.http_commands [--tickets 400] [--clients 1,8]
        [--store sqlite|postgres] [--pg-url URL] [--warmup 20] [--raw-repeats 3] [--json PATH]
        [--client asyncio|threads] [--server-workers N]

For each client count ``c`` (1 and 8 by default), on a FRESH store each time:

1. starts ``opsledger serve`` as a subprocess on a free loopback port (SQLite file in a temp
   dir; or a fresh database on PostgreSQL: ``--pg-url`` names a server, otherwise a private
   PostgreSQL 15 is started with ``tests.support.postgres``), with an admin token (and
   ``--workers N`` when ``--server-workers`` is above 1), and waits for ``GET /healthz``;
2. runs ``--warmup`` untimed ticket lifecycles on one client;
3. drives ``--tickets`` ticket lifecycles split over ``c`` keep-alive connections, started
   together: by default on one event loop (``bench.aio_client``: pre-encoded requests, a lean
   response parser, so the load generator takes little of the CPU it shares with the server);
   with ``--client threads`` on ``c`` threads with an ``http.client`` connection each, like the
   RT peer's bench_rt.py. Six calls per ticket:
   register (all five classification fields: status ``classified``) -> assign -> start ->
   log_work -> resolve -> confirm (passed), timing every call with ``time.perf_counter``
   (the order the domain requires: logging work while ``assigned`` moves the ticket to
   ``in_progress``, after which ``start`` is refused with 409);
4. stops the server by its PID (SIGTERM, then SIGKILL; also on Ctrl-C or an exception);
5. replays, as the raw baseline, EXACTLY the rows the timed run wrote (read back from the
   store: the same originator ids, versions, topics and state bytes, grouped into the same
   commands) into a fresh table shaped like the event store's, one transaction per command,
   on ``c`` threads: raw ``sqlite3`` (WAL, the server's ``synchronous``, NORMAL, ADR 0012) or raw
   ``psycopg``; for SQLite at more than one client also with the writers queued on one Python
   lock, as the library's connection pool queues them. Fastest of ``--raw-repeats`` runs.

It prints tickets/s, commands/s and p50/p95/p99 per call kind and overall, the handler time the
server logged itself (``duration_ms`` of its ``ticket.<command>`` log lines), the CPU time of the
server (every process of its tree) and of this client process while the clock ran, and
opsledger/raw ratios. It is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from adapters.settings import Settings
from bench.common import (
    BenchPostgres,
    bench_parser,
    clean_up,
    load_average,
    postgres_or_skip,
    print_header,
    source_state,
    stop_on_sigterm,
    write_json,
)
from bench.encoding import CUSTOMERS, DESCRIPTIONS, ENGINEERS, GROUPS, SYSTEMS, TITLES
from domain.ticket import Ticket

CST = timezone(timedelta(hours=8))
KINDS = ("register", "assign", "start", "log_work", "resolve", "confirm")
# Which command wrote a ticket event, by its originator version (register with all five
# classification fields writes Registered v1 + Classified v2 in one transaction).
KIND_BY_VERSION = {1: "register", 3: "assign", 4: "start", 5: "log_work", 6: "resolve", 7: "confirm"}
TARGET_P99_MS = 25.0
SQLITE_SYNCHRONOUS = Settings().sqlite_synchronous  # what `opsledger serve` runs with by default
TARGET_CLIENTS = 8
TICKET_TOPIC_PREFIX = Ticket.Registered.TOPIC.rsplit(".", 1)[0] + "."  # "opsledger.ticket:Ticket."


# ----------------------------------------------------------------- request bodies


def bodies(i: int) -> dict[str, bytes]:
    """The six JSON bodies of lifecycle ``i`` (deterministic, Chinese text as in real use)."""
    k = i % 4
    reported = (datetime.now(CST) - timedelta(minutes=30)).replace(microsecond=0)
    plain: dict[str, Any] = {
        "register": {
            "customer": CUSTOMERS[k],
            "contact": {"name": "王建国", "phone": f"1380013{i % 10000:04d}", "email": "wangjg@example.cn"},
            "channel": ("phone", "email", "web", "fax", "onsite")[i % 5],
            "title": TITLES[k],
            "description": DESCRIPTIONS[k],
            "affected_system": SYSTEMS[k],
            "reported_at": reported.isoformat(),
            "type": ("fault", "fault", "consultation", "optimization")[k],
            "category": "网络/交换机" if k == 0 else "应用/性能",
            "urgency": ("not_urgent", "urgent", "very_urgent")[i % 3],
            "impact": ("single", "some", "all")[(i // 3) % 3],
            "importance": ("not_important", "important", "very_important")[k % 3],
        },
        "assign": {
            "assignee": ENGINEERS[k],
            "group": GROUPS[k],
            "interface_person": "客户接口人 赵敏" if i % 2 else None,
        },
        "start": {},
        "log_work": {
            "action": "远程登录设备，收集日志并定位故障点；确认与光模块收光功率偏低有关。",
            "hours": 0.75,
            "workaround": "临时将业务切换至备用链路 Gi1/0/23",
        },
        "resolve": {
            "resolution": "更换 Gi1/0/24 光模块（SFP-10G-LR）并清洁跳线，端口恢复稳定，业务已切回主链路。",
            "root_cause": "光模块老化导致收光功率低于阈值",
            "first_contact": i % 7 == 0,
        },
        "confirm": {
            "signer": "王建国",
            "items": ["更换光模块 1 个", "清洁光纤跳线 2 根", "恢复主链路"],
            "criteria": ["端口 24 小时无闪断", "遥测数据刷新正常"],
            "passed": True,
            "note": "客户确认业务恢复正常" if i % 2 else "",
        },
    }
    return {kind: json.dumps(body, ensure_ascii=False).encode() for kind, body in plain.items()}


# --------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), ``q`` in [0, 100]."""
    if not values:
        return float("nan")
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class Dist:
    n: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, ms: Sequence[float]) -> Dist:
        return cls(len(ms), percentile(ms, 50), percentile(ms, 95), percentile(ms, 99), max(ms, default=float("nan")))


def timed(n: int, fn: Callable[[int], Any], warmup: int = 20) -> Dist:
    """``fn(k)`` timed ``n`` times after ``warmup`` untimed calls; its milliseconds."""
    for k in range(warmup):
        fn(k)
    ms = []
    for k in range(n):
        t0 = time.perf_counter()
        fn(k)
        ms.append((time.perf_counter() - t0) * 1000)
    return Dist.of(ms)


@dataclass
class RunResult:
    label: str
    clients: int
    tickets: int
    commands: int
    seconds: float
    by_kind: dict[str, Dist]
    overall: Dist
    server_by_kind: dict[str, Dist] = field(default_factory=dict)
    server_overall: Dist | None = None
    server_cpu_s: float | None = None
    client_cpu_s: float | None = None
    rows: int = 0
    client: str = ""  # the load generator: "asyncio (uvloop)", "threads (http.client)"; "" for raw runs
    server_workers: int = 1  # serve --workers N: HTTP worker processes

    @property
    def tickets_per_s(self) -> float:
        return self.tickets / self.seconds

    @property
    def commands_per_s(self) -> float:
        return self.commands / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tickets_per_s": self.tickets_per_s, "commands_per_s": self.commands_per_s}


# ----------------------------------------------------------------------- stores


class Store:
    """Where the server keeps its events, and where the raw baseline writes the same rows."""

    kind: str

    def server_url(self, clients: int) -> str: ...
    def read_rows(self, url: str, after: int) -> list[tuple[int, str, int, str, bytes]]: ...
    def raw_replay(self, groups_by_thread: list[list[Group]], *, serialise: bool = False, attempt: int = 0) -> RunResult: ...
    def close(self) -> None: ...


@dataclass
class Group:
    """The rows one command wrote, in one transaction."""

    kind: str
    ticket: str
    rows: list[tuple[str, int, str, bytes]]


def group_rows(rows: list[tuple[int, str, int, str, bytes]]) -> list[Group]:
    """Split the log (position order) into commands.

    A command's rows are contiguous in the log (the store serialises writers) and start with
    the ticket's event; Classified (v2) belongs to the register before it, and the numbering
    (DailySequence) rows that follow belong to the same command as the ticket row before them.
    """
    groups: list[Group] = []
    for _pos, oid, ver, topic, state in rows:
        is_ticket = topic.startswith(TICKET_TOPIC_PREFIX)
        if is_ticket and ver in KIND_BY_VERSION:
            groups.append(Group(KIND_BY_VERSION[ver], oid, []))
        if not groups:
            raise RuntimeError(f"row {oid} v{ver} {topic} comes before any command")
        groups[-1].rows.append((oid, ver, topic, state))
    return groups


def split_by_ticket(groups: list[Group], threads: int) -> list[list[Group]]:
    """Each ticket's commands on one thread, in order; tickets dealt round-robin."""
    slot: dict[str, int] = {}
    out: list[list[Group]] = [[] for _ in range(threads)]
    for g in groups:
        out[slot.setdefault(g.ticket, len(slot) % threads)].append(g)
    return out


def own_cpu_seconds() -> float:
    """User + system CPU of this process, every thread included."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Meter:
    """The CPU the server's process tree and this process use while the clock runs: read by
    the load generator right after it starts the clock and right after it stops it."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.server_s: float | None = None
        self.client_s: float | None = None
        self._server0: float | None = None
        self._client0 = 0.0

    def start(self) -> None:
        self._server0, self._client0 = cpu_seconds(self.server_pid), own_cpu_seconds()

    def stop(self) -> None:
        client1, server1 = own_cpu_seconds(), cpu_seconds(self.server_pid)
        self.client_s = client1 - self._client0
        if self._server0 is not None and server1 is not None:
            self.server_s = server1 - self._server0


def timed_threads(
    work: Sequence[Callable[[threading.Barrier], list[tuple[str, float]]]],
    meter: Meter | None = None,
) -> tuple[float, list[tuple[str, float]], list[BaseException]]:
    """Run each callable on its own thread, started together; (wall seconds, samples, errors)."""
    barrier = threading.Barrier(len(work) + 1)
    samples: list[tuple[str, float]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(fn: Callable[[threading.Barrier], list[tuple[str, float]]]) -> None:
        try:
            got = fn(barrier)
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()
            with lock:
                errors.append(e)
            return
        with lock:
            samples.extend(got)

    threads = [threading.Thread(target=run, args=(fn,), daemon=True) for fn in work]
    for t in threads:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    if meter is not None:
        meter.start()
    began = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    if meter is not None:
        meter.stop()
    return seconds, samples, errors


def raw_result(label: str, groups_by_thread: list[list[Group]],
               worker: Callable[[list[Group]], Callable[[threading.Barrier], list[tuple[str, float]]]]
               ) -> RunResult:
    """A raw baseline run: ``worker`` of each thread's groups, started together; ``rows`` is
    every row the groups hold."""
    seconds, samples, errors = timed_threads([worker(g) for g in groups_by_thread])
    if errors:
        raise errors[0]
    tickets = sum(1 for gs in groups_by_thread for g in gs if g.kind == "register")
    res = result_from(label, len(groups_by_thread), tickets, seconds, samples)
    res.rows = sum(len(g.rows) for gs in groups_by_thread for g in gs)
    return res


def result_from(label: str, clients: int, tickets: int, seconds: float,
                samples: list[tuple[str, float]]) -> RunResult:
    by: dict[str, list[float]] = defaultdict(list)
    for kind, ms in samples:
        by[kind].append(ms)
    return RunResult(
        label=label, clients=clients, tickets=tickets, commands=len(samples), seconds=seconds,
        by_kind={k: Dist.of(by[k]) for k in KINDS if k in by},
        overall=Dist.of([ms for _, ms in samples]),
    )


class SQLiteStore(Store):
    kind = "sqlite"

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp

    def server_url(self, clients: int) -> str:
        # sqlite:/// + an absolute path (four slashes): that path under the SQLAlchemy
        # convention, and a POSIX-equivalent "//abs/path" under a plain "sqlite://" + path one.
        return f"sqlite:///{self.path(clients)}"

    def path(self, clients: int) -> Path:
        return (self.tmp / f"opsledger-{clients}c.sqlite3").resolve()

    def read_rows(self, url: str, after: int) -> list[tuple[int, str, int, str, bytes]]:
        path = self.path(int(url.rsplit("-", 1)[1].removesuffix("c.sqlite3")))
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return conn.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "
                "FROM stored_events WHERE rowid > ? ORDER BY rowid",
                (after,),
            ).fetchall()

    def raw_replay(self, groups_by_thread: list[list[Group]], *, serialise: bool = False, attempt: int = 0) -> RunResult:
        clients = len(groups_by_thread)
        path = self.tmp / f"raw-{clients}c{'-lock' if serialise else ''}-{attempt}.sqlite3"
        # The library's connection pool lets one writer at a time into SQLite (a Python lock,
        # ConnectionPool._writer_lock); without it, contending writers meet SQLite's busy
        # handler, which sleeps (1, 2, 5, 10, ... 100 ms) instead of queueing.
        writer_lock = threading.Lock() if serialise else contextlib.nullcontext()
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
                "topic TEXT, state BLOB, PRIMARY KEY(originator_id, originator_version))"
            )

        def worker(groups: list[Group]) -> Callable[[threading.Barrier], list[tuple[str, float]]]:
            def run(barrier: threading.Barrier) -> list[tuple[str, float]]:
                # Like the library's pool: autocommit connection, explicit BEGIN, WAL, the
                # same 10 s lock timeout as SQLITE_LOCK_TIMEOUT in adapters/stores/persistence.py,
                # and the server's durability setting (adapters/stores/sqlite.py, ADR 0012).
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
                conn.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
                out: list[tuple[str, float]] = []
                try:
                    barrier.wait()
                    for g in groups:
                        t0 = time.perf_counter()
                        with writer_lock:
                            conn.execute("BEGIN IMMEDIATE")
                            for row in g.rows:
                                conn.execute("INSERT INTO stored_events VALUES (?,?,?,?)", row)
                            conn.execute("COMMIT")
                        out.append((g.kind, (time.perf_counter() - t0) * 1000))
                finally:
                    conn.close()
                return out

            return run

        return raw_result("raw sqlite3 + writer lock" if serialise else "raw sqlite3", groups_by_thread, worker)

    def close(self) -> None:
        pass


class PostgresStore(BenchPostgres, Store):
    kind = "postgres"

    def server_url(self, clients: int) -> str:
        return self.database(f"bench_http_{clients}c")

    def read_rows(self, url: str, after: int) -> list[tuple[int, str, int, str, bytes]]:
        import psycopg
        from psycopg import sql

        with psycopg.connect(url) as conn:
            schema, table = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.columns "
                "WHERE column_name = 'notification_id' AND table_name LIKE '%%_events'"
            ).fetchone()  # type: ignore[misc]
            query = sql.SQL(
                "SELECT notification_id, originator_id::text, originator_version, topic, state "
                "FROM {}.{} WHERE notification_id > %s ORDER BY notification_id"
            ).format(sql.Identifier(schema), sql.Identifier(table))
            return [(p, o.replace("-", ""), v, t, bytes(s)) for p, o, v, t, s in conn.execute(query, (after,))]

    def raw_replay(self, groups_by_thread: list[list[Group]], *, serialise: bool = False, attempt: int = 0) -> RunResult:
        import psycopg

        clients = len(groups_by_thread)
        url = self.database(f"bench_raw_{clients}c_{attempt}")
        with psycopg.connect(url, autocommit=True) as conn:
            # The shape of the library's events table (eventsourcing.postgres, 9.5.6).
            conn.execute(
                "CREATE TABLE stored_events (originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, topic text, state bytea, "
                "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
            )
            conn.execute("CREATE UNIQUE INDEX stored_events_notification_id ON stored_events (notification_id)")

        def worker(groups: list[Group]) -> Callable[[threading.Barrier], list[tuple[str, float]]]:
            def run(barrier: threading.Barrier) -> list[tuple[str, float]]:
                out: list[tuple[str, float]] = []
                with psycopg.connect(url, autocommit=True) as conn:
                    barrier.wait()
                    for g in groups:
                        t0 = time.perf_counter()
                        with conn.transaction():
                            for row in g.rows:
                                conn.execute(
                                    "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                                    "VALUES (%s, %s, %s, %s)",
                                    row,
                                )
                        out.append((g.kind, (time.perf_counter() - t0) * 1000))
                return out

            return run

        return raw_result("raw psycopg", groups_by_thread, worker)


def open_store(kind: str, tmp: Path, pg_url: str | None) -> Store | None:
    """The store to benchmark, or None (with the reason printed) when PostgreSQL cannot be had."""
    return SQLiteStore(tmp) if kind == "sqlite" else postgres_or_skip(lambda: PostgresStore(pg_url))


# ----------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def opsledger_command() -> list[str]:
    script = Path(sys.executable).parent / "opsledger"
    if script.is_file():
        return [str(script)]
    found = shutil.which("opsledger")
    return [found] if found else [sys.executable, "-m", "adapters.cli.main"]


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process and all its running descendants (Linux /proc), in seconds:
    ``serve`` (with ``--workers N``, the supervisor), its N HTTP worker processes (ADR 0039)
    and the projections worker (ADR 0038), whichever process started which, count as the
    server. Children are walked recursively, so grandchildren count too; a process that
    exits between two readings loses its CPU from the second (none do during a run)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
    for child in child_pids(pid):
        total += cpu_seconds(child) or 0.0
    return total


def descendants(pid: int) -> list[int]:
    """Every running descendant of ``pid`` (children, grandchildren, ...)."""
    return [d for c in child_pids(pid) for d in (c, *descendants(c))]


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid``, whichever of its threads started them."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError):
                found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


class Server:
    """``opsledger serve`` in a subprocess, stopped by its PID; ``workers`` > 1 adds
    ``--workers N`` (N HTTP worker processes on the one port, ADR 0039); ``settings``: more
    ``OPSLEDGER_*`` variables (e.g. ``OPSLEDGER_RATE_LIMIT=off``); ``code``: the checkout whose
    code the server runs (default this one; ``bench.server_cpu`` runs an older commit's)."""

    def __init__(self, database_url: str, workdir: Path, token: str, workers: int = 1,
                 settings: dict[str, str] | None = None, code: Path | None = None) -> None:
        self.port = free_port()
        self.workers = workers
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        cmd = [*opsledger_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--database", database_url]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        setpriv = shutil.which("setpriv")
        if setpriv:  # the server stops itself if this process is killed outright
            cmd = [setpriv, "--pdeathsig", "TERM", "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLEDGER_")}
        env.update(OPSLEDGER_ADMIN_TOKEN=token, OPSLEDGER_LOG_JSON="1",
                   PYTHONPATH=str(code or Path(__file__).resolve().parent.parent), **(settings or {}))
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603
            cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=workdir, env=env, start_new_session=True,  # Ctrl-C goes to us, we stop it
        )

    def wait_healthy(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"opsledger serve exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                r = httpx.get(f"{self.base_url}/healthz", timeout=2)
                if r.status_code == 200:
                    return r.json()  # type: ignore[no-any-return]
            except httpx.HTTPError as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError(f"opsledger serve not healthy within {timeout:.0f}s ({last}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def stop(self) -> None:
        tree = descendants(self.proc.pid)  # HTTP workers, projections worker: ours to end too
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        deadline = time.monotonic() + 5  # serve stops its children; any left after that are killed
        for pid in tree:
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)
            if Path(f"/proc/{pid}").exists():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._log.close()

    def command_durations(self, skip: int) -> list[tuple[str, float]]:
        """(kind, duration_ms) of the server's own ``ticket.<command>`` log lines after ``skip``."""
        out: list[tuple[str, float]] = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            event = str(rec.get("event", ""))
            if event.startswith("ticket.") and "duration_ms" in rec:
                out.append((event.removeprefix("ticket."), float(rec["duration_ms"])))
        return out[skip:]


# ----------------------------------------------------------------------- clients


def lifecycle(client: Client, body: dict[str, bytes], out: list[tuple[str, float]] | None) -> None:
    """One ticket, six calls; appends (kind, ms) to ``out`` when given."""
    t0 = time.perf_counter()
    r = client.post("/api/v1/tickets", content=body["register"])
    if r.status_code != 201:
        raise RuntimeError(f"register: {r.status_code} {r.text[:500]}")
    if out is not None:
        out.append(("register", (time.perf_counter() - t0) * 1000))
    ticket = r.headers["location"].rsplit("/", 1)[1]
    for kind in KINDS[1:]:
        t0 = time.perf_counter()
        r = client.post(f"/api/v1/tickets/{ticket}/{kind}", content=body[kind])
        if r.status_code != 200:
            raise RuntimeError(f"{kind} {ticket}: {r.status_code} {r.text[:500]}")
        if out is not None:
            out.append((kind, (time.perf_counter() - t0) * 1000))


class Reply:
    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Client:
    """A keep-alive HTTP/1.1 client on the standard library's ``http.client``: the same kind of
    load generator as the Request Tracker peer's ``bench_rt.py``. Used by ``bench.scale``, for
    the untimed warm-up, and as ``--client threads`` (one per thread) for comparison with the
    default ``bench.aio_client``, which costs the shared CPU several times less per call."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, content: bytes | None = None) -> Reply:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=content, headers=self.headers)
                r = self.conn.getresponse()
                data = r.read()
                headers = {k.lower(): v for k, v in r.getheaders()}
                if r.will_close:
                    self.conn.close()
                    self.conn = None
                return Reply(r.status, headers, data)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def post(self, path: str, content: bytes) -> Reply:
        return self.request("POST", path, content)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.close()


def make_client(base_url: str, token: str) -> Client:
    return Client(base_url, token)


def timed_client_threads(base_url: str, token: str, shares: list[list[dict[str, bytes]]],
                         meter: Meter | None) -> tuple[float, list[tuple[str, float]], list[BaseException]]:
    """The thread load generator: one thread and one ``http.client`` connection per share."""

    def worker(share: list[dict[str, bytes]]) -> Callable[[threading.Barrier], list[tuple[str, float]]]:
        def run(barrier: threading.Barrier) -> list[tuple[str, float]]:
            out: list[tuple[str, float]] = []
            with make_client(base_url, token) as c:
                c.get("/healthz")  # open the keep-alive connection before the clock starts
                barrier.wait()
                for body in share:
                    lifecycle(c, body, out)
            return out

        return run

    return timed_threads([worker(s) for s in shares], meter)


CLIENTS = ("asyncio", "threads")  # --client: the lean event-loop client (default), the thread client


def client_name(kind: str) -> str:
    if kind == "threads":
        return "threads (http.client)"
    from bench.aio_client import LOOP  # imported late: bench.aio_client imports this module

    return f"asyncio ({LOOP})"


def drive(client: str, base_url: str, token: str, shares: list[list[dict[str, bytes]]],
          meter: Meter | None) -> tuple[float, list[tuple[str, float]], list[BaseException]]:
    """Each share's lifecycles on a connection of its own, by the ``client`` load generator."""
    if client == "threads":
        return timed_client_threads(base_url, token, shares, meter)
    from bench.aio_client import timed_lifecycles  # imported late: it imports this module

    return timed_lifecycles(base_url, token, shares, meter)


def run_level(store: Store, clients: int, tickets: int, warmup: int, workdir: Path,
              raw_repeats: int = 3, client: str = "asyncio",
              server_workers: int = 1) -> tuple[RunResult, list[RunResult]]:
    """One level: a fresh server, warm-up, ``tickets`` timed lifecycles on ``clients``
    connections driven by the ``client`` load generator, then the raw replay."""
    token = secrets.token_urlsafe(24)
    url = store.server_url(clients)
    server = Server(url, workdir, token, workers=server_workers)
    try:
        server.wait_healthy()
        # Untimed warm-up on as many connections as the timed run, by the same client, so that
        # every HTTP worker process is warm (one connection would reach only one of them).
        warm = [bodies(1_000_000 + i) for i in range(warmup)]
        warm_shares = [share for share in (warm[k::clients] for k in range(clients)) if share]
        _, _, errors = drive(client, server.base_url, token, warm_shares, None)
        if errors:
            raise errors[0]
        with make_client(server.base_url, token) as c:
            head_before = int(c.get("/healthz").json()["head"])
        all_bodies = [bodies(i) for i in range(tickets)]
        shares = [all_bodies[k::clients] for k in range(clients)]
        meter = Meter(server.proc.pid)
        seconds, samples, errors = drive(client, server.base_url, token, shares, meter)
        if errors:
            raise errors[0]
        result = result_from("opsledger", clients, tickets, seconds, samples)
        result.server_cpu_s, result.client_cpu_s = meter.server_s, meter.client_s
        result.client, result.server_workers = client_name(client), server_workers
    finally:
        server.stop()
    logged = server.command_durations(skip=warmup * len(KINDS))
    by: dict[str, list[float]] = defaultdict(list)
    for kind, ms in logged:
        by[kind].append(ms)
    result.server_by_kind = {k: Dist.of(by[k]) for k in KINDS if k in by}
    result.server_overall = Dist.of([ms for _, ms in logged]) if logged else None

    rows = store.read_rows(url, head_before)
    result.rows = len(rows)
    groups = group_rows(rows)
    kinds = Counter(g.kind for g in groups)
    if len(groups) != tickets * len(KINDS) or any(kinds[k] != tickets for k in KINDS):
        raise RuntimeError(f"could not split the {len(rows)} rows into {tickets} x 6 commands: {dict(kinds)}")
    work = split_by_ticket(groups, clients)
    variants = [False, True] if isinstance(store, SQLiteStore) and clients > 1 else [False]
    raws = [min((store.raw_replay(work, serialise=v, attempt=a) for a in range(raw_repeats)),
                key=lambda r: r.seconds)
            for v in variants]
    return result, raws


# ------------------------------------------------------------------------ report


def fmt_dist(d: Dist | None) -> str:
    if d is None:
        return f"{'-':>7} {'-':>8} {'-':>8} {'-':>8}"
    return f"{d.p50:7.2f} {d.p95:8.2f} {d.p99:8.2f} {d.max:8.2f}"


def print_level(ops: RunResult, raws: list[RunResult]) -> None:
    print(f"--- {ops.clients} client{'s' if ops.clients > 1 else ''}: {ops.tickets:,} tickets, "
          f"{ops.commands:,} commands, {ops.rows:,} stored rows ({ops.rows / ops.commands:.2f} per command)")
    print(f"{'':26} {'seconds':>8} {'tickets/s':>10} {'commands/s':>11}")
    for r in (ops, *raws):
        print(f"{r.label:26} {r.seconds:8.2f} {r.tickets_per_s:10.1f} {r.commands_per_s:11.1f}")
    cpu = []
    if ops.server_cpu_s is not None:
        workers = f"{ops.server_workers} HTTP worker processes, " if ops.server_workers > 1 else ""
        cpu.append(f"server ({workers}with its projections worker) {ops.server_cpu_s:.2f} s "
                   f"({ops.server_cpu_s / ops.commands * 1000:.2f} ms/command)")
    if ops.client_cpu_s is not None:
        cpu.append(f"this client process, {ops.client}, {ops.client_cpu_s:.2f} s "
                   f"({ops.client_cpu_s / ops.commands * 1000:.3f} ms/command)")
    if cpu:
        print("CPU during the timed run: " + "; ".join(cpu))
    print()
    short = {"raw sqlite3": "raw", "raw sqlite3 + writer lock": "raw+lock", "raw psycopg": "raw"}
    header = (f"{'latency ms':10} {'n':>5} | {'client p50':>10} {'p95':>7} {'p99':>7} {'max':>7} |"
              f" {'handler p50':>11} {'p99':>7}")
    for r in raws:
        name = short.get(r.label, r.label)
        header += f" | {name + ' p50':>12} {'p99':>7}"
    print_header(header)
    for name in (*KINDS, "overall"):
        d = ops.overall if name == "overall" else ops.by_kind[name]
        sd = ops.server_overall if name == "overall" else ops.server_by_kind.get(name)
        line = f"{name:10} {d.n:5,} | {d.p50:10.2f} {d.p95:7.2f} {d.p99:7.2f} {d.max:7.2f} |"
        line += f" {sd.p50:11.2f} {sd.p99:7.2f}" if sd else f" {'-':>11} {'-':>7}"
        for r in raws:
            rd = r.overall if name == "overall" else r.by_kind[name]
            line += f" | {rd.p50:12.2f} {rd.p99:7.2f}"
        print(line)
    print("(client = observed by the HTTP client; handler = duration_ms logged by the server for the command)")
    print()
    print(f"{'ratios opsledger / baseline':30} {'commands/s':>11} {'p50':>8} {'p95':>8} {'p99':>8}")
    for r in raws:
        print(f"{'opsledger / ' + r.label:30} {ops.commands_per_s / r.commands_per_s:10.3f}x"
              f" {ops.overall.p50 / r.overall.p50:7.1f}x {ops.overall.p95 / r.overall.p95:7.1f}x"
              f" {ops.overall.p99 / r.overall.p99:7.1f}x")
    print("(commands/s < 1: opsledger is slower than the raw inserts; latency ratios > 1: slower)")
    print()


# What docs/scaling.md recommends for one machine: one HTTP worker process per core.
DEFAULT_SERVER_WORKERS = max(1, min(os.cpu_count() or 1, 8))


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """``--client`` and ``--server-workers``, shared with ``bench.lifecycle`` and ``python -m bench``."""
    parser.add_argument("--client", choices=CLIENTS, default="asyncio",
                        help="load generator: asyncio (one event loop, lean: the default) or threads "
                             "(a thread and an http.client connection per client, for comparison)")
    parser.add_argument("--server-workers", type=int, default=DEFAULT_SERVER_WORKERS, metavar="N",
                        help="opsledger serve --workers N (HTTP worker processes; 1: the flag is not "
                             f"passed, one process); default: one per core ({DEFAULT_SERVER_WORKERS} here, "
                             "docs/scaling.md, ADR 0039)")


def server_workers_text(n: int) -> str:
    return f"{n} HTTP worker process{'es' if n != 1 else ''} (--workers {n})" if n > 1 else "1 HTTP process"


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("bench.http_commands", __doc__)
    parser.add_argument("--tickets", type=int, default=400, help="timed ticket lifecycles per client count (6 calls each)")
    parser.add_argument("--clients", default="1,8", help="comma-separated concurrent client counts")
    parser.add_argument("--warmup", type=int, default=20, help="untimed lifecycles before each timed run")
    parser.add_argument("--raw-repeats", type=int, default=3, help="raw baseline runs per level; the fastest is kept")
    add_load_options(parser)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    levels = [int(x) for x in args.clients.split(",") if x.strip()]

    tmp = Path(tempfile.mkdtemp(prefix="opsledger-bench-http-"))
    store: Store | None = None
    results: list[tuple[RunResult, list[RunResult]]] = []
    try:
        store = open_store(args.store, tmp, args.pg_url)
        if store is None:
            return 0

        print(f"HTTP commands: opsledger serve ({args.store}) over real HTTP, "
              f"{args.tickets:,} ticket lifecycles x 6 calls per client count, "
              f"{args.warmup} warm-up lifecycles untimed")
        print(f"Python {platform.python_version()} ({platform.machine()}, {os.cpu_count()} CPUs), "
              f"eventsourcing {version('eventsourcing')}, litestar {version('litestar')}, "
              f"uvicorn {version('uvicorn')}, sqlite {sqlite3.sqlite_version}")
        print(f"load generator: {client_name(args.client)}; server: opsledger serve, "
              f"{server_workers_text(args.server_workers)}")
        print("client and server on the same machine (loopback); server log level info, JSON to a file")
        print(f"code: {source_state()}; load average at start {load_average():.2f}")
        print()
        for clients in levels:
            ops, raws = run_level(store, clients, args.tickets, args.warmup, tmp, args.raw_repeats,
                                  args.client, args.server_workers)
            results.append((ops, raws))
            print_level(ops, raws)
        print(f"load average at end {load_average():.2f} (1 min; the machine has {os.cpu_count()} CPUs)")

        if args.store == "sqlite":
            for ops, _raws in results:
                if ops.clients == TARGET_CLIENTS:
                    ok = ops.overall.p99 <= TARGET_P99_MS
                    print(f"target: command p99 <= {TARGET_P99_MS:.0f} ms at {TARGET_CLIENTS} clients on SQLite: "
                          f"{'MET' if ok else 'NOT MET'} (p99 {ops.overall.p99:.2f} ms)")
        print()
        print("Notes:")
        print("  * opsledger is measured once per client count; each raw baseline is run --raw-repeats\n"
              "    times on a fresh table and the fastest run is shown.")
        print("  * the raw baseline writes the very rows the timed run stored (read back from the store,\n"
              "    grouped into the commands that wrote them: register = Registered + Classified + the\n"
              "    SR number's sequence event, confirm = AcceptanceConfirmed + the SD sequence event),\n"
              "    one transaction per command, with a ticket's commands in order on one thread.")
        if args.store == "sqlite":
            print(f"  * raw sqlite3: fresh file, WAL, synchronous={SQLITE_SYNCHRONOUS} as the server runs (ADR 0012);\n"
                  "    BEGIN IMMEDIATE, one INSERT per row, COMMIT; 10 s\n"
                  "    busy timeout. 'raw sqlite3 + writer lock' (more than one client): the same, with the\n"
                  "    writers queued on one Python lock as the library's connection pool does; without it,\n"
                  "    contending writers meet SQLite's busy handler, which sleeps (up to 100 ms at a time).")
        else:
            print("  * raw psycopg: fresh database on the same server, the library's table shape, one INSERT\n"
                  "    per row in one transaction per command; no LOCK TABLE (the library takes one).")
            if isinstance(store, PostgresStore) and not store.server.is_external:
                print("  * the private server (tests.support.postgres) runs with fsync=off, synchronous_commit=off,\n"
                      "    full_page_writes=off: commits cost no disk flush, for opsledger and raw alike.")
        print("  * server handler = the duration_ms the server logs for each command (inside the worker\n"
              "    thread: load, domain, save), so client-observed minus handler is HTTP, routing,\n"
              "    (de)serialisation, the thread hop, and waiting for the GIL in either process.")
        write_json(args.json, {"store": args.store, "client": client_name(args.client),
                               "server_workers": args.server_workers, "levels": [
            {"opsledger": o.as_dict(), "raw": [r.as_dict() for r in rs]} for o, rs in results]})
        return 0
    finally:
        clean_up(tmp, store)


if __name__ == "__main__":
    sys.exit(main())
