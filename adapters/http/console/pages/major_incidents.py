"""Major incidents on the console (重大事件, issue 21 item 5, ADR 0067).

- ``GET /ui/major-incidents?status=``: every major incident, active first, and (for the roles
  that may declare one) the declaring form as ``POST /api/v1/major-incidents`` takes it
  (``POST /ui/major-incidents``; ``?ticket=SR-…`` fills in the ticket).
- ``GET /ui/major-incidents/{ref}``: one incident -- its commander, communication plan, the
  next update due (late when overdue), the updates and the missed ones, the review and the
  problem -- with the ``post_update``, ``assign_commander``, ``record_review``,
  ``open_problem`` and ``close`` forms (``POST /ui/major-incidents/{ref}/<verb>``); until the
  review is recorded the close form says that it is missing (the API's 409).

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.response import Template

from adapters.http import kit
from adapters.http.console.forms import form_body
from adapters.http.console.records import command_forms, create_form, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import major_incidents as mis
from application import major_incidents as uc

COLLECTION, LABEL = "major-incidents", "major incident"
VERBS = ("post_update", "assign_commander", "record_review", "open_problem", "close")
PAGE_SIZE = 50


@page_route("/ui/major-incidents", "console-major-incidents")
def incident_list(request: Request[Any, Any, Any], state: State, status: str | None = None,
                  ticket: str | None = None, cursor: str | None = None) -> Template:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    found = uc.list_incidents(desk, uc.IncidentQuery(
        now=now, statuses=kit.split_values(status, "status", set(uc.STATUSES)),
        limit=PAGE_SIZE, offset=kit.parse_cursor(cursor) or 0))
    return page(request, "major_incidents/list.html",
                items=[mis.incident_view(m, now) for m in found.items],
                next_cursor=found.next_offset, statuses=uc.STATUSES,
                filters={"status": status or ""}, ticket=(ticket or "").strip()[:100])


def _declare(request: Request[Any, Any, Any], state: State, form: Any) -> Any:
    """Declares as ``POST /api/v1/major-incidents`` does (its body, its command)."""
    return mis.declare_command(form_body(form, mis.DeclareMajorIncident))


declare = create_form("/ui/major-incidents", "console-major-incidents-declare", _declare)


@page_route("/ui/major-incidents/{ref:str}", "console-major-incident")
def incident_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    desk = kit.services_of(state).desk
    m = uc.get_incident(desk, ref)
    view = mis.incident_view(m, desk.clock.now())
    commands = offered(request, m, LABEL, COLLECTION, VERBS)
    events = timeline(uc.incident_history(desk, m.id), words(request).when, shown="Declared",
                      labels="mi.event")
    return page(request, "major_incidents/page.html", mi=view, commands=commands,
                timeline=events, missing=[] if m.review is not None else ["review"])


HANDLERS = [incident_list, declare, incident_page, *command_forms(COLLECTION, LABEL, VERBS)]
