"""HTTP for the knowledge base (知识库): ``/api/v1/knowledge`` (API.md "Problems", ADR 0020).

``GET /knowledge?q=&limit=&cursor=`` searches (Chinese and English; ``q`` empty lists the most
recently updated entries): known errors and solved problems, and the articles agents wrote,
best first, each with an HTML-safe ``snippet`` whose matches are in ``<mark>``…``</mark>``.
``POST /knowledge`` writes an article (``201`` + ``Location``), ``POST /knowledge/{ref}/revise``
records a revision with the full new text, ``/retire`` takes it out of the search; these
honour ``If-Match`` and ``Idempotency-Key`` like every command. ``GET /knowledge/{ref}``
(``KB-…``, ``PRB-…`` or an id; ``?as_of=``) shows one entry and ``/history`` its events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec.structs import asdict
from litestar import Request, Response, get, post
from litestar.datastructures import State
from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from adapters.http import kit
from adapters.http.params import AsOf, Cursor, limit, text
from application import knowledge as kb
from application.commands import knowledge as commands
from application.desk import CommandResult, ServiceDesk
from application.errors import RecordNotFound
from domain.article import MAX_TAG, MAX_TAGS, Article
from domain.errors import InvalidCommand
from projections.knowledge import projection as p
from projections.knowledge.projection import KnowledgeRow
from projections.knowledge.search import MAX_QUERY
from projections.knowledge.view import Hit, KnowledgeQuery

TAG = "knowledge"
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


def _view(events: list[Any]) -> EntryView | None:
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


def _entry(desk: ServiceDesk, ref: str, as_of: datetime | None) -> EntryView:
    entry = _view(kb.entry_events(desk, ref, as_of))
    if entry is None:
        raise RecordNotFound(ref, kb.ENTRY)
    return entry


def _article(result: CommandResult, desk: ServiceDesk) -> EntryView:
    """The article as this command left it (an idempotent repeat: as it was then)."""
    entry = _view(kb.entry_events(desk, str(result.aggregate.id))[: result.aggregate.version])
    assert entry is not None
    return entry


ARTICLES = kit.Records("knowledge", EntryView, _article)


# ----------------------------------------------------------------- commands


@post(f"{kit.API}/knowledge", status_code=201, summary="Write a knowledge article", tags=[TAG],
      opt={kit.COMMAND_CLASS_OPT: commands.WriteArticle})
@kit.threaded
def write_article(request: Request[Any, Any, Any], state: State,
                  data: WriteArticle) -> Response[EntryView]:
    return ARTICLES.create(request, state, data, commands.WriteArticle(**asdict(data)))


ARTICLE_COMMANDS = [
    ARTICLES.command(commands.ReviseArticle, ReviseArticle,
                     "Revise an article (the full new text; every revision is kept)"),
    ARTICLES.command(commands.RetireArticle, RetireArticle,
                     "Retire an article (no longer found; its history stays)"),
]


# -------------------------------------------------------------------- reads


Query = text("Words to search for (Chinese or English); empty: the most recent entries",
             MAX_QUERY)
Limit = limit(20)


def _query(q: str) -> str:
    if len(q) > MAX_QUERY:
        raise InvalidCommand.field("q", f"at most {MAX_QUERY} characters")
    return q


def _item(h: Hit) -> SearchItem:
    return msgspec.convert(_values(h.row) | {"score": h.score, "snippet": h.snippet},
                           SearchItem)


@get(f"{kit.API}/knowledge", summary="Search the knowledge base (Chinese and English)", tags=[TAG])
@kit.threaded
def search_knowledge(state: State, q: Query = "", limit: Limit = 20,
                     cursor: Cursor = None) -> KnowledgePage:
    services = kit.services_of(state)
    query = KnowledgeQuery(q=_query(q), limit=kit.parse_limit(limit), offset=kit.parse_cursor(cursor) or 0)
    kit.read_your_writes(services)
    found = services.knowledge.search(query)
    items = [_item(h) for h in found.hits]
    return KnowledgePage(items=items, next_cursor=found.next_cursor, count=len(items), q=q)


@get(f"{kit.API}/knowledge/{{ref:str}}", summary="A knowledge entry (optionally as of a past time)",
     tags=[TAG])
@kit.threaded
def get_entry(state: State, ref: str, as_of: AsOf = None) -> Response[EntryView]:
    entry = _entry(kit.services_of(state).desk, ref, kit.parse_as_of(as_of))
    return kit.versioned(entry, entry.version)


@get(f"{kit.API}/knowledge/{{ref:str}}/history",
     summary="Every event of an article (or of the problem behind an entry)", tags=[TAG])
@kit.threaded
def entry_history(state: State, ref: str) -> list[s.HistoryItem]:
    return kit.history_items(kb.entry_history(kit.services_of(state).desk, ref))


HANDLERS = [write_article, *ARTICLE_COMMANDS, search_knowledge, get_entry,
                      entry_history]
