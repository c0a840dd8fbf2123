"""The manager's pages (issue 18): the dashboard, the SLA compliance board and the service
reports, with charts drawn as inline SVG (``templates/_charts.html``).

- ``GET /ui/dashboard?days=14|30``: open tickets by priority, the clocks breached today (in
  the service's zone), the backlog trend (reported and resolved per day, the backlog at each
  day's end) and the engineers' load, each linking to the desk's queue it counts
  (``application.dashboard``: indexed aggregate queries of the ticket list read model, no
  aggregate loaded).
- ``GET /ui/sla?from=&to=&by=priority|customer``: response and resolution clocks met and
  missed per priority or customer, with percentages: the figures of
  ``GET /api/v1/sla/compliance`` for the same period (``kit.compliance_period``,
  ``kit.compliance``), the current month by default.
- ``GET /ui/reports``: every project's service reports (months, quarters, years of its
  contract so far) as links to ``GET /api/v1/projects/{ref}/reports/{period}?format=html``,
  which a browser opens with its session cookie and prints.

The dashboard and the board show SLA figures: they are governed by
``GET /api/v1/sla/compliance`` (dispatchers, managers, auditors, admins); the report list by
``GET /api/v1/projects``. Nothing here changes anything: no forms but the period's (GET).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.response import Template

from adapters.http import kit
from adapters.http import params as p
from adapters.http.console.records import page_route
from adapters.http.console.render import page
from application import dashboard as figures
from application import projects as uc
from application.report_period import periods_between
from projections.ticket_list.view import OPEN_STATUSES

COMPLIANCE = f"GET {kit.API}/sla/compliance"
#: The priorities a chart shows, in order; ``none``: not classified yet.
PRIORITIES = (*figures.PRIORITIES, "none")
OPEN = ",".join(s.value for s in OPEN_STATUSES)
BY = ("priority", "customer")
#: How many of a project's latest months the report list links.
REPORT_MONTHS = 6


def desk_url(**filters: str) -> str:
    """The desk's queue of every ticket (``/ui/?queue=all``) narrowed by ``filters``."""
    return "/ui/?" + urlencode({"queue": "all", **filters})


@page_route("/ui/dashboard", "console-dashboard", operation=COMPLIANCE)
def dashboard(request: Request[Any, Any, Any], state: State,
              days: str | None = None) -> Template:
    services = kit.services_of(state)
    span = _days(days)
    kit.read_your_writes(services)
    zone = services.desk.timezone
    d = figures.dashboard(services, services.desk.clock.now(), zone, days=span)
    by_priority = [{"priority": x.priority or "none", "open": x.open,
                    "awaiting": x.awaiting_acceptance,
                    "href": desk_url(priority=x.priority, status=OPEN) if x.priority else None}
                   for x in d.by_priority]
    load = [{"assignee": x.assignee, "open": x.open,
             "values": [x.by_priority.get(None if k == "none" else k, 0) for k in PRIORITIES],
             "href": desk_url(assignee=x.assignee, status=OPEN)} for x in d.load]
    shown = [k for i, k in enumerate(PRIORITIES) if any(x["values"][i] for x in load)]
    for x in load:  # only the priorities someone has, so the legend names no empty series
        x["values"] = [v for k, v in zip(PRIORITIES, x["values"]) if k in shown]
    return page(request, "dashboard/home.html", now=d.now, today=d.today.isoformat(),
                open=d.open, unresolved=d.unresolved, unassigned=d.unassigned,
                by_priority=by_priority, load=load, load_priorities=shown,
                breaches=d.breaches, breach_count=d.breach_count,
                trend=[{"day": x.day.isoformat(), "opened": x.opened, "resolved": x.resolved,
                        "invalidated": x.invalidated, "backlog": x.backlog} for x in d.trend],
                days=span, spans=figures.TREND_DAYS,
                links={"unassigned": "/ui/?queue=unassigned",
                       "breaching": "/ui/?queue=breaching",
                       "open": desk_url(status=OPEN)})


def _days(value: str | None) -> int:
    if value is None or not value.strip():
        return figures.TREND_DAYS[0]
    if value.strip() not in {str(n) for n in figures.TREND_DAYS}:
        raise ValidationException("bad days", extra=[{
            "key": "days", "message": "one of " + ", ".join(map(str, figures.TREND_DAYS))}])
    return int(value)


@page_route("/ui/sla", "console-sla", operation=COMPLIANCE)
def sla_board(request: Request[Any, Any, Any], state: State, from_: p.PeriodFrom = None,
              to: p.PeriodTo = None, by: str | None = None) -> Template:
    services = kit.services_of(state)
    dimension = (by or "").strip() or BY[0]
    if dimension not in BY:
        raise ValidationException("bad by", extra=[
            {"key": "by", "message": "one of " + ", ".join(BY)}])
    start, end = kit.compliance_period(services, from_ or None, to or None)
    c = kit.compliance(services, start, end)
    groups = c.by_priority if dimension == "priority" else c.by_customer
    if dimension == "priority":
        groups = sorted(groups, key=lambda g: g.priority or "P9")
    zone = services.desk.timezone
    first = start.astimezone(zone).date()
    last = (end.astimezone(zone) - timedelta(microseconds=1)).date()
    today = services.desk.clock.now().astimezone(zone).date()
    return page(request, "dashboard/sla.html", c=c, groups=groups, by=dimension, dimensions=BY,
                first=first.isoformat(), last=last.isoformat(),
                quick=_quick_periods(today, dimension),
                api=f"{kit.API}/sla/compliance?" + urlencode(
                    {"from": first.isoformat(), "to": last.isoformat()}))


def _quick_periods(today: date, by: str) -> list[dict[str, str]]:
    """This month, last month, this quarter, this year: ``key`` (for its words) and ``href``."""
    month = today.replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    quarter = month.replace(month=3 * ((month.month - 1) // 3) + 1)
    spans = {"this_month": (month, today), "last_month": (last_month, month - timedelta(days=1)),
             "this_quarter": (quarter, today), "this_year": (month.replace(month=1), today)}
    return [{"key": k, "href": "/ui/sla?" + urlencode(
        {"from": a.isoformat(), "to": b.isoformat(), "by": by})} for k, (a, b) in spans.items()]


@page_route("/ui/reports", "console-reports", operation=f"GET {kit.API}/projects")
def reports(request: Request[Any, Any, Any], state: State) -> Template:
    services = kit.services_of(state)
    today = services.desk.clock.now().astimezone(services.desk.timezone).date()
    items = []
    for project in uc.list_projects(services.desk):
        last = min(today, project.contract_end)
        items.append({
            "number": project.number, "name": project.name, "customer": project.customer,
            "status": project.status.value,
            "start": project.contract_start.isoformat(), "end": project.contract_end.isoformat(),
            "months": periods_between(project.contract_start, last)[:REPORT_MONTHS],
            "quarters": periods_between(project.contract_start, last, "quarter")[:2],
            "years": periods_between(project.contract_start, last, "year")[:2],
            "submitted": [period for period, _ in project.reports]})
    return page(request, "dashboard/reports.html", projects=items)


HANDLERS = [dashboard, sla_board, reports]
