"""Wire types of the knowledge endpoints (API.md "Problems", ADR 0020): strict request bodies,
an entry's view and the search page; and how an entry reads, for the API and the console.

An entry is folded from its record's events by the knowledge view's own rules
(``projections.knowledge.projection.apply``), so ``?as_of=`` and the console show an entry
exactly as the search finds it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from application import knowledge as kb
from application.desk import ServiceDesk
from application.errors import RecordNotFound
from domain.errors import InvalidCommand
from domain.article import MAX_TAG, MAX_TAGS, Article, Audience
from projections.knowledge import projection as p
from projections.knowledge.projection import KnowledgeRow
from projections.knowledge.search import MAX_QUERY
from projections.knowledge.view import Hit, KnowledgeQuery, KnowledgeView

Ref = s.Ref
Tag = Annotated[str, Meta(min_length=1, max_length=MAX_TAG, pattern=s.LINE)]


class ArticleIn(s.Input):
    title: s.Name
    symptoms: s.Text
    cause: s.Text = ""
    workaround: s.Text = ""
    solution: s.Text = ""
    tags: Annotated[list[Tag], Meta(max_length=MAX_TAGS)] = []
    tickets: s.Refs = []  # ids or SR- numbers
    # Who reads it (ADR 0052): ``public`` for the customers' requesters too; left out,
    # ``internal`` on a new article and unchanged on a revision.
    audience: Audience | None = None


class WriteArticle(ArticleIn):
    problem_id: Ref | None = None  # the problem the article is about (id or PRB- number)


class ReviseArticle(ArticleIn):
    note: s.Line = ""  # why it changed


class RetireArticle(s.Input):
    reason: s.Line


class TicketRef(Struct):
    id: str
    number: str


class EntryView(Struct):
    """One knowledge entry: an article (``source`` ``article``, status published/retired)
    or a problem's (``source`` ``problem``, the problem's status)."""

    id: str
    source: str
    number: str
    status: str
    title: str
    symptoms: str
    cause: str
    workaround: str
    solution: str
    tags: list[str]
    tickets: list[TicketRef]
    category: str | None
    problem_id: str | None
    change_id: str | None
    revision: int
    version: int
    created_at: str
    updated_at: str
    note: str | None = None  # articles: the last revision's note
    retired_reason: str | None = None
    audience: str = p.INTERNAL  # internal | public: who reads it (ADR 0052)


V = TypeVar("V", bound=EntryView)


class SearchItem(EntryView, kw_only=True):
    score: float
    snippet: str


class KnowledgePage(Struct):
    items: list[SearchItem]
    next_cursor: str | None
    count: int
    q: str


def _values(row: KnowledgeRow) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in row.items() if k != "visible"}
    values["tags"] = msgspec.json.decode(row["tags"])
    values["tickets"] = [{"id": i, "number": n} for i, n in p.tickets(row)]
    return values


def entry_view(row: KnowledgeRow, **extra: Any) -> EntryView:
    return msgspec.convert(_values(row) | extra, EntryView)


def entry_of(events: list[Any]) -> EntryView | None:
    """The entry after ``events`` by the knowledge view's own rules (``projection.apply``),
    with an article's last revision note and retirement reason."""
    row: KnowledgeRow | None = None
    for event in events:
        row = p.apply(row, event)
    if row is None or (row["source"] == "problem" and not row["visible"]):
        return None  # a problem is knowledge once it is a known error (or solved)
    notes = [e.note for e in events if isinstance(e, Article.Revised)]
    reasons = [e.reason for e in events if isinstance(e, Article.Retired)]
    return entry_view(row, note=(notes[-1] or None) if notes else None,
                      retired_reason=reasons[-1] if reasons else None)


def entry(desk: ServiceDesk, ref: str, as_of: datetime | None = None, *,
          requester: bool = False) -> EntryView:
    """The entry ``ref`` (``KB-…``, ``PRB-…`` or an id) as it stood at ``as_of`` (default:
    now); ``RecordNotFound`` when there is none (a problem not yet a known error included).
    ``requester``: as a customer's requester reads it (``for_requesters``), not found unless
    it was a published public article then."""
    found = entry_of(kb.entry_events(desk, ref, as_of))
    if found is not None and requester:
        found = for_requesters(found)
    if found is None:
        raise RecordNotFound(ref, kb.ENTRY)
    return found


def for_requesters(view: V) -> V | None:
    """What a customer's requester reads of an entry (ADR 0052): a published article whose
    audience is public, without what is the staff's (the tickets it was written from, the
    problem and change behind it, the revision note); ``None`` for anything else, which is
    answered as if it did not exist."""
    if view.source != "article" or view.status != "published" or view.audience != p.PUBLIC:
        return None
    return msgspec.structs.replace(view, tickets=[], problem_id=None, change_id=None,
                                   note=None, retired_reason=None)


def search_item(h: Hit) -> SearchItem:
    return msgspec.convert(_values(h.row) | {"score": h.score, "snippet": h.snippet},
                           SearchItem)


def search(knowledge: KnowledgeView, query: KnowledgeQuery, *,
           requester: bool = False) -> KnowledgePage:
    """The page of entries ``query`` finds; a requester's: the published public articles
    only, as ``for_requesters`` shows them (ADR 0052)."""
    if requester:
        query = replace(query, audience=p.PUBLIC)
    found = knowledge.search(query)
    items = [search_item(h) for h in found.hits]
    if requester:
        items = [x for x in map(for_requesters, items) if x is not None]
    return KnowledgePage(items=items, next_cursor=found.next_cursor, count=len(items), q=query.q)


def search_query(q: str, limit: int, offset: int) -> KnowledgeQuery:
    """The knowledge view's query for the words ``q``; a 422 naming ``q`` when too long."""
    if len(q) > MAX_QUERY:
        raise InvalidCommand.field("q", f"at most {MAX_QUERY} characters")
    return KnowledgeQuery(q=q, limit=limit, offset=offset)
