"""The event store recorders that write the hash chain (ADR 0030), and reading it back.

The library's application recorders are subclassed so that, in the SAME transaction that
inserts events and after their notification ids (positions) are known, one row per event goes
into ``event_chain(position, hash)``: the hash links the event to the chain head before it
(``application/audit.py``). The previous head is read inside that transaction, while the
writer holds the store's write lock — SQLite's single writer (the events INSERT has taken it),
PostgreSQL's ``LOCK TABLE ... IN EXCLUSIVE MODE`` the library takes before inserting — so
chain rows are appended in position order and no two writers link to the same head.

They are selected by ``APPLICATION_RECORDER_TOPIC`` (SQLite, PostgreSQL) and a factory topic
(memory) in ``adapters/stores/persistence.py:eventsourcing_env``.

A store with events but an empty chain (written before this existed) is sealed when the
recorder starts: the chain is computed for the existing events under the write lock. A store
whose chain stops short of its events is NOT resealed silently (that would bless appended
rows): ``verify`` names the first unchained position and ``opsledger audit seal`` is the
operator's explicit act.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import (
    ApplicationRecorder,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg import sql

from adapters.stores.persistence import LogReader, store_kind
from adapters.stores.postgres import ATTEMPTS, FastFailRecorder
from projections.sql import Tracking
from application.audit import GENESIS, ChainRow, EventRow, extend

CHAIN_TABLE = "event_chain"
_HEX = re.compile("[0-9a-f]{64}")
LEAN_BATCH = 64  # saves of more events (imports, demos) take the library's path
PAGE = 5000


def _rows(stored: Sequence[StoredEvent], ids: Sequence[int]) -> list[EventRow]:
    return sorted((p, s.originator_id, s.originator_version, s.topic, s.state)
                  for p, s in zip(ids, stored, strict=True))


class ChainedSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite: events and their chain rows in one transaction."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} "
                "(position INTEGER PRIMARY KEY, hash TEXT NOT NULL)"]

    def create_table(self) -> None:
        super().create_table()
        seal(self, only_if_empty=True)

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        assert ids is not None
        c.execute(f"SELECT hash FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        prev = bytes.fromhex(row[0]) if row else GENESIS
        c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?)",
                      extend(prev, _rows(stored_events, ids)))
        return ids


class ChainedPostgresRecorder(FastFailRecorder):
    """PostgreSQL: the chain rows are written after ``INSERT ... RETURNING notification_id``,
    still under the library's EXCLUSIVE table lock, in the same transaction. It fails fast
    while the database is away like every recorder of ours (ADR 0024).

    ``insert_events`` is ours (ADR 0041): the same statements as the library's, sent in three
    round trips on a plain connection, without psycopg's pipeline mode and the composite type
    array, which cost ~450 us of client CPU per save against ~150 us this way:

    1. ``BEGIN; SET LOCAL lock_timeout; LOCK TABLE ... IN EXCLUSIVE MODE; SELECT`` the chain
       head -- one simple-protocol query;
    2. ``INSERT ... VALUES (...), ... RETURNING notification_id`` (prepared, per batch size);
    3. ``INSERT INTO event_chain VALUES ...; COMMIT`` -- the chain rows are integers and hex
       digits we computed, written as literals in one simple-protocol query.
    """

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.chain_table = sql.SQL("{}.{}").format(sql.Identifier(self.datastore.schema),
                                                   sql.Identifier(CHAIN_TABLE))
        self.sql_create_statements.append(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, hash text NOT NULL)"
        ).format(self.chain_table))
        self._select_head = sql.SQL("SELECT hash FROM {} ORDER BY position DESC LIMIT 1").format(
            self.chain_table).as_string(None)
        self._insert_links = sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(
            self.chain_table).as_string(None)
        self.chain_table_text = self.chain_table.as_string(None)

        lock = "; ".join(str(q) for q in self.lock_table_statements)
        self._begin_and_head = f"BEGIN; {lock}; {self._select_head}"
        self._events_table = sql.Identifier(self.datastore.schema, events_table_name).as_string(None)
        self._insert_values: dict[int, str] = {}

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if (self.datastore.originator_id_type != "uuid" or self.datastore.enable_db_functions
                or not 0 < len(stored_events) <= LEAN_BATCH
                or any(v is not None for v in kwargs.values())):  # e.g. a tracking record
            return super().insert_events(stored_events, **kwargs)
        return self._insert_chained(stored_events)

    @retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.05)
    def _insert_chained(self, stored_events: Sequence[StoredEvent]) -> Sequence[int]:
        n = len(stored_events)
        statement = self._insert_values.get(n)
        if statement is None:
            statement = self._insert_values[n] = (
                f"INSERT INTO {self._events_table} "
                "(originator_id, originator_version, topic, state) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * n) + " RETURNING notification_id")
        params: list[Any] = []
        for e in stored_events:
            params += (e.originator_id, e.originator_version, e.topic, e.state)
        with self.datastore.get_connection() as conn:
            try:
                curs = conn.cursor()
                curs.execute(self._begin_and_head)
                while curs.nextset():  # to the last statement's result: the head
                    pass
                row = curs.fetchone()
                prev = bytes.fromhex(row["hash"]) if row else GENESIS
                curs.execute(statement, params, prepare=True)
                ids = [r["notification_id"] for r in curs.fetchall()]
                links = extend(prev, _rows(stored_events, ids))
                values = ", ".join(f"({int(p)}, '{_hex(h)}')" for p, h in links)
                curs.execute(f"INSERT INTO {self.chain_table_text} VALUES {values}; COMMIT")
            except BaseException:
                if not conn.closed:
                    conn.rollback()
                raise
        return ids

    def create_table(self) -> None:
        # Processes starting together (two servers and a worker, issue 8) would race on
        # CREATE TABLE IF NOT EXISTS (a duplicate pg_type row) and on the first seal: one at
        # a time, under the same session advisory lock as the read models' DDL.
        with self.datastore.get_connection() as conn:
            conn.execute(f"SELECT pg_advisory_lock({Tracking.DDL_LOCK})")
            try:
                super().create_table()
                seal(self, only_if_empty=True)
            finally:
                conn.execute(f"SELECT pg_advisory_unlock({Tracking.DDL_LOCK})")

    def _notify_channel(self, curs: Any) -> None:
        """No ``NOTIFY`` per insert: nothing here listens (the runner polls and is woken in
        process, ADR 0005/0038), and each one costs the commit a turn on PostgreSQL's global
        notification queue lock."""

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert ids is not None
        curs.execute(self._select_head, prepare=True)
        row = curs.fetchone()
        prev = bytes.fromhex(row["hash"]) if row else GENESIS
        links = extend(prev, _rows(stored_events, ids))
        if len(links) == 1:
            curs.execute(self._insert_links, links[0], prepare=True)
        else:
            curs.executemany(self._insert_links, links)
        return ids


def _hex(text: str) -> str:
    """``text`` if it is lowercase hex digits (a hash we computed), for a SQL literal."""
    if not _HEX.fullmatch(text):
        raise ValueError(f"not a hash: {text!r}")
    return text


class ChainedPOPORecorder(POPOApplicationRecorder):
    """Memory: the chain as a list beside the events, under the recorder's lock."""

    def __init__(self) -> None:
        super().__init__()
        self.chain: list[ChainRow] = []

    def _update_table(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        ids = super()._update_table(stored_events, **kwargs)
        assert ids is not None
        prev = bytes.fromhex(self.chain[-1][1]) if self.chain else GENESIS
        self.chain.extend(extend(prev, _rows(stored_events, ids)))
        return ids


class ChainedPOPOFactory(POPOFactory):
    def application_recorder(self) -> ApplicationRecorder:
        return ChainedPOPORecorder()


class ChainStore:
    """Reads events and chain rows page by page (bounded memory on any store size)."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder: Any = recorder
        self.events_reader = LogReader(recorder)
        self.kind = store_kind(recorder)

    def _query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        r = self.recorder
        if self.kind == "sqlite":
            with r.datastore.transaction(commit=False) as c:
                c.execute(statement.replace("%s", "?").format(events=r.events_table_name,
                                                              chain=CHAIN_TABLE), params)
                return [tuple(row) for row in c.fetchall()]
        query = sql.SQL(statement).format(
            events=sql.Identifier(r.datastore.schema or "public", r.events_table_name),
            chain=sql.Identifier(r.datastore.schema or "public", CHAIN_TABLE))
        with r.datastore.transaction(commit=False) as curs:
            curs.execute(query, params)
            return [tuple(row.values()) for row in curs.fetchall()]

    def bounds(self) -> tuple[int, int]:
        """(last event position, last chain position), read in one statement (one snapshot)."""
        if self.kind == "memory":
            with self.recorder._database_lock:
                chain = self.recorder.chain
                return len(self.recorder._stored_events), chain[-1][0] if chain else 0
        key = "rowid" if self.kind == "sqlite" else "notification_id"
        row = self._query(f"SELECT (SELECT MAX({key}) FROM {{events}}) AS e, "
                          "(SELECT MAX(position) FROM {chain}) AS c")[0]
        return int(row[0] or 0), int(row[1] or 0)

    def chain_page(self, after: int, stop: int, limit: int = PAGE) -> list[ChainRow]:
        if self.kind == "memory":
            with self.recorder._database_lock:
                return [c for c in self.recorder.chain if after < c[0] <= stop][:limit]
        return [(int(p), str(h)) for p, h in self._query(
            "SELECT position, hash FROM {chain} WHERE position > %s AND position <= %s "
            "ORDER BY position LIMIT %s", (after, stop, limit))]

    def hash_before(self, position: int) -> tuple[int, str]:
        """The chain row just before ``position`` (the anchor of a partial check or export)."""
        if self.kind == "memory":
            with self.recorder._database_lock:
                rows = [c for c in self.recorder.chain if c[0] < position]
            return rows[-1] if rows else (0, GENESIS.hex())
        rows = self._query("SELECT position, hash FROM {chain} WHERE position < %s "
                           "ORDER BY position DESC LIMIT 1", (position,))
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS.hex())

    def events(self, after: int, stop: int) -> Iterator[EventRow]:
        while after < stop:
            rows = self.events_reader.read(after, PAGE)
            for row in rows:
                if row[0] > stop:
                    return
                yield row
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def chain(self, after: int, stop: int) -> Iterator[ChainRow]:
        while after < stop:
            rows = self.chain_page(after, stop)
            yield from rows
            if len(rows) < PAGE:
                return
            after = rows[-1][0]


def seal(recorder: ApplicationRecorder, *, only_if_empty: bool = False) -> int:
    """Chains the events after the chain's last row, under the store's write lock; returns how
    many rows were added. ``only_if_empty``: only a store whose chain is empty (first start)."""
    r: Any = recorder
    store = ChainStore(recorder)
    if store.kind == "memory":
        return 0
    if store.kind == "sqlite":
        with r.datastore.transaction(commit=True) as c:
            # An empty write takes SQLite's write lock before anything is read.
            c.execute(f"DELETE FROM {CHAIN_TABLE} WHERE position < 0")
            return _seal_rows(c, r.events_table_name, "rowid", "?", only_if_empty, tuple)
    with r.datastore.transaction(commit=True) as curs:
        for statement in r.lock_table_statements:
            curs.execute(statement)
        events = sql.Identifier(r.datastore.schema, r.events_table_name).as_string(curs)
        return _seal_rows(curs, events, "notification_id", "%s", only_if_empty,
                          lambda row: tuple(row.values()), schema=r.datastore.schema)


def _seal_rows(c: Any, events: str, key: str, mark: str, only_if_empty: bool, as_tuple: Any,
               schema: str | None = None) -> int:
    chain = f'"{schema}".{CHAIN_TABLE}' if schema else CHAIN_TABLE
    c.execute(f"SELECT position, hash FROM {chain} ORDER BY position DESC LIMIT 1")
    last = c.fetchone()
    if last is not None and only_if_empty:
        return 0
    after, prev = (int(as_tuple(last)[0]), bytes.fromhex(as_tuple(last)[1])) if last else (0, GENESIS)
    added = 0
    while True:
        c.execute(f"SELECT {key}, originator_id, originator_version, topic, state FROM {events} "
                  f"WHERE {key} > {mark} ORDER BY {key} LIMIT {PAGE}", (after,))
        rows = [as_tuple(row) for row in c.fetchall()]
        if not rows:
            return added
        links = extend(prev, rows)
        c.executemany(f"INSERT INTO {chain} VALUES ({mark}, {mark})", links)
        after, prev, added = links[-1][0], bytes.fromhex(links[-1][1]), added + len(links)
