"""Append throughput: ticket commands through the desk in process vs raw inserts of the same rows.

    PYTHONPATH=. .venv/bin/python -m bench.append [--tickets 1000] [--store sqlite|postgres]
        [--threads 1] [--pg-url URL] [--raw-repeats 3] [--json PATH]

1. Builds the application on a fresh store (``adapters.container.build``: the real event store,
   mapper, numbering, SLA clocks; the projection runner thread is NOT started, so this is the
   write path alone) and runs ``--tickets`` ticket lifecycles through ``ServiceDesk.handle`` —
   ``RegisterTicket`` (all five classification fields), ``Assign``, ``Start``, ``LogWork``,
   ``Resolve``, ``Confirm`` — built from the bodies the HTTP benchmark sends, on ``--threads``
   threads, timing each command. No HTTP, no JSON bodies, no views.
2. Reads back exactly the rows those commands appended (ticket events and the numbering
   sequences' events: same ids, versions, topics and state bytes, so the same sizes) and writes
   them again with the raw driver into a fresh table of the event store's shape, one transaction
   per command, a ticket's commands in order on one thread, on as many threads: the floor of
   "append these events" (``bench.http_commands``'s raw replay). Fastest of ``--raw-repeats``.

It prints events (stored rows)/s, commands/s, p50/p99 per command and the desk/raw ratios.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from adapters.container import build
from adapters.settings import Settings
from application.commands.tickets import Assign, Confirm, LogWork, RegisterTicket, Resolve, Start
from application.desk import ServiceDesk
from bench.common import (
    bench_parser,
    clean_up,
    load_average,
    source_state,
    stop_on_sigterm,
    write_json,
)
from bench.http_commands import (
    KINDS,
    RunResult,
    bodies,
    fmt_dist,
    group_rows,
    open_store,
    result_from,
    split_by_ticket,
    timed_threads,
)
from domain.ticket import Contact

ACTOR = "desk.bench"
# The command of each HTTP body: its fields are named as the body's (ADR 0046).
COMMANDS: dict[str, type] = {"assign": Assign, "start": Start, "log_work": LogWork,
                             "resolve": Resolve, "confirm": Confirm}


def desk_lifecycle(desk: ServiceDesk, body: dict[str, bytes], out: list[tuple[str, float]] | None) -> None:
    """The six commands of one ticket, with the HTTP benchmark's bodies as keyword arguments."""
    args = {kind: json.loads(raw) for kind, raw in body.items()}
    reg = args["register"]
    reg["contact"] = Contact(**reg["contact"])
    reg["reported_at"] = datetime.fromisoformat(reg["reported_at"])
    t0 = time.perf_counter()
    ref = desk.handle(RegisterTicket(**reg), actor=ACTOR).aggregate.id
    if out is not None:
        out.append(("register", (time.perf_counter() - t0) * 1000))
    for kind in KINDS[1:]:
        t0 = time.perf_counter()
        desk.handle(COMMANDS[kind](ref=ref, **args[kind]), actor=ACTOR)
        if out is not None:
            out.append((kind, (time.perf_counter() - t0) * 1000))


def run_desk(desk: ServiceDesk, tickets: int, threads: int) -> RunResult:
    all_bodies = [bodies(i) for i in range(tickets)]

    def worker(share: list[dict[str, bytes]]) -> Callable[[threading.Barrier], list[tuple[str, float]]]:
        def run(barrier: threading.Barrier) -> list[tuple[str, float]]:
            out: list[tuple[str, float]] = []
            barrier.wait()
            for body in share:
                desk_lifecycle(desk, body, out)
            return out

        return run

    seconds, samples, errors = timed_threads([worker(all_bodies[k::threads]) for k in range(threads)])
    if errors:
        raise errors[0]
    return result_from("opsledger desk", threads, tickets, seconds, samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("bench.append", __doc__)
    parser.add_argument("--tickets", type=int, default=1000, help="timed ticket lifecycles (6 commands each)")
    parser.add_argument("--threads", type=int, default=1, help="threads issuing commands (and replaying raw rows)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed lifecycles first")
    parser.add_argument("--raw-repeats", type=int, default=3, help="raw baseline runs; the fastest is kept")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    stop_on_sigterm()

    tmp = Path(tempfile.mkdtemp(prefix="opsledger-bench-append-"))
    store = open_store(args.store, tmp, args.pg_url)
    if store is None:
        return 0
    try:
        url = store.server_url(args.threads)
        services = build(Settings(database_url=url))
        try:
            for i in range(args.warmup):
                desk_lifecycle(services.desk, bodies(1_000_000 + i), None)
            head = services.desk.max_position()
            load0 = load_average()
            ops = run_desk(services.desk, args.tickets, args.threads)
        finally:
            services.close()
        rows = store.read_rows(url, head)
        ops.rows = len(rows)
        groups = group_rows(rows)
        if len(groups) != ops.commands:
            raise RuntimeError(f"{len(rows)} rows split into {len(groups)} commands, expected {ops.commands}")
        work = split_by_ticket(groups, args.threads)
        raw = min((store.raw_replay(work, attempt=a) for a in range(args.raw_repeats)), key=lambda r: r.seconds)
        load1 = load_average()

        size = sum(len(r[4]) for r in rows) / len(rows)
        print(f"Append ({args.store}): {args.tickets:,} ticket lifecycles through ServiceDesk in process "
              f"on {args.threads} thread(s), {ops.commands:,} commands, {ops.rows:,} stored events "
              f"({ops.rows / ops.commands:.2f} per command, state {size:,.0f} bytes on average)")
        print(f"code: {source_state()}; load average {load0:.2f} -> {load1:.2f} ({os.cpu_count()} CPUs)")
        print()
        print(f"{'':34} {'seconds':>8} {'events/s':>10} {'commands/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
        for r in (ops, raw):
            print(f"{r.label:34} {r.seconds:8.3f} {r.rows / r.seconds:10,.0f} {r.commands_per_s:11,.0f} "
                  f"{r.overall.p50:8.3f} {r.overall.p99:8.3f}")
        print()
        print(f"{'per command (ms)':12} {'desk p50':>8} {'p95':>8} {'p99':>8} {'max':>8}")
        for kind in KINDS:
            print(f"{kind:12} {fmt_dist(ops.by_kind[kind])}")
        print()
        ratio = (ops.rows / ops.seconds) / (raw.rows / raw.seconds)
        print(f"ratio desk / {raw.label}: events/s {ratio:.3f}x; p50 {ops.overall.p50 / raw.overall.p50:.1f}x "
              f"(events/s < 1: the desk is slower; latency > 1: slower)")
        print()
        print("Notes:\n"
              "  * the desk loads the aggregate (its cache), runs the domain command, issues numbers and\n"
              "    saves in one transaction; the raw replay only INSERTs the rows it produced.\n"
              "  * raw sqlite3 runs WAL at the server's synchronous setting; raw psycopg has no LOCK TABLE.")
        write_json(args.json, {
            "store": args.store, "threads": args.threads, "tickets": args.tickets,
            "desk": {**asdict(ops), "events_per_s": ops.rows / ops.seconds},
            "raw": {**asdict(raw), "events_per_s": raw.rows / raw.seconds},
            "ratio_events_per_s": ratio,
        })
        return 0
    finally:
        clean_up(tmp, store)


if __name__ == "__main__":
    sys.exit(main())
