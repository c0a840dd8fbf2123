"""The ticket list view port: what the edge may ask, and the filters it may use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from projections.base import View
from projections.ticket_list.projection import OPEN_STATUSES, SLA_STATES, TicketRow

# The values a query may name (defined beside the rows they describe).
__all__ = ["OPEN_STATUSES", "SLA_STATES", "TicketQuery", "Page", "ComplianceCount",
           "TicketListView"]


@dataclass(frozen=True)
class TicketQuery:
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assignee: str | None = None
    unassigned: bool = False
    customer: str | None = None
    group: str | None = None
    groups: tuple[str, ...] = ()  # the group is one of these (a caller's groups)
    category: str | None = None
    affected_system: str | None = None
    limit: int = 50
    after: int | None = None  # cursor from the previous page: ``seq`` (newest) or rank<<48 + seq (queue)
    order: str = "newest"  # "newest" (seq desc) | "queue" (priority, then oldest first)
    # | "breaching" (earliest due of the running clocks first, then oldest; ADR 0017; only
    # tickets with SLA deadlines)
    # SLA state at ``now`` (a fixed-width stamp, projection.stamp): ok|warning|breached|met.
    sla_states: tuple[str, ...] = ()
    now: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    rows: Sequence[TicketRow]
    next_cursor: str | None


@dataclass(frozen=True)
class ComplianceCount:
    """Counts of one group (``dimension`` priority or customer; ``key`` its value)."""

    dimension: str
    key: str | None
    tickets: int
    response_met: int
    response_missed: int
    resolution_met: int
    resolution_missed: int


class TicketListView(View, Protocol):
    def query(self, q: TicketQuery) -> Page: ...

    def compliance(self, start: str, end: str, now: str) -> list[ComplianceCount]:
        """Per priority and per customer, tickets with deadlines (not invalid) reported in
        ``[start, end)`` (``reported_at`` text bounds) and their met/missed clocks at ``now``
        (a stamp), ADR 0017."""
        ...

    def get(self, ticket_id: str) -> TicketRow | None: ...
