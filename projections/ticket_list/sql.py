"""The ticket list on SQL (SQLite or PostgreSQL through a ``SqlStore``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.base import Positioned
from projections.sql import SqlStore, Tracking
from projections.ticket_list import projection as p
from projections.ticket_list.projection import COLUMNS, TicketRow
from projections.ticket_list.view import Page, TicketQuery

TABLE = "ticket_list"
_QUEUE_KEY = "COALESCE(priority, 'P9')"


class SqlTicketListView:
    name = p.NAME
    topics = p.TOPICS
    fields = p.FIELDS

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.tracking = Tracking(store, p.NAME, p.VERSION)
        ph = store.param
        cols = ", ".join(f'"{c}"' for c in COLUMNS)
        updates = ", ".join(f'"{c}"=excluded."{c}"' for c in COLUMNS if c != "id")
        self._upsert = (
            f"INSERT INTO {TABLE} ({cols}) VALUES ({', '.join([ph] * len(COLUMNS))}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        self._select_cols = cols
        self._create()

    def _create(self) -> None:
        with self.store.transaction() as cur:
            self.tracking.create(cur)
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                "id TEXT PRIMARY KEY, seq BIGINT NOT NULL, number TEXT NOT NULL, "
                "status TEXT NOT NULL, priority TEXT, type TEXT, category TEXT, "
                "customer TEXT NOT NULL, title TEXT NOT NULL, channel TEXT NOT NULL, "
                "affected_system TEXT NOT NULL, assignee TEXT, \"group\" TEXT, "
                "reported_at TEXT NOT NULL, recorded_at TEXT NOT NULL, "
                "updated_at TEXT NOT NULL, version INTEGER NOT NULL)"
            )
            for name, cols in (
                ("seq", "seq"),
                ("status", "status, seq"),
                ("assignee", "assignee, status, seq"),
                ("customer", "customer, seq"),
                ("number", "number"),
            ):
                cur.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_{name} ON {TABLE} ({cols})")
            _, version = self.tracking.stored(cur)
            if version != p.VERSION:
                self._reset(cur)

    # --------------------------------------------------------------- tracking

    def position(self) -> int:
        with self.store.read() as cur:
            return self.tracking.stored(cur)[0]

    def reset(self) -> None:
        with self.store.transaction() as cur:
            self._reset(cur)

    def _reset(self, cur: Any) -> None:
        cur.execute(f"DELETE FROM {TABLE}")
        self.tracking.reset(cur)

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ apply

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        with self.store.transaction() as cur:
            self.tracking.move(cur, start, end)
            if not events:
                return
            keys = [p.row_key(pe.event.originator_id) for pe in events]
            rows = self._load(cur, list(set(keys)))
            apply = p.apply
            for key, pe in zip(keys, events, strict=True):
                new = apply(rows.get(key), pe.event, pe.position)
                if new is not None:
                    rows[key] = new
            if rows:
                finish = p.finish
                cur.executemany(
                    self._upsert, [tuple(finish(r).values()) for r in rows.values()]
                )

    def _load(self, cur: Any, keys: list[str]) -> dict[str, TicketRow]:
        rows: dict[str, TicketRow] = {}
        ph = self.store.param
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            cur.execute(
                f"SELECT {self._select_cols} FROM {TABLE} WHERE id IN ({', '.join([ph] * len(chunk))})",
                chunk,
            )
            for r in cur.fetchall():
                rows[r[0]] = dict(zip(COLUMNS, r, strict=True))  # type: ignore[assignment]
        return rows

    # ---------------------------------------------------------------- queries

    def get(self, ticket_id: str) -> TicketRow | None:
        with self.store.read() as cur:
            cur.execute(
                f"SELECT {self._select_cols} FROM {TABLE} WHERE id={self.store.param}",
                (ticket_id,),
            )
            r = cur.fetchone()
        return dict(zip(COLUMNS, r, strict=True)) if r else None  # type: ignore[return-value]

    def query(self, q: TicketQuery) -> Page:
        ph = self.store.param
        where: list[str] = []
        params: list[Any] = []
        if q.statuses:
            where.append(f"status IN ({', '.join([ph] * len(q.statuses))})")
            params += q.statuses
        if q.priorities:
            where.append(f"priority IN ({', '.join([ph] * len(q.priorities))})")
            params += q.priorities
        if q.assignee is not None:
            where.append(f"assignee = {ph}")
            params.append(q.assignee)
        if q.unassigned:
            where.append('assignee IS NULL AND "group" IS NULL')
        if q.customer is not None:
            where.append(f"customer = {ph}")
            params.append(q.customer)
        if q.group is not None:
            where.append(f'"group" = {ph}')
            params.append(q.group)
        if q.order == "queue":
            if q.after is not None:
                rank, seq = divmod(q.after, 1 << 48)
                where.append(f"({_QUEUE_KEY}, seq) > ({ph}, {ph})")
                params += [f"P{rank}", seq]
            order = f"{_QUEUE_KEY}, seq"
        else:
            if q.after is not None:
                where.append(f"seq < {ph}")
                params.append(q.after)
            order = "seq DESC"
        sql = f"SELECT {self._select_cols} FROM {TABLE}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {order} LIMIT {ph}"
        params.append(q.limit + 1)
        with self.store.read() as cur:
            cur.execute(sql, params)
            fetched = cur.fetchall()
        rows: list[TicketRow] = [dict(zip(COLUMNS, r, strict=True)) for r in fetched]  # type: ignore[misc]
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        return Page(rows=rows, next_cursor=cursor_after(rows[-1], q.order) if more else None)


def cursor_after(row: TicketRow, order: str) -> str:
    if order == "queue":
        rank = int((row["priority"] or "P9")[1:])
        return str((rank << 48) + row["seq"])
    return str(row["seq"])
