"""The knowledge view port: search (ranked, with snippets), list and read one entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from projections.base import View
from projections.knowledge.projection import KnowledgeRow
from projections.knowledge.search import snippet


@dataclass(frozen=True)
class KnowledgeQuery:
    """``q`` empty: the visible entries, most recently updated first; else a search. The
    cursor is the offset of the next page (a ranked list has no stable key to resume at).
    ``audience``: only the entries for it (``public``: what requesters read, ADR 0052);
    ``None``: all."""

    q: str = ""
    limit: int = 20
    offset: int = 0
    audience: str | None = None


@dataclass(frozen=True)
class Hit:
    row: KnowledgeRow
    score: float
    snippet: str


@dataclass(frozen=True)
class KnowledgePage:
    hits: Sequence[Hit]
    next_cursor: str | None


def hit(row: KnowledgeRow, score: float, terms: Sequence[str]) -> Hit:
    """A result with its snippet: symptoms first (what a searcher recognises), then cause,
    workaround, solution, title."""
    fields = [row["symptoms"], row["cause"], row["workaround"], row["solution"], row["title"]]
    return Hit(row=row, score=round(float(score), 6), snippet=snippet(fields, terms))


def page(rows: Sequence[tuple[KnowledgeRow, float]], q: KnowledgeQuery,
         terms: Sequence[str]) -> KnowledgePage:
    """The page from ``limit + 1`` rows (the extra one says whether there is a next page)."""
    more = len(rows) > q.limit
    return KnowledgePage(hits=[hit(r, s, terms) for r, s in rows[: q.limit]],
                         next_cursor=str(q.offset + q.limit) if more else None)


class KnowledgeView(View, Protocol):
    def search(self, q: KnowledgeQuery) -> KnowledgePage:
        """Visible entries matching ``q.q`` (see ``projections.knowledge.search``), best
        first (then most recently updated, then id); every hit has an HTML-safe snippet."""
        ...

    def get(self, entry_id: str) -> KnowledgeRow | None:
        """The entry of a problem or article id, visible or not (``None``: no such row)."""
        ...
