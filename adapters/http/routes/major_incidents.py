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


from litestar import get
from litestar.datastructures import State

from adapters.http import kit
from adapters.http.params import Cursor, limit, listed
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


declare = INCIDENTS.creates(
    "declare", DeclareMajorIncident, mis.DeclareMajorIncident,
    "Declare a major incident on a ticket (a P1, or any ticket by a manager)",
    lambda request, state, data: mis.declare_command(data))


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


get_incident = INCIDENTS.read(
    "get_incident", "A major incident (optionally as of a past time)", uc.get_incident,
    mis.incident_view)


incident_history = INCIDENTS.history(
    "incident_history", "Every event of a major incident, oldest first", uc.incident_history)


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
    return kit.page_body(mis.MajorIncidentPage, [mis.incident_view(m, now) for m in page.items],
                         page.next_offset)


HANDLERS = [declare, post_update, assign_commander, record_review, open_problem, close,
            get_incident, incident_history, list_incidents]
