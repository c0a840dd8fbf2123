"""The knowledge base's pages (知识库, issue 18): ``/ui/knowledge?q=`` (the knowledge read
model's search, Chinese and English, as ``GET /api/v1/knowledge``), ``/ui/knowledge/{ref}``
(an entry as ``GET /api/v1/knowledge/{ref}`` reads it for staff: an article, or a known
error or solved problem; who reads it (its audience, ADR 0052); its history; what only staff
read: the tickets, problem and change behind it and the revision note; an article's commands:
``revise``, ``retire``) and ``/ui/knowledge/new`` (write an article, as
``POST /api/v1/knowledge``).

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template
from msgspec.structs import asdict

from adapters.http import kit
from adapters.http.access import AUDIENCE_OPT, OPERATION_OPT, STAFF
from adapters.http.console.forms import form_body
from adapters.http.console.records import command_forms, create_form, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import knowledge as ks
from application import knowledge as kb
from application.commands import knowledge as commands
from domain.article import Audience

COLLECTION, LABEL = "knowledge", "article"
AUDIENCES = tuple(a.value for a in Audience)
VERBS = ("revise", "retire")
PAGE_SIZE = 20


@page_route("/ui/knowledge", "console-knowledge")
def knowledge_search(request: Request[Any, Any, Any], state: State, q: str = "",
                     cursor: str | None = None) -> Template:
    services = kit.services_of(state)
    query = ks.search_query(q.strip(), PAGE_SIZE, kit.parse_cursor(cursor) or 0)
    kit.read_your_writes(services)
    found = ks.search(services.knowledge, query)
    return page(request, "knowledge/list.html", q=q.strip(), items=found.items,
                next_cursor=found.next_cursor)


@get("/ui/knowledge/new", name="console-knowledge-new", include_in_schema=False,
     opt={OPERATION_OPT: f"POST {kit.API}/knowledge", AUDIENCE_OPT: STAFF})
async def new_article(request: Request[Any, Any, Any], problem: str = "") -> Template:
    return page(request, "knowledge/new.html", problem=problem, audiences=AUDIENCES)


def _write(request: Request[Any, Any, Any], state: State, form: Any) -> Any:
    """Writes an article as ``POST /api/v1/knowledge`` does (its body, its command)."""
    zone = ZoneInfo(kit.services_of(state).settings.timezone)
    return commands.WriteArticle(**asdict(form_body(form, ks.WriteArticle, zone)))


write_article = create_form("/ui/knowledge", "console-knowledge-write", _write)


@page_route("/ui/knowledge/{ref:str}", "console-knowledge-entry")
def knowledge_entry(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    desk = kit.services_of(state).desk
    entry = ks.entry(desk, ref)
    article = kb.get_article(desk, entry.id) if entry.source == "article" else None
    return page(request, "knowledge/page.html", entry=entry, audiences=AUDIENCES,
                commands=offered(request, article, LABEL, COLLECTION, VERBS) if article else [],
                timeline=timeline(kb.entry_history(desk, entry.id), words(request).when))


HANDLERS = [knowledge_search, new_article, write_article, knowledge_entry,
            *command_forms(COLLECTION, LABEL, VERBS)]
