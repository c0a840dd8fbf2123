"""Where a server's CPU goes: the lifecycle over HTTP, CPU per command of each server process,
this checkout beside an older commit in the same run (ADR 0071).

    PYTHONPATH=. .venv/bin/python -m bench.server_cpu [--store sqlite|postgres] [--baseline REV]
        [--clients 8] [--tickets 400] [--server-workers 2] [--rounds 2] [--warmup 40] [--json PATH]

For each round, and for each of the two trees (alternating: the baseline, then this checkout),
it starts ``opsledger serve --workers N`` from that tree on a fresh store (SQLite file, or a
database on a private PostgreSQL), warms it up, drives ``--tickets`` six-call lifecycles on
``--clients`` connections with ``bench.http_commands``'s lean asyncio client, waits for the
projections worker to catch up, and reads ``utime + stime`` of every server process from
``/proc/<pid>/stat`` before and after. It prints, per process kind (supervisor, HTTP workers,
projections worker; and on the private PostgreSQL, its server's processes: the backends running
and those exited, ``cutime``), ms of CPU per command, the total, tickets/s and p50/p99 of the commands,
and the ratio of this checkout to the baseline. ``--baseline`` is checked out with
``git worktree add`` into a temporary folder (and removed); the default is the commit before
the first one of issue 22's ADR 0071 (069cee2).

CPU per command is the figure the machine's other load moves least; tickets/s and p99 are
printed but depend on how busy the machine is.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT, bench_parser, load_average, source_state, stop_on_sigterm, write_json
from bench.http_commands import Server, bodies, descendants, drive, open_store, percentile

DEFAULT_BASELINE = "069cee2"
POSTGRES = "PostgreSQL (its backends)"


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reaped_cpu(pid: int) -> float:
    """The CPU of ``pid``'s children that have exited and been waited for (cutime + cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(postmaster: int | None) -> float:
    """The CPU of a PostgreSQL server so far: its backends (and other children) running now and
    those that have exited. Without a postmaster of our own (``--pg-url``): 0."""
    if postmaster is None:
        return 0.0
    total = reaped_cpu(postmaster)
    for child in descendants(postmaster):
        try:
            total += process_cpu(child)
        except (FileNotFoundError, ProcessLookupError):
            pass  # exited meanwhile: in the reaped CPU at the next reading
    return total


def kind_of(pid: int, root_pid: int) -> str:
    if pid == root_pid:
        return "supervisor"
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return "projections worker" if b"projections" in args else "HTTP workers"


def measure(tree: Path, store: Any, clients: int, tickets: int, workers: int, tmp: Path,
            warmup: int = 40) -> dict[str, Any]:
    """One timed run of ``serve`` from ``tree`` (its code first on ``PYTHONPATH``)."""
    server_of = getattr(store, "server", None)  # the private PostgreSQL, when it is ours
    postmaster = None if server_of is None or server_of.is_external else server_of.pid
    token = secrets.token_urlsafe(24)
    server = Server(store.server_url(clients), tmp, token, workers=workers, code=tree)
    try:
        server.wait_healthy()
        warm = [bodies(1_000_000 + i) for i in range(warmup)]
        drive("asyncio", server.base_url, token, [warm[k::clients] for k in range(clients)], None)
        time.sleep(0.5)
        pids = [server.proc.pid, *descendants(server.proc.pid)]
        kinds = {p: kind_of(p, server.proc.pid) for p in pids}
        before = {p: process_cpu(p) for p in pids}
        pg_before = postgres_cpu(postmaster)
        work = [bodies(i) for i in range(tickets)]
        seconds, samples, errors = drive("asyncio", server.base_url, token,
                                         [work[k::clients] for k in range(clients)], None)
        if errors:
            raise errors[0]
        time.sleep(1.5)  # the projections worker catches up: its CPU for these commands counts
        after = {p: process_cpu(p) for p in pids}
        pg_after = postgres_cpu(postmaster)
    finally:
        server.stop()
    commands = tickets * 6
    by_kind: dict[str, float] = defaultdict(float)
    for pid in pids:
        by_kind[kinds[pid]] += (after[pid] - before[pid]) / commands * 1000
    ms = sorted(m for _, m in samples)
    ours = sum(by_kind.values())
    if postmaster is not None:
        by_kind[POSTGRES] = (pg_after - pg_before) / commands * 1000
    return {"cpu_ms": dict(by_kind), "total_ms": ours, "all_ms": sum(by_kind.values()),
            "tickets_per_s": tickets / seconds,
            "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99)}


def worktree(rev: str, into: Path) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", "-f", str(into), rev], cwd=ROOT,
                   check=True, capture_output=True)
    return into


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("bench.server_cpu", __doc__)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="the commit to compare with")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--tickets", type=int, default=400)
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=40, help="untimed lifecycles before each run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    stop_on_sigterm()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    store = open_store(args.store, tmp, args.pg_url)
    if store is None:
        return 0
    base = worktree(args.baseline, tmp / "baseline")
    print(f"Server CPU per command ({args.store}): {args.tickets} lifecycles at {args.clients} clients, "
          f"serve --workers {args.server_workers}, {args.rounds} rounds alternating")
    print(f"this checkout: {source_state()}; baseline: {args.baseline}; "
          f"load average {load_average():.2f}; Python {sys.version.split()[0]}")
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "this": []}
    try:
        for _ in range(args.rounds):
            for label, tree in (("baseline", base), ("this", ROOT)):
                runs[label].append(measure(tree, store, args.clients, args.tickets,
                                           args.server_workers, tmp, args.warmup))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, capture_output=True)
        close = getattr(store, "close", None)
        if close:
            close()
    kinds = ("HTTP workers", "projections worker", "supervisor")
    if any(POSTGRES in r["cpu_ms"] for r in runs["this"]):
        kinds = (*kinds, POSTGRES)
    print(f"\n{'ms of CPU per command (median of rounds)':42s} {'baseline':>10s} {'this':>10s} {'this/base':>10s}")
    summary: dict[str, dict[str, float]] = {}
    totals = ("total", "total with PostgreSQL") if POSTGRES in kinds else ("total",)
    for key in (*kinds, *totals, "tickets/s", "p50 ms", "p99 ms"):
        def pick(run: dict[str, Any], key: str = key) -> float:
            return {"total": run["total_ms"], "total with PostgreSQL": run.get("all_ms", 0.0), "tickets/s": run["tickets_per_s"], "p50 ms": run["p50_ms"],
                    "p99 ms": run["p99_ms"]}.get(key, run["cpu_ms"].get(key, 0.0))
        b = sorted(pick(r) for r in runs["baseline"])[len(runs["baseline"]) // 2]
        t = sorted(pick(r) for r in runs["this"])[len(runs["this"]) // 2]
        summary[key] = {"baseline": b, "this": t}
        print(f"{key:42s} {b:10.3f} {t:10.3f} {t / b if b else float('nan'):9.2f}x")
    print(f"load average at end {load_average():.2f}")
    write_json(args.json, {"store": args.store, "baseline": args.baseline, "code": source_state(),
                           "runs": runs, "summary": summary})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
