"""Projection rebuild throughput: the bulk rebuild of each view (ADR 0068) vs the incremental
path and raw reads, all in the same run.

    PYTHONPATH=. .venv/bin/python -m bench.rebuild [--tickets 20000] [--store sqlite|postgres]
        [--pg-url URL] [--repeats 3] [--profile] [--json PATH]

1. Fills a fresh store (SQLite file in a temp dir, or a fresh database on PostgreSQL: ``--pg-url``
   or a private server from ``tests.support.postgres``) with ``--tickets`` ticket lifecycles,
   built in-process with the domain (fixed ids and times) and saved through the application
   (``adapters.container.build(...).desk.save``) in batches of many aggregates per call: register
   with all five classification fields (Registered + Classified), assign, start, log_work (one,
   or two for every other ticket), resolve, confirm (passed): 7.5 events per ticket on average,
   so the default 20,000 tickets make 150,000 events.
2. Times ``services.runner.rebuild(name)`` -- the bulk path (``adapters/runners/bulk.py``: one
   scan of the log's topics, rows folded in memory, written once into a shadow table, indexes
   built, swapped in) -- for ``ticket_list`` and ``sla_due`` (best of ``--repeats``) and
   ``ticket_search`` (once: its full-text index dominates), then every SQL view in one pass
   (``runner.rebuild_many``, as ``opsledger projections rebuild`` does), and checks the ticket
   list's row count and position afterwards. Events/s are the log's notifications covered per
   second (every view reads the whole log's range).
3. In the same run, the baselines: the incremental path's rebuild of ``ticket_list``
   (``runner.rebuild_in_place``: reset, then batches of the runner's size, each a read of the
   touched rows and upserts -- what ``rebuild`` did before ADR 0068), and through the raw driver,
   best of ``--repeats`` each, ``SELECT rowid, * FROM stored_events ORDER BY rowid`` reading every
   row (rows/s), the same plus ``json.loads`` of every state, and plus ``msgspec.json.decode``
   (untyped) of every state.

It prints events/s, rows/s and the ratios. ``--profile`` also runs one bulk rebuild of
``ticket_list`` under cProfile and prints where the time goes. It is a benchmark, not a test.
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import msgspec

from adapters.container import Services, build
from adapters.settings import Settings
from application.ports import FixedClock
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
from bench.encoding import ENGINEERS, GROUPS, TYPES, register_sample
from domain.priority import Impact, Importance, Urgency
from domain.ticket import ProposedClassification, Ticket
from projections.ticket_list.view import TicketQuery

UTC = timezone.utc
BASE = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
TARGET_EVENTS_PER_S = 500_000  # per view (issue 22)
SAVE_BATCH = 1000  # aggregates per desk.save call (one transaction)


# ------------------------------------------------------------------------- fill


Clocks = Callable[[Ticket, datetime], None]
STAGES = ("classified", "assigned", "in_progress", "worked", "resolved", "closed")


def ticket(i: int, stage: int = len(STAGES) - 1, clocks: Clocks | None = None) -> Ticket:
    """Lifecycle ``i``: 7 events, 8 for odd ``i`` (a second log_work); fixed id and times.

    ``stage`` (an index into ``STAGES``) stops the lifecycle early, so the scale run has open
    tickets in every queue: 0 = registered and classified, 1 = assigned, 2 = started,
    3 = work logged, 4 = resolved, 5 = confirmed (closed). ``clocks`` (the desk's
    ``sla.update``), when given, runs after every command as the desk runs it, adding the SLA
    deadline events a real ticket has.
    """
    k = i % 4
    t0 = BASE + timedelta(seconds=37 * i)
    number = f"SR-{t0:%Y%m%d}-{i + 1:06d}"
    urgency, impact, importance = tuple(Urgency)[i % 3], tuple(Impact)[(i // 3) % 3], tuple(Importance)[k % 3]
    engineer = ENGINEERS[k]
    t = register_sample(i, number, t0, proposed=ProposedClassification(
        type=TYPES[k], category="网络/交换机", urgency=urgency, impact=impact, importance=importance))
    steps: list[tuple[int, Callable[[datetime], None]]] = [
        (0, lambda at: t.classify(type=TYPES[k], category="网络/交换机", urgency=urgency, impact=impact,
                                  importance=importance, actor="desk.liu", at=at)),
        (5, lambda at: t.assign(assignee=engineer, group=GROUPS[k], actor="desk.liu", at=at)),
        (12, lambda at: t.start(actor=engineer, at=at)),
        (60, lambda at: t.log_work(action="远程登录设备，收集日志并定位故障点；确认与光模块收光功率偏低有关。", hours=0.75,
                                   workaround="临时将业务切换至备用链路 Gi1/0/23", actor=engineer, at=at)),
    ]
    if i % 2:
        steps.append((150, lambda at: t.log_work(action="现场更换光模块并清洁光纤跳线，观察 30 分钟无闪断。", hours=1.5,
                                                 actor=engineer, at=at)))
    steps += [
        (160, lambda at: t.resolve(resolution="更换 Gi1/0/24 光模块（SFP-10G-LR）并清洁跳线，端口恢复稳定，业务已切回主链路。",
                                   root_cause="光模块老化导致收光功率低于阈值", first_contact=i % 7 == 0,
                                   actor=engineer, at=at)),
        (24 * 60, lambda at: t.confirm(number=f"SD-{t0:%Y%m%d}-{i + 1:06d}", signer="王建国",
                                       items=("更换光模块 1 个", "清洁光纤跳线 2 根"), criteria=("端口 24 小时无闪断",),
                                       passed=True, actor="desk.liu", at=at)),
    ]
    # Commands per stage: classify | assign | start | log_work (one or two) | resolve | confirm.
    last = {0: 1, 1: 2, 2: 3, 3: len(steps) - 2, 4: len(steps) - 1, 5: len(steps)}[stage]
    for minutes, command in steps[:last]:
        at = t0 + timedelta(minutes=minutes)
        command(at)
        if clocks is not None:
            clocks(t, at)
    return t


def fill(services: Services, tickets: int) -> tuple[int, float]:
    """Save ``tickets`` lifecycles in batches; (events written, seconds)."""
    began = time.perf_counter()
    for start in range(0, tickets, SAVE_BATCH):
        services.desk.save(*(ticket(i) for i in range(start, min(start + SAVE_BATCH, tickets))))
    return services.desk.max_position(), time.perf_counter() - began


# ------------------------------------------------------------------------ stores


class Store:
    kind: str
    url: str

    def raw_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every stored event, in log order, as the driver returns it (state last)."""
        ...

    def close(self) -> None: ...


class SQLiteStore(Store):
    kind = "sqlite"

    def __init__(self, tmp: Path) -> None:
        self.path = (tmp / "opsledger.sqlite3").resolve()
        self.url = f"sqlite:///{self.path}"  # four slashes: this absolute path, either URL convention

    def raw_rows(self) -> Iterator[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            yield from conn.execute("SELECT rowid, * FROM stored_events ORDER BY rowid").fetchall()


class PostgresStore(BenchPostgres, Store):
    kind = "postgres"

    def __init__(self, pg_url: str | None) -> None:
        super().__init__(pg_url)
        self.url = self.database("bench_rebuild")

    def raw_rows(self) -> Iterator[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url) as conn:
            table = conn.execute(
                "SELECT table_name FROM information_schema.columns "
                "WHERE column_name = 'notification_id' AND table_name LIKE '%%_events'"
            ).fetchone()[0]  # type: ignore[index]
            yield from conn.execute(
                f'SELECT notification_id, originator_id, originator_version, topic, state '  # noqa: S608
                f'FROM "{table}" ORDER BY notification_id'
            ).fetchall()


def open_store(kind: str, tmp: Path, pg_url: str | None) -> Store | None:
    """The store to fill, or None (with the reason printed) when PostgreSQL cannot be had."""
    return SQLiteStore(tmp) if kind == "sqlite" else postgres_or_skip(lambda: PostgresStore(pg_url))


# ----------------------------------------------------------------------- timing


def best_of(repeats: int, fn: Callable[[], int]) -> tuple[float, int]:
    """(best seconds, what fn returned), GC left on: the runner runs with GC on too."""
    times, n = [], 0
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        n = fn()
        times.append(time.perf_counter() - start)
    return min(times), n


@dataclass
class Line:
    name: str
    seconds: float
    count: int

    @property
    def per_s(self) -> float:
        return self.count / self.seconds


def raw_read(store: Store) -> int:
    n = 0
    for _row in store.raw_rows():
        n += 1
    return n


def raw_read_json(store: Store) -> int:
    loads = json.loads
    n = 0
    for row in store.raw_rows():
        loads(row[-1])
        n += 1
    return n


def raw_read_msgspec(store: Store) -> int:
    decode = msgspec.json.Decoder().decode
    n = 0
    for row in store.raw_rows():
        decode(row[-1])
        n += 1
    return n


def profile_rebuild(services: Services, top: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    services.runner.rebuild("ticket_list")  # the bulk path
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# ------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("bench.rebuild", __doc__)
    parser.add_argument("--tickets", type=int, default=20_000, help="ticket lifecycles (7.5 events each)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each; the best is kept")
    parser.add_argument("--profile", action="store_true", help="also profile one rebuild with cProfile")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    stop_on_sigterm()

    tmp = Path(tempfile.mkdtemp(prefix="opsledger-bench-rebuild-"))
    store: Store | None = None
    services: Services | None = None
    try:
        store = open_store(args.store, tmp, args.pg_url)
        if store is None:
            return 0
        settings = Settings(database_url=store.url)
        services = build(settings, clock=FixedClock(BASE))
        load0 = load_average()
        events, fill_s = fill(services, args.tickets)

        runner = services.runner
        lines = [Line("bulk rebuild ticket_list", *best_of(
            args.repeats, lambda: runner.rebuild("ticket_list")[0]))]
        view = services.tickets
        position = view.position()
        page = view.query(TicketQuery(limit=1))
        rows_in_view = _count_rows(services)
        driver = "sqlite3" if args.store == "sqlite" else "psycopg"
        raw_specs: list[tuple[str, Callable[[Store], int]]] = [
            (f"raw {driver}: read every row", raw_read),
            (f"raw {driver}: read + json.loads(state)", raw_read_json),
            (f"raw {driver}: read + msgspec decode(state)", raw_read_msgspec),
        ]
        for name, fn in raw_specs:
            seconds, n = best_of(args.repeats, lambda fn=fn: fn(store))  # type: ignore[misc]
            lines.append(Line(name, seconds, n))
        views = [Line("bulk rebuild sla_due", *best_of(
            args.repeats, lambda: runner.rebuild("sla_due")[0]))]
        views.append(Line("bulk rebuild ticket_search (once)", *best_of(
            1, lambda: runner.rebuild("ticket_search")[0])))
        names = list(_sql_views(services))
        views.append(Line(f"bulk, all {len(names)} SQL views, one pass (once)", *best_of(
            1, lambda: max(c for c, _ in runner.rebuild_many(names, processes=1).values()))))
        # ADR 0077: the views in two groups, the second in a process of its own (what
        # `opsledger projections rebuild` does from bulk.PARALLEL_FROM events with 2 cores)
        views.append(Line(f"bulk, all {len(names)} SQL views, two processes (once)", *best_of(
            1, lambda: max(c for c, _ in runner.rebuild_many(names, processes=2).values()))))
        before = Line("incremental rebuild ticket_list (before)", *best_of(
            1, lambda: runner.rebuild_in_place("ticket_list")[0]))
        load1 = load_average()

        topics = Counter(row[3].rsplit(".", 1)[-1] for row in store.raw_rows())
        print(f"Projection rebuild ({args.store}): {args.tickets:,} ticket lifecycles, {events:,} events "
              f"(" + ", ".join(f"{k} {v:,}" for k, v in topics.items()) + ")")
        print(f"filled in {fill_s:.2f} s through desk.save ({SAVE_BATCH} aggregates per call, "
              f"{events / fill_s:,.0f} events/s); best of {args.repeats}, time.perf_counter, GC on")
        print(f"Python {platform.python_version()} ({platform.machine()}, {os.cpu_count()} CPUs), "
              f"eventsourcing {version('eventsourcing')}, msgspec {version('msgspec')}, "
              f"sqlite {sqlite3.sqlite_version}; runner batch_size {services.runner.batch_size}; "
              f"load average {load0:.2f} -> {load1:.2f}")
        print(f"code: {source_state()}")
        print()
        header = f"{'':46} {'seconds':>8} {'rows':>9} {'events/s':>11}"
        print_header(header)
        for ln in (lines[0], *views, before, *lines[1:]):
            print(f"{ln.name:46} {ln.seconds:8.3f} {ln.count:9,} {ln.per_s:11,.0f}")
        print()
        print(f"{'ratios':46} {'speed':>8}")
        print("-" * len(header))
        for ln in (lines[0], *views):
            print(f"{ln.name.removeprefix('bulk ') + ' / incremental ticket_list':46} "
                  f"{ln.per_s / before.per_s:7.3f}x")
        print(f"{'all views: two processes / one pass':46} {views[-2].seconds / views[-1].seconds:7.3f}x")
        for ln in lines[1:]:
            print(f"{'bulk ticket_list / ' + ln.name.removeprefix('raw '):46} "
                  f"{lines[0].per_s / ln.per_s:7.3f}x")
        print("(< 1: slower than the baseline)")
        print()
        for ln in (lines[0], *views[:2]):
            print(f"target: {ln.name.removesuffix(' (once)')} >= {TARGET_EVENTS_PER_S:,} events/s on "
                  f"{args.store}: {'MET' if ln.per_s >= TARGET_EVENTS_PER_S else 'NOT MET'} "
                  f"({ln.per_s:,.0f} events/s)")
        print(f"check: view position {position:,} of head {events:,}; {rows_in_view:,} rows for "
              f"{args.tickets:,} tickets; sample row status {page.rows[0]['status'] if page.rows else None!r}")
        if position != events or rows_in_view != args.tickets:
            print("FAIL: the rebuilt view does not cover the log", file=sys.stderr)
            return 1
        print()
        print("Notes:")
        print("  * bulk = runner.rebuild(name) (ADR 0068): shadow tables, one LogScan of the view's topics\n"
              "    (pages of 20,000), rows folded in memory by the view's fold, INSERTs into the fresh\n"
              "    shadow, indexes built after, the log's tail applied and the shadow swapped in with the\n"
              "    tracking position in one transaction; the live view answers queries throughout.")
        print("  * incremental = runner.rebuild_in_place: reset, then batch_size notifications a\n"
              "    transaction, each loading the rows it touches and upserting them.")
        print("  * raw rows: one query over the whole table, fetchall, the driver's native row tuples\n"
              "    (no UUID or object construction); the decode lines parse every state to plain dicts.")

        if args.profile:
            print()
            print("cProfile of one rebuild (profiling overhead inflates the total):")
            print(profile_rebuild(services, 25))
        write_json(args.json, {
            "store": args.store, "tickets": args.tickets, "events": events,
            "lines": [{"name": ln.name, "seconds": ln.seconds, "count": ln.count, "per_s": ln.per_s} for ln in lines],
            "views": [{"name": ln.name, "seconds": ln.seconds, "count": ln.count, "per_s": ln.per_s}
                      for ln in views],
            "incremental": {"name": before.name, "seconds": before.seconds, "count": before.count,
                            "per_s": before.per_s},
            "target_events_per_s": TARGET_EVENTS_PER_S,
        })
        return 0
    finally:
        clean_up(tmp, services, store)


def _sql_views(services: Services) -> dict[str, Any]:
    """The read models kept in SQL tables (not the process managers the runner also feeds)."""
    from projections.sql import SqlView

    return {n: v for n, v in services.runner.views.items() if isinstance(v, SqlView)}


def _count_rows(services: Services) -> int:
    store: Any = getattr(services.tickets, "store", None)
    with store.read() as cur:
        cur.execute("SELECT COUNT(*) FROM ticket_list")
        return int(cur.fetchone()[0])


if __name__ == "__main__":
    sys.exit(main())
