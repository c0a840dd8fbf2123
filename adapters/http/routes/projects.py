"""HTTP for delivery projects (服务交付项目): ``/api/v1/projects`` (API.md "projects", ADR 0028).

``POST /projects`` contracts one (``201`` + ``Location``); ``POST /projects/{ref}/<command>``
runs ``approve``, ``plan``, ``schedule_routine`` (the answer's ``routine_id`` names the new
routine), ``record_routine``, ``submit_report``, ``record_survey``, ``record_check``,
``raise_improvement``, ``accept`` and ``close`` (commands of ``application.commands.projects``
built from the bodies); each answers the project's view with ``ETag``, honours ``If-Match``
(``412``) and ``Idempotency-Key``. ``GET /projects/{ref}``
(``?as_of=``), ``/history``, ``/routines?due_before=&since=&routine=`` (runs computed from the
project and its calendar) and the list ``GET /projects?customer=&status=`` read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from msgspec.structs import asdict
from litestar import Request, get
from litestar.datastructures import State

from adapters.http.schemas import projects as ps
from adapters.http.schemas import common as s
from adapters.http.access import scoped_customer
from adapters.http import kit
from adapters.http.params import listed, time
from application import projects as uc
from application.commands.projects import (
    AcceptProject,
    Approve,
    CloseProject,
    Contract,
    ContractProject,
    PlanProject,
    RaiseProjectImprovement,
    RecordCheck,
    RecordRoutine,
    RecordSurvey,
    ScheduleRoutine,
    SubmitReport,
)
from application.desk import CommandResult, ServiceDesk
from domain.project import Status

TAG = "projects"
DueBefore = time("Runs due before this time (default: now)")
Since = time("Runs due from this time on")


def _present(result: CommandResult, desk: ServiceDesk) -> ps.ProjectView:
    return ps.project_view(result.aggregate)


PROJECTS = kit.Records("projects", ps.ProjectView, _present)


def _contract_project_command(request: Request[Any, Any, Any], state: State,
                              data: ps.CreateProject) -> ContractProject:
    fields = asdict(data)
    fields["contract"] = Contract(**asdict(data.contract))
    return ContractProject(**fields)


contract_project = PROJECTS.creates(
    "contract_project", ContractProject, ps.CreateProject,
    "Contract a project",
    _contract_project_command)


def _with_new_routine(result: CommandResult, desk: ServiceDesk) -> ps.ProjectView:
    """The project's view with ``routine_id`` naming the routine just scheduled."""
    p = result.aggregate
    return ps.project_view(p, routine_id=p.routines[-1].routine_id if p.routines else None)


schedule_routine = replace(PROJECTS, present=_with_new_routine).command(
    ScheduleRoutine, ps.ScheduleRoutine, "Schedule a routine operation (RFC 5545 rule)")

PROJECT_COMMANDS = [
    PROJECTS.command(Approve, ps.Approve, "Approve the project (立项): manager and team"),
    PROJECTS.command(PlanProject, ps.Plan, "Record (or revise) the delivery plan"),
    PROJECTS.command(RecordRoutine, ps.RecordRoutine, "Record one run of a routine (巡检确认单)"),
    PROJECTS.command(SubmitReport, ps.SubmitReport,
                     "Record that the period's service report was submitted"),
    PROJECTS.command(RecordSurvey, ps.RecordSurvey, "Record a satisfaction survey by dimension"),
    PROJECTS.command(RecordCheck, ps.RecordCheck, "Record an execution check (交付执行检查)"),
    PROJECTS.command(RaiseProjectImprovement, ps.RaiseImprovement,
                     "Raise an improvement action (交付改进)"),
    PROJECTS.command(AcceptProject, ps.Accept, "Acceptance (验收), passed or not"),
    PROJECTS.command(CloseProject, s.Empty, "Close an accepted project"),
]


get_project = PROJECTS.read("get_project", "A project (optionally as of a past time)",
                            uc.get_project, lambda p, now: ps.project_view(p))


project_history = PROJECTS.history(
    "project_history", "Every event of a project, oldest first", uc.project_history)


@get(f"{kit.API}/projects/{{ref:str}}/routines",
     summary="Runs of the project's routines before due_before (default now)", tags=[TAG])
@kit.threaded
def routine_runs(state: State, ref: str, due_before: DueBefore = None,
                 since: Since = None, routine: str | None = None) -> ps.RunPage:
    desk = kit.services_of(state).desk
    items = uc.routine_runs(desk, ref, now=desk.clock.now(),
                            due_before=kit.query_time(due_before, "due_before"),
                            since=kit.query_time(since, "since"), routine_id=routine or None)
    return ps.RunPage(items=[ps.run_view(i) for i in items], count=len(items))


_STATUSES = {x.value for x in Status}
StatusFilter = listed(_STATUSES, "Project status")


@get(f"{kit.API}/projects", summary="List projects (newest first)", tags=[TAG])
@kit.threaded
def list_projects(request: Request[Any, Any, Any], state: State, customer: str | None = None,
                  status: StatusFilter = None) -> ps.ProjectPage:
    found = uc.list_projects(kit.services_of(state).desk, customer=scoped_customer(request, customer),
                             statuses=kit.split_values(status, "status", _STATUSES))
    items = [ps.project_view(p) for p in found]
    return ps.ProjectPage(items=items, next_cursor=None, count=len(items))


HANDLERS = [contract_project, *PROJECT_COMMANDS, schedule_routine, get_project,
                    project_history, routine_runs, list_projects]
