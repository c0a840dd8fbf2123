"""The problems' pages (问题管理, issue 18): ``/ui/problems`` (the problem list read model,
its filters in the URL) and ``/ui/problems/{ref}`` (header, linked tickets, root cause,
workaround, known error, the timeline, and the commands the state and the caller's roles
allow, each a form posting to ``/ui/problems/{ref}/<verb>``: ``console.records``).

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``) and
reads what that operation reads (``routes/problems.py``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.response import Template

from adapters.http import kit
from adapters.http.console.records import command_forms, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import problems as ps
from application import problems as uc
from domain.problem import Status
from projections.problem_list.view import ProblemQuery

COLLECTION, LABEL = "problems", "problem"
#: The commands the problem page has a form for (``link_tickets`` links one or several).
VERBS = ("classify", "link_tickets", "record_root_cause", "record_workaround",
         "mark_known_error", "resolve", "close")
STATUSES = tuple(s.value for s in Status)
PAGE_SIZE = 50


@page_route("/ui/problems", "console-problems")
def problem_list(request: Request[Any, Any, Any], state: State, status: str | None = None,
                 category: str | None = None, known_error: str | None = None,
                 cursor: str | None = None) -> Template:
    services = kit.services_of(state)
    q = ProblemQuery(
        statuses=kit.split_values(status, "status", set(STATUSES)),
        categories=kit.split_values(category, "category"),
        known_error={"true": True, "false": False}.get(known_error or ""),
        limit=PAGE_SIZE, after=kit.parse_cursor(cursor))
    kit.read_your_writes(services)
    found = services.problems.query(q)
    filters = {"status": status or "", "category": category or "",
               "known_error": known_error or ""}
    return page(request, "problems/list.html", items=[ps.problem_item(r) for r in found.rows],
                next_cursor=found.next_cursor, filters=filters, statuses=STATUSES)


@page_route("/ui/problems/{ref:str}", "console-problem")
def problem_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    desk = kit.services_of(state).desk
    problem = uc.get_problem(desk, ref)
    return page(request, "problems/page.html", problem=ps.problem_view(problem),
                commands=offered(request, problem, LABEL, COLLECTION, VERBS),
                timeline=timeline(uc.problem_history(desk, problem.id), words(request).when))


HANDLERS = [problem_list, problem_page, *command_forms(COLLECTION, LABEL, VERBS)]
