"""The knowledge view on SQL (ADR 0020).

One table ``knowledge`` holds every entry (visible or staged) with its text and the folded
search text by field group (``lc_head``, ``lc_symptoms``, ``lc_body``; see
``projections.knowledge.search``). How a search finds and ranks entries differs:

* **SQLite**: an FTS5 table ``knowledge_fts`` with the ``trigram`` tokenizer (SQLite ≥ 3.34)
  indexes the visible entries (rowid = the entry's ``seq``). Terms of three or more characters
  are quoted FTS phrases OR'd together, ranked by ``bm25`` with the field groups weighted
  4 / 2 / 1; two-character terms (below the trigram index) match with ``instr`` and add the
  coverage score.
* **PostgreSQL**: ``LIKE '%term%'`` on the folded text, served by a ``pg_trgm`` GIN index
  (``gin_trgm_ops``) when the extension can be created; ranked by the coverage score (the
  weights of the field groups containing each term), which does not depend on the database's
  text-search configuration or locale. Without ``pg_trgm`` the same query still answers, by a
  scan.

Snippets are made in Python for both (``projections.knowledge.view.hit``), so every store
marks the same matches and escapes the text the same way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from projections.base import Positioned
from projections.knowledge import projection as p
from projections.knowledge.projection import COLUMNS, KnowledgeRow
from projections.knowledge.search import WEIGHTS, Terms, fts_query, like_pattern, parse
from projections.knowledge.view import KnowledgePage, KnowledgeQuery, page
from projections.sql import (SqlStore, SqlView, select_row, select_rows, trigram_indexes,
                             upsert_sql)

TABLE = "knowledge"
FTS = "knowledge_fts"
GROUPS = tuple(WEIGHTS)  # head, symptoms, body
LC = tuple(f"lc_{g}" for g in GROUPS)
ALL_TEXT = " || ' ' || ".join(LC)  # terms never hold a space, so no match spans two groups
_TYPES = {"revision": "INTEGER NOT NULL", "visible": "INTEGER NOT NULL",
          "version": "INTEGER NOT NULL", "category": "TEXT", "problem_id": "TEXT",
          "change_id": "TEXT"}


class SqlKnowledgeView(SqlView):
    table = TABLE
    name = p.NAME
    topics = p.TOPICS

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store, p.NAME, p.VERSION)
        ph = store.param
        self.sqlite = store.dialect == "sqlite"
        if self.sqlite and sqlite3.sqlite_version_info < (3, 34):
            raise RuntimeError(f"the knowledge view needs SQLite 3.34 or later (FTS5 with the "
                               f"trigram tokenizer), not {sqlite3.sqlite_version}")
        self._cols = ", ".join(COLUMNS)
        cols = (*COLUMNS, *LC)
        self._upsert = upsert_sql(TABLE, cols, ph)
        with self.store.transaction() as cur:
            self.tracking.create(cur)
            _, version = self.tracking.stored(cur)
            if version != p.VERSION:
                # Rows of another shape (VERSION 1 had no ``audience``): the tables go and the
                # runner rebuilds the view from the log (position 0).
                cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
                if self.sqlite:
                    cur.execute(f"DROP TABLE IF EXISTS {FTS}")
                self.tracking.reset(cur)
            columns = ", ".join(f"{c} {_TYPES.get(c, 'TEXT NOT NULL')}" for c in cols if c != "id")
            key = "seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE" if self.sqlite \
                else "id TEXT PRIMARY KEY"
            cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({key}, {columns})")
            cur.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_recent ON {TABLE} "
                        "(updated_at DESC, id) WHERE visible = 1")
            if self.sqlite:
                cur.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
                            f"{', '.join(GROUPS)}, tokenize='trigram')")
        if not self.sqlite:
            self._trigram_index()

    def _trigram_index(self) -> None:
        """The ``pg_trgm`` GIN index for ``LIKE '%term%'`` (ADR 0020; ``sql.trigram_indexes``)."""
        trigram_indexes(self.store, self.tracking.DDL_LOCK, TABLE,
                        {f"{TABLE}_trgm": f"({ALL_TEXT})"})

    def _reset(self, cur: Any) -> None:
        super()._reset(cur)
        if self.sqlite:
            cur.execute(f"DELETE FROM {FTS}")

    # ------------------------------------------------------------------ writes

    def apply_in(self, cur: Any, events: Sequence[Positioned], *, start: int, end: int) -> None:
        self.tracking.move(cur, start, end)
        if not events:
            return
        ids = sorted({str(pe.event.originator_id) for pe in events})
        rows = self._load(cur, ids)
        changed: dict[str, KnowledgeRow] = {}
        for pe in events:
            key = str(pe.event.originator_id)
            row = p.apply(rows.get(key), pe.event)
            if row is not None and row is not rows.get(key):
                rows[key] = changed[key] = row
        for row in changed.values():
            self._write(cur, row)

    def _write(self, cur: Any, row: KnowledgeRow) -> None:
        text = p.search_text(row)
        lc = tuple(getattr(text, g) for g in GROUPS)
        values = (*(row[c] for c in COLUMNS), *lc)  # type: ignore[literal-required]
        if not self.sqlite:
            cur.execute(self._upsert, values)
            return
        cur.execute(self._upsert + " RETURNING seq", values)
        seq = cur.fetchone()[0]
        cur.execute(f"DELETE FROM {FTS} WHERE rowid = ?", (seq,))
        if row["visible"]:
            cur.execute(f"INSERT INTO {FTS} (rowid, {', '.join(GROUPS)}) VALUES (?, ?, ?, ?)",
                        (seq, *lc))

    def _load(self, cur: Any, ids: list[str]) -> dict[str, KnowledgeRow]:
        found = select_rows(cur, TABLE, COLUMNS, self.store.param, ids)
        return {r["id"]: r for r in found}  # type: ignore[misc]

    # ------------------------------------------------------------------- reads

    def get(self, entry_id: str) -> KnowledgeRow | None:
        return select_row(self.store, TABLE, COLUMNS, entry_id)

    def search(self, q: KnowledgeQuery) -> KnowledgePage:
        terms = parse(q.q)
        if not q.q.strip():
            sql, params = f"SELECT {self._cols}, 0 FROM {TABLE} WHERE {_shown(q)}", []
        elif not terms:
            return page([], q, ())
        else:
            sql, params = self._sqlite_match(terms, q) if self.sqlite else self._pg_match(terms, q)
        ph = self.store.param
        with self.store.read() as cur:
            cur.execute(f"{sql} ORDER BY {len(COLUMNS) + 1} DESC, updated_at DESC, id "
                        f"LIMIT {ph} OFFSET {ph}", (*params, q.limit + 1, q.offset))
            found = cur.fetchall()
        rows = [(dict(zip(COLUMNS, r[:-1], strict=True)), float(r[-1])) for r in found]
        return page(rows, q, terms.all)  # type: ignore[arg-type]

    def _coverage(self, terms: Sequence[str], found: str) -> tuple[str, list[str]]:
        """The coverage score as SQL (``found``: instr / strpos), with its parameters."""
        parts = [f"(CASE WHEN {found}({lc}, {self.store.param}) > 0 THEN {w} ELSE 0 END)"
                 for t in terms for lc, w in zip(LC, WEIGHTS.values(), strict=True)]
        return " + ".join(parts) or "0", [t for t in terms for _ in LC]

    def _sqlite_match(self, terms: Terms, q: KnowledgeQuery) -> tuple[str, list[Any]]:
        short_score, short_params = self._coverage(terms.short, "instr")
        short_any = " OR ".join(f"instr({ALL_TEXT}, ?) > 0" for _ in terms.short)
        if not terms.grams:
            return (f"SELECT {self._cols}, {short_score} FROM {TABLE} "
                    f"WHERE {_shown(q)} AND ({short_any})", [*short_params, *terms.short])
        weights = ", ".join(str(w) for w in WEIGHTS.values())
        hits = (f"SELECT rowid AS seq, -bm25({FTS}, {weights}) AS rank FROM {FTS} "
                f"WHERE {FTS} MATCH ?")
        cols = ", ".join(f"k.{c}" for c in COLUMNS)
        join = "LEFT JOIN" if terms.short else "JOIN"
        where = f" AND (h.seq IS NOT NULL OR {short_any})" if terms.short else ""
        return (f"SELECT {cols}, COALESCE(h.rank, 0) + {short_score} FROM {TABLE} k "
                f"{join} ({hits}) h ON h.seq = k.seq WHERE {_shown(q, 'k.')}{where}",
                [*short_params, fts_query(terms.grams), *terms.short])

    def _pg_match(self, terms: Terms, q: KnowledgeQuery) -> tuple[str, list[Any]]:
        score, params = self._coverage(terms.all, "strpos")
        any_ = " OR ".join(f"({ALL_TEXT}) LIKE %s" for _ in terms.all)
        return (f"SELECT {self._cols}, {score} FROM {TABLE} WHERE {_shown(q)} AND ({any_})",
                [*params, *(like_pattern(t) for t in terms.all)])


def _shown(q: KnowledgeQuery, table: str = "") -> str:
    """The rows a search may find: the visible ones, of ``q.audience`` when one is asked for
    (a literal: one of the two audiences, checked here, ADR 0052); ``table``: the alias of
    the table in a join (``k.``)."""
    if q.audience is None:
        return f"{table}visible = 1"
    if q.audience not in (p.INTERNAL, p.PUBLIC):
        raise ValueError(f"no audience {q.audience!r}")
    return f"{table}visible = 1 AND {table}audience = '{q.audience}'"
