"""The ticket list view port: what the edge may ask, and the filters it may use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from projections.base import View
from projections.ticket_list.projection import (OPEN_STATUSES, SLA_STATES, TicketRow,
                                                breached_clocks, reported_bound)

# The values a query may name and the rules its bounds and rows follow (defined beside the
# rows they describe).
__all__ = ["OPEN_STATUSES", "SLA_STATES", "TicketQuery", "Page", "ComplianceCount",
           "OpenCount", "DayCount", "TicketListView", "breached_clocks", "reported_bound"]


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


@dataclass(frozen=True)
class OpenCount:
    """How many open tickets (``projection.OPEN_STATUSES``) have this status, priority,
    assignee and group."""

    status: str
    priority: str | None
    assignee: str | None
    group: str | None
    tickets: int


@dataclass(frozen=True)
class DayCount:
    """Tickets reported, resolved (the resolution clock's stop, not invalid) and invalidated
    in one span ``[start, end)``, as the rows stand now."""

    start: datetime
    end: datetime
    opened: int
    resolved: int
    invalidated: int


class TicketListView(View, Protocol):
    def query(self, q: TicketQuery) -> Page: ...

    def compliance(self, start: str, end: str, now: str) -> list[ComplianceCount]:
        """Per priority and per customer, tickets with deadlines (not invalid) reported in
        ``[start, end)`` (``reported_at`` text bounds) and their met/missed clocks at ``now``
        (a stamp), ADR 0017."""
        ...

    def open_counts(self) -> list[OpenCount]:
        """The open tickets counted per status, priority, assignee and group (one indexed
        aggregate query, issue 18's dashboard)."""
        ...

    def flow(self, bounds: Sequence[datetime]) -> list[DayCount]:
        """Per span between consecutive ``bounds`` (ascending instants, e.g. the local
        midnights of the last 14 days), how many tickets were reported (``reported_at``),
        resolved and invalidated (``resolved_at``) in it: index range counts."""
        ...

    def breached(self, start: datetime, now: datetime,
                 limit: int = 50) -> tuple[int, list[TicketRow]]:
        """The tickets with a clock that breached in ``[start, now]`` (``projection
        .breached_clocks``): how many, and the first ``limit`` (priority, then oldest)."""
        ...

    def get(self, ticket_id: str) -> TicketRow | None: ...
