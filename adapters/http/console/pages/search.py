"""The console's search page (issue 18, ADR 0050): ``/ui/search?q=&kinds=``.

One search box over tickets, problems, changes and knowledge, with the results grouped by
kind, each a link to its page and a snippet with the matches marked. It is the JSON API's
``GET /api/v1/search``: the same rule (``OPERATION_OPT``), the same scope of the caller
(``access.search_scope``: contacts searched only for roles that see them) and the same use
case (``application.search``). All kinds: ten hits each; one kind (``?kinds=ticket``): fifty.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.response import Template

from adapters.http import kit
from adapters.http.access import principal_of, search_scope
from adapters.http.console.records import page_route
from adapters.http.console.render import page
from application.search import DEFAULT_LIMIT, KINDS, MAX_LIMIT, search

#: Where each kind's hit links to (by its number).
PAGES = {"ticket": "/ui/tickets", "problem": "/ui/problems", "change": "/ui/changes",
         "knowledge": "/ui/knowledge"}
#: The message of each kind's status values (a status without one shows as it is).
STATUS_WORDS = {"ticket": "status", "problem": "problem.status", "change": "change.status",
                "knowledge": "kb.status"}


@page_route("/ui/search", "console-search")
def search_page(request: Request[Any, Any, Any], state: State, q: str = "",
                kinds: str | None = None) -> Template:
    services = kit.services_of(state)
    asked = kit.split_values(kinds, "kinds", set(KINDS))
    scope = search_scope(principal_of(request))
    text = q.strip()
    kit.read_your_writes(services)
    found = search(services, text, kinds=asked, scope=scope,
                   limit=MAX_LIMIT if len(asked) == 1 else DEFAULT_LIMIT)
    return page(request, "search/results.html", q=text, kinds=list(asked),
                all_kinds=[k for k in KINDS if k in scope.kinds], results=found,
                count=found.count, contacts=scope.contacts, pages=PAGES,
                status_words=STATUS_WORDS)


HANDLERS = [search_page]
