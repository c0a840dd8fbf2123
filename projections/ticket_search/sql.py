"""The ticket search on SQL (ADR 0050): SQLite FTS5 trigram tables, PostgreSQL ``pg_trgm``.

One table ``ticket_search`` holds a row per ticket with its text and two folded search texts
(``projection.text_of`` as ``lc_text``, ``projection.contact_of`` as ``lc_contact``), kept
apart so that a caller who may not search contacts never touches them.

* **SQLite**: two external-content FTS5 tables with the ``trigram`` tokenizer over those
  columns (``ticket_search_text``, ``ticket_search_contact``; rowid = the ticket's ``seq``;
  the text is stored once, in ``ticket_search``). A term of three or more characters is a
  quoted FTS phrase, which the trigram tokenizer answers as a substring; the terms are ANDed,
  each answered by the text index (or, with contacts, by either index); two-character terms
  match with ``instr``.
* **PostgreSQL**: ``LIKE '%term%'`` on the folded columns, served by ``pg_trgm`` GIN indexes
  (``gin_trgm_ops``) when the extension can be had (as the knowledge view, ADR 0020); without
  it the same query answers by a scan.

Matches come newest first (``seq`` descending); the ticket whose number the query is comes
first. Snippets are made in Python (``view.hit``), the same on every store.

**Erasure** (ADR 0034, 0043): a batch that empties a contact (``Ticket.ContactErased``) writes
with ``secure_delete`` on (SQLite zeroes what it frees) and merges the contact index into one
segment (``optimize``), so the deleted entries -- which still listed the contact's trigrams with
their positions -- are gone; once the batch has committed (``committed``), SQLite checkpoints
and truncates its WAL, where older copies of those pages were, and PostgreSQL vacuums the table
(the old row versions and their index entries).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from projections.base import Positioned
from projections.knowledge.search import fts_query, like_pattern
from projections.sql import SqlStore, SqlView, select_rows, upsert_sql
from projections.ticket_search import projection as p
from projections.ticket_search.projection import COLUMNS, TicketSearchRow
from projections.ticket_search.search import Terms, is_number, parse
from projections.ticket_search.view import TicketSearchPage, TicketSearchQuery, page

TABLE = "ticket_search"
TEXT_FTS = "ticket_search_text"
CONTACT_FTS = "ticket_search_contact"
LC = ("lc_text", "lc_contact")
_TYPES = {"seq": "BIGINT NOT NULL", "version": "INTEGER NOT NULL"}


class SqlTicketSearchView(SqlView):
    table = TABLE
    name = p.NAME
    topics = p.TOPICS
    fields = p.FIELDS

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store, p.NAME, p.VERSION)
        self.sqlite = store.dialect == "sqlite"
        if self.sqlite and sqlite3.sqlite_version_info < (3, 34):
            raise RuntimeError(f"the ticket search needs SQLite 3.34 or later (FTS5 with the "
                               f"trigram tokenizer), not {sqlite3.sqlite_version}")
        self._cols = ", ".join(f"t.{c}" for c in COLUMNS)
        self._upsert = upsert_sql(TABLE, (*COLUMNS, *LC), store.param)
        self._erased = False  # a committed batch emptied a contact: purge (``committed``)
        with self.store.transaction() as cur:
            self.tracking.create(cur)
            _, version = self.tracking.stored(cur)
            if version != p.VERSION:
                for table in (TEXT_FTS, CONTACT_FTS, TABLE):
                    cur.execute(f"DROP TABLE IF EXISTS {table}")
                self.tracking.reset(cur)
            columns = ", ".join(f"{c} {_TYPES.get(c, 'TEXT NOT NULL')}"
                                for c in (*COLUMNS, *LC) if c not in ("id", "seq"))
            key = ("seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE" if self.sqlite
                   else "id TEXT PRIMARY KEY, seq BIGINT NOT NULL")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({key}, {columns})")
            indexes = [("number", "number"), ("customer", "customer, seq")]
            if not self.sqlite:
                indexes.append(("seq", "seq"))
            for name, cols in indexes:
                cur.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_{name} ON {TABLE} ({cols})")
            if self.sqlite:
                for fts, column in ((TEXT_FTS, "lc_text"), (CONTACT_FTS, "lc_contact")):
                    cur.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
                                f"{column}, content='{TABLE}', content_rowid='seq', "
                                "tokenize='trigram')")
        if not self.sqlite:
            self._trigram_indexes()

    def _trigram_indexes(self) -> None:
        """The ``pg_trgm`` GIN indexes for ``LIKE '%term%'``, when the extension can be had
        (see ``projections.knowledge.sql``: a trusted extension; the operator class named with
        its schema; under the read models' DDL lock)."""
        lock = f"SELECT pg_advisory_xact_lock({self.tracking.DDL_LOCK})"
        try:
            with self.store.transaction() as cur:
                cur.execute(lock)
                cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - no rights, or a concurrent creator: look below
            pass
        with self.store.transaction() as cur:
            cur.execute(lock)
            cur.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                        "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'")
            found = cur.fetchone()
            if found is None:
                return
            schema = '"' + str(found[0]).replace('"', '""') + '"'
            for column in LC:
                cur.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_{column}_trgm ON {TABLE} "
                            f"USING gin ({column} {schema}.gin_trgm_ops)")

    def _reset(self, cur: Any) -> None:
        super()._reset(cur)
        if self.sqlite:
            for fts in (TEXT_FTS, CONTACT_FTS):
                cur.execute(f"INSERT INTO {fts} ({fts}) VALUES ('delete-all')")

    # ------------------------------------------------------------------ writes

    def apply_in(self, cur: Any, events: Sequence[Positioned], *, start: int, end: int) -> None:
        self.tracking.move(cur, start, end)
        if not events:
            return
        ids = sorted({p.row_key(pe.event.originator_id) for pe in events})
        loaded = select_rows(cur, TABLE, (*COLUMNS, *LC), self.store.param, ids)
        rows: dict[str, Any] = {r["id"]: r for r in loaded}
        before = {key: (r["lc_text"], r["lc_contact"]) for key, r in rows.items()}
        changed: dict[str, TicketSearchRow] = {}
        for pe in events:
            key = p.row_key(pe.event.originator_id)
            row = p.apply(rows.get(key), pe.event, pe.position)
            if row is not None:
                rows[key] = changed[key] = row
        if not changed:
            return
        texts = {key: (p.text_of(row), p.contact_of(row)) for key, row in changed.items()}
        erased = any(key in before and before[key][1] and not texts[key][1] for key in changed)
        secure = None
        if erased and self.sqlite:
            cur.execute("PRAGMA secure_delete")
            secure = cur.fetchone()[0]
            cur.execute("PRAGMA secure_delete=ON")
        for key, row in changed.items():
            text, contact = texts[key]
            cur.execute(self._upsert, (*(row[c] for c in COLUMNS), text, contact))  # type: ignore[literal-required]
            if self.sqlite:
                self._index(cur, row["seq"], before.get(key), (text, contact))
        if secure is not None:
            cur.execute(f"INSERT INTO {CONTACT_FTS} ({CONTACT_FTS}) VALUES ('optimize')")
            cur.execute(f"PRAGMA secure_delete={int(secure)}")
        self._erased = self._erased or erased

    @staticmethod
    def _index(cur: Any, seq: int, old: tuple[str, str] | None, new: tuple[str, str]) -> None:
        """Keeps the external-content FTS tables in step with the row: a changed text is
        deleted with its old value (what FTS5 needs to find its entries) and inserted anew."""
        for fts, column, was, now in ((TEXT_FTS, "lc_text", old and old[0], new[0]),
                                      (CONTACT_FTS, "lc_contact", old and old[1], new[1])):
            if old is not None and was == now:
                continue
            if old is not None:
                cur.execute(f"INSERT INTO {fts} ({fts}, rowid, {column}) VALUES ('delete', ?, ?)",
                            (seq, was))
            cur.execute(f"INSERT INTO {fts} (rowid, {column}) VALUES (?, ?)", (seq, now))

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        super().apply(events, start=start, end=end)
        self.committed()

    def committed(self) -> None:
        """After the transaction of a batch that erased a contact has committed: SQLite
        checkpoints and truncates the WAL (older copies of the pages that held the contact),
        PostgreSQL vacuums the table (old row versions, their index entries). Called by the
        projection runner after a shared transaction, by ``apply`` after its own."""
        if not self._erased:
            return
        self._erased = False
        if self.sqlite:
            with self.store.read() as cur:
                cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        with self.store.pool.connection() as conn:  # type: ignore[attr-defined]
            conn.commit()
            conn.autocommit = True
            try:
                conn.execute(f"VACUUM {TABLE}")
            finally:
                conn.autocommit = False

    # ------------------------------------------------------------------- reads

    def get(self, ticket_id: str) -> TicketSearchRow | None:
        with self.store.read() as cur:
            found = select_rows(cur, TABLE, COLUMNS, self.store.param, [ticket_id])
        return found[0] if found else None  # type: ignore[return-value]

    def search(self, q: TicketSearchQuery) -> TicketSearchPage:
        terms = parse(q.q)
        if not terms:
            return TicketSearchPage(hits=[], more=False)
        ph = self.store.param
        where, params = self._match(terms, q.contacts)
        if q.customer is not None:
            where.append(f"t.customer = {ph}")
            params.append(q.customer)
        number = is_number(terms)
        exact = None
        with self.store.read() as cur:
            if number is not None:
                cur.execute(f"SELECT {self._cols} FROM {TABLE} t WHERE t.number = {ph} AND "
                            + " AND ".join(where), [number, *params])
                found = cur.fetchone()
                if found is not None:
                    exact = dict(zip(COLUMNS, found, strict=True))
                    where.append(f"t.number <> {ph}")
                    params.append(number)
            cur.execute(f"SELECT {self._cols} FROM {TABLE} t WHERE {' AND '.join(where)} "
                        f"ORDER BY t.seq DESC LIMIT {ph}", [*params, q.limit + 1])
            rows = [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]
        return page(exact, rows, q, terms)  # type: ignore[arg-type]

    def _match(self, terms: Terms, contacts: bool) -> tuple[list[str], list[Any]]:
        """The ``WHERE`` clauses that every term of ``terms`` is in the text (or, with
        ``contacts``, in the contact), and their parameters."""
        where: list[str] = []
        params: list[Any] = []
        ph = self.store.param
        if self.sqlite:
            if terms.long and not contacts:  # one FTS query: every phrase in the text
                where.append(f"t.seq IN (SELECT rowid FROM {TEXT_FTS} WHERE {TEXT_FTS} MATCH ?)")
                params.append(" AND ".join(fts_query([term]) for term in terms.long))
            for term in terms.long if contacts else ():
                where.append(f"(t.seq IN (SELECT rowid FROM {TEXT_FTS} WHERE {TEXT_FTS} MATCH ?)"
                             f" OR t.seq IN (SELECT rowid FROM {CONTACT_FTS} "
                             f"WHERE {CONTACT_FTS} MATCH ?))")
                params += [fts_query([term])] * 2
            for term in terms.short:
                where.append("(instr(t.lc_text, ?) > 0 OR instr(t.lc_contact, ?) > 0)"
                             if contacts else "instr(t.lc_text, ?) > 0")
                params += [term] * (2 if contacts else 1)
            return where, params
        for term in terms.all:
            where.append(f"(t.lc_text LIKE {ph} OR t.lc_contact LIKE {ph})" if contacts
                         else f"t.lc_text LIKE {ph}")
            params += [like_pattern(term)] * (2 if contacts else 1)
        return where, params
