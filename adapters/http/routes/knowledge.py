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

from typing import Any

from msgspec.structs import asdict
from litestar import Request, Response, get
from litestar.datastructures import State

from adapters.http.schemas import common as s
from adapters.http.schemas.knowledge import (EntryView, KnowledgePage, ReviseArticle,
                                             RetireArticle, WriteArticle, entry, entry_of,
                                             search, search_query)
from adapters.http import kit
from adapters.http.access import customer_side
from adapters.http.params import AsOf, Cursor, limit, text
from application import knowledge as kb
from application.commands import knowledge as commands
from application.desk import CommandResult, ServiceDesk
from projections.knowledge.search import MAX_QUERY

TAG = "knowledge"


def _article(result: CommandResult, desk: ServiceDesk) -> EntryView:
    """The article as this command left it (an idempotent repeat: as it was then)."""
    found = entry_of(kb.entry_events(desk, str(result.aggregate.id))[: result.aggregate.version])
    assert found is not None
    return found


ARTICLES = kit.Records("knowledge", EntryView, _article)


# ----------------------------------------------------------------- commands


write_article = ARTICLES.creates(
    "write_article", commands.WriteArticle, WriteArticle,
    "Write a knowledge article",
    lambda request, state, data: commands.WriteArticle(**asdict(data)))


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


@get(f"{kit.API}/knowledge", summary="Search the knowledge base (Chinese and English)", tags=[TAG])
@kit.threaded
def search_knowledge(request: Request[Any, Any, Any], state: State, q: Query = "",
                     limit: Limit = 20, cursor: Cursor = None) -> KnowledgePage:
    services = kit.services_of(state)
    query = search_query(q, kit.parse_limit(limit), kit.parse_cursor(cursor) or 0)
    kit.read_your_writes(services)
    return search(services.knowledge, query, requester=customer_side(request))


@get(f"{kit.API}/knowledge/{{ref:str}}", summary="A knowledge entry (optionally as of a past time)",
     tags=[TAG])
@kit.threaded
def get_entry(request: Request[Any, Any, Any], state: State, ref: str,
              as_of: AsOf = None) -> Response[EntryView]:
    found = entry(kit.services_of(state).desk, ref, kit.parse_as_of(as_of),
                  requester=customer_side(request))
    return kit.versioned(found, found.version)


@get(f"{kit.API}/knowledge/{{ref:str}}/history",
     summary="Every event of an article (or of the problem behind an entry)", tags=[TAG])
@kit.threaded
def entry_history(state: State, ref: str) -> list[s.HistoryItem]:
    return kit.history_items(kb.entry_history(kit.services_of(state).desk, ref))


HANDLERS = [write_article, *ARTICLE_COMMANDS, search_knowledge, get_entry,
                      entry_history]
