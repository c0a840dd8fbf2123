"""Repair orders on the console (设备送修单, issue 20 item 5, ADR 0065).

- ``GET /ui/repairs?status=&overdue=``: the orders, the latest sent first, as ``GET
  /api/v1/repairs`` lists them for staff (the deadline "by the second weekend" and the next
  written progress report, each flagged when passed), and (for the roles that may send) the
  form that sends a CI to a vendor, as ``POST /api/v1/repairs`` does (``POST /ui/repairs``).
- ``GET /ui/repairs/{ref}``: one order: its facts, progress reports and alarms, the quote and
  its approval, the parts replaced, the timeline, and the forms of its commands
  (``POST /ui/repairs/{ref}/<verb>``, ``console.records``), each offered only when the
  order's state admits it and the caller's role may call it.

- ``GET /portal/repairs`` and ``/portal/repairs/{ref}``: a requester's organisation's orders
  (scoped as the API scopes them: ``access.scoped_customer``), and the customer's written
  approval or rejection of a quote (``POST /portal/repairs/{ref}/approve_quote`` and
  ``/reject_quote``: the API's commands, recorded as the customer's own, not on their behalf).

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from adapters.http import kit
from adapters.http.access import AUDIENCE_OPT, OPERATION_OPT, PORTAL, customer_side, scoped_customer
from adapters.http.console.forms import form_body, run_form
from adapters.http.console.records import command_forms, create_form, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import repairs as rs
from application import repairs as uc
from application.commands.repairs import ApproveRepairQuote, RejectRepairQuote, SendForRepair

COLLECTION, LABEL = "repairs", uc.LABEL
VERBS = ("report_progress", "quote", "approve_quote", "reject_quote", "replace_part", "return",
         "close")
PAGE_SIZE = 50
API = kit.API


@page_route("/ui/repairs", "console-repairs")
def repair_list(request: Request[Any, Any, Any], state: State, status: str | None = None,
                overdue: str | None = None, ticket: str | None = None,
                cursor: str | None = None) -> Template:
    """``ticket``: a ticket's number (its page may link here): its orders, and the form
    filled in for it."""
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    late = (overdue or "").lower() in ("1", "true", "yes")
    found = uc.list_repairs(desk, uc.RepairQuery(
        now=now, statuses=kit.split_values(status, "status", set(uc.STATUSES)), overdue=late,
        limit=PAGE_SIZE, offset=kit.parse_cursor(cursor) or 0))
    return page(request, "repairs/list.html",
                items=[rs.repair_view(r, now) for r in found.items],
                next_cursor=found.next_offset, statuses=uc.STATUSES,
                filters={"status": status or "", "overdue": "true" if late else ""},
                ticket=(ticket or "").strip(),
                period=now.astimezone(desk.timezone).strftime("%Y-%m"))


def _send(request: Request[Any, Any, Any], state: State, form: Any) -> Any:
    """Sends as ``POST /api/v1/repairs`` does (its body, its command)."""
    b = form_body(form, rs.SendForRepair)
    return SendForRepair(ticket=b.ticket, ci=b.ci, vendor=b.vendor, fault=b.fault,
                         warranty=b.warranty, loaner_ci=b.loaner_ci)


send = create_form("/ui/repairs", "console-repairs-send", _send)


@page_route("/ui/repairs/{ref:str}", "console-repair")
def repair_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    desk = kit.services_of(state).desk
    r = uc.get_repair(desk, ref)
    view = rs.repair_view(r, desk.clock.now())
    commands = offered(request, r, LABEL, COLLECTION, VERBS)
    if r.warranty.value == "in":  # an in-warranty repair has no quote
        commands = [c for c in commands if c not in ("quote", "approve_quote", "reject_quote")]
    elif r.quote_status.value != "pending":
        commands = [c for c in commands if c not in ("approve_quote", "reject_quote")]
    events = timeline(uc.repair_history(desk, r.id), words(request).when)
    return page(request, "repairs/page.html", r=view, commands=commands, timeline=events)


@page_route("/portal/repairs", "console-portal-repairs", audience=PORTAL)
def portal_repairs(request: Request[Any, Any, Any], state: State) -> Template:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    found = uc.list_repairs(desk, uc.RepairQuery(
        now=now, customer=scoped_customer(request, None), limit=PAGE_SIZE))
    return page(request, "repairs/portal.html",
                items=[rs.repair_view(r, now) for r in found.items])


@page_route("/portal/repairs/{ref:str}", "console-portal-repair", audience=PORTAL)
def portal_repair(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    desk = kit.services_of(state).desk
    r = uc.readable(uc.get_repair(desk, ref), scoped_customer(request, None))
    decide = r.quote_status.value == "pending" and "approve_quote" in r.allowed_commands()
    return page(request, "repairs/portal_page.html", r=rs.repair_view(r, desk.clock.now()),
                decide=decide)


def _decision(verb: str) -> Any:
    """``POST /portal/repairs/{ref}/<verb>``: the customer's own decision on the quote."""

    async def handler(request: Request[Any, Any, Any], state: State, ref: str) -> Redirect:
        form = await request.form()

        def run() -> str:
            own = not customer_side(request)
            if verb == "approve_quote":
                b = form_body(form, rs.ApproveRepairQuote)
                command: Any = ApproveRepairQuote(ref=ref, reference=b.reference, on_behalf=own)
            else:
                body = form_body(form, rs.RejectRepairQuote)
                command = RejectRepairQuote(ref=ref, reason=body.reason, on_behalf=own)
            number = run_form(request, state, form, command, ref).aggregate.number
            return f"/portal/repairs/{number}"

        return Redirect(await request.app.state.run_blocking(run), status_code=303)

    handler.__name__ = f"portal_repair_{verb}"
    return post(f"/portal/repairs/{{ref:str}}/{verb}", name=f"console-portal-repair-{verb}",
                include_in_schema=False, status_code=303,
                opt={OPERATION_OPT: f"POST {API}/repairs/{{ref}}/{verb}",
                     AUDIENCE_OPT: PORTAL})(handler)


HANDLERS = [repair_list, send, repair_page, portal_repairs, portal_repair,
            _decision("approve_quote"), _decision("reject_quote"),
            *command_forms(COLLECTION, LABEL, VERBS)]
