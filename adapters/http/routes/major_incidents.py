"""HTTP for major incidents (重大事件): ``/api/v1/major-incidents`` (issue 21 item 5, ADR 0067).

``POST /major-incidents {ticket, commander?, title?, communication?: {customers, informed,
interval_minutes}}`` declares one on a ticket (``201``): a P1 ticket, or any open ticket by a
manager (else ``409`` naming ``priority P1``). Commands: ``post_update {text}``,
``assign_commander {commander}``, ``record_review {summary, root_cause, actions?}``,
``open_problem {title?, description?, category?}`` (a ``PRB-`` problem from it, the ticket
linked), ``close {summary?}`` (``409`` naming ``review`` until the review is recorded). All
honour ``If-Match`` and ``Idempotency-Key`` like every command.

Reads (staff): ``GET /major-incidents?status=&customer=&limit=&cursor=``,
``GET /major-incidents/{ref}`` (``?as_of=``), ``/history``. Customers hear of an incident
through the notices of its communication plan and the public notes on their ticket.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State

from adapters.http import kit
from adapters.http.params import AsOf, Cursor, limit, listed
from adapters.http.schemas import common as s
from adapters.http.schemas import major_incidents as mis
from application import major_incidents as uc
from application.commands.major_incidents import (AssignCommander, CloseMajorIncident,
                                                  DeclareMajorIncident, OpenIncidentProblem,
                                                  PostIncidentUpdate, RecordIncidentReview)
from application.desk import CommandResult, ServiceDesk

TAG = "major-incidents"


def _present(result: CommandResult, desk: ServiceDesk) -> mis.MajorIncidentView:
    return mis.incident_view(result.aggregate, desk.clock.now())


INCIDENTS = kit.Records("major-incidents", mis.MajorIncidentView, _present)


@post(f"{kit.API}/major-incidents", status_code=201, tags=[TAG],
      summary="Declare a major incident on a ticket (a P1, or any ticket by a manager)",
      opt={kit.COMMAND_CLASS_OPT: DeclareMajorIncident})
@kit.threaded
def declare(request: Request[Any, Any, Any], state: State,
            data: mis.DeclareMajorIncident) -> Response[mis.MajorIncidentView]:
    return INCIDENTS.create(request, state, data, mis.declare_command(data))


post_update = INCIDENTS.command(PostIncidentUpdate, mis.PostIncidentUpdate,
                                "Post a status update (the next is due one interval later)")
assign_commander = INCIDENTS.command(AssignCommander, mis.AssignCommander,
                                     "Hand the incident's command to another person")
record_review = INCIDENTS.command(RecordIncidentReview, mis.RecordIncidentReview,
                                  "Record the post-incident review")
open_problem = INCIDENTS.command(OpenIncidentProblem, mis.OpenIncidentProblem,
                                 "Open a problem from the incident (its ticket linked)")
close = INCIDENTS.command(CloseMajorIncident, mis.CloseMajorIncident,
                          "Close the incident (after its post-incident review)")


@get(f"{kit.API}/major-incidents/{{ref:str}}", tags=[TAG],
     summary="A major incident (optionally as of a past time)")
@kit.threaded
def get_incident(state: State, ref: str,
                 as_of: AsOf = None) -> Response[mis.MajorIncidentView]:
    desk = kit.services_of(state).desk
    m = uc.get_incident(desk, ref, as_of=kit.parse_as_of(as_of))
    return kit.versioned(mis.incident_view(m, desk.clock.now()), m.version)


@get(f"{kit.API}/major-incidents/{{ref:str}}/history", tags=[TAG],
     summary="Every event of a major incident, oldest first")
@kit.threaded
def incident_history(state: State, ref: str) -> list[s.HistoryItem]:
    return kit.history_items(uc.incident_history(kit.services_of(state).desk, ref))


StatusFilter = listed(uc.STATUSES, "The incident's status")
Limit = limit(50)


@get(f"{kit.API}/major-incidents", tags=[TAG],
     summary="List major incidents (active first, the latest first)")
@kit.threaded
def list_incidents(state: State, status: StatusFilter = None, customer: str | None = None,
                   limit: Limit = 50, cursor: Cursor = None) -> mis.MajorIncidentPage:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    page = uc.list_incidents(desk, uc.IncidentQuery(
        now=now, statuses=kit.split_values(status, "status", set(uc.STATUSES)),
        customer=customer or None, limit=kit.parse_limit(limit),
        offset=kit.parse_cursor(cursor) or 0))
    items = [mis.incident_view(m, now) for m in page.items]
    return mis.MajorIncidentPage(items=items, count=len(items), next_cursor=None
                                 if page.next_offset is None else str(page.next_offset))


HANDLERS = [declare, post_update, assign_commander, record_review, open_problem, close,
            get_incident, incident_history, list_incidents]
