"""The ticket search in memory (tests and the in-memory store): the same terms and order as
the SQL views, by scanning every row."""

from __future__ import annotations

from typing import Any

from projections.memory import MemoryRows
from projections.ticket_search import projection as p
from projections.ticket_search.projection import TicketSearchRow
from projections.ticket_search.search import is_number, parse
from projections.ticket_search.view import TicketSearchPage, TicketSearchQuery, page


class MemoryTicketSearchView(MemoryRows[TicketSearchRow]):
    name = p.NAME
    topics = p.TOPICS
    fields = p.FIELDS

    def key(self, event: Any) -> str:
        return p.row_key(event.originator_id)

    def apply_event(self, row: TicketSearchRow | None, event: Any,
                    position: int) -> TicketSearchRow | None:
        return p.apply(row, event, position)

    def purge(self) -> None:
        """Nothing outside the rows to remove (``sql.SqlTicketSearchView.purge``)."""

    def search(self, q: TicketSearchQuery) -> TicketSearchPage:
        terms = parse(q.q)
        if not terms:
            return TicketSearchPage(hits=[], more=False)

        def matches(r: TicketSearchRow) -> bool:
            text = p.text_of(r)
            contact = p.contact_of(r).split() if q.contacts else ()
            return all(t in text or p.contact_token(t) in contact for t in terms.all)

        found = [r for r in self._rows.values()
                 if (q.customer is None or r["customer"] == q.customer) and matches(r)]
        number = is_number(terms)
        exact = next((r for r in found if r["number"] == number), None)
        rest = sorted((r for r in found if r is not exact), key=lambda r: r["seq"], reverse=True)
        return page(exact, rest[: q.limit + 1], q, terms)
