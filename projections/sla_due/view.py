"""The SLA due index port: what the watcher asks."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol

from projections.base import View
from projections.sla_due.projection import SlaDueRow


class DueClock(NamedTuple):
    ticket_id: str
    clock: str
    next_check_at: str


class SlaDueView(View, Protocol):
    def due(self, now: datetime, limit: int = 10_000) -> list[DueClock]:
        """Clocks whose ``next_check_at`` is at or before ``now``, earliest first."""
        ...

    def get(self, ticket_id: str, clock: str) -> SlaDueRow | None: ...

    def running_tickets(self, after: str = "", limit: int = 10_000) -> list[str]:
        """Ids (ascending, after ``after``) of tickets with at least one running clock, paused
        or not (the candidates of a policy/calendar-change recompute, ADR 0018)."""
        ...

    def count(self) -> int:
        """How many clocks have a pending check at all (for status pages)."""
        ...
