"""HTTP for field visits on a ticket (派工单 ``PG-…``, 外出登记, 技术服务单; issue 20 item 4,
ADR 0064).

Commands (each honours ``If-Match`` on the ticket and ``Idempotency-Key``):

- ``POST /tickets/{ref}/visits {engineer, planned_arrival, note?}`` plans a visit (``201``,
  the visit; ``Location: /api/v1/visits/{PG-…}``): dispatchers and managers (派工).
- ``POST /tickets/{ref}/visits/{visit}/reschedule {planned_arrival, reason, engineer?}``:
  dispatchers and managers.
- ``POST /tickets/{ref}/visits/{visit}/depart`` · ``/arrive`` · ``/leave {work_done,
  parts_used, signer}``: engineers (their own visits) and managers.

Reads: ``GET /tickets/{ref}/visits`` (``?as_of=``), ``GET /visits/{PG-…}`` and the
out-of-office register ``GET /visits?engineer=&status=&away=&from=&to=&customer=``. A
requester reads their organisation's visits only, without the desk's internal data (the
dispatcher's note, reschedule reasons, who planned it).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException
from litestar.params import QueryParameter

from adapters.http import kit
from adapters.http.access import (ADMIN, DISPATCHER, ENGINEER, MANAGER, customer_side,
                                  principal_of, scoped_customer)
from adapters.http.params import AS_OF_TEXT, AsOf, Cursor, limit, listed
from adapters.http.schemas.common import TIME_PATTERN
from adapters.http.schemas import common as s
from adapters.http.schemas import visits as vs
from application import visits as uc
from application.commands.visits import (ArriveVisit, DepartVisit, LeaveVisit, PlanVisit,
                                         RescheduleVisit)
from application.desk import CommandResult, ServiceDesk
from domain.visit import VisitStatus

TAG = "visits"
_T = f"{kit.API}/tickets/{{ref:str}}/visits"


def _respond(number: str | None = None) -> Any:
    """The answer of a visit command: the visit (the one just planned when ``number`` is
    ``None``), ``ETag`` the ticket's version."""

    def respond(result: CommandResult, desk: ServiceDesk) -> Response[vs.VisitView]:
        t = result.ticket
        wanted = number.strip().upper() if number else t.visits[-1].number
        visit = next(v for v in t.visits if v.number == wanted)
        headers = {"ETag": f'"{t.version}"'}
        if number is None:
            headers["Location"] = f"{kit.API}/visits/{visit.number}"
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
        return kit.json_answer(vs.visit_view(uc.VisitRow(visit, t), result.at),
                               status_code=201 if number is None else 200, headers=headers)

    return respond


def _own_visit(request: Request[Any, Any, Any], state: State, ref: str, visit: str) -> None:
    """An engineer (not a dispatcher or manager) records the steps of their own visits only."""
    roles = principal_of(request).roles
    if ENGINEER not in roles or roles & {DISPATCHER, MANAGER, ADMIN}:
        return
    t = kit.services_of(state).desk.get_ticket(ref)
    found = next((v for v in t.visits if v.number == visit.strip().upper()), None)
    if found is not None and found.engineer != principal_of(request).user_id:
        raise PermissionDeniedException(f"visit {found.number} is {found.engineer}'s")


@post(_T, status_code=201, tags=[TAG], summary="Plan a field visit (派工单) on a ticket",
      opt={kit.COMMAND_CLASS_OPT: PlanVisit})
@kit.threaded
def plan_visit(request: Request[Any, Any, Any], state: State, ref: str,
               data: vs.PlanVisit) -> Response[vs.VisitView]:
    return kit.run_command(request, state, data, PlanVisit(
        ref=ref, engineer=data.engineer, planned_arrival=data.planned_arrival, note=data.note),
        ref, respond=_respond())


@post(f"{_T}/{{visit:str}}/reschedule", status_code=200, tags=[TAG],
      summary="Reschedule a field visit (a new planned arrival, the reason)",
      opt={kit.COMMAND_CLASS_OPT: RescheduleVisit})
@kit.threaded
def reschedule_visit(request: Request[Any, Any, Any], state: State, ref: str, visit: str,
                     data: vs.RescheduleVisit) -> Response[vs.VisitView]:
    return kit.run_command(request, state, data, RescheduleVisit(
        ref=ref, visit=visit, planned_arrival=data.planned_arrival, reason=data.reason,
        engineer=data.engineer), ref, respond=_respond(visit))


def _step_route(step: str, command: type[DepartVisit | ArriveVisit], summary: str) -> Any:
    """``POST /tickets/{ref}/visits/{visit}/<step>`` with an optional ``occurred_at``."""

    def handler(request: Request[Any, Any, Any], state: State, ref: str, visit: str,
                data: vs.VisitStep | None = None) -> Response[vs.VisitView]:
        _own_visit(request, state, ref, visit)
        body = data or vs.VisitStep()
        return kit.run_command(request, state, body, command(
            ref=ref, visit=visit, occurred_at=body.occurred_at), ref, respond=_respond(visit))

    handler.__name__ = f"{step}_visit"
    return post(f"{_T}/{{visit:str}}/{step}", status_code=200, tags=[TAG], summary=summary,
                opt={kit.COMMAND_CLASS_OPT: command})(kit.threaded(handler))


depart_visit = _step_route("depart", DepartVisit, "The engineer left for the site (外出)")
arrive_visit = _step_route("arrive", ArriveVisit, "The engineer arrived on site")


@post(f"{_T}/{{visit:str}}/leave", status_code=200, tags=[TAG],
      summary="The engineer left the site with the technical service sheet (技术服务单)",
      opt={kit.COMMAND_CLASS_OPT: LeaveVisit})
@kit.threaded
def leave_visit(request: Request[Any, Any, Any], state: State, ref: str, visit: str,
                data: vs.LeaveVisit) -> Response[vs.VisitView]:
    _own_visit(request, state, ref, visit)
    return kit.run_command(request, state, data, LeaveVisit(
        ref=ref, visit=visit, work_done=data.work_done, parts_used=tuple(data.parts_used),
        signer=data.signer, occurred_at=data.occurred_at), ref, respond=_respond(visit))


@get(_T, tags=[TAG], summary="The field visits of a ticket (optionally as of a past time)")
@kit.threaded
def ticket_visits(request: Request[Any, Any, Any], state: State, ref: str,
                  as_of: AsOf = None) -> list[vs.VisitView]:
    desk = kit.services_of(state).desk
    when = kit.parse_as_of(as_of)
    internal = not customer_side(request)
    return [vs.visit_view(row, when or desk.clock.now(), internal)
            for row in uc.visits_of(desk, ref, when)]


@get(f"{kit.API}/visits/{{number:str}}", tags=[TAG], summary="A field visit by its PG- number")
@kit.threaded
def get_visit(request: Request[Any, Any, Any], state: State,
              number: str) -> vs.VisitView:
    desk = kit.services_of(state).desk
    row = uc.get_visit(desk, number, scoped_customer(request, None))
    return vs.visit_view(row, desk.clock.now(), not customer_side(request))


StatusFilter = listed([x.value for x in VisitStatus], "The visit's status")
Engineer = Annotated[str | None, QueryParameter(description="The engineer's user id",
                                                max_length=200)]
Away = Annotated[bool | None, QueryParameter(
    description="true: only the engineers out of the office now (departed or on site)")]
Limit = limit(50)
From = Annotated[str | None, QueryParameter(
    name="from", description=f"Visits out at or after this time: {AS_OF_TEXT}",
    schema_extra={"pattern": TIME_PATTERN})]
To = Annotated[str | None, QueryParameter(
    description=f"Visits out before this time: {AS_OF_TEXT}",
    schema_extra={"pattern": TIME_PATTERN})]


@get(f"{kit.API}/visits", tags=[TAG],
     summary="The out-of-office register (外出登记): field visits, latest first")
@kit.threaded
def out_of_office(request: Request[Any, Any, Any], state: State, engineer: Engineer = None,
                  status: StatusFilter = None, away: Away = None, customer: str | None = None,
                  from_: From = None, to: To = None,
                  limit: Limit = 50, cursor: Cursor = None) -> vs.VisitPage:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    page = uc.out_of_office(desk, uc.RegisterQuery(
        engineer=engineer, statuses=kit.split_values(status, "status",
                                                     {x.value for x in VisitStatus}),
        customer=scoped_customer(request, customer or None), away_at=now if away else None,
        start=kit.query_time(from_, "from"), end=kit.query_time(to, "to"),
        limit=kit.parse_limit(limit), offset=kit.parse_cursor(cursor) or 0))
    internal = not customer_side(request)
    return kit.page_body(vs.VisitPage, [vs.visit_view(row, now, internal) for row in page.items],
                         page.next_offset)


HANDLERS = [plan_visit, reschedule_visit, depart_visit, arrive_visit, leave_visit,
            ticket_visits, get_visit, out_of_office]
