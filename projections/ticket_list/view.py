"""The ticket list view port: what the edge may ask, and the filters it may use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from projections.base import View
from projections.ticket_list.projection import TicketRow


@dataclass(frozen=True)
class TicketQuery:
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assignee: str | None = None
    unassigned: bool = False
    customer: str | None = None
    group: str | None = None
    limit: int = 50
    after: int | None = None  # cursor from the previous page: ``seq`` (newest) or rank<<48 + seq (queue)
    order: str = "newest"  # "newest" (seq desc) | "queue" (priority, then oldest first)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    rows: Sequence[TicketRow]
    next_cursor: str | None


class TicketListView(View, Protocol):
    def query(self, q: TicketQuery) -> Page: ...

    def get(self, ticket_id: str) -> TicketRow | None: ...
