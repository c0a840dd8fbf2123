"""SQL plumbing shared by the SQLite and PostgreSQL view adapters.

A ``SqlStore`` gives a view one connection, a write transaction and the parameter style;
``Tracking`` keeps each projection's position and version in ``projection_tracking`` and
moves it by compare-and-set inside the view's own transaction.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from projections.base import Positioned, TrackingConflict


class Cursor(Protocol):
    rowcount: int

    def execute(self, sql: str, params: Any = ...) -> Any: ...
    def executemany(self, sql: str, params: Any) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class SqlStore(Protocol):
    dialect: str  # "sqlite" | "postgres"
    param: str  # "?" | "%s"
    database: tuple[str, ...]  # equal for stores of one database (they can share a transaction)

    def transaction(self) -> Any:
        """A context manager yielding a cursor; commits on success, rolls back on error."""
        ...

    def read(self) -> Any:
        """A context manager yielding a cursor for queries."""
        ...

    def close(self) -> None: ...


class SQLiteStore:
    dialect = "sqlite"
    param = "?"

    def __init__(
        self, path: str, busy_timeout_ms: int = 10_000, write_lock: Any | None = None
    ) -> None:
        self.path = path
        self.database = ("sqlite", path)  # stores with equal ``database`` share transactions
        # A lock shared with the event store's writer in this process (see ADR 0012): writers
        # of one SQLite file then queue fairly instead of backing off in SQLite's busy handler.
        self.write_lock = write_lock
        self._local = threading.local()
        self._busy_timeout_ms = busy_timeout_ms
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        if self.write_lock is None:
            with self._transaction() as cur:
                yield cur
        else:
            with self.write_lock, self._transaction() as cur:
                yield cur

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        conn = self._conn()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            cur.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Cursor]:
        cur = self._conn().cursor()
        try:
            yield cur
        finally:
            cur.close()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


BREAKER_SECONDS = 1.0


def add_breaker(pool: Any, seconds: float = BREAKER_SECONDS) -> None:
    """Make a psycopg pool's ``getconn`` fail at once for ``seconds`` after it timed out,
    instead of every caller queueing for the whole time-out while the database is away; the
    first call after that tries the pool again (which reconnects in the background)."""
    from psycopg_pool import PoolTimeout

    original = pool.getconn
    open_until = [0.0]

    def getconn(timeout: float | None = None) -> Any:
        if time.monotonic() < open_until[0]:
            raise PoolTimeout("the database is unavailable (no connection could be made just now)")
        try:
            return original(timeout)
        except PoolTimeout:
            open_until[0] = time.monotonic() + seconds
            raise

    pool.getconn = getconn


CHECK_IDLE_SECONDS = 1.0


def check_when_idle(seconds: float = CHECK_IDLE_SECONDS) -> Callable[[Any], None]:
    """A pool ``check`` that pings a connection before handing it out only when it was last
    handed out more than ``seconds`` ago (ADR 0038). A ping on every checkout cost a round
    trip per query (a command made four); a connection in steady use has just shown it
    works, one that sat idle may be stale after a database restart and is replaced (ADR
    0024). A busy connection the database dropped fails its next query and the caller's retry
    takes another; while the database is away, every checkout or query fails and the pool
    refills itself."""
    from psycopg_pool import ConnectionPool

    def check(conn: Any) -> None:
        now = time.monotonic()
        last = getattr(conn, "_opsledger_handed_out", None)
        if last is None or now - last > seconds:
            ConnectionPool.check_connection(conn)
        conn._opsledger_handed_out = now

    return check


# Connections at most in a process's shared store (``PostgresStore.shared``): its read models'
# runner pass (one), the reads of HTTP handlers' threads, the watchers and channels; opened as
# they are needed, closed after ten idle minutes (the pool's ``max_idle``), one kept.
SHARED_POOL = 16


class PostgresStore:
    """A pool of connections to one PostgreSQL database and schema, for read models and the
    tables kept beside the events. ``shared`` gives every user in a process one store (and so
    one pool) per database: ADR 0083."""

    dialect = "postgres"
    param = "%s"
    _shared: dict[tuple[int, str, str], PostgresStore] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls, conninfo: str, schema: str = "") -> PostgresStore:
        """This process's store of ``conninfo`` and ``schema``, made at the first call (a pool
        of up to ``SHARED_POOL`` connections, one opened at first): each read model of a
        process had a pool of its own, so a server of two HTTP workers and a projections worker
        held ~100 connections, PostgreSQL's default ``max_connections``. Each ``close`` of a
        user closes the pool when it was the last; a forked child makes its own (the key holds
        the process id)."""
        key = (os.getpid(), conninfo, schema)
        with cls._shared_lock:
            store = cls._shared.get(key)
            if store is None or store.pool.closed:
                store = cls._shared[key] = cls(conninfo, schema, pool_size=SHARED_POOL)
                store._users = 0
            store._users += 1
            return store

    def __init__(self, conninfo: str, schema: str = "", pool_size: int = 4) -> None:
        from psycopg_pool import ConnectionPool

        self._users = 1
        self.schema = schema
        self.database = ("postgres", conninfo, schema)  # see SQLiteStore.database
        options = f"-c search_path={schema}" if schema else None
        kwargs: dict[str, Any] = {"autocommit": False}
        if options:
            kwargs["options"] = options
        # A short wait for a connection, a check of each one handed out (after the database
        # restarted, stale connections are replaced instead of failing a query) and a breaker:
        # while the database is away, readers fail at once (ADR 0024).
        self.pool = ConnectionPool(
            conninfo, min_size=1, max_size=pool_size, kwargs=kwargs, open=True,
            timeout=2.0, check=check_when_idle(),
        )
        add_breaker(self.pool)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    @contextmanager
    def read(self) -> Iterator[Any]:
        # In autocommit: one round trip per query, no BEGIN and ROLLBACK around it. Under READ
        # COMMITTED, the isolation every reader here uses, a transaction gives each statement
        # its own snapshot anyway. (A ROLLBACK also made psycopg drop every prepared
        # statement of the connection with a DEALLOCATE ALL: another round trip, and the
        # next queries parsed and planned again.)
        with self.pool.connection() as conn:
            conn.autocommit = True
            try:
                with conn.cursor() as cur:
                    yield cur
            finally:
                if not conn.closed:
                    conn.autocommit = False

    def close(self) -> None:
        with self._shared_lock:
            self._users -= 1
            if self._users > 0:
                return  # another user of the shared store still has it
        self.pool.close()


class Tracking:
    """Rows of ``projection_tracking``: (name, position, version)."""

    TABLE = "projection_tracking"

    def __init__(self, store: SqlStore, name: str, version: int) -> None:
        self.store = store
        self.name = name
        self.version = version
        p = store.param
        self._select = f"SELECT position, version FROM {self.TABLE} WHERE name={p}"
        self._move = f"UPDATE {self.TABLE} SET position={p} WHERE name={p} AND position={p}"

    # Any constant: the key of the lock that serialises read-model DDL between processes.
    DDL_LOCK = 7_212_008

    def create(self, cur: Cursor) -> None:
        """The tracking table and this view's row. Call first in the transaction that creates
        the view's tables: on PostgreSQL it takes a transaction lock first, so processes that
        start together create tables one after the other (two concurrent ``CREATE TABLE IF NOT
        EXISTS`` of one table fail with a duplicate key in ``pg_type``; seen with two servers
        and a worker starting at once, issue 8)."""
        p = self.store.param
        if self.store.dialect == "postgres":
            cur.execute(f"SELECT pg_advisory_xact_lock({self.DDL_LOCK})")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.TABLE} ("
            "name TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER NOT NULL)"
        )
        cur.execute(
            f"INSERT INTO {self.TABLE} (name, position, version) VALUES ({p}, 0, {p}) "
            "ON CONFLICT (name) DO NOTHING",
            (self.name, self.version),
        )

    def stored(self, cur: Cursor) -> tuple[int, int]:
        cur.execute(self._select, (self.name,))
        row = cur.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, self.version)

    def reset(self, cur: Cursor) -> None:
        p = self.store.param
        cur.execute(
            f"UPDATE {self.TABLE} SET position=0, version={p} WHERE name={p}",
            (self.version, self.name),
        )

    def move(self, cur: Cursor, start: int, end: int) -> None:
        cur.execute(self._move, (end, self.name, start))
        if cur.rowcount != 1:
            actual, _ = self.stored(cur)
            raise TrackingConflict(self.name, start, actual)

    @classmethod
    def move_many(cls, cur: Cursor, param: str, names: Sequence[str], start: int, end: int) -> None:
        """``move`` of several views' rows at once (views that had no event in a batch)."""
        marks = ", ".join([param] * len(names))
        cur.execute(f"UPDATE {cls.TABLE} SET position={param} "
                    f"WHERE name IN ({marks}) AND position={param}", (end, *names, start))
        if cur.rowcount != len(names):
            raise TrackingConflict(",".join(names), start, -1)


def upsert_sql(table: str, columns: tuple[str, ...], param: str, key: str = "id",
               kept: tuple[str, ...] = ()) -> str:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` of every column: a view's row write. The
    ``kept`` columns keep the stored value when the new one equals it, so that PostgreSQL
    sees them unchanged (the same bytes: a compressed or TOASTed text is not written again)
    and can update the row in place (HOT) when only other, unindexed columns moved."""
    cols = ", ".join(f'"{c}"' for c in columns)
    keys = {k.strip() for k in key.split(",")}

    def value(c: str) -> str:
        if c in kept:
            return (f'CASE WHEN {table}."{c}" = excluded."{c}" THEN {table}."{c}" '
                    f'ELSE excluded."{c}" END')
        return f'excluded."{c}"'

    updates = ", ".join(f'"{c}"={value(c)}' for c in columns if c not in keys)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return (f"INSERT INTO {table} ({cols}) VALUES ({', '.join([param] * len(columns))}) "
            f"ON CONFLICT ({key}) {action}")


def write_rows(cur: Cursor, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """``executemany``, but a few rows one ``execute`` each: psycopg runs ``executemany`` in
    pipeline mode, whose machinery costs more client CPU than the round trips it saves for
    the one to three rows a live batch mostly writes (rebuilds write thousands)."""
    if len(rows) > 3:
        cur.executemany(statement, rows)
        return
    for row in rows:
        cur.execute(statement, row)


def select_rows(cur: Cursor, table: str, columns: tuple[str, ...], param: str,
                keys: list[str], key: str = "id") -> list[dict[str, Any]]:
    """The rows whose ``key`` is one of ``keys``, as dicts of ``columns`` (500 keys a query)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    rows: list[dict[str, Any]] = []
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ", ".join([param] * len(chunk))
        cur.execute(f"SELECT {cols} FROM {table} WHERE {key} IN ({marks})", chunk)
        rows += [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    return rows


def select_row(store: SqlStore, table: str, columns: tuple[str, ...], key: str) -> Any:
    """The row whose ``id`` is ``key``, as a dict of ``columns``, or ``None``."""
    with store.read() as cur:
        found = select_rows(cur, table, columns, store.param, [key])
    return found[0] if found else None


def scrub(store: SqlStore, table: str, vacuum: str = "VACUUM") -> None:
    """Removes what deleted or overwritten rows of ``table`` left in the database files:
    SQLite checkpoints and truncates the WAL (older copies of the pages that held them),
    PostgreSQL runs ``vacuum`` on the table (``VACUUM``: old row versions and their index
    entries; ``VACUUM FULL`` also rewrites its file)."""
    if isinstance(store, SQLiteStore):
        with store.read() as cur:
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    elif isinstance(store, PostgresStore):
        with store.pool.connection() as conn:
            conn.commit()
            conn.autocommit = True
            try:
                conn.execute(f"{vacuum} {table}")
            finally:
                conn.autocommit = False


class Filter:
    """The ``WHERE`` clauses of a list query and their parameters, in order: what
    ``newest_page`` and ``ordered_page`` take. A filter not asked for adds nothing."""

    def __init__(self, param: str) -> None:
        self.param = param
        self.where: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.where.append(clause)
        self.params += params

    def one_of(self, column: str, values: Sequence[Any] | None) -> None:
        """``column IN (…)`` when ``values`` names any."""
        if values:
            self.add(f"{column} IN ({', '.join([self.param] * len(values))})", *values)

    def equal(self, column: str, value: Any) -> None:
        """``column = value`` when ``value`` is given (not ``None``)."""
        if value is not None:
            self.add(f"{column} = {self.param}", value)

    def contains_all(self, column: str, terms: Sequence[str], dialect: str) -> bool:
        """``column`` contains each of ``terms`` (a scan: for views of thousands of rows, not
        millions); False when there is no term, so that nothing can match."""
        found = "instr" if dialect == "sqlite" else "strpos"
        for term in terms:
            self.add(f"{found}({column}, {self.param}) > 0", term)
        return bool(terms)


def newest_page(
    store: SqlStore, table: str, columns: tuple[str, ...], where: list[str], params: list[Any],
    after: int | None, limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the rows matching every ``where`` clause, newest first (``seq``
    descending), after the cursor ``after`` (a ``seq``); the rows and the next cursor."""
    where, params = list(where), list(params)
    if after is not None:
        where.append(f"seq < {store.param}")
        params.append(after)
    rows, more = ordered_page(store, table, columns, where, params, "seq DESC", limit)
    return rows, str(rows[-1]["seq"]) if more else None


def ordered_page(
    store: SqlStore, table: str, columns: tuple[str, ...], where: list[str], params: list[Any],
    order: str, limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """At most ``limit`` rows matching every ``where`` clause in ``order`` (an ``ORDER BY``
    list; the cursor is the caller's clause), and whether more follow."""
    ph = store.param
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f"SELECT {cols} FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order} LIMIT {ph}"
    with store.read() as cur:
        cur.execute(sql, [*params, limit + 1])
        rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    return rows[:limit], len(rows) > limit


def index_prefix(cur: Cursor, store: SqlStore, table: str) -> str:
    """The prefix of the names of ``table``'s indexes: ``table``, or ``table__gN`` when the
    table is a shadow ``table__gN`` a bulk rebuild swapped in (ADR 0068; the indexes keep
    the names they were built with, and index names are unique per schema)."""
    if store.dialect == "sqlite":
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                    (table,))
    else:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s "
                    "AND schemaname = current_schema()", (table,))
    pattern = re.compile(re.escape(table) + r"__g(\d+)_")
    for (name,) in cur.fetchall():
        found = pattern.match(name)
        if found:
            return f"{table}__g{found.group(1)}"
    return table


def create_indexes(cur: Cursor, table: str, prefix: str,
                   specs: Sequence[tuple[str, str]]) -> None:
    """``CREATE INDEX IF NOT EXISTS {prefix}_{name} ON {table} {definition}`` of each spec
    (``definition``: ``(columns)`` and an optional ``WHERE``)."""
    for name, definition in specs:
        cur.execute(f"CREATE INDEX IF NOT EXISTS {prefix}_{name} ON {table} {definition}")


class Fold(Protocol):
    """A view's rows folded in memory by a bulk rebuild (ADR 0068): fed every event of the
    view's topics in log order, then asked for the rows to store, by table."""

    touched: set[Any]  # the keys of the rows changed since ``stored`` was last called

    def feed(self, events: Sequence[Positioned]) -> None: ...

    def stored(self, keys: Any = None) -> dict[str, list[tuple[Any, ...]]]:
        """The rows as stored, by (canonical) table: of ``keys``, or all of them."""
        ...


class SqlView:
    """What every SQL view shares: its store, its tracking row, position, reset and close.

    Subclasses set ``table`` (the rows ``reset`` deletes) and create their tables.

    **Bulk rebuilds** (ADR 0068): a view that says how to create its tables under other names
    (``tables``, ``create_tables``, ``index_specs``), how its rows are written
    (``write_columns``, ``conflict_keys``) and how to fold events in memory (``fold``) is
    rebuilt by ``adapters/runners/bulk.py`` beside its live tables and swapped in.
    """

    table: str
    #: Every table of the view (default: ``table``); a bulk rebuild makes a shadow of each.
    tables: tuple[str, ...] = ()
    #: Per table, the columns a stored row has, in order (default: ``columns``).
    write_columns: dict[str, tuple[str, ...]] = {}
    #: Per table, its conflict key for upserts (default: ``id``).
    conflict_keys: dict[str, str] = {}

    def all_tables(self) -> tuple[str, ...]:
        return self.tables or (self.table,)

    def create_tables(self, cur: Any, names: dict[str, str]) -> None:
        """``CREATE TABLE IF NOT EXISTS`` of every table, under ``names[table]``."""
        raise NotImplementedError

    def index_specs(self) -> dict[str, list[tuple[str, str]]]:
        """Per table, its indexes: (name, definition) for ``create_indexes``."""
        return {}

    def fold(self) -> Fold:
        raise NotImplementedError

    def bulk_capable(self) -> bool:
        """Whether this view can be rebuilt by the bulk path (it has ``create_tables`` and
        ``fold`` of its own)."""
        cls = type(self)
        return (cls.create_tables is not SqlView.create_tables
                and cls.fold is not SqlView.fold)

    def _create_all(self, cur: Any) -> None:
        """The tables under their own names and their indexes (named as they were built)."""
        self.create_tables(cur, {t: t for t in self.all_tables()})
        for table, specs in self.index_specs().items():
            create_indexes(cur, table, index_prefix(cur, self.store, table), specs)

    def __init__(self, store: SqlStore, name: str, version: int) -> None:
        self.store = store
        self.tracking = Tracking(store, name, version)

    def position(self) -> int:
        with self.store.read() as cur:
            return self.tracking.stored(cur)[0]

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        with self.store.transaction() as cur:
            self.apply_in(cur, events, start=start, end=end)

    def apply_in(self, cur: Any, events: Sequence[Positioned], *, start: int, end: int) -> None:
        """``apply`` in a transaction the caller holds: the projection runner applies the
        views that share a database in one transaction per batch (ADR 0041)."""
        raise NotImplementedError

    def reset(self) -> None:
        with self.store.transaction() as cur:
            self._reset(cur)

    def _reset(self, cur: Any) -> None:
        cur.execute(f"DELETE FROM {self.table}")
        self.tracking.reset(cur)

    def close(self) -> None:
        self.store.close()


class SqlRows(SqlView):
    """A SQL view of one row per record, the twin of ``projections.memory.MemoryRows``: a
    view sets ``table`` and ``columns`` and says how one event changes one row
    (``apply_event``), which row an event belongs to if not by the originator id (``key``),
    and how a changed row is made ready for storage (``finish``). A batch loads the rows its
    events touch, applies the events in order and writes the rows that came out, in the
    transaction that moves the tracking position.
    """

    columns: tuple[str, ...]

    def __init__(self, store: SqlStore, name: str, version: int) -> None:
        super().__init__(store, name, version)
        self._upsert = upsert_sql(self.table, self.columns, store.param)
        self._upserts = {table: upsert_sql(table, self.columns_of(table), store.param,
                                           self.conflict_keys.get(table, "id"))
                         for table in self.all_tables()}

    def columns_of(self, table: str) -> tuple[str, ...]:
        return self.write_columns.get(table) or self.columns

    def _drop_stale(self, cur: Any, *tables: str) -> None:
        """Creates the tracking row; rows stored by another projection version (another row
        shape) are dropped with ``tables`` (default: ``table``) and the position goes back to
        0, so the runner rebuilds the view. Call before creating the tables."""
        self.tracking.create(cur)
        _, version = self.tracking.stored(cur)
        if version != self.tracking.version:
            for table in tables or (self.table,):
                cur.execute(f"DROP TABLE IF EXISTS {table}")
            self.tracking.reset(cur)

    def key(self, event: Any) -> str:
        return str(event.originator_id)

    def apply_event(self, row: Any, event: Any, position: int) -> Any:
        """The row after ``event`` (``row`` is this batch's own, or ``None``)."""
        raise NotImplementedError

    def finish(self, row: Any) -> Any:
        """The row as stored (default: as it is)."""
        return row

    def apply_in(self, cur: Any, events: Sequence[Positioned], *, start: int, end: int) -> None:
        self.tracking.move(cur, start, end)
        if not events:
            return
        keys = [self.key(pe.event) for pe in events]
        loaded = select_rows(cur, self.table, self.columns, self.store.param, sorted(set(keys)))
        rows = {r["id"]: r for r in loaded}
        changed: dict[str, Any] = {}
        for key, pe in zip(keys, events, strict=True):
            new = self.apply_event(rows.get(key), pe.event, pe.position)
            if new is not None:
                rows[key] = changed[key] = new
        if changed:
            self._write(cur, [self.finish(r) for r in changed.values()])

    def _write(self, cur: Any, rows: list[Any]) -> None:
        """Stores the rows a batch changed, in each of the view's tables (``stored``)."""
        for table, values in self.stored(rows).items():
            if values:
                write_rows(cur, self._upserts[table], values)

    def stored(self, rows: list[Any]) -> dict[str, list[tuple[Any, ...]]]:
        """Finished rows as stored, by table (default: ``columns`` of each, in ``table``; a
        view with more tables or computed columns says so here)."""
        columns = self.columns
        return {self.table: [tuple([r[c] for c in columns]) for r in rows]}

    def fold(self) -> Fold:
        return RowsFold(self)

    def get(self, key: str) -> Any:
        """The row with id ``key``, or ``None``."""
        return select_row(self.store, self.table, self.columns, key)


class RowsFold:
    """The bulk rebuild's fold of a ``SqlRows`` view (ADR 0068): the rows by key in memory,
    each event applied by the view's own ``apply_event`` (the incremental path's code), the
    rows finished (``finish``) once, when stored."""

    def __init__(self, view: SqlRows) -> None:
        self.view = view
        self.rows: dict[str, Any] = {}
        self.touched: set[str] = set()

    def feed(self, events: Sequence[Positioned]) -> None:
        rows, touched = self.rows, self.touched
        key, apply = self.view.key, self.view.apply_event
        for position, event in events:
            k = key(event)
            new = apply(rows.get(k), event, position)
            if new is not None:
                rows[k] = new
                touched.add(k)

    def stored(self, keys: Any = None) -> dict[str, list[tuple[Any, ...]]]:
        rows = self.rows
        finish = self.view.finish
        chosen = rows.values() if keys is None else [rows[k] for k in keys if k in rows]
        self.touched = set()
        # ``finish`` may change a row in place: it works on a copy, the fold goes on after.
        return self.view.stored([finish(dict(r)) for r in chosen])


def serialise_ddl(store: SqlStore, cur: Cursor) -> None:
    """Takes the read models' DDL lock (``Tracking.DDL_LOCK``) for the rest of the transaction
    on PostgreSQL, before a ``CREATE TABLE IF NOT EXISTS`` of a table kept beside the events
    (keys, files, the mail quarantine): processes that start together otherwise collide in
    ``pg_type`` (``DuplicateObject``). Nothing on SQLite (one writer at a time anyway)."""
    if store.dialect == "postgres":
        cur.execute(f"SELECT pg_advisory_xact_lock({Tracking.DDL_LOCK})")


def blob_type(store: SqlStore) -> str:
    """The dialect's type of a column of bytes."""
    return "BYTEA" if store.dialect == "postgres" else "BLOB"


def create_beside_events(store: SqlStore, *ddl: str) -> None:
    """Runs ``ddl`` (a table kept beside the events and its indexes: ``CREATE … IF NOT
    EXISTS``) in one transaction under the read models' DDL lock (``serialise_ddl``)."""
    with store.transaction() as cur:
        serialise_ddl(store, cur)  # processes starting together (PostgreSQL)
        for statement in ddl:
            cur.execute(statement)


def trigram_indexes(store: SqlStore, ddl_lock: int, table: str,
                    indexes: dict[str, str]) -> bool:
    """The ``pg_trgm`` GIN indexes ``{name: expression}`` of ``table`` for ``LIKE '%term%'``
    (ADR 0020, 0050), when the extension can be had: it is a trusted extension, so a database
    owner may create it. The operator class is named with its schema, since the extension may
    live in another schema than the view's ``search_path``. Under the read models' DDL lock
    (``ddl_lock``), as their tables: two processes starting together otherwise collide in
    ``CREATE INDEX IF NOT EXISTS`` (a duplicate key in ``pg_class``; issue 8). Whether the
    indexes are there (without the extension, ``LIKE`` answers by a scan)."""
    lock = f"SELECT pg_advisory_xact_lock({ddl_lock})"
    try:
        with store.transaction() as cur:
            cur.execute(lock)
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # noqa: BLE001 - no rights, or a concurrent creator: look below
        pass
    with store.transaction() as cur:
        cur.execute(lock)
        cur.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                    "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'")
        found = cur.fetchone()
        if found is None:
            return False
        schema = '"' + str(found[0]).replace('"', '""') + '"'
        for name, expression in indexes.items():
            cur.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                        f"USING gin ({expression} {schema}.gin_trgm_ops)")
    return True
