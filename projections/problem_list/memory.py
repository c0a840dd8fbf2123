"""The problem list in memory, for tests and the in-memory store."""

from __future__ import annotations

from projections.memory import MemoryRows, newest_page
from projections.problem_list import projection as p
from projections.problem_list.projection import ProblemRow
from projections.problem_list.sql import ProblemRows
from projections.problem_list.view import ProblemPage, ProblemQuery
from projections.ticket_search.search import parse


class MemoryProblemListView(ProblemRows, MemoryRows[ProblemRow]):
    def query(self, q: ProblemQuery) -> ProblemPage:
        terms = parse(q.text).all if q.text else ()
        if q.text and not terms:
            return ProblemPage(rows=[], next_cursor=None)

        def keep(r: ProblemRow) -> bool:
            return (
                all(t in p.search_text(r) for t in terms)
                and (not q.statuses or r["status"] in q.statuses)
                and (not q.categories or r["category"] in q.categories)
                and (q.ticket is None or q.ticket in p.ticket_ids(r))
                and (q.known_error is None or bool(r["known_error"]) == q.known_error)
            )

        rows, cursor = newest_page(filter(keep, self._rows.values()), q.after, q.limit)
        return ProblemPage(rows=rows, next_cursor=cursor)
