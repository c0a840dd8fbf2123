"""Delivery-project commands (DOMAIN §5, API.md "projects", ADR 0028): each names the ``Project``
method it calls and the event it records; fields are named as the bodies of
``POST /api/v1/projects[/{ref}/<verb>]`` (``adapters/http/project_schemas``).

Contracting a project saves, in one transaction: the project (``PRJ-YYYYMMDD-NNN``), the
day's number, the project directory (for listing) and the customer's ``ContractRecorded``
(the customer registered first when it is new): what the SLA clocks read, with no read model
in between. Routines: the rule is checked when scheduled (a 422 naming ``rrule``) and a
recorded ``run_at`` must be one of its runs (a 422 naming ``run_at``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from application.attachments import claim
from application.commands.base import Command, RecordCommand, command
from application.customers import customer_on_first_use
from application.projects import (
    LABEL,
    PERIOD,
    check_catalog,
    improvement_due,
    improvement_owner,
    project_calendar,
    routine_until,
)
from application.catalog import get_calendar
from application.recurrence import default_start, is_occurrence, parse_rule
from domain.customer import ContractTerms, normalise_customer_id
from domain.errors import InvalidCommand
from domain.numbering import RecordKind, record_id_for
from domain.project import Project, ProjectDirectory

if TYPE_CHECKING:
    from application.desk import Context, ServiceDesk


@command
class Contract:
    """The contract a project is made from (HTTP: ``Contract``)."""

    number: str
    services: Sequence[str]
    start: date
    end: date
    budget: str | None = None


@command
class ProjectCommand(RecordCommand):
    record_class = Project
    record_label = LABEL


@command
class ContractProject(Command):
    """``Project.contract`` → ``Project.Contracted`` (``PRJ-YYYYMMDD-NNN``), listed
    (``ProjectDirectory.Listed``), and the customer's ``Customer.record_contract`` →
    ``Customer.ContractRecorded`` (``Customer.Registered`` first for a new customer), in one
    save. HTTP: ``CreateProject`` (``contract`` converted to ``Contract``)."""

    record_class = Project
    record_label = LABEL
    verb = "contract"

    name: str
    customer: str
    contract: Contract
    sla_policy: str
    calendar: str

    def prepare(self, desk: ServiceDesk) -> None:
        check_catalog(desk, self.sla_policy, self.calendar)  # 422s naming them
        if not normalise_customer_id(self.customer):
            raise InvalidCommand.field("customer", "must not be empty")

    def decide(self, record: None, ctx: Context) -> Any:
        desk, at, actor, c = ctx.desk, ctx.at, ctx.actor, self.contract
        timezone = get_calendar(desk, self.calendar).definition.timezone
        number = ctx.issue(RecordKind.PROJECT)
        project = Project.contract(
            id=record_id_for(number), number=number, name=self.name, customer=self.customer,
            contract_number=c.number, services=tuple(c.services), start=c.start, end=c.end,
            budget=c.budget, sla_policy=self.sla_policy, calendar=self.calendar, actor=actor,
            at=at)
        customers = customer_on_first_use(desk, project.customer, at, actor)
        customers[0].record_contract(ContractTerms(
            project_id=str(project.id), project_number=number, start=c.start, end=c.end,
            sla_policy=self.sla_policy, calendar=self.calendar, timezone=timezone),
            actor=actor, at=at)
        directory = desk.load(ProjectDirectory.ID) or ProjectDirectory.open(at)
        directory.add(str(project.id), at)
        return (project, *customers, directory)


@command
class Approve(ProjectCommand):
    """``Project.approve`` → ``Project.Approved``. HTTP: ``Approve``."""

    verb = "approve"
    project_manager: str
    team: Sequence[str]

    def decide(self, p: Project, ctx: Context) -> None:
        p.approve(project_manager=self.project_manager, team=tuple(self.team),
                  actor=ctx.actor, at=ctx.at)


@command
class PlanProject(ProjectCommand):
    """``Project.make_plan`` → ``Project.Planned``. HTTP: ``Plan``."""

    verb = "plan"
    targets: str
    scope: str
    staff: Sequence[str]
    budget: str
    assessment: str
    duration: str | None = None

    def decide(self, p: Project, ctx: Context) -> None:
        p.make_plan(targets=self.targets, scope=self.scope, staff=tuple(self.staff),
                    budget=self.budget, assessment=self.assessment, duration=self.duration,
                    actor=ctx.actor, at=ctx.at)


def _new_routine_id() -> str:
    return str(uuid.uuid4())


@command
class ScheduleRoutine(ProjectCommand):
    """``Project.schedule_routine`` → ``Project.RoutineScheduled``; ``starts`` (DTSTART)
    defaults to the contract's first day at the calendar's opening time; ``routine_id`` (made
    with the command, so a retry keeps it) is the id of the new routine. HTTP:
    ``ScheduleRoutine``."""

    verb = "schedule_routine"
    name: str
    kind: str
    rrule: str
    on_holiday: str = "skip"
    starts: datetime | None = None
    until: datetime | None = None
    routine_id: str = field(default_factory=_new_routine_id)

    def decide(self, p: Project, ctx: Context) -> None:
        p.require(self.verb)
        cal = project_calendar(ctx.desk, p.calendar)
        first = self.starts if self.starts is not None else default_start(cal, p.contract_start)
        if first.tzinfo is None:
            raise InvalidCommand.field("starts", "a time with a UTC offset")
        parse_rule(self.rrule, first, cal.timezone)  # a 422 naming rrule
        p.schedule_routine(routine_id=self.routine_id, name=self.name, kind=self.kind,
                           rrule=self.rrule, on_holiday=self.on_holiday, starts=first,
                           until=self.until, actor=ctx.actor, at=ctx.at)


@command
class RecordRoutine(ProjectCommand):
    """``Project.record_routine`` → ``Project.RoutineRecorded``: the inspection record of one
    run; ``run_at`` must be one of the routine's runs. An abnormal verdict opens a ticket
    (``tickets.OpenRoutineTicket``, by ``application.routine_tickets``). HTTP:
    ``RecordRoutine``."""

    verb = "record_routine"
    routine_id: str
    run_at: datetime
    verdict: str
    signer: str
    findings: str = ""
    performed_at: datetime | None = None
    # Uploaded files (the scanned inspection sheet), linked to the project in the same save
    # (``application.attachments.claim``, ADR 0056).
    attachments: Sequence[str] = ()

    def decide(self, p: Project, ctx: Context) -> tuple[Any, ...] | None:
        p.require(self.verb)
        routine = p.routine(self.routine_id)
        if routine is None:
            raise InvalidCommand.field("routine_id",
                                       f"no routine {self.routine_id!r} in this project")
        if self.run_at.tzinfo is None:
            raise InvalidCommand.field("run_at", "a time with a UTC offset")
        cal = project_calendar(ctx.desk, p.calendar)
        if not is_occurrence(routine.rrule, self.run_at, starts=routine.starts,
                             until=routine_until(p, routine.until, cal.timezone),
                             on_holiday=routine.on_holiday, calendar=cal):
            raise InvalidCommand.field("run_at", "not a scheduled run of this routine")
        p.record_routine(routine_id=self.routine_id, run_at=self.run_at,
                         performed_at=self.performed_at or ctx.at, verdict=self.verdict,
                         findings=self.findings, signer=self.signer, actor=ctx.actor,
                         at=ctx.at)
        files = claim(ctx, self.attachments, kind="project", record_id=p.id, number=p.number)
        return files or None


@command
class SubmitReport(ProjectCommand):
    """``Project.submit_report`` → ``Project.ReportSubmitted`` (``period``: a month
    ``2026-11``, a quarter ``2026-Q4`` or a year). HTTP: ``SubmitReport``."""

    verb = "submit_report"
    period: str

    def decide(self, p: Project, ctx: Context) -> None:
        p.require(self.verb)  # the state first: a 409 whatever the period (issue 16)
        text = self.period.strip() if isinstance(self.period, str) else ""
        if not PERIOD.match(text):
            raise InvalidCommand.field("period",
                                       "a month 2026-11, a quarter 2026-Q4 or a year 2026")
        p.submit_report(period=text, actor=ctx.actor, at=ctx.at)


@command
class RecordSurvey(ProjectCommand):
    """``Project.record_survey`` → ``Project.SurveyRecorded``; a score ≤ 2 raises an
    improvement in the same save (``Project.ImprovementRaised``: owner
    ``improvement_owner``, due ``IMPROVEMENT_WORKING_DAYS`` working days later).
    HTTP: ``RecordSurvey``."""

    verb = "record_survey"
    timeliness: int
    effectiveness: int
    attitude: int
    comment: str = ""

    def decide(self, p: Project, ctx: Context) -> None:
        at, actor = ctx.at, ctx.actor
        low = p.record_survey(timeliness=self.timeliness, effectiveness=self.effectiveness,
                              attitude=self.attitude, comment=self.comment, actor=actor, at=at)
        if low:
            scores = {"timeliness": self.timeliness, "effectiveness": self.effectiveness,
                      "attitude": self.attitude}
            weak = ", ".join(f"{k} {v}" for k, v in scores.items() if v <= 2)
            p.raise_improvement(
                action=f"Follow up the low survey scores ({weak}): find the cause with the "
                       "customer and agree corrective steps",
                owner=improvement_owner(ctx.desk, p),
                due=improvement_due(ctx.desk, p.calendar, at),
                source="survey", reference=f"survey {len(p.surveys)}", actor=actor, at=at)


@command
class RaiseProjectImprovement(ProjectCommand):
    """``Project.raise_improvement`` → ``Project.ImprovementRaised``.
    HTTP: ``RaiseImprovement``."""

    verb = "raise_improvement"
    action: str
    owner: str
    due: date
    source: str = "check"
    reference: str | None = None


@command
class RecordCheck(ProjectCommand):
    """``Project.record_check`` → ``Project.CheckRecorded``. HTTP: ``RecordCheck``."""

    verb = "record_check"
    kind: str
    findings: str
    passed: bool


@command
class AcceptProject(ProjectCommand):
    """``Project.accept`` → ``Project.Accepted``; ``attachments``: uploaded files (the signed
    acceptance form) linked to the project in the same save (ADR 0056). HTTP: ``Accept``."""

    verb = "accept"
    signer: str
    passed: bool
    notes: str = ""
    attachments: Sequence[str] = ()

    def decide(self, p: Project, ctx: Context) -> tuple[Any, ...] | None:
        p.accept(signer=self.signer, passed=self.passed, notes=self.notes, actor=ctx.actor,
                 at=ctx.at)
        files = claim(ctx, self.attachments, kind="project", record_id=p.id, number=p.number)
        return files or None


@command
class CloseProject(ProjectCommand):
    """``Project.close`` → ``Project.Closed``. HTTP: ``Empty``."""

    verb = "close"
