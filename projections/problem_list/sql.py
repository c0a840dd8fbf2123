"""The problem list on SQL (SQLite or PostgreSQL through a ``SqlStore``).

Rows live in ``problem_list``; each (problem, ticket) link also in ``problem_list_tickets``,
whose index serves the ``ticket`` filter. Links only ever grow, so a batch inserts the links
of the rows it touched and ignores those already there.
"""

from __future__ import annotations

from typing import Any

from projections.problem_list import projection as p
from projections.problem_list.projection import COLUMNS, ProblemRow
from projections.problem_list.view import ProblemPage, ProblemQuery
from projections.sql import Filter, SqlRows, SqlStore, newest_page, upsert_sql, write_rows
from projections.ticket_search.search import parse

TABLE = "problem_list"
LINKS = "problem_list_tickets"


class ProblemRows:
    """How events make problem rows, the same for the memory and the SQL view."""

    name = p.NAME
    topics = p.TOPICS
    fields = p.FIELDS

    def apply_event(self, row: ProblemRow | None, event: Any, position: int) -> ProblemRow | None:
        return p.apply(row, event, position)


class SqlProblemListView(ProblemRows, SqlRows):
    table = TABLE
    columns = COLUMNS

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store, p.NAME, p.VERSION)
        ph = store.param
        self._upsert_text = upsert_sql(TABLE, (*COLUMNS, "lc_text"), ph)
        self._link = (
            f"INSERT INTO {LINKS} (problem_id, ticket_id) VALUES ({ph}, {ph}) "
            "ON CONFLICT (problem_id, ticket_id) DO NOTHING"
        )
        with self.store.transaction() as cur:
            self._drop_stale(cur, TABLE, LINKS)
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                "id TEXT PRIMARY KEY, seq BIGINT NOT NULL, number TEXT NOT NULL, "
                "status TEXT NOT NULL, title TEXT NOT NULL, category TEXT, priority TEXT, "
                "affected_system TEXT NOT NULL, known_error INTEGER NOT NULL, change_id TEXT, "
                "tickets TEXT NOT NULL, ticket_count INTEGER NOT NULL, "
                "created_by TEXT NOT NULL, recorded_at TEXT NOT NULL, "
                "updated_at TEXT NOT NULL, version INTEGER NOT NULL, "
                "lc_text TEXT NOT NULL DEFAULT '')"  # projection.search_text (ADR 0050)
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {LINKS} (problem_id TEXT NOT NULL, "
                "ticket_id TEXT NOT NULL, PRIMARY KEY (problem_id, ticket_id))"
            )
            for index, cols in (("seq", "seq"), ("status", "status, seq"),
                                ("category", "category, seq")):
                cur.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_{index} ON {TABLE} ({cols})")
            cur.execute(f"CREATE INDEX IF NOT EXISTS {LINKS}_ticket ON {LINKS} (ticket_id)")

    def _reset(self, cur: Any) -> None:
        cur.execute(f"DELETE FROM {LINKS}")
        super()._reset(cur)

    def _write(self, cur: Any, rows: list[Any]) -> None:
        write_rows(cur, self._upsert_text, [(*(r[c] for c in COLUMNS), p.search_text(r))
                                            for r in rows])
        links = [(r["id"], t) for r in rows for t in p.ticket_ids(r)]
        if links:
            cur.executemany(self._link, links)

    def query(self, q: ProblemQuery) -> ProblemPage:
        f = Filter(self.store.param)
        f.one_of("status", q.statuses)
        f.one_of("category", q.categories)
        if q.ticket is not None:
            f.add(f"id IN (SELECT problem_id FROM {LINKS} WHERE ticket_id = {f.param})", q.ticket)
        if q.known_error is not None:
            f.equal("known_error", int(q.known_error))
        if q.text and not f.contains_all("lc_text", parse(q.text).all, self.store.dialect):
            return ProblemPage(rows=[], next_cursor=None)
        rows, cursor = newest_page(self.store, TABLE, COLUMNS, f.where, f.params, q.after, q.limit)
        return ProblemPage(rows=rows, next_cursor=cursor)  # type: ignore[arg-type]
