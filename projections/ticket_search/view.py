"""The ticket search view port: search (newest first, with snippets) and read one row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from projections.base import View
from projections.knowledge.search import snippet
from projections.ticket_search.projection import TicketSearchRow, work_log
from projections.ticket_search.search import Terms


@dataclass(frozen=True)
class TicketSearchQuery:
    """``q``: the words (``projections.ticket_search.search``); ``customer``: only that
    customer's tickets (a requester's organisation); ``contacts``: a term may also match the
    contact's name, phone or e-mail (only for callers who see contacts -- for the others those
    fields are not searched at all, nor shown in a snippet)."""

    q: str
    customer: str | None = None
    contacts: bool = False
    limit: int = 20


@dataclass(frozen=True)
class TicketHit:
    row: TicketSearchRow
    snippet: str  # HTML-safe, matches in <mark>…</mark>
    exact: bool  # the query is this ticket's number


@dataclass(frozen=True)
class TicketSearchPage:
    hits: Sequence[TicketHit]
    more: bool  # more tickets match than ``limit``


def hit(row: TicketSearchRow, terms: Terms, contacts: bool, exact: bool = False) -> TicketHit:
    """A result with its snippet, from the field that matches the most terms: the description
    first, then the work log, the resolution, the title, the system, the customer and the
    number (a ticket found by its contact alone shows its description: the row keeps only
    the contact's tokens, ``projection.contact_tokens``)."""
    fields = [row["description"], "\n".join(work_log(row)), row["resolution"], row["title"],
              row["affected_system"], row["customer"], row["number"]]
    return TicketHit(row=row, snippet=snippet(fields, terms.all), exact=exact)


def page(exact: TicketSearchRow | None, rows: Sequence[TicketSearchRow], q: TicketSearchQuery,
         terms: Terms) -> TicketSearchPage:
    """The page from the ticket the query names (if any) and the other matches, newest first:
    ``rows`` holds up to ``limit + 1`` of them (the extra one says whether there are more)."""
    hits = [hit(exact, terms, q.contacts, exact=True)] if exact is not None else []
    room = q.limit - len(hits)
    hits += [hit(r, terms, q.contacts) for r in rows[:room]]
    return TicketSearchPage(hits=hits, more=len(rows) > room)


class TicketSearchView(View, Protocol):
    def search(self, q: TicketSearchQuery) -> TicketSearchPage:
        """The tickets containing every term of ``q.q`` (in their text, or for ``q.contacts``
        in their contact), of ``q.customer`` if given: the ticket whose number the query is
        first, then newest first (registration order); every hit has an HTML-safe snippet. A
        query without terms finds nothing."""
        ...

    def get(self, ticket_id: str) -> TicketSearchRow | None:
        """The row of a ticket id (``None``: no such ticket)."""
        ...

    def purge(self) -> None:
        """Removes what erased contacts may have left in the store's files outside the rows
        (after an erasure, once the view has applied it; ADR 0050)."""
        ...
