"""The SLA due index in memory, for tests and the in-memory store."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from projections.base import Positioned, TrackingConflict
from projections.sla_due import projection as p
from projections.sla_due.projection import SlaDueRow
from projections.sla_due.view import DueClock


class MemorySlaDueView:
    name = p.NAME
    topics = p.TOPICS
    fields = p.FIELDS

    def __init__(self) -> None:
        self._rows: dict[str, SlaDueRow] = {}
        self._position = 0
        self._lock = threading.Lock()

    def position(self) -> int:
        return self._position

    def reset(self) -> None:
        with self._lock:
            self._rows, self._position = {}, 0

    def close(self) -> None:
        pass

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        with self._lock:
            if self._position != start:
                raise TrackingConflict(self.name, start, self._position)
            touched: dict[str, dict[str, SlaDueRow]] = {}
            for pe in events:
                tid = str(pe.event.originator_id)
                rows = touched.get(tid)
                if rows is None:
                    rows = touched[tid] = {
                        r["clock"]: SlaDueRow(**r)  # type: ignore[typeddict-item]
                        for i in p.row_ids(tid) if (r := self._rows.get(i)) is not None
                    }
                p.apply(rows, tid, pe.event)
            new = dict(self._rows)
            for rows in touched.values():
                for row in rows.values():
                    new[row["id"]] = row
            self._rows, self._position = new, end

    def due(self, now: datetime, limit: int = 10_000) -> list[DueClock]:
        at = p.stamp(now)
        found = sorted(
            (r["next_check_at"], r["ticket_id"], r["clock"]) for r in self._rows.values()
            if r["next_check_at"] is not None and r["next_check_at"] <= at)
        return [DueClock(t, c, n) for n, t, c in found[:limit]]

    def running_tickets(self, after: str = "", limit: int = 10_000) -> list[str]:
        ids = sorted({r["ticket_id"] for r in self._rows.values()
                      if r["running"] and r["ticket_id"] > after})
        return ids[:limit]

    def get(self, ticket_id: str, clock: str) -> SlaDueRow | None:
        return self._rows.get(f"{ticket_id}:{clock}")

    def count(self) -> int:
        return sum(1 for r in self._rows.values() if r["next_check_at"] is not None)
