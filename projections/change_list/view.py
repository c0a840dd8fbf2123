"""The change list port: the filters of ``GET /changes`` and the calendar's window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from projections.base import View
from projections.change_list.projection import CalendarEntry, ChangeRow


@dataclass(frozen=True)
class ChangeQuery:
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    system: str | None = None  # affected system, case-insensitive
    origin: str | None = None  # the origin's id or number
    # Words that must all be in the number, title, affected system or origin number (the
    # desk's search terms, ``projections.ticket_search.search``; no term: nothing found).
    text: str = ""
    limit: int = 50
    after: int | None = None  # cursor: the ``seq`` of the last row of the previous page


@dataclass(frozen=True)
class ChangePage:
    rows: Sequence[ChangeRow]
    next_cursor: str | None


class ChangeListView(View, Protocol):
    def query(self, q: ChangeQuery) -> ChangePage: ...

    def calendar(self, start: str, end: str, system: str | None = None) -> list[CalendarEntry]:
        """Scheduled changes (not cancelled) whose window overlaps ``[start, end)`` (stamps),
        earliest first, each with its conflicts: other changes on the same system whose
        windows overlap its own (ADR 0022)."""
        ...

    def get(self, change_id: str) -> ChangeRow | None: ...
