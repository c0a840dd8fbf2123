"""HTTP for the service catalogue (服务目录, issue 21 item 1, ADR 0061).

``PUT /api/v1/catalogue/{service_id} {name, class, form_schema, approval, sla_policy, …}``
defines or redefines a service with its whole definition: ``201`` when created, ``200`` when
changed or unchanged (an identical body records nothing), ``ETag: "<version>"``, ``If-Match``
honoured. ``GET /catalogue/{service_id}?as_of=`` shows the version in force then, ``GET
/catalogue`` every service. Ids are slugs: a bad one is a ``400`` on PUT, a ``404`` on GET.

A request through the catalogue is ``POST /api/v1/tickets {…, service_id, form}`` (the ticket
routes); ``POST /tickets/{ref}/approve {}`` and ``/reject {reason}`` decide a request that
waits in ``awaiting_approval``. A manager decides any; a requester of the ticket's
organisation only a request whose service asks the customer's approval (``403`` otherwise).
"""

from __future__ import annotations

import functools
from typing import Any

from litestar import Request, Response, get, post, put
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException

from adapters.http import kit
from adapters.http.access import ADMIN, MANAGER, principal_of
from adapters.http.openapi.contract import also_answers
from adapters.http.params import AsOf, NewSlug
from adapters.http.schemas import common as c
from adapters.http.schemas import service_catalogue as sc
from adapters.http.schemas import tickets as ts
from application import service_catalogue as uc
from application.commands.service_catalogue import (CUSTOMER, ApproveRequest, PutService,
                                                    RejectRequest)
from application.errors import RecordNotFound
from domain.sla import SLUG_RULE, valid_slug
from domain.ticket import Status

TAG = "catalogue"


@get(f"{kit.API}/catalogue", summary="The service catalogue (current versions)", tags=[TAG])
@kit.threaded
def list_services(state: State) -> sc.ServiceList:
    items = [sc.service_view(r) for r in uc.list_services(kit.services_of(state).desk)]
    return sc.ServiceList(items=items, count=len(items))


@get(f"{kit.API}/catalogue/{{service_id:str}}", tags=[TAG],
     summary="A catalogue service (optionally as of a time)")
@kit.threaded
def get_service(state: State, service_id: str, as_of: AsOf = None) -> Response[sc.ServiceView]:
    desk = kit.services_of(state).desk
    try:
        record = uc.get_service(desk, service_id, as_of=kit.parse_as_of(as_of))
    except RecordNotFound as e:
        raise NotFoundException(str(e)) from None
    return kit.versioned(sc.service_view(record), record.version)


@put(f"{kit.API}/catalogue/{{service_id:str}}", tags=[TAG], status_code=200,
     summary="Define or redefine a catalogue service (201 on its first version)",
     responses=also_answers(201, "Defined: the service's first version", sc.ServiceView))
@kit.threaded
def put_service(request: Request[Any, Any, Any], state: State, service_id: NewSlug,
                data: sc.ServiceIn) -> Response[sc.ServiceView]:
    if not valid_slug(service_id):
        raise ValidationException("bad id", extra=[
            {"key": "service_id", "message": f"not a valid id: {SLUG_RULE}"}])
    return kit.put_definition(request, state, data,
                              PutService(slug=service_id, definition=sc.definition(data)),
                              lambda record, desk: sc.service_view(record),
                              f"{kit.API}/catalogue/{service_id}")


# ------------------------------------------------------------ the approval


def _capacity(request: Request[Any, Any, Any], state: State, ref: str) -> str:
    """Whom the caller decides as: ``manager`` (a manager, an admin), else ``customer`` (the
    requester of the ticket's organisation, which the matrix's scoping already checked) —
    only on a request whose service asks the customer's approval (``403`` otherwise)."""
    roles = principal_of(request).roles
    if MANAGER in roles or ADMIN in roles:
        return "manager"
    ticket = kit.services_of(state).desk.get_ticket(ref)
    if ticket.status is not Status.AWAITING_APPROVAL:
        return CUSTOMER  # nothing to decide: the command answers the 409
    wanted = ticket.service_request.approval if ticket.service_request else "manager"
    if wanted != CUSTOMER:
        raise PermissionDeniedException(
            f"{ticket.number} needs a manager's approval; the customer approves only requests "
            "whose service asks for the customer's approval")
    return CUSTOMER


@post(f"{kit.API}/tickets/{{ref:str}}/approve", status_code=200, tags=["tickets"],
      summary="Approve a catalogue request awaiting approval: it moves on and its SLA clocks "
              "start now", name="ticket-approve",
      opt={kit.COMMAND_OPT: c.Empty, kit.STATE_OPT: ("ticket", "approve"),
           kit.COMMAND_CLASS_OPT: ApproveRequest,
           kit.BUILD_OPT: lambda ref, body: ApproveRequest(ref=ref)})
@functools.partial(kit.threaded, inline=True)
def approve(request: Request[Any, Any, Any], state: State, ref: str,
            data: c.Empty | None = None) -> Response[ts.TicketView]:
    command = ApproveRequest(ref=ref, capacity=_capacity(request, state, ref))
    return kit.run_command(request, state, data or c.Empty(), command, ref,
                           respond=kit.respond_ticket)


@post(f"{kit.API}/tickets/{{ref:str}}/reject", status_code=200, tags=["tickets"],
      summary="Reject a catalogue request awaiting approval, with the reason (it ends)",
      name="ticket-reject",
      opt={kit.COMMAND_OPT: c.Reason, kit.STATE_OPT: ("ticket", "reject"),
           kit.COMMAND_CLASS_OPT: RejectRequest,
           kit.BUILD_OPT: lambda ref, body: RejectRequest(ref=ref, reason=body.reason)})
@functools.partial(kit.threaded, inline=True)
def reject(request: Request[Any, Any, Any], state: State, ref: str,
           data: c.Reason) -> Response[ts.TicketView]:
    command = RejectRequest(ref=ref, reason=data.reason,
                            capacity=_capacity(request, state, ref))
    return kit.run_command(request, state, data, command, ref, respond=kit.respond_ticket)


HANDLERS = [list_services, get_service, put_service, approve, reject]
