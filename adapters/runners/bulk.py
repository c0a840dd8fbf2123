"""Bulk rebuilds of the SQL read models, beside the live ones (ADR 0068).

A rebuild through the incremental path (``ProjectionRunner.catch_up`` from 0) reads the log
in batches and, per batch, loads the rows the batch touches, applies the events and upserts
the rows with the tracking position: every row is read and written again for every batch that
touches it, and the view is empty (a queue shows nothing) until the rebuild ends. Here:

1. **Shadow tables.** Each view's tables are created afresh under another name
   (``ticket_list__g3``: a generation after the one in use), beside the live ones, which keep
   answering queries and following the log throughout.
2. **One pass over the log for all views.** ``LogScan`` reads the events of the views' topics
   only (``topic IN`` in SQL) in large pages; each event is decoded once, with the union of the
   fields the views want (``MsgspecMapper.event_from_row``, the incremental path's decoding:
   sealed personal fields are opened, or read as erased, exactly as there), and fed to each
   view's ``fold`` whose topics it is: the rows are folded in memory by the view's own code.
3. **Rows written once**, into the fresh shadow tables: SQLite plain ``INSERT``s
   (``executemany``), PostgreSQL ``COPY``, in transactions of ``WRITE_CHUNK`` rows (short turns
   at SQLite's writer lock), then the indexes built (one transaction each).
4. **Caught up and swapped in atomically.** The log grew meanwhile: the folds are fed the new
   events (a few passes, in memory), then one transaction per database reads the remaining
   tail, applies it to the shadow (upserts of the rows it touches), drops the live tables,
   renames the shadows into their place and sets each view's tracking position and version.
   On SQLite that transaction holds the writers' lock, so the tail is all there is; on
   PostgreSQL a later event is simply after the new position, and the runner applies it next.
   A crash before the swap leaves the live view as it was (the next rebuild drops the shadow).

Views that cannot fold (plug-ins, full-text views without a ``fold``, in-memory views) are
rebuilt by the incremental path, as before.

**Two processes** (ADR 0077): on a log of ``PARALLEL_FROM`` events or more, with a second core
and ``fork``, the views are cut into two groups of about the same cost (``split``, by each
view's measured ``bulk_weight``) and the second group is rebuilt as above by a process of its
own (``adapters.runners.child.Child``) on connections of its own (``fresh``, given by the
composition root), while this process rebuilds the first: each group reads the log, folds,
writes, indexes and swaps in by itself. The views' tracking rows are apart, so either swap
stands alone; a crash of either leaves its group's live views as they were.

Measured (bench/rebuild.py, ADR 0068): see the ADR for the figures before and after.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import structlog

from adapters.runners.child import Child, can_fork
from adapters.runners.log_scan import PAGE, LogScan
from adapters.stores.persistence import originator_uuid
from projections.base import Positioned
from projections.sql import Fold, SqlView, Tracking, create_indexes, index_prefix

log = structlog.get_logger("opsledger.projections")

Progress = Callable[[int, int], None]  # (position reached, target position)
WRITE_CHUNK = 50_000  # rows per INSERT transaction into a shadow table
CATCH_UP_PASSES = 5  # in-memory passes after the first before the swap takes the rest
SWAP_TAIL = 20_000  # at most this many events behind: go to the swap
# From this many events in the log a second process pays for its start (a fork and a second
# set of connections, ~0.1 s) and for reading the log twice (ADR 0077).
PARALLEL_FROM = 100_000
# PostgreSQL: a shadow's indexes built this many at a time, on as many pooled connections
# (a process's shared pool has 16, ADR 0083; ADR 0082). SQLite has one writer: one at a time.
INDEX_THREADS = 2
#: ``fresh()``: a context giving a projection runner (``.desk``, ``.views``) on connections of
#: its own, closed after: what the second process rebuilds with.
Fresh = Callable[[], AbstractContextManager[Any]]


@dataclass
class Member:
    view: SqlView
    fold: Fold
    names: dict[str, str]  # live table -> shadow table
    events: int = 0
    seconds: float = 0.0


@dataclass
class Outcome:
    """What a bulk rebuild did: the position reached, events fed per view, seconds."""

    position: int
    events: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)  # the process that rebuilt each view


def generation(cur: Any, view: SqlView) -> int:
    """The next generation of ``view``'s tables: one after the one whose index names its
    live tables carry (0 for tables never swapped)."""
    used = 0
    for table in view.all_tables():
        prefix = index_prefix(cur, view.store, table)
        if prefix != table:
            used = max(used, int(prefix.rsplit("__g", 1)[1]))
    return used + 1


class BulkRebuild:
    def __init__(self, desk: Any, views: Sequence[SqlView], *, page: int = PAGE,
                 write_chunk: int = WRITE_CHUNK) -> None:
        self.desk = desk
        self.views = list(views)
        self.page = page
        self.write_chunk = write_chunk
        self.scan = LogScan(desk.recorder)
        self.to_event = desk.mapper.event_from_row
        self._ids: dict[Any, Any] = {}
        # The fields each topic is decoded with: the union of the views' (None: whole).
        self.fields: dict[str, frozenset[str] | None] = {}
        for view in self.views:
            wanted: dict[str, frozenset[str]] = getattr(view, "fields", {}) or {}
            for topic in view.topics:
                mine = wanted.get(topic)
                if topic in self.fields:
                    had = self.fields[topic]
                    self.fields[topic] = None if had is None or mine is None else had | mine
                else:
                    self.fields[topic] = mine
        self.topics = frozenset(self.fields)

    # ------------------------------------------------------------------ steps

    def run(self, progress: Progress | None = None) -> Outcome:
        began = time.perf_counter()
        outcome = Outcome(position=0)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # many short-lived objects and no cycles (as ProjectionRunner.rebuild)
        try:
            members = [self._shadow(view) for view in self.views]
            t0 = time.perf_counter()
            head = self.desk.max_position()
            done = self._feed(members, 0, head, progress)
            for _ in range(CATCH_UP_PASSES):
                head = self.desk.max_position()
                if head - done <= SWAP_TAIL:
                    break
                done = self._feed(members, done, head, progress)
            t1 = time.perf_counter()
            for member in members:
                self._write(member)
            t2 = time.perf_counter()
            for member in members:
                self._index(member)
            t3 = time.perf_counter()
            by_database: dict[tuple[str, ...], list[Member]] = {}
            for member in members:
                by_database.setdefault(member.view.store.database, []).append(member)
            position = done
            for group in by_database.values():
                position = max(position, self._swap(group, done))
            t4 = time.perf_counter()
        finally:
            if gc_was_enabled:
                gc.enable()
        outcome.position = position
        outcome.pids = {m.view.name: os.getpid() for m in members}
        outcome.events = {m.view.name: m.events for m in members}
        outcome.seconds = time.perf_counter() - began
        outcome.phases = {"read+decode+fold": t1 - t0, "write": t2 - t1, "indexes": t3 - t2,
                          "swap": t4 - t3}
        if progress:
            progress(position, position)
        log.info("projection.bulk_rebuilt", views=[v.name for v in self.views],
                 position=position, seconds=round(outcome.seconds, 3),
                 phases={k: round(v, 3) for k, v in outcome.phases.items()})
        return outcome

    def _shadow(self, view: SqlView) -> Member:
        """Fresh shadow tables of ``view`` (a leftover of a crashed rebuild is dropped)."""
        with view.store.transaction() as cur:
            gen = generation(cur, view)
            names = {t: f"{t}__g{gen}" for t in view.all_tables()}
            for shadow in names.values():
                cur.execute(f"DROP TABLE IF EXISTS {shadow}")
            view.create_tables(cur, names)
        return Member(view, view.fold(), names)

    def _feed(self, members: list[Member], after: int, upto: int,
              progress: Progress | None) -> int:
        """The events in ``(after, upto]`` fed to the folds, decoded once each for the folds
        that take events; a fold that reads raw rows (``feed_raw``) is given them as read.
        The position reached (``upto``)."""
        to_event, fields, ids = self.to_event, self.fields, self._ids

        def event(raw: Any) -> Any:
            position, oid, version, topic, state = raw
            return to_event(topic, originator_uuid(oid, ids), version, state, fields[topic])

        # Members with the same topics share one list of rows or events. A fold that reads
        # raw rows only to skip the mapper (``raw_alone``) takes the events when another fold
        # of the pass has them decoded anyway (ADR 0082).
        raw = {id(m): self._raw(m) for m in members}
        if not all(raw.values()):
            raw.update({id(m): False for m in members if getattr(m.fold, "raw_alone", False)})
        groups: dict[tuple[frozenset[str], bool], list[Member]] = {}
        for m in members:
            groups.setdefault((frozenset(m.view.topics), raw[id(m)]), []).append(m)
        for rows in self.scan.pages(after, upto, self.topics, self.page):
            events: list[tuple[str, Positioned]] | None = None
            for (topics, raw), group in groups.items():
                every = topics >= self.topics
                if raw:
                    mine: list[Any] = rows if every else [r for r in rows if r[3] in topics]
                    for m in group:
                        m.fold.feed_raw(mine, event)  # type: ignore[attr-defined]
                        m.events += len(mine)
                    continue
                if events is None:
                    events = [(r[3], Positioned(r[0], event(r))) for r in rows]
                mine = [pe for topic, pe in events if every or topic in topics]
                for m in group:
                    m.fold.feed(mine)
                    m.events += len(mine)
            if progress:
                progress(rows[-1][0], max(upto, rows[-1][0]))
        return upto

    def _raw(self, member: Member) -> bool:
        """Whether ``member``'s fold reads the raw rows: it can, and the stored states are
        plain (no cipher, no compressor: the fold decodes them itself)."""
        mapper = self.desk.mapper
        return (hasattr(member.fold, "feed_raw") and mapper.cipher is None
                and mapper.compressor is None)

    def _write(self, member: Member) -> None:
        """Every folded row into the shadow tables: plain INSERTs (the tables are fresh), in
        transactions of ``write_chunk`` rows."""
        view, names = member.view, member.names
        param = view.store.param
        stored = member.fold.stored()
        for table, rows in stored.items():
            columns = _columns(view, table, rows)
            cols = ", ".join(f'"{c}"' for c in columns)
            insert = (f"INSERT INTO {names[table]} ({cols}) "
                      f"VALUES ({', '.join([param] * len(columns))})")
            for i in range(0, len(rows), self.write_chunk):
                with view.store.transaction() as cur:
                    if view.store.dialect == "postgres":  # COPY: no statement per row
                        with cur.copy(f"COPY {names[table]} ({cols}) FROM STDIN") as copy:
                            for row in rows[i:i + self.write_chunk]:
                                copy.write_row(row)
                    else:
                        cur.executemany(insert, rows[i:i + self.write_chunk])

    def _index(self, member: Member) -> None:
        """The shadow's indexes, one transaction each. On PostgreSQL two at a time, on two
        connections (``INDEX_THREADS``): the server builds each in a backend of its own (a
        GIN index is built by one), and this process only waits (ADR 0082)."""
        view, names = member.view, member.names

        def create(table: str, spec: tuple[str, str]) -> None:
            with view.store.transaction() as cur:
                create_indexes(cur, names[table], names[table], [spec])

        jobs: list[Callable[[], None]] = []
        more = getattr(view, "bulk_indexes", None)
        if more is not None:  # what else the view builds on its shadow (full text, trigrams)
            jobs.append(lambda: more(names))
        jobs += [partial(create, table, spec)
                 for table, specs in view.index_specs().items() for spec in specs]
        if view.store.dialect != "postgres" or INDEX_THREADS < 2 or len(jobs) < 2:
            for job in (*jobs[1:], *jobs[:1]) if more is not None else jobs:
                job()  # as before: the view's own indexes, then what ``bulk_indexes`` adds
            return
        # The view's extra indexes (the longest: trigrams) first, so the other connection
        # builds the rest meanwhile.
        with ThreadPoolExecutor(INDEX_THREADS, thread_name_prefix="opsledger-index") as pool:
            for future in [pool.submit(job) for job in jobs]:
                future.result()

    def _swap(self, group: list[Member], done: int) -> int:
        """The tail of the log applied to the shadows and the shadows swapped in, with each
        view's position, in one transaction; the position reached."""
        store = group[0].view.store
        with store.transaction() as cur:
            if store.dialect == "postgres":
                # The views' tracking rows first, in the order of their names, as a runner's
                # transaction takes them (``ProjectionRunner._apply_in``) before it writes any
                # table: a runner's batch then waits for the swap, or the swap for it, and the
                # DROPs below never deadlock with a batch holding another of the tables.
                names = sorted(m.view.name for m in group)
                marks = ", ".join(["%s"] * len(names))
                cur.execute(f"SELECT name FROM {Tracking.TABLE} WHERE name IN ({marks}) "
                            "ORDER BY name FOR UPDATE", names)
            head = self.desk.max_position()
            end = self._feed(group, done, head, None) if head > done else done
            for member in group:
                view, names = member.view, member.names
                touched = member.fold.touched
                if touched:
                    stored = member.fold.stored(touched)
                    tail = getattr(view, "bulk_tail", None)
                    if tail is not None:  # a view that keeps more in step (full text)
                        tail(cur, names, stored)
                    else:
                        for table, rows in stored.items():
                            if rows:
                                columns = _columns(view, table, rows)
                                upsert = _upsert(view, names[table], table, columns)
                                cur.executemany(upsert, rows)
                for table, shadow in names.items():
                    self._drop_live(cur, view, table)
                    cur.execute(f"ALTER TABLE {shadow} RENAME TO {table}")
                cur.execute(f"UPDATE {Tracking.TABLE} SET position = {store.param}, "
                            f"version = {store.param} WHERE name = {store.param}",
                            (end, view.tracking.version, view.name))
                if cur.rowcount != 1:
                    raise RuntimeError(f"no tracking row for {view.name!r}")
        for member in group:
            after = getattr(member.view, "swapped", None)
            if after is not None:
                after()
        return end

    @staticmethod
    def _drop_live(cur: Any, view: SqlView, table: str) -> None:
        cur.execute(f"DROP TABLE IF EXISTS {table}")


def _columns(view: SqlView, table: str, rows: list[tuple[Any, ...]]) -> tuple[str, ...]:
    columns: tuple[str, ...] = (getattr(view, "write_columns", {}).get(table)
                                or getattr(view, "columns", ()))
    if rows and len(rows[0]) != len(columns):
        raise RuntimeError(f"{view.name}: {len(rows[0])} values for {len(columns)} columns "
                           f"of {table}")
    return columns


def _upsert(view: SqlView, shadow: str, table: str, columns: tuple[str, ...]) -> str:
    from projections.sql import upsert_sql

    key = getattr(view, "conflict_keys", {}).get(table, "id")
    return upsert_sql(shadow, columns, view.store.param, key)


def bulk_capable(view: object) -> bool:
    """Whether ``view`` can be rebuilt by ``BulkRebuild`` (a SQL view with a fold)."""
    return isinstance(view, SqlView) and view.bulk_capable()


# ------------------------------------------------------------ two processes (ADR 0077)


def split(views: Sequence[SqlView], n: int) -> list[list[SqlView]]:
    """``views`` in at most ``n`` groups of about the same cost: the heaviest first, each
    into the lightest group so far (a view's ``bulk_weight``: its measured share of a bulk
    rebuild's time per event, 1.0 when it declares none). Empty groups are left out."""
    groups: list[list[SqlView]] = [[] for _ in range(max(1, n))]
    loads = [0.0] * len(groups)
    for view in sorted(views, key=weight, reverse=True):
        i = loads.index(min(loads))
        groups[i].append(view)
        loads[i] += weight(view)
    return [g for g in groups if g]


def weight(view: SqlView) -> float:
    return float(getattr(view, "bulk_weight", 1.0))


def rebuild(desk: Any, views: Sequence[SqlView], progress: Progress | None = None, *,
            fresh: Fresh | None = None, processes: int | None = None,
            parallel_from: int | None = None) -> Outcome:
    """Rebuilds ``views`` in bulk: in one pass here, or in two groups at once, the second by a
    process of its own (module docstring) when ``processes`` (default: the cores, at most 2)
    allow it, ``fresh`` is given, fork is at hand and the log has ``parallel_from`` events or
    more. The outcome's position is the lower of the two groups', its seconds the wall time."""
    n = processes if processes is not None else min(2, os.cpu_count() or 1)
    least = PARALLEL_FROM if parallel_from is None else parallel_from
    if (n < 2 or fresh is None or len(views) < 2 or not can_fork()
            or desk.max_position() < least):
        return BulkRebuild(desk, views).run(progress)
    first, second = split(views, 2)
    began = time.perf_counter()
    child = Child(_rebuild_group, fresh, [v.name for v in second], name="opsledger-rebuild")
    try:
        def report(position: int, target: int) -> None:
            if progress is not None:
                progress(min(position, child.counter.value), target)

        mine = BulkRebuild(desk, first).run(report)

        def theirs_moved(position: int) -> None:
            if progress is not None:
                progress(min(mine.position, position), mine.position)

        theirs: Outcome = child.result(theirs_moved)
    finally:
        child.stop()
    for view in second:  # this process's view objects learn of the swap as the child's did
        after = getattr(view, "swapped", None)
        if after is not None:
            after()
    both = Outcome(position=min(mine.position, theirs.position),
                   events={**mine.events, **theirs.events},
                   seconds=time.perf_counter() - began, pids={**mine.pids, **theirs.pids})
    both.phases = {f"{k} (first group)": v for k, v in mine.phases.items()}
    both.phases.update({f"{k} (second group)": v for k, v in theirs.phases.items()})
    if progress is not None:
        progress(both.position, both.position)
    log.info("projection.bulk_rebuilt_in_two", views=[v.name for v in views],
             groups=[[v.name for v in first], [v.name for v in second]],
             pids=sorted(set(both.pids.values())), seconds=round(both.seconds, 3))
    return both


def _rebuild_group(fresh: Fresh, names: list[str], counter: Any) -> Outcome:
    """In the second process: ``names`` rebuilt on connections of its own; its position goes
    to ``counter`` as it moves."""

    def report(position: int, _target: int) -> None:
        counter.value = position

    with fresh() as runner:
        return BulkRebuild(runner.desk, [runner.views[n] for n in names]).run(report)
