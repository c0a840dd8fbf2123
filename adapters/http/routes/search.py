"""HTTP for the desk's search (issue 18, ADR 0050): ``GET /api/v1/search``.

``?q=`` words (Chinese or English; every word must match), ``?kinds=`` one or more of
``ticket,problem,change,knowledge`` (default all), ``?limit=`` hits per kind (1 to 50, default
10). The answer groups the hits by kind, each hit typed the same way (kind, id, number, title,
an HTML-safe ``snippet`` with the matches in ``<mark>``…``</mark>``, status, customer, the
record's API path) and says whether a kind has more. What the caller finds is what they may
read (``access.search_scope``): a requester their organisation's tickets and the public
articles; the contact's name, phone and e-mail are searched only for roles that see them.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter
from msgspec import Struct

from adapters.http import kit
from adapters.http.access import principal_of, search_scope
from adapters.http.params import listed, text
from application.search import DEFAULT_LIMIT, KINDS, MAX_LIMIT, Group, Hit, search
from projections.knowledge.search import MAX_QUERY

TAG = "search"
_PATHS = {"ticket": "tickets", "problem": "problems", "change": "changes",
          "knowledge": "knowledge"}

Query = text("Words to search for (Chinese or English): every word must be in the record",
             MAX_QUERY)
Kinds = listed(KINDS, "Kinds of record to search (default: all)")
Limit = Annotated[int, QueryParameter(
    description=f"Hits per kind, 1 to {MAX_LIMIT}; default {DEFAULT_LIMIT}",
    schema_extra={"minimum": 1, "maximum": MAX_LIMIT})]


class SearchHit(Struct, frozen=True):
    kind: str  # ticket | problem | change | knowledge
    id: str
    number: str
    title: str
    snippet: str  # HTML-safe; the matches in <mark>…</mark>
    status: str
    customer: str | None  # tickets only
    updated_at: str
    href: str  # the record's path in this API


class SearchGroup(Struct, frozen=True):
    kind: str
    items: list[SearchHit]
    count: int
    more: bool  # more records of this kind match than the limit


class SearchPage(Struct, frozen=True):
    q: str
    groups: list[SearchGroup]
    count: int


def _hit(h: Hit) -> SearchHit:
    return SearchHit(kind=h.kind, id=h.id, number=h.number, title=h.title, snippet=h.snippet,
                     status=h.status, customer=h.customer, updated_at=h.updated_at,
                     href=f"{kit.API}/{_PATHS[h.kind]}/{h.id}")


def _group(g: Group) -> SearchGroup:
    items = [_hit(h) for h in g.hits]
    return SearchGroup(kind=g.kind, items=items, count=len(items), more=g.more)


def _limit(value: int) -> int:
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationException("bad limit", extra=[
            {"key": "limit", "message": f"must be from 1 to {MAX_LIMIT}"}])
    return value


def _q(value: str) -> str:
    if len(value) > MAX_QUERY:
        raise ValidationException("bad q", extra=[
            {"key": "q", "message": f"at most {MAX_QUERY} characters"}])
    return value


@get(f"{kit.API}/search", summary="Search tickets, problems, changes and knowledge",
     tags=[TAG])
@kit.threaded
def search_records(request: Request[Any, Any, Any], state: State, q: Query = "",
                   kinds: Kinds = None, limit: Limit = DEFAULT_LIMIT) -> SearchPage:
    services = kit.services_of(state)
    asked = kit.split_values(kinds, "kinds", set(KINDS))
    scope = search_scope(principal_of(request))
    query, most = _q(q), _limit(limit)
    kit.read_your_writes(services)
    found = search(services, query, kinds=asked, limit=most, scope=scope)
    groups = [_group(g) for g in found.groups]
    return SearchPage(q=q, groups=groups, count=sum(g.count for g in groups))


HANDLERS = [search_records]
