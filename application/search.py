"""The desk's search across tickets, problems, changes and knowledge (issue 18, ADR 0050).

One query, one answer grouped by kind, each hit typed the same way (kind, id, number, title,
an HTML-safe snippet with the matches in ``<mark>``, status, customer). Every kind is answered
by its own read model:

* tickets: the ticket search (``projections/ticket_search``): every word in the number, title,
  description, work log, resolution, affected system or customer -- and in the contact's name,
  phone or e-mail only for a caller who sees contacts; newest first, the ticket whose number
  the query is first;
* problems and changes: their lists' ``text`` filter (number, title, affected system; a
  problem's category, a change's origin), newest first;
* knowledge: the knowledge base's own ranked search (ADR 0020: trigrams, best first).

**Scope** (``Scope``) is decided by the edge from the caller (``adapters/http/access.py``,
``search_scope``): the kinds the caller may read through their own routes, a requester's
organisation (only its tickets), whether contacts are searched at all, and which knowledge
audience is shown. Here it is only applied: a field the caller may not search is never put in
the query, so it can neither find a record nor show up in a snippet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.errors import InvalidCommand
from projections.change_list.view import ChangeListView, ChangeQuery
from projections.knowledge.search import MAX_QUERY, snippet
from projections.knowledge.view import KnowledgeQuery, KnowledgeView
from projections.problem_list.view import ProblemListView, ProblemQuery
from projections.ticket_search.search import parse
from projections.ticket_search.view import TicketSearchQuery, TicketSearchView

TICKET, PROBLEM, CHANGE, KNOWLEDGE = "ticket", "problem", "change", "knowledge"
KINDS = (TICKET, PROBLEM, CHANGE, KNOWLEDGE)
DEFAULT_LIMIT, MAX_LIMIT = 10, 50  # hits per kind


class Readers(Protocol):
    """The read models a search reads (``adapters.container.Services`` has them)."""

    ticket_search: TicketSearchView
    problems: ProblemListView
    changes: ChangeListView
    knowledge: KnowledgeView


@dataclass(frozen=True)
class Scope:
    """What a caller may search. ``kinds``: the kinds whose records they may read;
    ``customer``: only that organisation's tickets (a requester); ``contacts``: whether the
    contact's name, phone and e-mail are searched (staff who see contacts in clear);
    ``knowledge`` holds the ``KnowledgeQuery`` fields that narrow the knowledge shown (e.g.
    the audience a requester may read)."""

    kinds: frozenset[str] = frozenset(KINDS)
    customer: str | None = None
    contacts: bool = False
    knowledge: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    kind: str
    id: str
    number: str  # what links use: /ui/tickets/{number}, /api/v1/problems/{number}, ...
    title: str
    snippet: str  # HTML-safe; the matches in <mark>…</mark>
    status: str
    customer: str | None  # tickets only
    updated_at: str


@dataclass(frozen=True)
class Group:
    kind: str
    hits: Sequence[Hit]
    more: bool  # more records of this kind match than the limit


@dataclass(frozen=True)
class Results:
    q: str
    groups: Sequence[Group]  # one per kind searched, in ``KINDS`` order

    @property
    def count(self) -> int:
        return sum(len(g.hits) for g in self.groups)


def search(readers: Readers, q: str, *, kinds: Iterable[str] = (),
           limit: int = DEFAULT_LIMIT, scope: Scope | None = None) -> Results:
    """Searches every kind of ``kinds`` (none named: all) that the ``scope`` allows for
    ``q``: at most ``limit`` hits of each (1 to ``MAX_LIMIT``). A query without words finds
    nothing. A 422 names ``q`` (more than ``MAX_QUERY`` characters), ``kinds`` (an unknown
    kind) or ``limit``."""
    if len(q) > MAX_QUERY:
        raise InvalidCommand.field("q", f"at most {MAX_QUERY} characters")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidCommand.field("limit", f"from 1 to {MAX_LIMIT}")
    asked = set(kinds) or set(KINDS)
    if asked - set(KINDS):
        raise InvalidCommand.field("kinds", f"one or more of {', '.join(KINDS)}")
    scope = scope or Scope()
    wanted = [k for k in KINDS if k in asked and k in scope.kinds]
    if not parse(q):
        return Results(q=q, groups=[Group(kind=k, hits=[], more=False) for k in wanted])
    search_kind = {TICKET: _tickets, PROBLEM: _problems, CHANGE: _changes,
                   KNOWLEDGE: _knowledge}
    return Results(q=q, groups=[search_kind[k](readers, q, limit, scope) for k in wanted])


def _tickets(readers: Readers, q: str, limit: int, scope: Scope) -> Group:
    found = readers.ticket_search.search(TicketSearchQuery(
        q=q, customer=scope.customer, contacts=scope.contacts, limit=limit))
    return Group(kind=TICKET, more=found.more, hits=[
        Hit(kind=TICKET, id=h.row["id"], number=h.row["number"], title=h.row["title"],
            snippet=h.snippet, status=h.row["status"], customer=h.row["customer"],
            updated_at=h.row["updated_at"]) for h in found.hits])


def _record_snippet(q: str, *fields: str | None) -> str:
    return snippet([f or "" for f in fields], parse(q).all)


def _record_group(kind: str, found: Any, q: str, *fields: str) -> Group:
    """A problem's or change's hits: ``fields`` of its row make the snippet."""
    return Group(kind=kind, more=found.next_cursor is not None, hits=[
        Hit(kind=kind, id=r["id"], number=r["number"], title=r["title"],
            snippet=_record_snippet(q, *(r[f] for f in fields)),
            status=r["status"], customer=None, updated_at=r["updated_at"])
        for r in found.rows])


def _problems(readers: Readers, q: str, limit: int, scope: Scope) -> Group:
    return _record_group(PROBLEM, readers.problems.query(ProblemQuery(text=q, limit=limit)),
                         q, "title", "affected_system", "category", "number")


def _changes(readers: Readers, q: str, limit: int, scope: Scope) -> Group:
    return _record_group(CHANGE, readers.changes.query(ChangeQuery(text=q, limit=limit)),
                         q, "title", "affected_system", "origin_number", "number")


def _knowledge(readers: Readers, q: str, limit: int, scope: Scope) -> Group:
    found = readers.knowledge.search(KnowledgeQuery(q=q, limit=limit, **scope.knowledge))
    return Group(kind=KNOWLEDGE, more=found.next_cursor is not None, hits=[
        Hit(kind=KNOWLEDGE, id=h.row["id"], number=h.row["number"], title=h.row["title"],
            snippet=h.snippet, status=h.row["status"], customer=None,
            updated_at=h.row["updated_at"]) for h in found.hits])
