"""Lists from a streaming replica beside the primary (issue 22, item 4; ADR 0070).

    PYTHONPATH=. .venv/bin/python -m bench.replica [--tickets 20000] [--commands 200] [--queries 300]

Starts a private PostgreSQL primary and a hot standby of it (``pg_basebackup -R``, streaming;
the test harness, ``tests/support/replica.py``; the bench's database with
``synchronous_commit=on``, as in production), writes ``--tickets`` tickets as
``bench.scale`` does, brings the ticket list up to date and waits for the standby. Then, in
one run:

1. A list read over HTTP (in-process ``TestClient``, one admin caller): ``GET
   /api/v1/tickets?status=in_progress`` and ``GET /api/v1/queues/unassigned``, ``--queries``
   times each, from an app with ``read_replica_url`` (lists from the standby) beside the same
   app without it (the primary, the baseline).
2. Read your writes through the standby: ``--commands`` ticket registrations, each followed at
   once by a list read naming the command's ``X-Opsledger-Min-Position``; the time from the
   command's answer to the list's answer, beside the same on the primary (whose views the
   app's own runner brings up to date).

A benchmark, not a test.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from adapters.container import build
from adapters.http.app import create_app
from adapters.settings import Settings
from bench import scale
from bench.common import bench_parser, load_average, source_state, stop_on_sigterm, write_json
from bench.http_commands import Dist, timed
from bench.partition import grow
from bench.rebuild import PostgresStore

ADMIN = {"Authorization": "Bearer bench"}
LISTS = ("/api/v1/tickets?status=in_progress", "/api/v1/queues/unassigned")


def registration(i: int) -> dict[str, Any]:
    return {"customer": "客户A", "channel": "phone", "title": f"复制延迟 {i}",
            "contact": {"name": "李四", "phone": "13800005678", "email": "li@example.com"},
            "description": "登录失败", "affected_system": "ERP"}


def read_after_write(client: TestClient[Any], n: int, offset: int) -> tuple[Dist, int]:
    """(ms from each command's answer to its list's answer naming its position, 503s)."""
    ms, refused = [], 0
    for i in range(n):
        r = client.post("/api/v1/tickets", json=registration(offset + i), headers=ADMIN)
        assert r.status_code == 201, r.text
        position = r.headers["x-opsledger-position"]
        t0 = time.perf_counter()
        got = client.get("/api/v1/tickets", params={"limit": 1},
                         headers={**ADMIN, "X-Opsledger-Min-Position": position})
        ms.append((time.perf_counter() - t0) * 1000)
        refused += got.status_code == 503
    return Dist.of(ms), refused


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("bench.replica", __doc__)
    parser.set_defaults(store="postgres")
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    from tests.support.postgres import with_dbname
    from tests.support.replica import StandbyServer

    store = PostgresStore("")  # always a private primary: a standby needs one this harness started
    standby = None
    opened: list[Any] = []
    try:
        load0 = load_average()
        # The harness's server commits without waiting for its WAL (synchronous_commit=off):
        # the WAL sender then ships a commit only after the WAL writer's next round (200 ms).
        # This database commits as a production one does.
        import psycopg

        with psycopg.connect(store.url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{store.url.rsplit("/", 1)[1]}" SET synchronous_commit = on')
        services = build(Settings(database_url=store.url, sla_watch_seconds=0))
        opened.append(services)
        events, gen_s = grow(services, store, 0, args.tickets, args.workers, 200_000)
        services.runner.catch_up_all()
        head = services.desk.max_position()
        standby = StandbyServer(store.server)
        standby.start()
        replica_url = with_dbname(standby.url, store.url.rsplit("/", 1)[1])
        common: dict[str, Any] = {"admin_token": "bench", "sla_watch_seconds": 0, "rate_limit": "off"}
        on_replica = build(Settings(database_url=store.url, read_replica_url=replica_url, **common))
        on_primary = build(Settings(database_url=store.url, **common))
        opened += [on_replica, on_primary]
        assert on_replica.replica is not None
        caught = on_replica.replica.wait_for(head, 60)
        print(f"Replica bench (PostgreSQL, a hot standby by pg_basebackup -R): {args.tickets:,} tickets, "
              f"{events:,} events written in {gen_s:.1f} s; standby at position {caught:,} of {head:,}")
        print(f"code: {source_state()}; load average at start {load0:.2f} ({os.cpu_count()} CPUs); "
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        print()
        figures: dict[str, Any] = {}
        with TestClient(create_app(on_replica)) as rc, TestClient(create_app(on_primary)) as pc:
            print(f"{'ms':48} {'p50':>7} {'p99':>7} | {'baseline: the primary':>21} {'p50':>7} {'p99':>7} | p50 ratio")
            for path in LISTS:
                r = rc.get(path, headers=ADMIN)
                assert r.status_code == 200 and r.headers["x-opsledger-read-from"] == "replica", r.text
                d_r = timed(args.queries, lambda _k, p=path: rc.get(p, headers=ADMIN))  # type: ignore[misc]
                d_p = timed(args.queries, lambda _k, p=path: pc.get(p, headers=ADMIN))  # type: ignore[misc]
                figures[f"GET {path}"] = {"replica": vars(d_r), "primary": vars(d_p)}
                print(f"{'GET ' + path + ' (replica)':48} {d_r.p50:7.2f} {d_r.p99:7.2f} | {'':21} "
                      f"{d_p.p50:7.2f} {d_p.p99:7.2f} | {d_r.p50 / d_p.p50:8.2f}x")
            d_r, refused_r = read_after_write(rc, args.commands, 0)
            d_p, refused_p = read_after_write(pc, args.commands, args.commands)
            figures["command then list with its position"] = {
                "replica": vars(d_r), "primary": vars(d_p), "refused_replica": refused_r,
                "refused_primary": refused_p}
            print(f"{'command, then list naming its position (replica)':48} {d_r.p50:7.2f} {d_r.p99:7.2f} | "
                  f"{'':21} {d_p.p50:7.2f} {d_p.p99:7.2f} | {d_r.p50 / d_p.p50:8.2f}x")
            print(f"(the second line: from the command's answer to the list's; 503s: replica {refused_r}, "
                  f"primary {refused_p}; the primary's views are moved by the app's own runner)")
        print(f"load average at end {load_average():.2f}")
        write_json(args.json, {"tickets": args.tickets, "events": events, "figures": figures})
        return 0
    finally:
        for s in reversed(opened):
            s.close()
        if standby is not None:
            standby.stop()
        store.close()


if __name__ == "__main__":
    sys.exit(main())
