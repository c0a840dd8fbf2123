"""Tamper evidence throughput (ADR 0030/0031): chain verify, bundle export / verify, offline
replay, each beside the raw read of the same rows in the same run.

    PYTHONPATH=. .venv/bin/python -m bench.audit [--tickets 5000] [--store sqlite|postgres]
        [--pg-url URL] [--repeats 3] [--json PATH]

1. Fills a fresh store with ``--tickets`` lifecycles (``bench.rebuild.fill``: 7.5 events each),
   written through the chaining recorders.
2. Times, best of ``--repeats``: ``verify_store`` in one process and in two (the fast check of
   ADR 0069: events LEFT JOIN chain through the raw driver, SHA-256 per event; two segments at
   once), ``export`` to a file, ``verify_bundle_file`` of that file (no database; one process,
   and two parts at once -- only on files of ``PARALLEL_BYTES`` and more), and the offline
   replay (verify the bundle while a worker loads it into a temporary SQLite store, recheck
   that store's chain, rebuild every read model), with each of replay's steps -- events/s.
3. Baselines in the same run: the raw driver read of every stored row (``bench.rebuild``),
   and the same plus ``hashlib.sha256`` of every state (the floor for any hash chain).

It prints events/s and each line's ratio to the raw read. A benchmark, not a test.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.audit.bundle import export, verify_bundle_file
from adapters.audit.chain import verify_store
from adapters.audit.replay import replay
from adapters.container import build
from adapters.settings import Settings
from application.ports import FixedClock
from bench.common import (
    bench_parser,
    clean_up,
    load_average,
    print_header,
    source_state,
    stop_on_sigterm,
    write_json,
)
from bench.rebuild import BASE, Line, Store, best_of, fill, open_store, raw_read


def raw_read_sha256(store: Store) -> int:
    n = 0
    for row in store.raw_rows():
        hashlib.sha256(bytes(row[-1])).digest()
        n += 1
    return n


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("bench.audit", __doc__)
    parser.add_argument("--tickets", type=int, default=5_000, help="ticket lifecycles (7.5 events each)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    tmp = Path(tempfile.mkdtemp(prefix="opsledger-bench-audit-"))
    store: Store | None = None
    services: Any = None
    try:
        store = open_store(args.store, tmp, args.pg_url)
        if store is None:
            return 0
        settings = Settings(database_url=store.url, sla_watch_seconds=0)
        services = build(settings, clock=FixedClock(BASE))
        load0 = load_average()
        events, fill_s = fill(services, args.tickets)
        recorder = services.desk.recorder
        bundle = tmp / "bundle.jsonl"

        def verify_db(processes: int) -> int:
            verdict = verify_store(recorder, processes=processes)
            assert verdict.ok, verdict.as_dict()
            return verdict.events

        def export_file() -> int:
            with bundle.open("w", encoding="utf-8") as out:
                return int(export(recorder, out)["events"])

        def verify_file(processes: int) -> int:
            verdict, _ = verify_bundle_file(bundle, processes=processes)
            assert verdict.ok, verdict.as_dict()
            return verdict.events

        steps: dict[str, float] = {}

        def replay_file() -> int:
            result = replay(bundle, settings)
            if not steps or (result.seconds or {}).get("total", 0) < steps.get("total", 1e9):
                steps.clear()
                steps.update(result.seconds or {})
            return result.events

        # Untimed: the first read after the fill pays for what the fill left (PostgreSQL sets
        # every row's hint bits and writes those pages; caches are cold), not the line timed first.
        raw_read(store)
        lines = []
        for name, fn in [("opsledger verify (store), 1 process", lambda: verify_db(1)),
                         ("opsledger verify (store), 2 processes", lambda: verify_db(2)),
                         ("opsledger export (bundle file)", export_file),
                         ("opsledger verify --bundle, 1 process", lambda: verify_file(1)),
                         ("opsledger verify --bundle, 2 processes", lambda: verify_file(2)),
                         ("opsledger replay --bundle (all steps)", replay_file),
                         ("raw read every row", lambda: raw_read(store)),
                         ("raw read + sha256(state)", lambda: raw_read_sha256(store))]:
            seconds, n = best_of(args.repeats, fn)  # type: ignore[arg-type]
            lines.append(Line(name, seconds, n))
            if fn is replay_file:  # its steps, from the best run
                lines += [Line(f"  replay: {step}", took, n)
                          for step, took in steps.items() if step != "total"]
        load1 = load_average()
        raw = next(ln for ln in lines if ln.name == "raw read every row")
        print(f"Audit ({args.store}): {args.tickets:,} ticket lifecycles, {events:,} events "
              f"(filled in {fill_s:.2f} s, {events / fill_s:,.0f} events/s with chaining); "
              f"best of {args.repeats}; load average {load0:.2f} -> {load1:.2f}")
        print(f"code: {source_state()}")
        print(f"bundle: {bundle.stat().st_size / events:,.0f} bytes per event; "
              f"{os.cpu_count()} cores")
        print()
        print_header(f"{'':44} {'seconds':>8} {'events':>9} {'events/s':>11} {'vs raw read':>12}")
        for ln in lines:
            print(f"{ln.name:44} {ln.seconds:8.3f} {ln.count:9,} {ln.per_s:11,.0f} "
                  f"{ln.per_s / raw.per_s:11.3f}x")
        if any(ln.count != events for ln in lines):
            print("FAIL: a line did not cover every event", file=sys.stderr)
            return 1
        write_json(args.json, {
            "store": args.store, "tickets": args.tickets, "events": events,
            "lines": [{"name": ln.name, "seconds": ln.seconds, "count": ln.count, "per_s": ln.per_s}
                      for ln in lines],
        })
        return 0
    finally:
        clean_up(tmp, services, store)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
