"""The SLA due index on SQL (SQLite or PostgreSQL through a ``SqlStore``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from projections.base import Positioned
from projections.sql import SqlStore, SqlView, select_row, select_rows, upsert_sql, write_rows
from projections.sla_due import projection as p
from projections.sla_due.projection import COLUMNS, SlaDueRow
from projections.sla_due.view import DueClock

TABLE = "sla_due"


class SqlSlaDueView(SqlView):
    table = TABLE
    name = p.NAME
    bulk_weight = 1.5  # beside the ticket list's 1.0 (ADR 0077: 2.2-2.3 s against 1.1-2.0 s)
    topics = p.TOPICS
    fields = p.FIELDS
    columns = COLUMNS

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store, p.NAME, p.VERSION)
        ph = store.param
        self._upsert = upsert_sql(TABLE, COLUMNS, ph)
        self._due = (
            f"SELECT ticket_id, clock, next_check_at FROM {TABLE} "
            f"WHERE next_check_at IS NOT NULL AND next_check_at <= {ph} "
            f"ORDER BY next_check_at LIMIT {ph}"
        )
        with self.store.transaction() as cur:
            self.tracking.create(cur)
            self._create_all(cur)
            _, version = self.tracking.stored(cur)
            if version != p.VERSION:
                self._reset(cur)

    def create_tables(self, cur: Any, names: dict[str, str]) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {names[TABLE]} ("
            "id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, clock TEXT NOT NULL, "
            "due TEXT NOT NULL, thresholds TEXT NOT NULL, instants TEXT NOT NULL, "
            "done TEXT NOT NULL, running INTEGER NOT NULL, paused INTEGER NOT NULL, "
            "next_check_at TEXT, version INTEGER NOT NULL)"
        )

    def index_specs(self) -> dict[str, list[tuple[str, str]]]:
        return {TABLE: [("next", "(next_check_at) WHERE next_check_at IS NOT NULL")]}

    def fold(self) -> SlaDueFold:
        return SlaDueFold()

    def apply_in(self, cur: Any, events: Sequence[Positioned], *, start: int, end: int) -> None:
        self.tracking.move(cur, start, end)
        if not events:
            return
        tids = [str(pe.event.originator_id) for pe in events]
        loaded = self._load(cur, sorted(set(tids)))
        changed: dict[str, SlaDueRow] = {}
        for tid, pe in zip(tids, events, strict=True):
            rows = loaded.setdefault(tid, {})
            for clock in p.apply(rows, tid, pe.event):
                changed[rows[clock]["id"]] = rows[clock]
        if changed:
            write_rows(cur, self._upsert, [tuple([row[c] for c in COLUMNS])
                                           for row in map(p.finish, changed.values())])

    def _load(self, cur: Any, tids: list[str]) -> dict[str, dict[str, SlaDueRow]]:
        """The rows of the tickets ``tids``: by ticket, by clock."""
        out: dict[str, dict[str, SlaDueRow]] = {}
        ids = [i for t in tids for i in p.row_ids(t)]
        for found in select_rows(cur, TABLE, COLUMNS, self.store.param, ids):
            row: SlaDueRow = found  # type: ignore[assignment]
            out.setdefault(row["ticket_id"], {})[row["clock"]] = row
        return out

    def due(self, now: datetime, limit: int = 10_000) -> list[DueClock]:
        with self.store.read() as cur:
            cur.execute(self._due, (p.stamp(now), limit))
            return [DueClock(*r) for r in cur.fetchall()]

    def running_tickets(self, after: str = "", limit: int = 10_000) -> list[str]:
        ph = self.store.param
        with self.store.read() as cur:
            cur.execute(
                f"SELECT DISTINCT ticket_id FROM {TABLE} WHERE running = 1 AND ticket_id > {ph} "
                f"ORDER BY ticket_id LIMIT {ph}", (after, limit))
            return [r[0] for r in cur.fetchall()]

    def get(self, ticket_id: str, clock: str) -> SlaDueRow | None:
        return select_row(self.store, TABLE, COLUMNS, f"{ticket_id}:{clock}")

    def count(self) -> int:
        with self.store.read() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE next_check_at IS NOT NULL")
            return int(cur.fetchone()[0])


class SlaDueFold:
    """The bulk rebuild's fold of the due index (ADR 0068): each ticket's rows by clock in
    memory, changed by ``projection.apply`` as the incremental path changes them, their JSON
    columns decoded once and encoded once (``projection.finish``)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, SlaDueRow]] = {}
        self.touched: set[str] = set()
        self._ids: dict[Any, str] = {}

    def feed(self, events: Sequence[Positioned]) -> None:
        rows, touched, ids = self.rows, self.touched, self._ids
        for pe in events:
            oid = pe.event.originator_id
            tid = ids.get(oid)
            if tid is None:
                tid = ids[oid] = str(oid)
            mine = rows.get(tid)
            if mine is None:
                mine = rows[tid] = {}
            if p.apply(mine, tid, pe.event):
                touched.add(tid)

    def stored(self, keys: Any = None) -> dict[str, list[tuple[Any, ...]]]:
        rows = self.rows
        chosen = rows if keys is None else [k for k in keys if k in rows]
        self.touched = set()
        # ``finish`` encodes a row's JSON columns: a copy's, the fold goes on after.
        return {TABLE: [tuple([row[c] for c in COLUMNS])
                        for tid in chosen for row in map(p.finish, map(dict, rows[tid].values()))]}
