"""Wire types of the project endpoints (API.md "projects"): strict request bodies, the project
view, the list page and the routine runs. Times in responses are UTC (``Z``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from application.projects import RunItem
from domain.project import Project

Names = Annotated[list[s.Name], Meta(max_length=100)]


class Contract(s.Input):
    number: s.Name
    services: Annotated[list[s.Name], Meta(min_length=1, max_length=100)]
    start: date
    end: date
    budget: s.Short | None = None


class CreateProject(s.Input):
    name: s.Name
    customer: s.Name
    contract: Contract
    sla_policy: s.Name
    calendar: s.Name


class Approve(s.Input):
    project_manager: s.Name
    team: Names


class Plan(s.Input):
    targets: s.Text
    scope: s.Text
    staff: Names
    budget: s.Short
    assessment: s.Text
    duration: s.Short | None = None


class ScheduleRoutine(s.Input):
    name: s.Name
    kind: s.Short  # inspection | backup | monitoring | drill | maintenance
    rrule: Annotated[str, Meta(min_length=1, max_length=500, pattern=s.TEXT)]
    on_holiday: s.Short = "skip"  # skip | next_workday
    starts: s.AwareTime | None = None  # DTSTART; default: the contract's first day, opening
    until: s.AwareTime | None = None


class RecordRoutine(s.Input):
    routine_id: s.Name
    run_at: s.AwareTime
    verdict: s.Short  # normal | abnormal
    signer: s.Name
    findings: s.Text = ""
    performed_at: s.AwareTime | None = None  # default: when recorded
    attachments: s.Refs = []  # uploaded files: the scanned inspection sheet (ADR 0056)


class SubmitReport(s.Input):
    period: s.Short  # 2026-11 | 2026-Q4 | 2026


class RecordSurvey(s.Input):
    timeliness: int
    effectiveness: int
    attitude: int
    comment: s.Text = ""


class RaiseImprovement(s.Input):
    action: s.Text
    owner: s.Name
    due: date
    source: s.Short = "check"  # survey | feedback | check | acceptance
    reference: s.Short | None = None


class RecordCheck(s.Input):
    kind: s.Short  # complaint | internal_audit | external_audit | satisfaction_review
    findings: s.Text
    passed: bool


class Accept(s.Input):
    signer: s.Name
    passed: bool
    notes: s.Text = ""
    attachments: s.Refs = []  # uploaded files: the signed acceptance form (ADR 0056)


class RoutineView(Struct):
    routine_id: str
    name: str
    kind: str
    rrule: str
    on_holiday: str
    starts: datetime
    until: datetime | None
    scheduled_at: datetime


class RunRecord(Struct):
    routine_id: str
    run_at: datetime
    performed_at: datetime
    verdict: str
    findings: str
    signer: str
    recorded_at: datetime
    recorded_by: str
    ticket_id: str | None
    ticket_number: str | None


class ProjectView(Struct):
    id: UUID
    number: str
    name: str
    status: str
    customer: str
    contract: dict[str, Any]
    sla_policy: str
    calendar: str
    project_manager: str | None
    team: list[str]
    plan: dict[str, Any] | None
    routines: list[RoutineView]
    runs: list[RunRecord]
    reports: list[dict[str, Any]]
    surveys: list[dict[str, Any]]
    improvements: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    acceptances: list[dict[str, Any]]
    approved_at: datetime | None
    planned_at: datetime | None
    accepted_at: datetime | None
    closed_at: datetime | None
    contracted_at: datetime
    created_by: str
    updated_at: datetime
    version: int
    allowed_commands: list[str]
    routine_id: str | None = None  # the routine a schedule_routine just added


class ProjectPage(Struct):
    items: list[ProjectView]
    next_cursor: str | None
    count: int


class RunView(Struct):
    routine_id: str
    name: str
    kind: str
    run_at: datetime
    status: str  # due | overdue | done | abnormal
    overdue_after: datetime
    record: RunRecord | None


class RunPage(Struct):
    items: list[RunView]
    count: int


def _utc(value: datetime | None) -> datetime | None:
    return s.utc(value) if value is not None else None


def _stamped(items: Any, at: str) -> list[dict[str, Any]]:
    """Value objects as plain dicts with their recording time in UTC."""
    out = []
    for item in items:
        d = dict(item.__dict__)
        d[at] = s.utc(d[at])
        out.append(d)
    return out


def run_record(r: Any) -> RunRecord:
    return RunRecord(routine_id=r.routine_id, run_at=s.utc(r.run_at),
                     performed_at=s.utc(r.performed_at), verdict=r.verdict,
                     findings=r.findings, signer=r.signer, recorded_at=s.utc(r.recorded_at),
                     recorded_by=r.actor, ticket_id=r.ticket_id, ticket_number=r.ticket_number)


def project_view(p: Project, routine_id: str | None = None) -> ProjectView:
    return s.copied(
        ProjectView, p,
        status=p.status.value,
        contract={"number": p.contract_number, "services": list(p.services),
                  "start": p.contract_start.isoformat(), "end": p.contract_end.isoformat(),
                  "budget": p.budget},
        team=list(p.team), plan=dict(p.plan) if p.plan is not None else None,
        routines=[RoutineView(routine_id=r.routine_id, name=r.name, kind=r.kind, rrule=r.rrule,
                              on_holiday=r.on_holiday, starts=s.utc(r.starts),
                              until=_utc(r.until), scheduled_at=s.utc(r.scheduled_at))
                  for r in p.routines],
        runs=[run_record(r) for r in p.runs],
        reports=[{"period": period, "submitted_at": s.utc(at)} for period, at in p.reports],
        surveys=_stamped(p.surveys, "recorded_at"),
        improvements=_stamped(p.improvements, "raised_at"),
        checks=_stamped(p.checks, "recorded_at"),
        acceptances=_stamped(p.acceptances, "recorded_at"),
        approved_at=_utc(p.approved_at), planned_at=_utc(p.planned_at),
        accepted_at=_utc(p.accepted_at), closed_at=_utc(p.closed_at),
        contracted_at=s.utc(p.contracted_at),
        updated_at=s.utc(p.modified_on),
        allowed_commands=list(p.allowed_commands()), routine_id=routine_id)


def run_view(item: RunItem) -> RunView:
    return RunView(routine_id=item.routine_id, name=item.name, kind=item.kind,
                   run_at=s.utc(item.run_at), status=item.status,
                   overdue_after=s.utc(item.overdue_after),
                   record=run_record(item.record) if item.record is not None else None)
