"""The problem list view port: what the edge may ask, and the filters it may use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from projections.base import View
from projections.problem_list.projection import ProblemRow


@dataclass(frozen=True)
class ProblemQuery:
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    ticket: str | None = None  # a ticket id: problems linked to it
    known_error: bool | None = None
    # Words that must all be in the number, title, affected system or category (the desk's
    # search terms, ``projections.ticket_search.search``; words without a term find nothing).
    text: str = ""
    limit: int = 50
    after: int | None = None  # cursor from the previous page: the last row's ``seq``


@dataclass(frozen=True)
class ProblemPage:
    rows: Sequence[ProblemRow]
    next_cursor: str | None


class ProblemListView(View, Protocol):
    def query(self, q: ProblemQuery) -> ProblemPage:
        """Rows matching every filter given, newest first (``seq`` descending)."""
        ...

    def get(self, problem_id: str) -> ProblemRow | None: ...
