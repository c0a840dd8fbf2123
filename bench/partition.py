"""Partitioning on paper, measured (issue 22, item 4; ADR 0070; docs/scaling.md): the queue,
list and as-of queries on PostgreSQL at two sizes, extrapolated to 10M tickets, and the event
table's reads on natively partitioned copies of it, each beside a baseline of the same run.

    PYTHONPATH=. .venv/bin/python -m bench.partition [--tickets 100000] [--steps 2]
        [--queries 200] [--partitions 8] [--workers 2] [--pg-url URL] [--json PATH]

1. The store grows in ``--steps`` equal steps to ``--tickets`` tickets, written as
   ``bench.scale`` writes them (the app's mapper, ``COPY``; its stage mix: 1.2% open); after
   each step the ticket list catches up incrementally (the worker's path), then each query is
   timed ``--queries`` times (p50, p99 in ms): the view queries of the unassigned queue, the
   in-progress list, the breaching queue and one customer's list (``services.tickets.query``,
   as the routes call it) beside the floor of a round trip through the same pool (``SELECT
   1``); the as-of read of a closed ticket (``desk.get_ticket(id, as_of)``) beside the raw
   ``SELECT`` of its stored events.
2. Extrapolation to 10M tickets: each query's growth per doubling of the store, ``g``, is
   fitted by least squares over every size measured (``log2 t_p50`` against ``log2 n``: g =
   2 ** slope, never below 1), then applied ``log2(10M / n_last)`` more times from the fitted
   time at the last size: ``t_10M = t_fit(n_last) * g ** log2(10M / n_last)``. Index lookups grow with the index's
   depth (g close to 1); a query that reads rows in proportion to the store grows with it
   (g close to 2). It assumes the stage mix stays (1.2% open) and that the indexes stay in
   memory (at 10M tickets ~75M events: about 13 GB of events, measured per ticket below).
3. Partitioned copies of the event table, at the last size: ``PARTITION BY RANGE
   (notification_id)`` (by time: positions grow with time) and ``PARTITION BY HASH
   (originator_id)`` (a record's key, the stand-in for a customer key: each record in one
   partition), ``--partitions`` each, with the unpartitioned copy as the baseline: one
   record's events (as-of, loading a record), a page of the log by position (the projection
   runner, the notice outbox, ``GET /events``) and the head (``max(notification_id)``, every
   command's position). Then whether the log's unique key (originator_id, version), which is
   the optimistic concurrency of every command, can be declared on each (PostgreSQL requires
   the partition key in every unique index), and retention: dropping the oldest time
   partition beside deleting the same rows from the unpartitioned copy. Each copy's reads are
   timed in two rounds over the three tables, the second kept (no cold cache for one).

A benchmark, not a test.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from adapters.container import build
from adapters.settings import Settings
from bench import scale
from bench.common import bench_parser, load_average, source_state, stop_on_sigterm, write_json
from bench.http_commands import Dist, timed
from bench.rebuild import BASE, PostgresStore, ticket
from projections.ticket_list.projection import OPEN_STATUSES, stamp
from projections.ticket_list.view import TicketQuery

TEN_MILLION = 10_000_000


def grow(services: Any, store: PostgresStore, start: int, end: int, workers: int, batch: int) -> tuple[int, float]:
    """Tickets ``start`` .. ``end - 1`` written as ``bench.scale.generate`` writes them."""
    scale.use_desk(services, scale.MIX, False)
    bounds = [(a, min(a + scale.CHUNK, end)) for a in range(start, end, scale.CHUNK)]
    writer = scale.PostgresWriter(services, store.url)
    began = time.perf_counter()
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(
                workers, scale._start_worker, (store.url, scale.MIX, False)) as pool:
            n = writer.write(pool.imap(scale.encode_chunk, bounds), batch)
    else:
        n = writer.write(map(scale.encode_chunk, bounds), batch)
    return n, time.perf_counter() - began


def queries(services: Any) -> list[tuple[str, TicketQuery]]:
    now = stamp(services.desk.clock.now())
    return [
        ("queue unassigned", TicketQuery(statuses=("registered", "classified"), unassigned=True, order="queue")),
        ("list status=in_progress", TicketQuery(statuses=("in_progress",))),
        ("queue breaching", TicketQuery(statuses=tuple(s.value for s in OPEN_STATUSES),
                                        sla_states=("warning", "breached"), now=now, order="breaching")),
        ("list customer=one (page 1)", TicketQuery(customer=ticket(0, 0).customer)),
    ]


def measure(services: Any, store: PostgresStore, tickets: int, n: int, seed: int) -> dict[str, Any]:
    """Every query's distribution at this size, with the floors."""
    view_store = services.tickets.store

    def ping(_k: int) -> None:
        with view_store.read() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()

    out: dict[str, Any] = {"floor SELECT 1": timed(n, ping)}
    for name, q in queries(services):
        out[name] = timed(n, lambda _k, q=q: services.tickets.query(q))  # type: ignore[misc]
    rng = random.Random(seed)
    closed = [i for i in (rng.randrange(tickets) for _ in range(n * 4)) if scale.stage_of(i) == scale.CLOSED][: n + 20]
    picks = [(ticket(i, 0).id, BASE + timedelta(seconds=37 * i, minutes=30)) for i in closed]
    out["as-of read of a closed ticket"] = timed(
        n, lambda k: services.desk.get_ticket(picks[k % len(picks)][0], picks[k % len(picks)][1]))
    read, close = scale.raw_ticket_reader(store)
    try:
        out["floor raw SELECT of its events"] = timed(n, lambda k: read(picks[k % len(picks)][0]))  # type: ignore[arg-type]
    finally:
        close()
    return out


# --------------------------------------------------------------------- partitions


def partitioned_copies(conn: Any, table: str, parts: int) -> dict[str, float]:
    """``ev_plain`` (unpartitioned), ``ev_range`` (by notification_id) and ``ev_hash`` (by
    originator_id) copies of the event table with the same indexes; seconds to fill each."""
    top = int(conn.execute(f'SELECT max(notification_id) FROM "{table}"').fetchone()[0])  # noqa: S608
    cols = "notification_id BIGINT NOT NULL, originator_id UUID NOT NULL, originator_version BIGINT NOT NULL, " \
           "topic TEXT NOT NULL, state BYTEA NOT NULL"
    conn.execute(f"CREATE TABLE ev_plain ({cols})")
    conn.execute(f"CREATE TABLE ev_range ({cols}) PARTITION BY RANGE (notification_id)")
    step = top // parts + 1
    for p in range(parts):
        conn.execute(f"CREATE TABLE ev_range_{p} PARTITION OF ev_range "
                     f"FOR VALUES FROM ({p * step}) TO ({(p + 1) * step})")
    conn.execute(f"CREATE TABLE ev_hash ({cols}) PARTITION BY HASH (originator_id)")
    for p in range(parts):
        conn.execute(f"CREATE TABLE ev_hash_{p} PARTITION OF ev_hash "
                     f"FOR VALUES WITH (MODULUS {parts}, REMAINDER {p})")
    filled = {}
    for name in ("ev_plain", "ev_range", "ev_hash"):
        began = time.perf_counter()
        conn.execute(f'INSERT INTO {name} SELECT notification_id, originator_id, originator_version, '  # noqa: S608
                     f'topic, state FROM "{table}"')
        conn.execute(f"CREATE INDEX {name}_record ON {name} (originator_id, originator_version)")
        conn.execute(f"CREATE INDEX {name}_position ON {name} (notification_id)")
        conn.execute(f"ANALYZE {name}")
        conn.commit()
        filled[name] = time.perf_counter() - began
    return filled


def unique_key(conn: Any, name: str) -> str:
    """Whether the log's unique key (originator_id, originator_version) can be declared."""
    import psycopg

    try:
        conn.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_key UNIQUE (originator_id, originator_version)")
        conn.commit()
        return "declared"
    except psycopg.Error as e:
        conn.rollback()
        return "refused: " + str(e).splitlines()[0]


def partition_reads(conn: Any, n: int, seed: int) -> dict[str, dict[str, Dist]]:
    rng = random.Random(seed)
    ids = [r[0] for r in conn.execute(
        "SELECT originator_id FROM ev_plain TABLESAMPLE SYSTEM (1) LIMIT %s", (n + 20,)).fetchall()]
    top = int(conn.execute("SELECT max(notification_id) FROM ev_plain").fetchone()[0])
    starts = [rng.randrange(top) for _ in range(n + 20)]
    out: dict[str, dict[str, Dist]] = {}
    # two rounds over the three tables, the second kept: none is measured with a cold cache
    for name in ("ev_plain", "ev_range", "ev_hash") * 2:
        one = f"SELECT * FROM {name} WHERE originator_id = %s ORDER BY originator_version"  # noqa: S608
        page = f"SELECT * FROM {name} WHERE notification_id > %s ORDER BY notification_id LIMIT 500"  # noqa: S608
        head = f"SELECT max(notification_id) FROM {name}"  # noqa: S608
        out[name] = {
            "one record's events": timed(n, lambda k, s=one: conn.execute(s, (ids[k % len(ids)],)).fetchall()),
            "log page of 500 by position": timed(n, lambda k, s=page: conn.execute(s, (starts[k % len(starts)],)).fetchall()),
            "head max(notification_id)": timed(n, lambda _k, s=head: conn.execute(s).fetchone()),
        }
    return out


def retention(conn: Any, parts: int) -> tuple[float, float, int]:
    """(seconds to detach and drop the oldest time partition, seconds to DELETE the same rows
    from the unpartitioned copy, rows)."""
    low, high = conn.execute("SELECT min(notification_id), max(notification_id) FROM ev_range_0").fetchone()
    rows = int(conn.execute("SELECT count(*) FROM ev_range_0").fetchone()[0])
    began = time.perf_counter()
    conn.execute("ALTER TABLE ev_range DETACH PARTITION ev_range_0")
    conn.execute("DROP TABLE ev_range_0")
    conn.commit()
    dropped = time.perf_counter() - began
    began = time.perf_counter()
    conn.execute("DELETE FROM ev_plain WHERE notification_id BETWEEN %s AND %s", (low, high))
    conn.commit()
    return dropped, time.perf_counter() - began, rows


# ---------------------------------------------------------------------------- main


def growth(sizes: Sequence[int], p50s: Sequence[float]) -> tuple[float, float]:
    """(g, fitted p50 at the last size): the least-squares line of log2 p50 against log2 size;
    g = 2 ** slope, at least 1 (a query does not get faster as the store grows: below is noise)."""
    xs, ys = [math.log2(n) for n in sizes], [math.log2(t) for t in p50s]
    if len(xs) < 2:
        return 1.0, p50s[-1]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    slope = max(slope, 0.0)
    at_last = 2 ** (my + slope * (xs[-1] - mx)) if slope > 0 else 2 ** my
    return 2 ** slope, at_last


def line(name: str, d: Dist, floor_name: str = "", floor: Dist | None = None) -> str:
    text = f"{name:42} {d.p50:8.2f} {d.p99:8.2f}"
    if floor is not None:
        text += f" | {floor_name:32} {floor.p50:8.2f} {floor.p99:8.2f} | {d.p50 / floor.p50:7.1f}x"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("bench.partition", __doc__)
    parser.set_defaults(store="postgres")
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets at the last step")
    parser.add_argument("--steps", type=int, default=2, help="equal steps to --tickets (sizes measured)")
    parser.add_argument("--queries", type=int, default=200, help="timed runs of each query")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes encoding events")
    parser.add_argument("--batch", type=int, default=200_000, help="rows per write transaction")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    import psycopg

    store = PostgresStore(args.pg_url)
    services = None
    try:
        load0 = load_average()
        services = build(Settings(database_url=store.url, sla_watch_seconds=0))
        view = services.runner.views["ticket_list"]
        sizes = [args.tickets * (k + 1) // args.steps for k in range(args.steps)]
        print(f"Partitioning bench (PostgreSQL): sizes {', '.join(f'{s:,}' for s in sizes)} tickets; "
              f"{args.queries} timed runs per query; code: {source_state()}")
        print(f"load average at start {load0:.2f} ({os.cpu_count()} CPUs)")
        results: list[dict[str, Any]] = []
        done = events = 0
        for size in sizes:
            written, gen_s = grow(services, store, done, size, args.workers, args.batch)
            events += written
            done = size
            gc.collect()
            began = time.perf_counter()
            caught = 0
            while moved := services.runner.catch_up(view):
                caught += moved
            catch_s = time.perf_counter() - began
            with psycopg.connect(store.url) as conn:
                size_bytes = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
            figures = measure(services, store, size, args.queries, args.seed)
            results.append({"tickets": size, "events": events, "store_bytes": size_bytes,
                            "generate_s": gen_s, "catch_up_s": catch_s, "figures": figures})
            print()
            print(f"{size:,} tickets, {events:,} events, store {size_bytes / 1e6:,.0f} MB "
                  f"({size_bytes / size / 1e3:.1f} kB per ticket); written in {gen_s:.1f} s "
                  f"({written / gen_s:,.0f} events/s); ticket list caught up in {catch_s:.1f} s "
                  f"({caught:,} events, {caught / catch_s if catch_s else 0:,.0f} events/s)")
            print(f"{'ms':42} {'p50':>8} {'p99':>8} | {'baseline (same run)':32} {'p50':>8} {'p99':>8} | p50 ratio")
            floor = figures["floor SELECT 1"]
            for name, _ in queries(services):
                print(line(name, figures[name], "round trip SELECT 1", floor))
            print(line("as-of read of a closed ticket", figures["as-of read of a closed ticket"],
                       "raw SELECT of its events", figures["floor raw SELECT of its events"]))
            print(f"load average {load_average():.2f}")

        first, last = results[0], results[-1]
        ahead = math.log2(TEN_MILLION / last["tickets"])
        print()
        print(f"Extrapolated to {TEN_MILLION:,} tickets: t_10M = t_fit(last) * g ** {ahead:.2f}, g = growth "
              f"per doubling, least squares over the {len(results)} sizes from {first['tickets']:,} to "
              f"{last['tickets']:,} tickets")
        print(f"{'p50 ms':42} " + " ".join(f"{r['tickets'] // 1000:>6}k" for r in results)
              + f" {'g':>6} {'10M':>9}")
        extrapolated = {}
        for name in [q for q, _ in queries(services)] + ["as-of read of a closed ticket"]:
            p50s = [r["figures"][name].p50 for r in results]
            g, fitted = growth([r["tickets"] for r in results], p50s)
            extrapolated[name] = {"growth_per_doubling": g, "p50_10m_ms": fitted * g ** ahead}
            print(f"{name:42} " + " ".join(f"{t:7.2f}" for t in p50s)
                  + f" {g:6.2f} {fitted * g ** ahead:9.2f}")
        per_ticket = last["store_bytes"] / last["tickets"]
        print(f"store at 10M tickets, by the bytes per ticket measured: {per_ticket * TEN_MILLION / 1e9:,.0f} GB")

        print()
        with psycopg.connect(store.url) as conn:
            table = scale._pg_events_table(conn)
            filled = partitioned_copies(conn, table, args.partitions)
            keys = {name: unique_key(conn, name) for name in ("ev_plain", "ev_range", "ev_hash")}
            reads = partition_reads(conn, args.queries, args.seed)
            dropped, deleted, rows = retention(conn, args.partitions)
        print(f"Event table copies at {last['tickets']:,} tickets, {args.partitions} partitions each "
              f"(filled and indexed in s: " + ", ".join(f"{k} {v:.1f}" for k, v in filled.items()) + ")")
        print(f"{'ms':42} {'p50':>8} {'p99':>8} | {'baseline: unpartitioned':32} {'p50':>8} {'p99':>8} | p50 ratio")
        for copy in ("ev_range", "ev_hash"):
            for what, d in reads[copy].items():
                print(line(f"{copy}: {what}", d, "ev_plain", reads["ev_plain"][what]))
        for name, said in keys.items():
            print(f"unique (originator_id, originator_version) on {name}: {said}")
        print(f"retention of the oldest 1/{args.partitions} ({rows:,} events): detach + drop the partition "
              f"{dropped * 1000:.1f} ms; DELETE from the unpartitioned copy {deleted * 1000:.1f} ms "
              f"({deleted / dropped if dropped else 0:,.0f}x)")
        print(f"load average at end {load_average():.2f}")
        write_json(args.json, {
            "sizes": [{**{k: v for k, v in r.items() if k != "figures"},
                       "figures": {k: vars(v) for k, v in r["figures"].items()}} for r in results],
            "extrapolated_10m": extrapolated,
            "partitions": {"count": args.partitions, "filled_s": filled, "unique_key": keys,
                           "reads": {c: {w: vars(d) for w, d in r.items()} for c, r in reads.items()},
                           "retention": {"drop_s": dropped, "delete_s": deleted, "rows": rows}},
        })
        return 0
    finally:
        if services is not None:
            services.close()
        store.close()


if __name__ == "__main__":
    sys.exit(main())
