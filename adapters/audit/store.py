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
LEAN_BATCH = 64  # saves of more events (imports, demos) take the library's path
PAGE = 5000

# The append of one save in one statement (``ChainedPostgresRecorder``, ADR 0071): the events'
# columns as four arrays in; the positions out, in the order the events came. The chain hash
# is ``application.audit.link``'s: sha256 over the previous hash, the position, the version
# and the id's length (">QQI"), the id as 32 hex digits, the topic's length (">I") and the
# topic, the state's length (">Q") and the state -- PostgreSQL's int8send/int4send are those
# big-endian integers. Created (or replaced) with the tables, under the DDL lock.
#
# ``read_ids``/``read_versions``: the records the command read and the versions it read them at
# (ADR 0075), checked by ``CHECK_FUNCTION`` under the table lock, before the insert.
# (The function of ADR 0071, without these two arguments, may stay in a store beside it.)
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}(ids uuid[], versions bigint[], topics text[], states bytea[],
                                      read_ids uuid[], read_versions bigint[])
RETURNS SETOF bigint LANGUAGE plpgsql AS $append$
#variable_conflict use_column
DECLARE
    prev bytea;
    positions bigint[];
    hashes text[];
    k int;
    oid bytea;
    top bytea;
BEGIN
    {lock};
    IF cardinality(read_ids) > 0 THEN
        PERFORM {check}(read_ids, read_versions);
    END IF;
    SELECT decode(c.hash, 'hex') INTO prev FROM {chain} c ORDER BY c.position DESC LIMIT 1;
    prev := coalesce(prev, decode(repeat('00', 32), 'hex'));
    WITH given AS (
        SELECT * FROM unnest(ids, versions, topics, states) WITH ORDINALITY AS g(i, v, t, s, n)
    ), inserted AS (
        INSERT INTO {events} (originator_id, originator_version, topic, state)
        SELECT g.i, g.v, g.t, g.s FROM given g ORDER BY g.n
        RETURNING notification_id, originator_id, originator_version
    )
    SELECT array_agg(ins.notification_id ORDER BY g.n) INTO positions
    FROM inserted ins JOIN given g ON g.i = ins.originator_id AND g.v = ins.originator_version;
    -- The chain in position order. The rows went in in the order given (the INSERT's
    -- ORDER BY), so their positions rise with it: the hashes are plain expressions over the
    -- arrays (no statement per event, ADR 0081) and the chain rows one INSERT.
    FOR k IN 2..cardinality(positions) LOOP
        IF positions[k] <= positions[k - 1] THEN
            RAISE EXCEPTION 'events stored out of the order given' USING ERRCODE = 'XX000';
        END IF;
    END LOOP;
    FOR k IN 1..cardinality(positions) LOOP
        oid := convert_to(replace(ids[k]::text, '-', ''), 'UTF8');
        top := convert_to(topics[k], 'UTF8');
        prev := sha256(prev || int8send(positions[k]) || int8send(versions[k])
                       || int4send(length(oid)) || oid || int4send(length(top)) || top
                       || int8send(length(states[k])::bigint) || states[k]);
        hashes[k] := encode(prev, 'hex');
    END LOOP;
    INSERT INTO {chain} SELECT * FROM unnest(positions, hashes);
    RETURN QUERY SELECT unnest(positions);
END
$append$
"""


# Whether each record (``read_ids``) is still at the version read (``read_versions``; 0: it had
# no events): one that moved on raises SQLSTATE 23000, an integrity error, which arrives as the
# library's ``IntegrityError`` -- a save refused as a version conflict is (ADR 0075).
CHECK_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}(read_ids uuid[], read_versions bigint[])
RETURNS void LANGUAGE plpgsql AS $check$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(read_ids, read_versions) AS r(i, v)
               WHERE coalesce((SELECT max(x.originator_version) FROM {events} x
                               WHERE x.originator_id = r.i), 0) <> r.v) THEN
        RAISE EXCEPTION 'a record the command read has moved on' USING ERRCODE = '23000';
    END IF;
END
$check$
"""


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

    ``insert_events`` is ours: one round trip per save (ADR 0071). A server-side function
    (``APPEND_FUNCTION``, created with the tables) takes the library's lock (``SET LOCAL
    lock_timeout``, ``LOCK TABLE ... IN EXCLUSIVE MODE``), inserts the events, reads the
    chain head and writes one chain row per event -- the hash computed by PostgreSQL's
    ``sha256`` over the very bytes ``application.audit.link`` hashes -- and returns the
    positions, in one statement and so one transaction of its own (the connection is in
    autocommit). Before, the same statements took three round trips (ADR 0041), with the table
    lock held across two of them: the lock that every writer waits for is now held only while
    PostgreSQL runs the function. Saves of more than ``LEAN_BATCH`` events, or with a tracking
    record, take the library's path and the chain rows of ``_fetch_ids_after_insert_events``.
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

        events_table = sql.Identifier(self.datastore.schema, events_table_name).as_string(None)
        function = sql.Identifier(self.datastore.schema, f"{events_table_name}_append").as_string(None)
        check = sql.Identifier(self.datastore.schema, f"{events_table_name}_check_reads"
                               ).as_string(None)
        lock = "; ".join(str(q) for q in self.lock_table_statements)
        self.sql_create_statements.append(sql.SQL(CHECK_FUNCTION.format(
            function=check, events=events_table)))
        self.sql_create_statements.append(sql.SQL(APPEND_FUNCTION.format(
            function=function, events=events_table, chain=self.chain_table_text, lock=lock,
            check=check)))
        self._append = f"SELECT {function}(%s, %s, %s, %s, %s, %s) AS position"
        self._check_reads = f"SELECT {check}(%s, %s)"

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """``expected_versions`` (record id -> version): records the command read, checked in
        the save (ADR 0075); ``IntegrityError`` when one moved on."""
        expected: dict[Any, int] = kwargs.pop("expected_versions", None) or {}
        if (self.datastore.originator_id_type != "uuid" or self.datastore.enable_db_functions
                or not 0 < len(stored_events) <= LEAN_BATCH
                or any(v is not None for v in kwargs.values())):  # e.g. a tracking record
            # Not under the table lock here, but no later than a lookup at the read would be.
            self._check_versions(expected)
            return super().insert_events(stored_events, **kwargs)
        return self._insert_chained(stored_events, expected)

    @retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.05)
    def _insert_chained(self, stored_events: Sequence[StoredEvent],
                        expected: dict[Any, int]) -> Sequence[int]:
        params = ([e.originator_id for e in stored_events],
                  [e.originator_version for e in stored_events],
                  [e.topic for e in stored_events],
                  [e.state for e in stored_events],
                  list(expected), list(expected.values()))
        with self.datastore.get_connection() as conn:
            rows = conn.execute(self._append, params, prepare=True).fetchall()
        return [r["position"] for r in rows]

    @retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.05)
    def _check_versions(self, expected: dict[Any, int]) -> None:
        if expected:
            with self.datastore.get_connection() as conn:
                conn.execute(self._check_reads, (list(expected), list(expected.values())))

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
