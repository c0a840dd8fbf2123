"""Scale run: a store of ``--tickets`` tickets (1M ≈ 7M events), then queue queries, as-of views
and a full projection rebuild, each beside a baseline measured in the same run.

    PYTHONPATH=. .venv/bin/python -m bench.scale [--tickets 20000] [--store sqlite|postgres]
        [--pg-url URL] [--queries 200] [--workers 2] [--dir DIR] [--json PATH]

1. Generate, fast: ``--workers`` worker processes (spawned) build ticket aggregates with the domain
   (``bench.rebuild.ticket``: fixed ids and recorded times 37 s apart, Chinese texts) and encode
   their events with the application's own mapper (``ServiceDesk.mapper``: the stored state
   bytes the app writes and reads); this process writes the rows straight into the event
   store's table in transactions of ``--batch`` rows (SQLite ``executemany``; PostgreSQL
   ``COPY``), skipping the per-command path (numbering, idempotency, locking), which
   ``bench.append`` measures. The desk's SLA clocks (``desk.sla.update``) run after every
   command of the open tickets, so they carry their deadline events and the breaching queue
   has rows; closed tickets skip them unless ``--sla-all`` (they cost ~2 ms per ticket: half
   an hour of CPU at 1M). The table is created by the application itself first. A mix of
   stages (``--mix``) gives every queue rows: of every 1000 tickets 2 are only classified
   (unassigned), 3 assigned, 3 started, 2 with work logged, 2 resolved and 988 confirmed
   (closed): 1.2% open, as at a desk with a long history (12,000 open tickets at 1M), about
   7.5 events per ticket. ``--mix 20,30,30,20,20,880`` is the stress variant (12% open).
2. Full rebuild of every projection as ``opsledger projections rebuild`` does it
   (``runner.rebuild_many``: the views with a fold in one bulk pass beside the live ones, the
   others in place, ADR 0068), timed, beside the raw read of the same rows: one streaming
   ``SELECT`` of the whole event table through the raw driver; the total is extrapolated
   linearly to 1M tickets (the target: 2 minutes).
3. Queries over HTTP, against ``opsledger serve`` on that store (one keep-alive
   ``http.client`` connection, ``--queries`` timed requests each after 20 untimed):
   ``/api/v1/queues/unassigned``, ``/api/v1/tickets?status=in_progress``,
   ``/api/v1/tickets?status=resolved&priority=P1``, ``/api/v1/queues/breaching``, and the as-of
   view ``/api/v1/tickets/{id}?as_of=`` of random closed tickets 30 minutes after they were
   registered. Baselines in the same run: ``GET /healthz`` (HTTP round trip + one trivial store
   query), the same view query in process without HTTP (``services.tickets.query``), and for
   the as-of view the raw ``SELECT`` of that ticket's stored events.

It is a benchmark, not a test. The 1M run takes minutes and several GB of disk: it prints how
much it wrote.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import random
import secrets
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from adapters.container import Services, build
from adapters.settings import Settings
from application.notices import NAME as NOTICES
from bench.common import (
    bench_parser,
    clean_up,
    load_average,
    print_header,
    source_state,
    stop_on_sigterm,
    write_json,
)
from bench.http_commands import Client, Dist, Server, timed
from bench.rebuild import BASE, STAGES, PostgresStore, SQLiteStore, Store, ticket
from projections.ticket_list.projection import OPEN_STATUSES, stamp
from projections.ticket_list.view import TicketQuery

# Of every 1000 tickets, how many stop at each stage (STAGES order): 1.2% open, as at a desk
# with a long history; ``--mix 20,30,30,20,20,880`` (12% open) makes the queues ten times longer.
MIX = (2, 3, 3, 2, 2, 988)
CHUNK = 2_000  # tickets per worker task
CLOSED = len(STAGES) - 1

_mapper: Any = None  # the application's mapper and SLA clocks, set in each worker
_clocks: Any = None
_sla_all = False
_stage_of: list[int] = []
_worker_services: Services | None = None


def stage_of(i: int) -> int:
    return _stage_of[i % len(_stage_of)]


def use_mix(mix: Sequence[int]) -> None:
    global _stage_of
    if len(mix) != len(STAGES) or min(mix) < 0 or sum(mix) == 0:
        raise ValueError(f"--mix wants {len(STAGES)} counts ({', '.join(STAGES)}), got {mix}")
    _stage_of = [s for s, n in enumerate(mix) for _ in range(n)]


def encode_chunk(bounds: tuple[int, int]) -> list[tuple[str, int, str, bytes]]:
    """The stored rows of tickets ``bounds[0]`` .. ``bounds[1] - 1``, encoded by the app's mapper."""
    rows = []
    to_stored = _mapper.to_stored_event
    for i in range(*bounds):
        stage = stage_of(i)
        clocks = _clocks if stage < CLOSED or _sla_all else None
        for event in ticket(i, stage, clocks).collect_events():
            s = to_stored(event)
            rows.append((s.originator_id.hex, s.originator_version, s.topic, s.state))
    return rows


# ------------------------------------------------------------------- fast writers


class Writer:
    """Appends encoded rows to the application's event table, many rows per transaction."""

    def __init__(self, services: Services, url: str) -> None:
        self.recorder: Any = services.desk.recorder
        self.url = url

    def write(self, chunks: Iterator[list[tuple[str, int, str, bytes]]], batch: int) -> int: ...


class SQLiteWriter(Writer):
    def write(self, chunks: Iterator[list[tuple[str, int, str, bytes]]], batch: int) -> int:
        path = self.url.removeprefix("sqlite:///")  # an absolute path: sqlite:////tmp/...
        table = self.recorder.events_table_name
        n = 0
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("PRAGMA synchronous=NORMAL")
            pending: list[tuple[str, int, str, bytes]] = []
            for rows in chunks:
                pending += rows
                if len(pending) >= batch:
                    n += self._flush(conn, table, pending)
                    pending = []
            n += self._flush(conn, table, pending)
        return n

    @staticmethod
    def _flush(conn: sqlite3.Connection, table: str, rows: list[tuple[str, int, str, bytes]]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO {table} VALUES (?,?,?,?)", rows)  # noqa: S608 - the recorder's name
        conn.execute("COMMIT")
        return len(rows)


class PostgresWriter(Writer):
    def write(self, chunks: Iterator[list[tuple[str, int, str, bytes]]], batch: int) -> int:
        import psycopg
        from psycopg import sql

        target = sql.Identifier(self.recorder.datastore.schema or "public", self.recorder.events_table_name)
        copy = sql.SQL("COPY {} (originator_id, originator_version, topic, state) FROM STDIN").format(target)
        n = 0
        with psycopg.connect(self.url) as conn:
            written = 0
            cp_cm = None
            for rows in chunks:
                if cp_cm is None:
                    cur = conn.cursor()
                    cp_cm = cur.copy(copy)
                    cp = cp_cm.__enter__()
                for row in rows:
                    cp.write_row(row)
                written += len(rows)
                if written >= batch:
                    cp_cm.__exit__(None, None, None)
                    conn.commit()
                    n, written, cp_cm = n + written, 0, None
            if cp_cm is not None:
                cp_cm.__exit__(None, None, None)
                conn.commit()
                n += written
        return n


def use_desk(services: Services, mix: Sequence[int], sla_all: bool) -> None:
    """Encode with this desk's mapper and run its SLA clocks after every command (of the
    open tickets only, unless ``sla_all``: they cost ~2 ms per ticket, half an hour at 1M)."""
    global _mapper, _clocks, _sla_all
    _mapper = services.desk.mapper
    _clocks = services.desk.sla.update if services.desk.sla is not None else None
    _sla_all = sla_all
    use_mix(mix)


def _start_worker(url: str, mix: Sequence[int], sla_all: bool) -> None:
    """A worker's own application on the store (its own connections; it only reads the SLA
    policies and calendars, as the desk does when it runs a command)."""
    global _worker_services
    _worker_services = build(Settings(database_url=url))
    use_desk(_worker_services, mix, sla_all)


def generate(services: Services, store: Store, tickets: int, workers: int, batch: int,
             mix: Sequence[int] = MIX, sla_all: bool = False) -> tuple[int, float]:
    """Write ``tickets`` tickets' events; (rows written, seconds)."""
    use_desk(services, mix, sla_all)
    bounds = [(a, min(a + CHUNK, tickets)) for a in range(0, tickets, CHUNK)]
    writer = (SQLiteWriter if store.kind == "sqlite" else PostgresWriter)(services, store.url)
    began = time.perf_counter()
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers, _start_worker, (store.url, mix, sla_all)) as pool:
            n = writer.write(pool.imap(encode_chunk, bounds), batch)
    else:
        n = writer.write(map(encode_chunk, bounds), batch)
    return n, time.perf_counter() - began


# ------------------------------------------------------------------ raw baselines


def raw_stream(store: Store) -> int:
    """Every stored event through the raw driver, streamed (the whole table does not fit in
    memory as Python objects at 7M rows); returns the row count."""
    n = 0
    if store.kind == "sqlite":
        with contextlib.closing(sqlite3.connect(store.path)) as conn:  # type: ignore[attr-defined]
            for _row in conn.execute("SELECT rowid, * FROM stored_events ORDER BY rowid"):
                n += 1
        return n
    import psycopg

    with psycopg.connect(store.url) as conn:
        table = _pg_events_table(conn)
        with conn.cursor(name="scale_raw_read") as cur:
            cur.itersize = 10_000
            cur.execute(f'SELECT notification_id, originator_id, originator_version, topic, state '  # noqa: S608
                        f'FROM "{table}" ORDER BY notification_id')
            for _row in cur:
                n += 1
    return n


def _pg_events_table(conn: Any) -> str:
    return str(conn.execute(
        "SELECT table_name FROM information_schema.columns "
        "WHERE column_name = 'notification_id' AND table_name LIKE '%%_events'"
    ).fetchone()[0])


def raw_ticket_reader(store: Store) -> tuple[Callable[[str], int], Callable[[], None]]:
    """(read one ticket's stored events by id hex -> rows, close)."""
    if store.kind == "sqlite":
        conn = sqlite3.connect(store.path)  # type: ignore[attr-defined]
        sql_ = "SELECT * FROM stored_events WHERE originator_id = ? ORDER BY originator_version"
        return (lambda oid: len(conn.execute(sql_, (oid,)).fetchall())), conn.close
    import psycopg

    pconn = psycopg.connect(store.url, autocommit=True)
    table = _pg_events_table(pconn)
    psql = (f'SELECT * FROM "{table}" WHERE originator_id = %s '  # noqa: S608
            f"ORDER BY originator_version")
    return (lambda oid: len(pconn.execute(psql, (oid,)).fetchall())), pconn.close


# -------------------------------------------------------------------------- timing


@dataclass
class Timed:
    name: str
    dist: Dist
    floor_name: str = ""
    floor: Dist | None = None
    rows: int = 0


def http_get(client: Client, path: str) -> Any:
    r = client.get(path)
    if r.status_code != 200:
        raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
    return r.json()


def run_queries(services: Services, store: Store, server: Server, client: Client, tickets: int,
                n: int, seed: int) -> list[Timed]:
    now = stamp(services.desk.clock.now())
    lists = [
        ("GET /api/v1/queues/unassigned", "/api/v1/queues/unassigned",
         TicketQuery(statuses=("registered", "classified"), unassigned=True, order="queue")),
        ("GET /api/v1/tickets?status=in_progress", "/api/v1/tickets?status=in_progress",
         TicketQuery(statuses=("in_progress",))),
        ("GET /api/v1/tickets?status=resolved&priority=P1", "/api/v1/tickets?status=resolved&priority=P1",
         TicketQuery(statuses=("resolved",), priorities=("P1",))),
        ("GET /api/v1/queues/breaching", "/api/v1/queues/breaching",
         TicketQuery(statuses=tuple(s.value for s in OPEN_STATUSES), sla_states=("warning", "breached"),
                     now=now, order="breaching")),
    ]
    out = [Timed("GET /healthz (HTTP floor)", timed(n, lambda _k: http_get(client, "/healthz")))]
    for name, path, query in lists:
        rows = len(http_get(client, path)["items"])
        d = timed(n, lambda _k, p=path: http_get(client, p))  # type: ignore[misc]
        floor = timed(n, lambda _k, q=query: services.tickets.query(q))  # type: ignore[misc]
        out.append(Timed(name, d, "view query in process", floor, rows))

    rng = random.Random(seed)
    closed = [i for i in (rng.randrange(tickets) for _ in range(n * 4)) if stage_of(i) == CLOSED][: n + 20]
    picks = [ticket(i, 0) for i in closed]  # only the id and registration time are needed
    paths = [f"/api/v1/tickets/{t.id}?as_of=" + urllib.parse.quote((BASE + timedelta(seconds=37 * i, minutes=30))
                                                                     .isoformat()) for t, i in zip(picks, closed)]
    status = http_get(client, paths[0])["status"]
    d = timed(n, lambda k: http_get(client, paths[k % len(paths)]))
    read, close = raw_ticket_reader(store)
    try:
        ids = [t.id.hex if store.kind == "sqlite" else t.id for t in picks]
        floor = timed(n, lambda k: read(ids[k % len(ids)]))  # type: ignore[arg-type]
    finally:
        close()
    out.append(Timed(f"GET /api/v1/tickets/{{id}}?as_of= (status then: {status})", d,
                     "raw SELECT of its events", floor, 1))
    return out


# ---------------------------------------------------------------------------- main


def disk_bytes(store: Store) -> int | None:
    if store.kind == "sqlite":
        path = Path(store.path)  # type: ignore[attr-defined]
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    import psycopg

    with psycopg.connect(store.url) as conn:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("bench.scale", __doc__)
    parser.add_argument("--tickets", type=int, default=20_000, help="tickets to generate (1,000,000 for the full run)")
    parser.add_argument("--queries", type=int, default=200, help="timed requests per query")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes encoding events")
    parser.add_argument("--batch", type=int, default=200_000, help="rows per write transaction")
    parser.add_argument("--dir", type=Path, help="where the SQLite file goes (default a temp dir; it is removed)")
    parser.add_argument("--mix", default=",".join(map(str, MIX)),
                        help=f"tickets per {sum(MIX)} stopping at each stage: {', '.join(STAGES)}")
    parser.add_argument("--sla-all", action="store_true",
                        help="run the SLA clocks for the closed tickets too (slow: ~2 ms per ticket)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    stop_on_sigterm()

    tmp = Path(tempfile.mkdtemp(prefix="opsledger-bench-scale-", dir=args.dir))
    store: Store | None = None
    services: Services | None = None
    server: Server | None = None
    try:
        store = SQLiteStore(tmp) if args.store == "sqlite" else PostgresStore(args.pg_url)
        load0 = load_average()
        services = build(Settings(database_url=store.url))  # creates the tables the app uses
        mix = tuple(int(x) for x in args.mix.split(","))
        events, gen_s = generate(services, store, args.tickets, args.workers, args.batch, mix, args.sla_all)
        size = disk_bytes(store)
        print(f"Scale run ({args.store}): {args.tickets:,} tickets, {events:,} events "
              f"({events / args.tickets:.2f} per ticket; stages per {sum(mix):,} tickets: "
              + ", ".join(f"{n} {s}" for s, n in zip(STAGES, mix)) + ")")
        print(f"generated in {gen_s:.1f} s ({events / gen_s:,.0f} events/s, {args.workers} encoding processes, "
              f"{args.batch:,} rows per transaction); store {size / 1e9 if size else 0:.2f} GB")
        print(f"code: {source_state()}; load average at start {load0:.2f} ({os.cpu_count()} CPUs)")
        print()

        # Every view but the outbox (it starts again at the log's head: history is not
        # re-notified, ADR 0059) as `opsledger projections rebuild` does: those with a fold in
        # one bulk pass beside the live ones, the others in place (ADR 0068).
        names = [n for n in services.runner.views if n != NOTICES]
        from adapters.runners.bulk import bulk_capable

        bulk = [n for n in names if bulk_capable(services.runner.views[n])]
        gc.collect()
        t0 = time.perf_counter()
        done = services.runner.rebuild_many(names)
        total_s = time.perf_counter() - t0
        rebuilds = [(name, *done[name]) for name in names]
        gc.collect()
        t0 = time.perf_counter()
        raw_n = raw_stream(store)
        raw_s = time.perf_counter() - t0
        print("Full projection rebuild (every view, as `opsledger projections rebuild`: "
              f"{', '.join(bulk)} in one bulk pass, the others in place)")
        print(f"{'':40} {'seconds':>8} {'events':>11} {'events/s':>11}")
        pass_s = max((sec for name, _, sec in rebuilds if name in bulk), default=0.0)
        if bulk:
            print(f"{'one bulk pass: ' + ', '.join(bulk):40.40} {pass_s:8.1f} {events:11,} "
                  f"{events / pass_s:11,.0f}")
        for name, count, seconds in rebuilds:
            if name not in bulk:
                print(f"{'rebuild ' + name:40} {seconds:8.1f} {count:11,} {count / seconds:11,.0f}")
        print(f"{'all views':40} {total_s:8.1f} {events:11,} {events / total_s:11,.0f}")
        print(f"{'raw read of the same rows (streamed)':40} {raw_s:8.1f} {raw_n:11,} {raw_n / raw_s:11,.0f}")
        print(f"ratio all views / raw read: {(events / total_s) / (raw_n / raw_s):.3f}x events/s")
        at_1m = total_s * 1_000_000 / args.tickets
        print(f"all views at 1,000,000 tickets, extrapolated linearly: {at_1m:,.0f} s "
              f"(target <= 120 s: {'MET' if at_1m <= 120 else 'NOT MET'})")
        print()
        services.close()
        services = None

        token = secrets.token_urlsafe(24)
        started = time.perf_counter()
        server = Server(store.url, tmp, token)
        server.wait_healthy(timeout=600)
        boot_s = time.perf_counter() - started
        services = build(Settings(database_url=store.url))  # in-process floors read the same views
        with Client(server.base_url, token) as client:
            results = run_queries(services, store, server, client, args.tickets, args.queries, args.seed)
        print(f"Queries over HTTP (opsledger serve, ready in {boot_s:.1f} s; {args.queries} timed requests each, "
              f"one client, after 20 untimed)")
        print_header(f"{'':58} {'rows':>4} | {'p50':>7} {'p95':>7} {'p99':>7} | {'baseline':24} {'p50':>7} "
                     f"{'p99':>7} | {'p99 ratio':>9}")
        for r in results:
            line = f"{r.name:58} {r.rows:4} | {r.dist.p50:7.2f} {r.dist.p95:7.2f} {r.dist.p99:7.2f} |"
            if r.floor:
                line += f" {r.floor_name:24} {r.floor.p50:7.2f} {r.floor.p99:7.2f} | {r.dist.p99 / r.floor.p99:8.1f}x"
            print(line)
        print("(ms; p99 ratio = HTTP p99 / baseline p99: what HTTP, auth, the page's SLA states and JSON add)")
        print(f"load average at end {load_average():.2f}")
        write_json(args.json, {
            "store": args.store, "tickets": args.tickets, "events": events, "generate_s": gen_s,
            "store_bytes": size, "rebuild": [{"view": n, "events": c, "seconds": s} for n, c, s in rebuilds],
            "rebuild_total_s": total_s, "raw_read": {"rows": raw_n, "seconds": raw_s},
            "server_ready_s": boot_s, "queries": [asdict(r) for r in results],
        })
        return 0
    finally:
        if server is not None:
            server.stop()
        clean_up(tmp, services, store)


if __name__ == "__main__":
    sys.exit(main())
