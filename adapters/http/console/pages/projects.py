"""The delivery projects' pages (服务交付项目, issue 18): ``/ui/projects`` (as
``GET /api/v1/projects``, its filters in the URL) and ``/ui/projects/{ref}``: the contract,
the plan (立项, 交付计划 and the milestones the domain records), the routine operations with
their runs overdue, due soon and recently recorded (``application.projects.routine_runs``,
as ``GET /api/v1/projects/{ref}/routines``; each run still to do has its 巡检确认单 form),
the service reports (links to ``GET /api/v1/projects/{ref}/reports/{period}?format=html``,
which a browser opens with its session), surveys, checks, improvements, acceptances, the
timeline, and the commands the state and the caller's roles allow (``console.records``).

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import State
from litestar.response import Template

from adapters.http import kit
from adapters.http.access import scoped_customer
from adapters.http.console.records import command_forms, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import projects as ps
from application import projects as uc
from domain.project import IMPROVEMENT_SOURCES, CheckKind, OnHoliday, RoutineKind, Status

COLLECTION, LABEL = "projects", "project"
#: The commands the project page has a form for, in the order of the lifecycle.
VERBS = ("approve", "plan", "schedule_routine", "record_routine", "submit_report",
         "record_survey", "record_check", "raise_improvement", "accept", "close")
STATUSES = tuple(s.value for s in Status)
#: The runs the page shows: recorded or due from this long ago, due until this far ahead.
RUNS_BACK, RUNS_AHEAD = timedelta(days=31), timedelta(days=14)


@page_route("/ui/projects", "console-projects")
def project_list(request: Request[Any, Any, Any], state: State, customer: str | None = None,
                 status: str | None = None) -> Template:
    found = uc.list_projects(kit.services_of(state).desk,
                             customer=scoped_customer(request, customer or None),
                             statuses=kit.split_values(status, "status", set(STATUSES)))
    return page(request, "projects/list.html", items=[ps.project_view(p) for p in found],
                filters={"customer": customer or "", "status": status or ""},
                statuses=STATUSES)


def months(first: date, last: date) -> list[str]:
    """The months from ``first`` to ``last`` (both included), latest first: ``2026-11``."""
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month.strftime("%Y-%m"))
        month = (month + timedelta(days=32)).replace(day=1)
    return out[::-1]


@page_route("/ui/projects/{ref:str}", "console-project")
def project_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    services = kit.services_of(state)
    desk = services.desk
    project = uc.get_project(desk, ref)
    now = desk.clock.now()
    runs = [ps.run_view(r) for r in uc.routine_runs(desk, project.id, now=now,
                                                      due_before=now + RUNS_AHEAD,
                                                      since=now - RUNS_BACK)]
    today = now.astimezone(ZoneInfo(services.settings.timezone)).date()
    submitted = {period for period, _ in project.reports}
    reports = [{"period": m, "submitted": m in submitted}
               for m in months(project.contract_start, min(today, project.contract_end))]
    return page(request, "projects/page.html", project=ps.project_view(project),
                runs=runs, reports=reports, year=today.year,
                commands=offered(request, project, LABEL, COLLECTION, VERBS),
                routine_kinds=[k.value for k in RoutineKind],
                on_holiday=[h.value for h in OnHoliday],
                check_kinds=[k.value for k in CheckKind], sources=IMPROVEMENT_SOURCES,
                timeline=timeline(uc.project_history(desk, project.id), words(request).when))


HANDLERS = [project_list, project_page, *command_forms(COLLECTION, LABEL, VERBS)]
