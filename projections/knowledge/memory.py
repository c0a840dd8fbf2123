"""The knowledge view in memory (tests and the in-memory store): the same terms, the same
coverage score as PostgreSQL, by scanning every visible entry."""

from __future__ import annotations

from typing import Any

from projections.knowledge import projection as p
from projections.knowledge.projection import KnowledgeRow
from projections.knowledge.search import coverage, parse
from projections.knowledge.view import KnowledgePage, KnowledgeQuery, page
from projections.memory import MemoryRows


class MemoryKnowledgeView(MemoryRows[KnowledgeRow]):
    name = p.NAME
    topics = p.TOPICS

    def apply_event(self, row: KnowledgeRow | None, event: Any,
                    position: int) -> KnowledgeRow | None:
        return p.apply(row, event)

    def search(self, q: KnowledgeQuery) -> KnowledgePage:
        terms = parse(q.q)
        visible = [r for r in self._rows.values() if r["visible"]
                   and (q.audience is None or r["audience"] == q.audience)]
        if not q.q.strip():
            scored = [(r, 0.0) for r in visible]
        else:
            texts = [(r, p.search_text(r)) for r in visible]
            scored = [(r, coverage(t, terms.all)) for r, t in texts
                      if any(term in t.all for term in terms.all)]
        scored.sort(key=lambda rs: rs[0]["id"])
        scored.sort(key=lambda rs: rs[0]["updated_at"], reverse=True)
        scored.sort(key=lambda rs: rs[1], reverse=True)
        return page(scored[q.offset : q.offset + q.limit + 1], q, terms.all)
