"""HTTP for complaints (投诉): ``/api/v1/complaints`` (issue 21 item 3, ADR 0066).

``POST /complaints {about: ticket|engineer|service, description, ticket? | engineer? |
service?, customer?, contact?}`` files one (``201`` + ``Location``); a requester files for
their own organisation (``customer`` left out: theirs; another: ``403``). Then, by a manager:
``assign_handler {handler?}`` (a manager who is not the engineer concerned: ``409`` naming
why), ``respond {message}``, ``resolve {resolution}``, ``close {note?}`` (``409`` naming
``customer_confirmation`` until the customer confirmed); by the customer (their requester, or
staff on their behalf): ``confirm {note?}`` or ``reject {reason}`` (back to handling).

Reads: ``GET /complaints?status=&customer=&ticket=&handler=&overdue=true&limit=&cursor=``
(the latest first), ``GET /complaints/{ref}`` (``?as_of=``), ``/history`` (staff) and
``GET /complaints/figures?from=&to=&customer=`` (the reports' figures: 处理及时率, 完成率).
A requester reads only their organisation's complaints (another's: ``404``). The
complainant's contact is masked for the roles that see contacts masked.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException
from litestar.params import QueryParameter

from adapters.http import kit
from adapters.http import params as p
from adapters.http.access import scoped_customer
from adapters.http.params import Cursor, limit, listed
from adapters.http.schemas import complaints as cps
from application import complaints as uc
from application.commands.complaints import (AssignComplaintHandler, CloseComplaint,
                                             ConfirmComplaint, FileComplaint,
                                             RejectComplaintResolution, ResolveComplaint,
                                             RespondToComplaint)
from application.desk import CommandResult, ServiceDesk
from application.records import filter_id
from domain.numbering import RecordKind

TAG = "complaints"


def _present(result: CommandResult, desk: ServiceDesk) -> cps.ComplaintView:
    return cps.complaint_view(result.aggregate, result.at)


COMPLAINTS = kit.Records("complaints", cps.ComplaintView, _present)


def _customer(request: Request[Any, Any, Any], given: str | None) -> str:
    """The organisation a complaint is for: a requester's own (``403`` for another), else
    the one given ("" when a ticket is to name it)."""
    own = scoped_customer(request, None)
    if own is None:
        return given or ""
    if given is not None and given.strip() and given.strip() != own:
        raise PermissionDeniedException(
            "requesters file complaints for their own organisation only")
    return own


file = COMPLAINTS.creates(
    "file", FileComplaint, cps.FileComplaint,
    "File a complaint about a ticket, an engineer or the service",
    lambda request, state, data: cps.file_command(data, _customer(request, data.customer)))


assign_handler = COMPLAINTS.command(
    AssignComplaintHandler, cps.AssignHandler,
    "Assign the complaint's handler: a manager who is not the engineer concerned")
respond = COMPLAINTS.command(RespondToComplaint, cps.Respond,
                             "Answer the customer (the first answer stops the response clock)")
resolve = COMPLAINTS.command(ResolveComplaint, cps.Resolve,
                             "Record what was done (awaits the customer's confirmation)")
confirm = COMPLAINTS.command(ConfirmComplaint, cps.Confirm,
                             "The customer confirms the resolution")
reject = COMPLAINTS.command(RejectComplaintResolution, cps.Reject,
                            "The customer is not satisfied: back to handling")
close = COMPLAINTS.command(CloseComplaint, cps.Close,
                           "Close a complaint the customer confirmed")


get_complaint = COMPLAINTS.read(
    "get_complaint", "A complaint (optionally as of a past time)", uc.get_complaint,
    cps.complaint_view, readable=uc.readable)


complaint_history = COMPLAINTS.history(
    "complaint_history", "Every event of a complaint, oldest first", uc.complaint_history)


@get(f"{kit.API}/complaints/figures", tags=[TAG],
     summary="Complaint figures for a period (default: the current month): filed, answered "
             "and closed within their limits")
@kit.threaded
def complaint_figures(request: Request[Any, Any, Any], state: State,
                      from_: p.PeriodFrom = None, to: p.PeriodTo = None,
                      customer: str | None = None) -> uc.ComplaintSection:
    services = kit.services_of(state)
    start, end = kit.compliance_period(services, from_, to)
    wanted = scoped_customer(request, customer or None)
    return uc.complaint_section(services.desk, wanted, start, end, services.desk.clock.now())


StatusFilter = listed(uc.STATUSES, "The complaint's status")
TicketFilter = Annotated[str | None, QueryParameter(
    description="Complaints about this ticket: its id or its SR-… number", max_length=100)]
Overdue = Annotated[bool, QueryParameter(
    description="Only open complaints past their response or closure limit")]
Limit = limit(50)


@get(f"{kit.API}/complaints", tags=[TAG],
     summary="List complaints (requesters: their organisation's)")
@kit.threaded
def list_complaints(request: Request[Any, Any, Any], state: State, status: StatusFilter = None,
                    customer: str | None = None, ticket: TicketFilter = None,
                    handler: str | None = None, overdue: Overdue = False, limit: Limit = 50,
                    cursor: Cursor = None) -> cps.ComplaintPage:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    page = uc.list_complaints(desk, uc.ComplaintQuery(
        now=now, statuses=kit.split_values(status, "status", set(uc.STATUSES)),
        customer=scoped_customer(request, customer or None),
        ticket=filter_id(ticket, RecordKind.SERVICE_REQUEST),
        handler=handler or None, overdue=overdue, limit=kit.parse_limit(limit),
        offset=kit.parse_cursor(cursor) or 0))
    return kit.page_body(cps.ComplaintPage, [cps.complaint_view(c, now) for c in page.items],
                         page.next_offset)


HANDLERS = [file, assign_handler, respond, resolve, confirm, reject, close, get_complaint,
            complaint_history, complaint_figures, list_complaints]
