"""Spare parts and field visits on the console (备件, 派工单, 外出登记; ADR 0064).

- ``GET /ui/spare-parts``: every warehouse with its stock (part number, description, shelf,
  quantity), as ``GET /api/v1/warehouses/{slug}/stock`` answers, the latest requisitions, and
  (for the roles that may) the forms that receive stock (``POST /ui/spare-parts/receive``,
  the API's ``ReceiveStock``) and request parts for a ticket (``POST /ui/requisitions``, the
  API's ``RequestParts``).
- ``GET /ui/requisitions/{ref}``: a requisition (备件领用单), its arrival against the target,
  its timeline and its steps (``POST /ui/requisitions/{ref}/<step>``, ``console.records``).
- ``GET /ui/visits``: the out-of-office register (外出登记), as ``GET /api/v1/visits``.
- ``POST /ui/tickets/{ref}/visits`` (plan) and ``POST /ui/tickets/{ref}/visits/{visit}/<step>``:
  the ticket page's visit forms (``console/field_visits.py``), run as the API runs them,
  then ``303`` back to the ticket.

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, post
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect, Template

from adapters.http import kit
from adapters.http.access import (ADMIN, AUDIENCE_OPT, DISPATCHER, ENGINEER, MANAGER,
                                  OPERATION_OPT, STAFF, principal_of)
from adapters.http.console.field_visits import operation as visit_operation
from adapters.http.console.forms import form_body, run_form
from adapters.http.console.records import command_forms, create_form, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import spare_parts as sp
from adapters.http.schemas import visits as vs
from application import spare_parts as uc
from application import visits as visit_reads
from application.commands.spare_parts import ReceiveStock, RequestParts
from application.commands.visits import (ArriveVisit, DepartVisit, LeaveVisit, PlanVisit,
                                         RescheduleVisit)
from domain.visit import VisitStatus

API = kit.API
COLLECTION, LABEL = "requisitions", "requisition"
VERBS = ("dispatch", "arrive", "install", "return_faulty")
PAGE_SIZE = 50


@page_route("/ui/spare-parts", "console-spare-parts", operation=f"GET {API}/warehouses")
def stock_page(request: Request[Any, Any, Any], state: State) -> Template:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    stores = [{"w": sp.warehouse_view(w), "lines": [sp.stock_line_view(x)
                                                    for x in uc.stock(desk, w)]}
              for w in uc.warehouses(desk)]
    found = uc.list_requisitions(desk, uc.RequisitionQuery(limit=PAGE_SIZE))
    return page(request, "spare_parts/list.html", stores=stores,
                requisitions=[sp.requisition_view(r, now) for r in found.items])


@post("/ui/spare-parts/receive", name="console-spare-parts-receive", include_in_schema=False,
      status_code=303, opt={OPERATION_OPT: f"POST {API}/warehouses/{{slug}}/receive",
                            AUDIENCE_OPT: STAFF})
async def receive(request: Request[Any, Any, Any], state: State) -> Redirect:
    """A receipt into stock as ``POST /api/v1/warehouses/{slug}/receive`` runs it."""
    form = await request.form()

    def run() -> None:
        body = form_body(form, sp.ReceiveStock)
        slug = str(form.get("warehouse") or "")
        run_form(request, state, form, ReceiveStock(
            ref=slug, part_number=body.part_number, quantity=body.quantity,
            description=body.description, location=body.location, note=body.note))

    await request.app.state.run_blocking(run)
    return Redirect("/ui/spare-parts", status_code=303)


def _request_parts(request: Request[Any, Any, Any], state: State, form: Any) -> Any:
    """A requisition as ``POST /api/v1/requisitions`` runs it."""
    body = form_body(form, sp.RequestParts)
    return RequestParts(ticket=body.ticket, warehouse=body.warehouse,
                        part_number=body.part_number, quantity=body.quantity, note=body.note)


request_parts = create_form("/ui/requisitions", "console-requisitions-request", _request_parts)


@page_route("/ui/requisitions/{ref:str}", "console-requisition")
def requisition_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    desk = kit.services_of(state).desk
    r = uc.get_requisition(desk, ref)
    events = timeline(uc.requisition_history(desk, r.id), words(request).when)
    for e in events:  # their words: rec.event.Requisition<type> (``Requested`` is a change's)
        e["type"] = f"Requisition{e['type']}"
    return page(request, "spare_parts/requisition.html",
                q=sp.requisition_view(r, desk.clock.now()),
                commands=offered(request, r, LABEL, COLLECTION, VERBS), timeline=events)


@page_route("/ui/visits", "console-visits")
def register_page(request: Request[Any, Any, Any], state: State, engineer: str | None = None,
                  status: str | None = None, away: bool | None = None) -> Template:
    """The out-of-office register (外出登记)."""
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    statuses = kit.split_values(status, "status", {x.value for x in VisitStatus})
    found = visit_reads.out_of_office(desk, visit_reads.RegisterQuery(
        engineer=engineer or None, statuses=statuses, away_at=now if away else None,
        limit=PAGE_SIZE))
    return page(request, "visits/list.html",
                items=[vs.visit_view(row, now) for row in found.items],
                filters={"engineer": engineer or "", "status": status or "",
                         "away": "true" if away else ""},
                statuses=[x.value for x in VisitStatus])


# ---------------------------------------------------------------- visit forms


def _back(number: str) -> Redirect:
    return Redirect(f"/ui/tickets/{number}#visits", status_code=303)


@post("/ui/tickets/{ref:str}/visits", name="console-visit-plan", include_in_schema=False,
      status_code=303, opt={OPERATION_OPT: visit_operation("plan"), AUDIENCE_OPT: STAFF})
async def plan(request: Request[Any, Any, Any], state: State, ref: str) -> Redirect:
    form = await request.form()

    def run() -> str:
        zone = ZoneInfo(kit.services_of(state).settings.timezone)
        body = form_body(form, vs.PlanVisit, zone)
        return str(run_form(request, state, form, PlanVisit(
            ref=ref, engineer=body.engineer, planned_arrival=body.planned_arrival,
            note=body.note), ref).aggregate.number)

    return _back(await request.app.state.run_blocking(run))


def _step_command(step: str, ref: str, visit: str, form: Any, zone: ZoneInfo) -> Any:
    if step == "reschedule":
        b = form_body(form, vs.RescheduleVisit, zone)
        return RescheduleVisit(ref=ref, visit=visit, planned_arrival=b.planned_arrival,
                               reason=b.reason, engineer=b.engineer)
    if step == "leave":
        b = form_body(form, vs.LeaveVisit, zone)
        return LeaveVisit(ref=ref, visit=visit, work_done=b.work_done,
                          parts_used=tuple(b.parts_used), signer=b.signer,
                          occurred_at=b.occurred_at)
    at = form_body(form, vs.VisitStep, zone).occurred_at
    return (DepartVisit if step == "depart" else ArriveVisit)(ref=ref, visit=visit,
                                                               occurred_at=at)


def _step_form(step: str) -> Any:
    async def handler(request: Request[Any, Any, Any], state: State, ref: str,
                      visit: str) -> Redirect:
        form = await request.form()

        def run() -> str:
            desk = kit.services_of(state).desk
            roles = principal_of(request).roles
            if step != "reschedule" and ENGINEER in roles and not roles & {
                    DISPATCHER, MANAGER, ADMIN}:
                t = desk.get_ticket(ref)
                own = next((v for v in t.visits if v.number == visit.strip().upper()), None)
                if own is not None and own.engineer != principal_of(request).user_id:
                    raise PermissionDeniedException(f"visit {own.number} is {own.engineer}'s")
            zone = ZoneInfo(kit.services_of(state).settings.timezone)
            command = _step_command(step, ref, visit, form, zone)
            return str(run_form(request, state, form, command, ref).aggregate.number)

        return _back(await request.app.state.run_blocking(run))

    handler.__name__ = f"console_visit_{step}"
    return post(f"/ui/tickets/{{ref:str}}/visits/{{visit:str}}/{step}",
                name=f"console-visit-{step}", include_in_schema=False, status_code=303,
                opt={OPERATION_OPT: visit_operation(step), AUDIENCE_OPT: STAFF})(handler)


HANDLERS = [stock_page, receive, request_parts, requisition_page, register_page, plan,
            *(_step_form(s) for s in ("reschedule", "depart", "arrive", "leave")),
            *command_forms(COLLECTION, LABEL, VERBS)]
