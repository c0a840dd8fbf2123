"""The change list on SQL (SQLite or PostgreSQL through a ``SqlStore``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.change_list import projection as p
from projections.change_list.projection import COLUMNS, CalendarEntry, ChangeRow
from projections.change_list.view import ChangePage, ChangeQuery
from projections.sql import Filter, SqlRows, SqlStore, newest_page
from projections.ticket_search.search import parse

TABLE = "change_list"


class SqlChangeListView(SqlRows):
    table = TABLE
    columns = COLUMNS
    name = p.NAME
    topics = p.TOPICS

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store, p.NAME, p.VERSION)
        self._cols = ", ".join(COLUMNS)
        with self.store.transaction() as cur:
            self._drop_stale(cur)
            self._create_all(cur)

    write_columns = {TABLE: (*COLUMNS, "lc_text")}

    def create_tables(self, cur: Any, names: dict[str, str]) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {names[TABLE]} ("
            "id TEXT PRIMARY KEY, seq BIGINT NOT NULL, number TEXT NOT NULL, "
            "kind TEXT NOT NULL, status TEXT NOT NULL, origin_kind TEXT NOT NULL, "
            "origin_id TEXT NOT NULL, origin_number TEXT NOT NULL, title TEXT NOT NULL, "
            "affected_system TEXT NOT NULL, risk TEXT, schedule_start TEXT, "
            "schedule_end TEXT, gates TEXT NOT NULL, missing_gates TEXT NOT NULL, "
            "requested_at TEXT NOT NULL, updated_at TEXT NOT NULL, "
            "version INTEGER NOT NULL, "
            "lc_text TEXT NOT NULL DEFAULT '')"  # projection.search_text (ADR 0050)
        )

    def index_specs(self) -> dict[str, list[tuple[str, str]]]:
        return {TABLE: [(name, f"({cols})") for name, cols in (
            ("seq", "seq"), ("status", "status, seq"),
            ("system", "affected_system, schedule_start"),
            ("schedule", "schedule_start, schedule_end"))]}

    def apply_event(self, row: ChangeRow | None, event: Any, position: int) -> ChangeRow | None:
        return p.apply(row, event, position)

    def stored(self, rows: list[Any]) -> dict[str, list[tuple[Any, ...]]]:
        return {TABLE: [(*(r[c] for c in COLUMNS), p.search_text(r)) for r in rows]}

    def _select(self, cur: Any, where: str, params: Sequence[Any]) -> list[ChangeRow]:
        cur.execute(f"SELECT {self._cols} FROM {TABLE} WHERE {where}", list(params))
        return [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]  # type: ignore[misc]

    def query(self, q: ChangeQuery) -> ChangePage:
        ph = self.store.param
        f = Filter(ph)
        f.one_of("status", q.statuses)
        f.one_of("kind", q.kinds)
        if q.system is not None:
            f.add(f"LOWER(affected_system) = {ph}", p.system_key(q.system))
        if q.origin is not None:
            f.add(f"(origin_id = {ph} OR origin_number = {ph})", q.origin, q.origin)
        if q.text and not f.contains_all("lc_text", parse(q.text).all, self.store.dialect):
            return ChangePage(rows=[], next_cursor=None)
        rows, cursor = newest_page(self.store, TABLE, COLUMNS, f.where, f.params, q.after, q.limit)
        return ChangePage(rows=rows, next_cursor=cursor)  # type: ignore[arg-type]

    def _scheduled(self, cur: Any, start: str, end: str, systems: Sequence[str] | None
                   ) -> list[ChangeRow]:
        ph = self.store.param
        where = (f"schedule_start IS NOT NULL AND schedule_end > {ph} AND schedule_start < {ph}"
                 f" AND status NOT IN ({', '.join([ph] * len(p.CALENDAR_EXCLUDED))})")
        params: list[Any] = [start, end, *sorted(p.CALENDAR_EXCLUDED)]
        if systems is not None:
            where += f" AND LOWER(affected_system) IN ({', '.join([ph] * len(systems))})"
            params += list(systems)
        return self._select(cur, where, params)

    def calendar(self, start: str, end: str, system: str | None = None) -> list[CalendarEntry]:
        with self.store.read() as cur:
            window = self._scheduled(cur, start, end,
                                     None if system is None else [p.system_key(system)])
            if not window:
                return []
            # Python's casefold and SQL's LOWER agree on the systems people name (ASCII and
            # CJK); the exact comparison happens in ``projection.calendar``.
            systems = sorted({p.system_key(r["affected_system"]) for r in window})
            neighbours = self._scheduled(cur, min(r["schedule_start"] or "" for r in window),
                                         max(r["schedule_end"] or "" for r in window), systems)
        return p.calendar(window, neighbours)
