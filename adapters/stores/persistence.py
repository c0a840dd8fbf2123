"""Persistence wiring: the eventsourcing environment, read-model stores, position lookups."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder

from adapters.stores.keystore import SqlKeyStore
from adapters.settings import Database
from application.ports import KeyStore
from application.sealing import MemoryKeyStore
from projections.base import View
from projections.change_list.memory import MemoryChangeListView
from projections.change_list.postgres import postgres_change_list
from projections.change_list.sqlite import sqlite_change_list
from projections.change_list.view import ChangeListView
from projections.follower import MemoryPosition, SqlPosition
from projections.knowledge.memory import MemoryKnowledgeView
from projections.knowledge.postgres import postgres_knowledge
from projections.knowledge.sqlite import sqlite_knowledge
from projections.knowledge.view import KnowledgeView
from projections.problem_list.memory import MemoryProblemListView
from projections.problem_list.postgres import postgres_problem_list
from projections.problem_list.sqlite import sqlite_problem_list
from projections.problem_list.view import ProblemListView
from projections.sla_due.memory import MemorySlaDueView
from projections.sla_due.postgres import postgres_sla_due
from projections.sla_due.sqlite import sqlite_sla_due
from projections.sla_due.view import SlaDueView
from projections.sql import PostgresStore, SQLiteStore
from projections.ticket_list.memory import MemoryTicketListView
from projections.ticket_list.postgres import postgres_ticket_list
from projections.ticket_list.sqlite import sqlite_ticket_list
from projections.ticket_list.view import TicketListView
from projections.ticket_search.memory import MemoryTicketSearchView
from projections.ticket_search.postgres import postgres_ticket_search
from projections.ticket_search.sqlite import sqlite_ticket_search
from projections.ticket_search.view import TicketSearchView

V = TypeVar("V")


def eventsourcing_env(db: Database, sqlite_synchronous: str = "NORMAL") -> dict[str, str]:
    # The recorders that write the hash chain in the insert transaction (ADR 0030).
    if db.kind == "memory":
        return {"PERSISTENCE_MODULE": "adapters.audit.store:ChainedPOPOFactory"}
    if db.kind == "sqlite":
        Path(db.path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "adapters.stores.sqlite:SQLiteStoreFactory",
            "APPLICATION_RECORDER_TOPIC": "adapters.audit.store:ChainedSQLiteRecorder",
            "SQLITE_DBNAME": db.path,
            "SQLITE_LOCK_TIMEOUT": "10",
            "SQLITE_SYNCHRONOUS": sqlite_synchronous,
        }
    ensure_postgres_schema(db)
    env = {
        # Fails fast while the database is away, recovers by itself (ADR 0024); the recorder
        # chains every event as it is recorded (ADR 0030).
        "PERSISTENCE_MODULE": "adapters.stores.postgres:PostgresStoreFactory",
        "APPLICATION_RECORDER_TOPIC": "adapters.audit.store:ChainedPostgresRecorder",
        "POSTGRES_DBNAME": db.dbname,
        "POSTGRES_HOST": db.host,
        "POSTGRES_PORT": str(db.port),
        "POSTGRES_USER": db.user,
        "POSTGRES_PASSWORD": db.password,
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "10",
        # Seconds to wait for a pooled connection; then 503 (ADR 0024, docs/operations.md).
        "POSTGRES_CONNECT_TIMEOUT": "2",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "5",
        # Never "y": a tailing reader skipped events under concurrent writers (ADR 0004).
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }
    if db.schema:
        env["POSTGRES_SCHEMA"] = db.schema
    return env


def ensure_postgres_schema(db: Database) -> None:
    """The library needs ``POSTGRES_SCHEMA`` to exist before the application starts."""
    if not db.schema:
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(db.schema)))


def sql_store(db: Database, write_lock: Any | None = None) -> SQLiteStore | PostgresStore:
    """A SQL store on ``db`` (kind ``sqlite`` or ``postgres``) for what is kept beside the
    events: SQLite shares the event store's file and write lock, PostgreSQL its schema."""
    if db.kind == "sqlite":
        return SQLiteStore(db.path, write_lock=write_lock)
    return PostgresStore.shared(db.conninfo, db.schema)


def _view(db: Database, write_lock: Any | None, memory: Callable[[], V],
          sqlite: Callable[[str, Any], V], postgres: Callable[[str, str], V]) -> V:
    """A read model's view on ``db``: ``memory()``, ``sqlite(path, write_lock)`` or
    ``postgres(conninfo, schema)``."""
    if db.kind == "memory":
        return memory()
    if db.kind == "sqlite":
        return sqlite(db.path, write_lock)
    return postgres(db.conninfo, db.schema)


def ticket_list_view(db: Database, write_lock: Any | None = None) -> TicketListView:
    return _view(db, write_lock, MemoryTicketListView, sqlite_ticket_list, postgres_ticket_list)


def knowledge_view(db: Database, write_lock: Any | None = None) -> KnowledgeView:
    return _view(db, write_lock, MemoryKnowledgeView, sqlite_knowledge, postgres_knowledge)


def ticket_search_view(db: Database, write_lock: Any | None = None) -> TicketSearchView:
    return _view(db, write_lock, MemoryTicketSearchView, sqlite_ticket_search,
                 postgres_ticket_search)


def sla_due_view(db: Database, write_lock: Any | None = None) -> SlaDueView:
    return _view(db, write_lock, MemorySlaDueView, sqlite_sla_due, postgres_sla_due)


def problem_list_view(db: Database, write_lock: Any | None = None) -> ProblemListView:
    return _view(db, write_lock, MemoryProblemListView, sqlite_problem_list,
                 postgres_problem_list)


def change_list_view(db: Database, write_lock: Any | None = None) -> ChangeListView:
    return _view(db, write_lock, MemoryChangeListView, sqlite_change_list, postgres_change_list)


def follower_position(db: Database, name: str,
                      write_lock: Any | None = None) -> MemoryPosition | SqlPosition:
    """The tracking position of a process manager (``projections/follower.py``)."""
    if db.kind == "memory":
        return MemoryPosition(name)
    return SqlPosition(sql_store(db, write_lock), name)


def key_store(db: Database, write_lock: Any | None = None) -> KeyStore:
    """The per-customer data keys of crypto-shredding (ADR 0034), in the events' database."""
    if db.kind == "memory":
        return MemoryKeyStore()
    return SqlKeyStore(sql_store(db, write_lock))


def all_views(db: Database, write_lock: Any | None = None) -> list[View]:
    return [ticket_list_view(db, write_lock), sla_due_view(db, write_lock),
            problem_list_view(db, write_lock), knowledge_view(db, write_lock),
            change_list_view(db, write_lock), ticket_search_view(db, write_lock)]


def recorder_kind(recorder: ApplicationRecorder) -> str:
    """"sqlite", "postgres" or "other" (the in-memory recorder), by the library's classes."""
    from eventsourcing.postgres import PostgresAggregateRecorder
    from eventsourcing.sqlite import SQLiteAggregateRecorder

    if isinstance(recorder, SQLiteAggregateRecorder):
        return "sqlite"
    if isinstance(recorder, PostgresAggregateRecorder):
        return "postgres"
    return "other"


def store_kind(recorder: ApplicationRecorder) -> str:
    """"sqlite", "postgres" or "memory": by class, so subclassed recorders (ADR 0030) count."""
    kind = recorder_kind(recorder)
    return "memory" if kind == "other" else kind


class RecorderPositions:
    """Maps an aggregate's versions to their notification ids, by asking the recorder's table."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder

    def positions(self, originator_id: UUID) -> dict[int, int]:
        r: Any = self.recorder
        kind = recorder_kind(r)
        if kind == "sqlite":
            with r.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT originator_version, rowid FROM {r.events_table_name} "
                    "WHERE originator_id=?",
                    (originator_id.hex,),
                )
                return {int(row[0]): int(row[1]) for row in c.fetchall()}
        if kind == "postgres":
            from psycopg import sql

            query = sql.SQL(
                "SELECT originator_version, notification_id FROM {}.{} WHERE originator_id=%s"
            ).format(sql.Identifier(r.datastore.schema or "public"), sql.Identifier(r.events_table_name))
            with r.datastore.transaction(commit=False) as curs:
                curs.execute(query, (originator_id,))
                return {
                    int(row["originator_version"]): int(row["notification_id"])
                    for row in curs.fetchall()
                }
        # The in-memory recorder: a list whose index + 1 is the notification id.
        with r._database_lock:
            index = r._stored_events_index.get(str(originator_id), {})
            return {version: i + 1 for version, i in index.items()}


class RecorderVersions:
    """``VersionIndex`` on the event store: one primary-key lookup, the cheap check that lets
    reference records read on every command be cached correctly across processes (ADR 0038).
    It does not go through the library's pool, whose per-query machinery costs more than the
    query (on PostgreSQL a pre-ping, BEGIN and ROLLBACK: four round trips for one): SQLite is
    read on a plain connection per thread (WAL: readers never wait for the writer),
    PostgreSQL on a small pool of autocommit connections of its own (one round trip; a
    connection the database dropped is replaced and the lookup tried once more, and while
    the database is away it fails fast like the others, ADR 0024)."""

    def __init__(self, recorder: ApplicationRecorder, db: Database | None = None) -> None:
        self.recorder: Any = recorder
        self.kind = recorder_kind(recorder)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool: Any = None
        table = getattr(self.recorder, "events_table_name", "")
        if self.kind == "sqlite" and not self.recorder.datastore.pool.is_sqlite_memory_mode:
            self._query = f"SELECT MAX(originator_version) FROM {table} WHERE originator_id=?"
            self._path = self.recorder.datastore.pool.db_name
        elif self.kind == "postgres" and db is not None:
            from psycopg import sql
            from psycopg_pool import ConnectionPool

            from projections.sql import add_breaker

            self._query = sql.SQL("SELECT MAX(originator_version) FROM {}.{} WHERE originator_id=%s"
                                  ).format(sql.Identifier(self.recorder.datastore.schema or "public"),
                                           sql.Identifier(table))
            self._pool = ConnectionPool(db.conninfo, min_size=1, max_size=4, open=True, timeout=2.0,
                                        kwargs={"autocommit": True})
            add_breaker(self._pool)
        else:
            self.kind = "library"  # memory stores, a private in-memory SQLite database

    def latest_version(self, originator_id: UUID) -> int:
        if self.kind == "sqlite":
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA busy_timeout=10000")
                self._local.conn = conn
                with self._lock:
                    self._all.append(conn)
            row = conn.execute(self._query, (originator_id.hex,)).fetchone()
            return int(row[0] or 0)
        if self.kind == "postgres":
            import psycopg

            for attempt in (1, 2):
                try:
                    with self._pool.connection() as pg:
                        row = pg.execute(self._query, (originator_id,), prepare=True).fetchone()
                        return int(row[0] or 0)
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    if attempt == 2:
                        raise
        events = self.recorder.select_events(originator_id, desc=True, limit=1)
        return int(events[0].originator_version) if events else 0

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
        if self._pool is not None:
            self._pool.close()


class PostgresIssuingLock:
    """The number issuers' lock across processes on PostgreSQL (ADR 0039): this process's
    thread lock, then a session advisory lock on a connection of ``versions``' autocommit pool,
    held from the first number a command issues until its save is done (``desk.Context``).

    Without it creators in two processes read the same day's sequence, and one of them lost the
    save, slept a random while and tried the whole command again: register and confirm had a p99
    of 200-280 ms at 8 clients over two processes. A dropped connection is replaced and the
    lock asked for once more; if the unlock fails the connection is closed, which ends the
    session and with it the lock. While the database is away it fails fast like the pool."""

    KEY = 7_212_039  # any constant: the key of this lock

    def __init__(self, versions: RecorderVersions) -> None:
        self._pool = versions._pool
        self._thread = threading.Lock()
        self._conn: Any = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        import psycopg

        if not self._thread.acquire(blocking, timeout):
            return False
        try:
            for attempt in (1, 2):
                conn = self._pool.getconn()
                try:
                    conn.execute("SELECT pg_advisory_lock(%s)", (self.KEY,))
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    self._pool.putconn(conn)  # broken: the pool drops it
                    if attempt == 2:
                        raise
                    continue
                self._conn = conn
                return True
        except BaseException:
            self._thread.release()
            raise
        return False  # pragma: no cover - the loop returns or raises

    def release(self) -> None:
        conn, self._conn = self._conn, None
        try:
            try:
                conn.execute("SELECT pg_advisory_unlock(%s)", (self.KEY,))
            except Exception:  # noqa: BLE001 - end the session: PostgreSQL then drops the lock
                conn.close()
            self._pool.putconn(conn)
        finally:
            self._thread.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


Row = tuple[int, Any, int, str, bytes]  # (position, originator id, version, topic, state)


class LogReader:
    """Reads the notification log as plain rows, without the library's ``Notification``
    objects and per-row ``UUID`` construction (the projection runner's hot path, ADR 0005).

    SQLite and PostgreSQL are read with one query each; other recorders go through
    ``select_notifications``. Originator ids come back as the store has them (hex text on
    SQLite, ``UUID`` on PostgreSQL); ``originator_uuid`` turns them into ``UUID``s once each.
    """

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder
        r: Any = recorder
        kind = recorder_kind(r)
        self._query: str | Any | None = None
        self._kind = "library"
        if kind == "sqlite":
            self._kind = "sqlite"
            self._query = (
                f"SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {r.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?"
            )
        elif kind == "postgres":
            from psycopg import sql

            self._kind = "postgres"
            self._query = sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {}.{} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ).format(sql.Identifier(r.datastore.schema or "public"), sql.Identifier(r.events_table_name))

    def read(self, after: int, limit: int) -> list[Row]:
        r: Any = self.recorder
        if self._kind == "sqlite":
            with r.datastore.transaction(commit=False) as c:
                c.execute(self._query, (after, limit))
                return [tuple(row) for row in c.fetchall()]  # type: ignore[misc]
        if self._kind == "postgres":
            # The library's connections are in autocommit: one statement, one round trip (a
            # read-only transaction added BEGIN, ROLLBACK and psycopg's DEALLOCATE ALL).
            with r.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(self._query, (after, limit), prepare=True)
                return [
                    (row["notification_id"], row["originator_id"], row["originator_version"],
                     row["topic"], bytes(row["state"]))
                    for row in curs.fetchall()
                ]
        notifications = r.select_notifications(start=after, limit=limit, inclusive_of_start=False)
        return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications]


def originator_uuid(value: Any, cache: dict[Any, UUID]) -> UUID:
    try:
        return cache[value]
    except KeyError:
        cache[value] = result = value if isinstance(value, UUID) else UUID(value)
        return result
