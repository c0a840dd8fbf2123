"""The ticket search on SQL (ADR 0050): SQLite FTS5 trigram tables, PostgreSQL ``pg_trgm``.

One table ``ticket_search`` holds a row per ticket with its text and three folded search
texts (``projection.text_of`` as ``lc_text``, its two-character windows ``search.pairs`` as
``lc_pairs``, ``projection.contact_of`` as ``lc_contact``), the contact kept apart so that a
caller who may not search contacts never touches it. The windows let an index find
two-character terms (a trigram index cannot); the contact is only its tokens
(``projection.contact_tokens``: digests, never the name, phone or e-mail), each looked up
whole by a term's own token.

* **SQLite**: three external-content FTS5 tables over those columns: the text's with the
  ``trigram`` tokenizer, the windows' and the contact's tokens as words (``unicode61``; the
  windows' with every character but white space a word's, ``PAIR_WORDS``)
  (``ticket_search_text``, ``ticket_search_pairs``, ``ticket_search_contact``; rowid = the
  ticket's ``seq``; the texts are stored once, in ``ticket_search``). A term is a quoted FTS
  phrase (a substring for the trigram tokenizer; a two-character term its window's word);
  the phrases are ANDed in one ``MATCH`` (the windows' in a second, for the rows the first
  finds) that drives the query in rowid order, newest first, so it stops after ``limit``
  rows however common the words (``_sqlite_rows``). Until ADR 0077 the windows were a last
  line of the text, in its trigram index: four times the index of the text alone to build.
* **PostgreSQL**: ``LIKE '%term%'`` on the folded columns (a two-character term its window on
  ``lc_pairs``), served by ``pg_trgm`` GIN indexes (``gin_trgm_ops``) when the extension can
  be had (as the knowledge view, ADR 0020); without it the same query answers by a scan.

Matches come newest first (``seq`` descending); the ticket whose number the query is comes
first. Snippets are made in Python (``view.hit``), the same on every store.

**Erasure** (ADR 0034, 0043): a batch that empties a contact (``Ticket.ContactErased``) writes
with ``secure_delete`` on (SQLite zeroes what it frees) and merges the contact index into one
segment (``optimize``), so the deleted entries -- which still listed the contact's trigrams with
their positions -- are gone; once the batch has committed (``committed``) and once more when
the erasure answers (``purge``, called by the erasure's route after the read models have it),
SQLite checkpoints and truncates its WAL, where older copies of those pages were, and
PostgreSQL vacuums the table (the old row versions and their index entries).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from projections.base import Positioned
from projections.knowledge.search import fts_query, like_pattern
from projections.sql import (RowsFold, SqlStore, SqlView, index_prefix, scrub, select_row,
                             select_rows, trigram_indexes, upsert_sql)
from projections.ticket_search import projection as p
from projections.ticket_search.projection import COLUMNS, TicketSearchRow
from projections.ticket_search.search import Terms, is_number, pair_term, pairs, parse
from projections.ticket_search.view import TicketSearchPage, TicketSearchQuery, page

TABLE = "ticket_search"
TEXT_FTS = "ticket_search_text"
PAIRS_FTS = "ticket_search_pairs"
CONTACT_FTS = "ticket_search_contact"
LC = ("lc_text", "lc_contact", "lc_pairs")
# The windows' words (``search.pairs``): every character is a word's but white space (``Z*``),
# so ``r-⁂`` or ``，影⁂`` is one word; the text is folded already, no diacritic is removed.
PAIR_WORDS = "unicode61 remove_diacritics 0 categories 'L* N* Co Cc Cf Cn Cs M* P* S*'"
# (full-text table, its column, its tokenizer) on SQLite
FTS = ((TEXT_FTS, "lc_text", "trigram"), (PAIRS_FTS, "lc_pairs", PAIR_WORDS),
       (CONTACT_FTS, "lc_contact", "unicode61"))
_TYPES = {"seq": "BIGINT NOT NULL", "version": "INTEGER NOT NULL"}
# PostgreSQL: the columns of words (a space between two), indexed and found as arrays of words
WORDS = ("lc_pairs", "lc_contact")
FTS_SLICE = 20_000  # rows of the ticket search a bulk rebuild indexes per transaction (SQLite)


class SqlTicketSearchView(SqlView):
    table = TABLE
    name = p.NAME
    topics = p.TOPICS
    fields = p.FIELDS
    # Its share of a bulk rebuild's time beside the ticket list's 1.0 (ADR 0077: 20,000
    # tickets, each view rebuilt alone: 9.2-10.9 s against 1.1-2.0 s): folded text, its pairs
    # and the full-text index. The rebuild's second process takes it, the rest this one.
    bulk_weight = 6.0

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store, p.NAME, p.VERSION)
        self.sqlite = store.dialect == "sqlite"
        if self.sqlite and sqlite3.sqlite_version_info < (3, 34):
            raise RuntimeError(f"the ticket search needs SQLite 3.34 or later (FTS5 with the "
                               f"trigram tokenizer), not {sqlite3.sqlite_version}")
        self._cols = ", ".join(f"t.{c}" for c in COLUMNS)
        self._upsert = upsert_sql(TABLE, (*COLUMNS, *LC), store.param, kept=() if self.sqlite
                                  else (*LC, "title", "description", "work_log", "resolution"))
        self._erased = False  # a committed batch emptied a contact: purge (``committed``)
        with self.store.transaction() as cur:
            self.tracking.create(cur)
            _, version = self.tracking.stored(cur)
            if version != p.VERSION:
                for table in (*(fts for fts, _, _ in FTS), TABLE):
                    cur.execute(f"DROP TABLE IF EXISTS {table}")
                self.tracking.reset(cur)
            self._create_all(cur)
        if not self.sqlite:
            self._trigram_indexes(TABLE)

    # The bulk rebuild (ADR 0068): the rows folded by ``projection.apply`` from the mapper's
    # events (the registration's contact is opened, or read as erased, as on the incremental
    # path) -- the hot topics after a registration read from the raw rows (``fold.py``, ADR
    # 0082) --, stored in a shadow table; the SQLite full-text tables filled from it in SQL,
    # the PostgreSQL trigram indexes built on it, then swapped in.

    @property
    def tables(self) -> tuple[str, ...]:  # type: ignore[override]
        return (TABLE, TEXT_FTS, PAIRS_FTS, CONTACT_FTS) if self.sqlite else (TABLE,)

    write_columns = {TABLE: (*COLUMNS, *LC)}

    def create_tables(self, cur: Any, names: dict[str, str]) -> None:
        columns = ", ".join(f"{c} {_TYPES.get(c, 'TEXT NOT NULL')}"
                            for c in (*COLUMNS, *LC) if c not in ("id", "seq"))
        key = ("seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE" if self.sqlite
               else "id TEXT PRIMARY KEY, seq BIGINT NOT NULL")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {names[TABLE]} ({key}, {columns})"
                    + ("" if self.sqlite else " WITH (fillfactor = 50)"))
        if self.sqlite:
            # The text by trigrams (substrings); its windows and the contact's tokens whole
            # (each a word: one index entry, one look-up). The content table is named as it
            # will be once swapped in (a shadow's are filled by ``bulk_indexes``).
            for fts, column, tokenizer in FTS:
                cur.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {names[fts]} USING fts5("
                            f"{column}, content='{TABLE}', content_rowid='seq', "
                            f'tokenize="{tokenizer}")')

    def index_specs(self) -> dict[str, list[tuple[str, str]]]:
        indexes = [("number", "(number)"), ("customer", "(customer, seq)")]
        if not self.sqlite:
            # The windows and the contact's tokens as words (``WORDS``): a GIN index of the
            # array of each row's words, one entry a word, found whole by ``@>``. Built-in
            # (no extension), and half the time of their trigrams (ADR 0081).
            indexes += [("seq", "(seq)"), *((f"{column}_words", f"USING gin ({words(column)})")
                                            for column in WORDS)]
        return {TABLE: indexes}

    def bulk_indexes(self, names: dict[str, str]) -> None:
        """After the shadow's rows are in: its full-text tables filled (SQLite), its trigram
        indexes built (PostgreSQL)."""
        if not self.sqlite:
            self._trigram_indexes(names[TABLE], names[TABLE])
            return
        # In slices of ``FTS_SLICE`` rows, a transaction each: the writers' lock of the views'
        # file is held for a slice, not for the whole index (a million tickets take minutes),
        # so the live views' runner and a rebuild's other process write between slices.
        with self.store.read() as cur:
            cur.execute(f"SELECT MIN(seq), MAX(seq), COUNT(*) FROM {names[TABLE]}")
            low, high, count = cur.fetchone()
        if not count:
            return
        step = max(1, (high - low + 1) * FTS_SLICE // count)
        for fts, column, _ in FTS:
            for start in range(low, high + 1, step):
                with self.store.transaction() as cur:
                    cur.execute(f"INSERT INTO {names[fts]} (rowid, {column}) "
                                f"SELECT seq, {column} FROM {names[TABLE]} "
                                f"WHERE seq >= ? AND seq < ?", (start, start + step))

    def fold(self) -> RowsFold:
        from projections.ticket_search.fold import TicketSearchFold

        return TicketSearchFold(self)  # raw rows of the hot topics, when plain (ADR 0082)

    def key(self, event: Any) -> str:
        return p.row_key(event.originator_id)

    def apply_event(self, row: Any, event: Any, position: int) -> Any:
        # Only the bulk fold (``RowsFold``) calls this: the times stay datetimes until
        # ``finish`` stamps the row's last ones (``apply_in`` stamps every event's).
        return p.apply(row, event, position, p.keep)

    def finish(self, row: Any) -> Any:
        return p.stamped(row)

    def stored(self, rows: list[Any]) -> dict[str, list[tuple[Any, ...]]]:
        return {TABLE: [(*(row[c] for c in COLUMNS), *indexed(row)) for row in rows]}

    def bulk_tail(self, cur: Any, names: dict[str, str],
                  stored: dict[str, list[tuple[Any, ...]]]) -> None:
        """The rows the log's tail changed, into the shadow (in the swap's transaction), its
        full-text entries kept in step as ``apply_in`` keeps the live ones (SQLite; a
        contact emptied by an erasure is overwritten, ``secure_delete``)."""
        upsert = upsert_sql(names[TABLE], (*COLUMNS, *LC), self.store.param)
        if not self.sqlite:
            cur.executemany(upsert, stored[TABLE])
            return
        cur.execute("PRAGMA secure_delete")
        secure = cur.fetchone()[0]
        cur.execute("PRAGMA secure_delete=ON")
        seq_at = COLUMNS.index("seq")
        for values in stored[TABLE]:
            seq = values[seq_at]
            cur.execute(f"SELECT {', '.join(LC)} FROM {names[TABLE]} WHERE seq = ?", (seq,))
            old = cur.fetchone()
            cur.execute(upsert, values)
            self._index(cur, seq, None if old is None else tuple(old), values[-len(LC):],
                        {fts: names[fts] for fts, _, _ in FTS})
        cur.execute(f"PRAGMA secure_delete={int(secure)}")

    def _trigram_indexes(self, table: str, prefix: str | None = None) -> None:
        """The ``pg_trgm`` GIN indexes for ``LIKE '%term%'`` (``sql.trigram_indexes``), named
        as the table's other indexes are (``sql.index_prefix``)."""
        if prefix is None:
            with self.store.read() as cur:
                prefix = index_prefix(cur, self.store, table)
        trigram_indexes(self.store, self.tracking.DDL_LOCK, table,
                        {f"{prefix}_{column}_trgm": column for column in LC
                         if column not in WORDS})

    def _reset(self, cur: Any) -> None:
        super()._reset(cur)
        if self.sqlite:
            for fts, _, _ in FTS:
                cur.execute(f"INSERT INTO {fts} ({fts}) VALUES ('delete-all')")

    # ------------------------------------------------------------------ writes

    def apply_in(self, cur: Any, events: Sequence[Positioned], *, start: int, end: int) -> None:
        self.tracking.move(cur, start, end)
        if not events:
            return
        ids = sorted({p.row_key(pe.event.originator_id) for pe in events})
        loaded = select_rows(cur, TABLE, (*COLUMNS, *LC), self.store.param, ids)
        rows: dict[str, Any] = {r["id"]: r for r in loaded}
        before = {key: tuple(r[c] for c in LC) for key, r in rows.items()}
        changed: dict[str, TicketSearchRow] = {}
        for pe in events:
            key = p.row_key(pe.event.originator_id)
            row = p.apply(rows.get(key), pe.event, pe.position)
            if row is not None:
                rows[key] = changed[key] = row
        if not changed:
            return
        texts = {key: indexed(row) for key, row in changed.items()}
        erased = any(key in before and before[key][1] and not texts[key][1] for key in changed)
        secure = None
        if erased and self.sqlite:
            cur.execute("PRAGMA secure_delete")
            secure = cur.fetchone()[0]
            cur.execute("PRAGMA secure_delete=ON")
        for key, row in changed.items():
            values = (*(row[c] for c in COLUMNS), *texts[key])  # type: ignore[literal-required]
            cur.execute(self._upsert, values)
            if self.sqlite:
                self._index(cur, row["seq"], before.get(key), texts[key])
        if secure is not None:
            cur.execute(f"INSERT INTO {CONTACT_FTS} ({CONTACT_FTS}) VALUES ('optimize')")
            cur.execute(f"PRAGMA secure_delete={int(secure)}")
        self._erased = self._erased or erased

    @staticmethod
    def _index(cur: Any, seq: int, old: tuple[str, ...] | None, new: tuple[str, ...],
               names: dict[str, str] | None = None) -> None:
        """Keeps the external-content FTS tables in step with the row (``old`` and ``new``
        its ``LC`` values; ``names``: the tables' names when not their own): a changed text is
        deleted with its old value (what FTS5 needs to find its entries) and inserted anew."""
        for fts_name, column, _ in FTS:
            fts = names[fts_name] if names else fts_name
            at = LC.index(column)
            was, now = (old[at] if old is not None else None), new[at]
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
        """After the transaction of a batch that erased a contact has committed: ``purge``.
        Called by the projection runner after a shared transaction, by ``apply`` after its
        own."""
        if self._erased:
            self._erased = False
            self.purge()

    def purge(self) -> None:
        """Removes what erased contacts left in the database files outside the rows: SQLite
        checkpoints and truncates the WAL (older copies of the pages that held them),
        PostgreSQL vacuums the table (old row versions and their index entries)."""
        scrub(self.store, TABLE)

    # ------------------------------------------------------------------- reads

    def get(self, ticket_id: str) -> TicketSearchRow | None:
        return select_row(self.store, TABLE, COLUMNS, ticket_id)

    def search(self, q: TicketSearchQuery) -> TicketSearchPage:
        terms = parse(q.q)
        if not terms:
            return TicketSearchPage(hits=[], more=False)
        ph = self.store.param
        where: list[str] = []
        params: list[Any] = []
        if q.customer is not None:
            where.append(f"t.customer = {ph}")
            params.append(q.customer)
        number = is_number(terms)
        exact = None
        with self.store.read() as cur:
            if number is not None:  # its own term: the number is in its text
                cur.execute(f"SELECT {self._cols} FROM {TABLE} t WHERE "
                            + " AND ".join([f"t.number = {ph}", *where]), [number, *params])
                found = cur.fetchone()
                if found is not None:
                    exact = dict(zip(COLUMNS, found, strict=True))
                    where.append(f"t.number <> {ph}")
                    params.append(number)
            match = self._sqlite_rows if self.sqlite else self._postgres_rows
            rows = match(cur, terms, q.contacts, where, params, q.limit + 1)
        return page(exact, rows, q, terms)  # type: ignore[arg-type]

    def _fetch(self, cur: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        if self.sqlite:
            cur.execute(sql, params)
        else:
            # Never a prepared statement: psycopg prepares a query after five runs, and
            # PostgreSQL then plans it once for any pattern (a "generic plan"), which reads the
            # rows newest first through the seq index -- for a rare term every row: 480 ms at
            # 100k tickets in bench.search, against 4 ms planned with the pattern in hand.
            cur.execute(sql, params, prepare=False)
        return [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]

    def _sqlite_rows(self, cur: Any, terms: Terms, contacts: bool, where: list[str],
                     params: list[Any], limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` matches, each query driven by an FTS index in rowid order (it
        stops once it has ``limit`` rows, however common the words). Every term is a phrase
        (a two-character term its pair, ``search.pair_term``):

        * every term in the text: the text index finds the rows holding every phrase of
          three characters or more, and the windows' index those holding every window (it
          drives the query when the terms are all of two characters);
        * with contacts, also the rows where some term is in the contact: the contact index
          finds the rows holding any of the phrases, and every term is checked in the text
          or the contact (``instr``). The two are merged, newest first."""
        grams = " AND ".join(fts_query([t]) for t in terms.grams)
        words = " AND ".join(fts_query([pair_term(t)]) for t in terms.short)
        # The terms of three characters and more drive the query when there are any, the
        # two-character ones' windows when there are only those (either: rowid order).
        drive, first = (TEXT_FTS, grams) if grams else (PAIRS_FTS, words)
        also, also_params = list(where), list(params)
        if grams and words:
            also.insert(0, f"t.seq IN (SELECT rowid FROM {PAIRS_FTS} WHERE {PAIRS_FTS} MATCH ?)")
            also_params.insert(0, words)
        sql = (f"SELECT {self._cols} FROM {drive} f JOIN {TABLE} t ON t.seq = f.rowid "
               f"WHERE {drive} MATCH ?{_and(also)} ORDER BY f.rowid DESC LIMIT ?")
        rows = self._fetch(cur, sql, [first, *also_params, limit])
        if not contacts:
            return rows
        checks = [*where, *("(instr(t.lc_text, ?) > 0 OR instr(t.lc_contact, ?) > 0)"
                            for _ in terms.all)]
        sql = (f"SELECT {self._cols} FROM {CONTACT_FTS} c JOIN {TABLE} t ON t.seq = c.rowid "
               f"WHERE {CONTACT_FTS} MATCH ?{_and(checks)} ORDER BY c.rowid DESC LIMIT ?")
        tokens = [p.contact_token(t) for t in terms.all]  # the contact holds only tokens
        values = [*params, *(v for term, token in zip(terms.all, tokens, strict=True)
                             for v in (term, token))]
        more = self._fetch(cur, sql, [" OR ".join(fts_query([k]) for k in tokens), *values,
                                      limit])
        merged = {r["seq"]: r for r in (*rows, *more)}
        return [merged[seq] for seq in sorted(merged, reverse=True)[:limit]]

    def _postgres_rows(self, cur: Any, terms: Terms, contacts: bool, where: list[str],
                       params: list[Any], limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` rows where every term is in the text (or the contact):
        ``LIKE`` patterns the ``pg_trgm`` indexes serve (a two-character term as its pair),
        the plan -- the indexes, or the rows newest first -- left to PostgreSQL."""
        checks, values = list(where), list(params)
        for term in terms.all:
            check, value = ((f"t.lc_text LIKE %s", like_pattern(term)) if len(term) > 2
                            else (f"{words('t.lc_pairs')} @> %s", [pair_term(term)]))
            if contacts:
                checks.append(f"({check} OR {words('t.lc_contact')} @> %s)")
                values += [value, [p.contact_token(term)]]
            else:
                checks.append(check)
                values.append(value)
        return self._fetch(cur, f"SELECT {self._cols} FROM {TABLE} t WHERE "
                                f"{' AND '.join(checks)} ORDER BY t.seq DESC LIMIT %s",
                           [*values, limit])


def words(column: str) -> str:
    """PostgreSQL: the array of ``column``'s words, as its GIN index has them."""
    return f"string_to_array({column}, ' ')"


def _and(clauses: list[str]) -> str:
    return "".join(f" AND {c}" for c in clauses)


def indexed(row: TicketSearchRow) -> tuple[str, str, str]:
    """The ``LC`` values the SQL views store and index: the folded text, the contact's tokens
    (whole words) and the text's two-character windows (``search.pairs``)."""
    text = p.text_of(row)
    return text, p.contact_of(row), pairs(text)
