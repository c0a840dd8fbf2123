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
from projections.sql import Filter, SqlRows, SqlStore, newest_page
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

    tables = (TABLE, LINKS)
    write_columns = {TABLE: (*COLUMNS, "lc_text"), LINKS: ("problem_id", "ticket_id")}
    conflict_keys = {LINKS: "problem_id, ticket_id"}

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store, p.NAME, p.VERSION)
        with self.store.transaction() as cur:
            self._drop_stale(cur, TABLE, LINKS)
            self._create_all(cur)

    def create_tables(self, cur: Any, names: dict[str, str]) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {names[TABLE]} ("
            "id TEXT PRIMARY KEY, seq BIGINT NOT NULL, number TEXT NOT NULL, "
            "status TEXT NOT NULL, title TEXT NOT NULL, category TEXT, priority TEXT, "
            "affected_system TEXT NOT NULL, known_error INTEGER NOT NULL, change_id TEXT, "
            "tickets TEXT NOT NULL, ticket_count INTEGER NOT NULL, "
            "created_by TEXT NOT NULL, recorded_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, version INTEGER NOT NULL, "
            "lc_text TEXT NOT NULL DEFAULT '')"  # projection.search_text (ADR 0050)
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {names[LINKS]} (problem_id TEXT NOT NULL, "
            "ticket_id TEXT NOT NULL, PRIMARY KEY (problem_id, ticket_id))"
        )

    def index_specs(self) -> dict[str, list[tuple[str, str]]]:
        return {TABLE: [(index, f"({cols})") for index, cols in (
                    ("seq", "seq"), ("status", "status, seq"), ("category", "category, seq"))],
                LINKS: [("ticket", "(ticket_id)")]}

    def _reset(self, cur: Any) -> None:
        cur.execute(f"DELETE FROM {LINKS}")
        super()._reset(cur)

    def stored(self, rows: list[Any]) -> dict[str, list[tuple[Any, ...]]]:
        return {TABLE: [(*(r[c] for c in COLUMNS), p.search_text(r)) for r in rows],
                LINKS: [(r["id"], t) for r in rows for t in p.ticket_ids(r)]}

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
