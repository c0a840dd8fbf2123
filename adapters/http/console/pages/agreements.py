"""Agreements (SLA / OLA / UC) and complaints (投诉) on the console (issue 21 items 2 and 3,
ADR 0066).

- ``GET /ui/agreements?kind=&expiring=``: every agreement, the soonest to end first, those
  ending within 30 days flagged, and (for managers) the form that concludes one, as ``POST
  /api/v1/agreements`` does (``POST /ui/agreements``; the targets one field per priority and
  clock).
- ``GET /ui/agreements/{ref}``: one agreement, its compliance this month, its timeline (its
  versions) and the ``revise`` / ``terminate`` forms.
- ``GET /ui/complaints?status=&overdue=``: every complaint, the latest first, and the form
  that files one (``POST /ui/complaints``).
- ``GET /ui/complaints/{ref}``: one complaint with its time limits, its timeline and the forms
  of the commands the caller may give (assign the handler, respond, resolve, confirm, reject,
  close).
- ``GET /portal/complaints``: a requester's organisation's complaints and the form that files
  one for it (``POST /portal/complaints``); ``/portal/complaints/{ref}`` with the customer's
  ``confirm`` / ``reject``.

Each page is governed by the rule of the API operation it shows (``records.page_route``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import State
from litestar.response import Template

from adapters.http import kit
from adapters.http.access import PORTAL, scoped_customer
from adapters.http.console.forms import form_body
from adapters.http.console.records import command_forms, create_form, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import agreements as ags
from adapters.http.schemas import complaints as cps
from application import agreements as agr
from application import complaints as cmp
from application.customers import list_customers
from domain.agreement import PRIORITIES

PAGE_SIZE = 50
AGREEMENT_VERBS = ("revise", "terminate")
COMPLAINT_VERBS = ("assign_handler", "respond", "resolve", "confirm", "reject", "close")
PORTAL_VERBS = ("confirm", "reject")
CLOCKS = ("response", "resolution")


# ------------------------------------------------------------------ agreements


@page_route("/ui/agreements", "console-agreements")
def agreement_list(request: Request[Any, Any, Any], state: State, kind: str | None = None,
                   expiring: str | None = None, cursor: str | None = None) -> Template:
    desk = kit.services_of(state).desk
    today = agr.today_of(desk, desk.clock.now())
    soon = (expiring or "").lower() in ("1", "true", "on")
    found = agr.list_agreements(desk, agr.AgreementQuery(
        today=today, kinds=kit.split_values(kind, "kind", set(agr.KINDS)), expiring=soon,
        limit=PAGE_SIZE, offset=kit.parse_cursor(cursor) or 0))
    return page(request, "agreements/list.html",
                items=[ags.agreement_view(a, today) for a in found.items],
                next_cursor=found.next_offset,
                filters={"kind": kind or "", "expiring": "true" if soon else ""},
                kinds=agr.KINDS, priorities=PRIORITIES, clocks=CLOCKS,
                customers=[c.customer for c in list_customers(desk)])


def _targets(form: Any) -> dict[str, dict[str, str]]:
    """The form's ``target.<priority>.<clock>`` fields as the body's ``targets``."""
    out: dict[str, dict[str, str]] = {}
    for p in PRIORITIES:
        for clock in CLOCKS:
            value = str(form.get(f"target.{p}.{clock}") or "").strip()
            if value:
                out.setdefault(p, {})[clock] = value
    return out


def _conclude(request: Request[Any, Any, Any], state: State, form: Any) -> Any:
    """Concludes as ``POST /api/v1/agreements`` does (its body, its command)."""
    body = form_body(form, ags.ConcludeAgreement)
    return ags.conclude_command(msgspec.structs.replace(body, targets=msgspec.convert(
        _targets(form), dict[str, ags.TargetIn])))


conclude = create_form("/ui/agreements", "console-agreements-conclude", _conclude)


@page_route("/ui/agreements/{ref:str}", "console-agreement")
def agreement_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    services = kit.services_of(state)
    desk = services.desk
    now = desk.clock.now()
    a = agr.get_agreement(desk, ref)
    start, end = kit.compliance_period(services, None, None)
    kit.read_your_writes(services)
    figures = ags.compliance_view(agr.compliance(services.tickets, desk, a, start, end, now))
    events = timeline(agr.agreement_history(desk, a.id), words(request).when, shown="Concluded")
    return page(request, "agreements/page.html", a=ags.agreement_view(a, agr.today_of(desk, now)),
                compliance=figures, timeline=events,
                commands=offered(request, a, "agreement", "agreements", AGREEMENT_VERBS))


# ------------------------------------------------------------------ complaints


def _complaint_list(request: Request[Any, Any, Any], state: State, status: str | None,
                    overdue: str | None, cursor: str | None, customer: str | None) -> Any:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    late = (overdue or "").lower() in ("1", "true", "on")
    found = cmp.list_complaints(desk, cmp.ComplaintQuery(
        now=now, statuses=kit.split_values(status, "status", set(cmp.STATUSES)),
        customer=customer, overdue=late, limit=PAGE_SIZE, offset=kit.parse_cursor(cursor) or 0))
    return dict(items=[cps.complaint_view(c, now) for c in found.items],
                next_cursor=found.next_offset,
                filters={"status": status or "", "overdue": "true" if late else ""},
                statuses=cmp.STATUSES, abouts=cmp.ABOUTS)


@page_route("/ui/complaints", "console-complaints")
def complaint_list(request: Request[Any, Any, Any], state: State, status: str | None = None,
                   overdue: str | None = None, cursor: str | None = None) -> Template:
    desk = kit.services_of(state).desk
    return page(request, "complaints/list.html",
                customers=[c.customer for c in list_customers(desk)],
                **_complaint_list(request, state, status, overdue, cursor, None))


def _file(request: Request[Any, Any, Any], state: State, form: Any) -> Any:
    """Files as ``POST /api/v1/complaints`` does: a requester's for its own organisation."""
    body = form_body(form, cps.FileComplaint)
    own = scoped_customer(request, None)
    return cps.file_command(body, own if own is not None else (body.customer or ""))


file_complaint = create_form("/ui/complaints", "console-complaints-file", _file)
portal_file_complaint = create_form("/portal/complaints", "console-portal-complaints-file",
                                    _file, audience=PORTAL)


def _complaint_page(request: Request[Any, Any, Any], state: State, ref: str,
                    verbs: tuple[str, ...], template: str) -> Template:
    desk = kit.services_of(state).desk
    c = cmp.readable(cmp.get_complaint(desk, ref), scoped_customer(request, None))
    events = timeline(cmp.complaint_history(desk, c.id), words(request).when, shown="Filed")
    return page(request, template, c=cps.complaint_view(c, desk.clock.now()), timeline=events,
                commands=offered(request, c, "complaint", "complaints", verbs))


@page_route("/ui/complaints/{ref:str}", "console-complaint")
def complaint_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    return _complaint_page(request, state, ref, COMPLAINT_VERBS, "complaints/page.html")


@page_route("/portal/complaints", "console-portal-complaints", audience=PORTAL)
def portal_complaints(request: Request[Any, Any, Any], state: State,
                      status: str | None = None) -> Template:
    return page(request, "complaints/portal.html", **_complaint_list(
        request, state, status, None, None, scoped_customer(request, None)))


@page_route("/portal/complaints/{ref:str}", "console-portal-complaint", audience=PORTAL)
def portal_complaint(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    return _complaint_page(request, state, ref, PORTAL_VERBS, "complaints/portal_page.html")


HANDLERS = [agreement_list, conclude, agreement_page, complaint_list, file_complaint,
            complaint_page, portal_complaints, portal_file_complaint, portal_complaint,
            *command_forms("agreements", "agreement", AGREEMENT_VERBS),
            *command_forms("complaints", "complaint", COMPLAINT_VERBS),
            *command_forms("complaints", "complaint", PORTAL_VERBS, base="/portal",
                           audience=PORTAL)]
