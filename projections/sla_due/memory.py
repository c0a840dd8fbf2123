"""The SLA due index in memory, for tests and the in-memory store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from projections.base import Positioned
from projections.memory import MemoryView
from projections.sla_due import projection as p
from projections.sla_due.projection import SlaDueRow
from projections.sla_due.view import DueClock


class MemorySlaDueView(MemoryView[SlaDueRow]):
    name = p.NAME
    topics = p.TOPICS
    fields = p.FIELDS

    def _applied(self, events: Sequence[Positioned]) -> dict[str, SlaDueRow]:
        # A ticket has a row per clock: the clocks of each touched ticket, copied.
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
        return {row["id"]: p.finish(row) for rows in touched.values() for row in rows.values()}

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
