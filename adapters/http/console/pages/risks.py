"""Hidden risks on the console (隐患, issue 21 item 4, ADR 0067).

- ``GET /ui/risks?status=&severity=&overdue=``: every risk, open ones first and the soonest
  due first, as ``GET /api/v1/risks`` lists them for staff, and (for the roles that may record
  one) the form that records a risk as ``POST /api/v1/risks`` does (``POST /ui/risks``).
- ``GET /ui/risks/{ref}``: one risk, its follow-ups and timeline, and the ``follow_up``,
  ``remove`` and ``accept`` forms (``POST /ui/risks/{ref}/<verb>``, ``console.records``).
- ``GET /portal/risks`` and ``/portal/risks/{ref}``: a requester's organisation's risks, and
  the customer's acceptance (``POST /portal/risks/{ref}/accept``).

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.response import Template

from adapters.http import kit
from adapters.http.access import PORTAL, scoped_customer
from adapters.http.console.forms import form_body
from adapters.http.console.records import command_forms, create_form, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import risks as rs
from application import risks as uc
from application.commands.risks import RecordRisk
from domain.risk import SEVERITIES

COLLECTION, LABEL = "risks", "risk"
VERBS = ("follow_up", "remove", "accept")
PAGE_SIZE = 50


def _query(request: Request[Any, Any, Any], now: Any, status: str | None,
           severity: str | None, overdue: str | None, cursor: str | None) -> uc.RiskQuery:
    return uc.RiskQuery(
        now=now, statuses=kit.split_values(status, "status", set(uc.STATUSES)),
        severities=kit.split_values(severity, "severity", set(SEVERITIES)),
        customer=scoped_customer(request, None),
        overdue=True if overdue == "true" else None, limit=PAGE_SIZE,
        offset=kit.parse_cursor(cursor) or 0)


@page_route("/ui/risks", "console-risks")
def risk_list(request: Request[Any, Any, Any], state: State, status: str | None = None,
              severity: str | None = None, overdue: str | None = None,
              cursor: str | None = None) -> Template:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    found = uc.list_risks(desk, _query(request, now, status, severity, overdue, cursor))
    return page(request, "risks/list.html", items=[rs.risk_view(r, now) for r in found.items],
                next_cursor=found.next_offset, statuses=uc.STATUSES, severities=SEVERITIES,
                filters={"status": status or "", "severity": severity or "",
                         "overdue": overdue or ""})


def _record(request: Request[Any, Any, Any], state: State, form: Any) -> Any:
    """Records as ``POST /api/v1/risks`` does (its body, its command)."""
    body = form_body(form, rs.RecordRisk)
    return RecordRisk(**{f: getattr(body, f) for f in body.__struct_fields__})


record = create_form("/ui/risks", "console-risks-record", _record)


def _page(request: Request[Any, Any, Any], state: State, ref: str, template: str) -> Template:
    desk = kit.services_of(state).desk
    r = uc.readable(uc.get_risk(desk, ref), scoped_customer(request, None))
    view = rs.risk_view(r, desk.clock.now())
    commands = offered(request, r, LABEL, COLLECTION, VERBS)
    events = timeline(uc.risk_history(desk, r.id), words(request).when, shown="Recorded",
                      labels="rsk.event")
    return page(request, template, risk=view, commands=commands, timeline=events)


@page_route("/ui/risks/{ref:str}", "console-risk")
def risk_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    return _page(request, state, ref, "risks/page.html")


@page_route("/portal/risks", "console-portal-risks", audience=PORTAL)
def portal_risks(request: Request[Any, Any, Any], state: State, status: str | None = None,
                 cursor: str | None = None) -> Template:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    found = uc.list_risks(desk, _query(request, now, status, None, None, cursor))
    return page(request, "risks/portal.html", items=[rs.risk_view(r, now) for r in found.items],
                next_cursor=found.next_offset, filters={"status": status or ""})


@page_route("/portal/risks/{ref:str}", "console-portal-risk", audience=PORTAL)
def portal_risk(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    return _page(request, state, ref, "risks/portal_page.html")


HANDLERS = [risk_list, record, risk_page, portal_risks, portal_risk,
            *command_forms(COLLECTION, LABEL, VERBS),
            *command_forms(COLLECTION, LABEL, ("accept",), base="/portal", audience=PORTAL)]
