"""The service delivery project (服务交付项目), DOMAIN.md §5: a contract run from signature to
acceptance.

Lifecycle: ``contracted`` (from the contract: customer, services, SLA policy, calendar,
period, budget) → ``approved`` (立项: project manager and team) → ``planned`` (交付计划;
delivery runs in this status: routine operations, reports, surveys, execution checks and
improvements) → ``accepted`` (验收) → ``closed``.

Rules chosen here (ADR 0028):

* Routines may be scheduled and their runs recorded once the project is approved (a team
  exists to do them); reports, surveys, checks and improvements until it is closed.
* Acceptance needs a delivery plan (a 409 naming ``plan`` while there is none). A failed
  acceptance (``passed`` false) is recorded and keeps the project in delivery; the next
  acceptance is refused (409 naming ``improvement``) until an improvement action has been
  raised after the failure (交付改进 before 验收 again).
* Recording the same run of a routine twice is a 409: a run has one inspection record.
  Whether ``run_at`` is an occurrence of the routine's rule is checked by the use case (the
  recurrence arithmetic needs the calendar), the domain gets the routine's facts only.
* The ticket an abnormal run opened is linked here by ``RoutineTicketOpened`` whatever the
  status (the process manager may catch up after acceptance); linking twice is a no-op.

Events carry ``actor``; the library's ``timestamp`` is the recording time passed in as ``at``.
Topics (``opsledger.project:Project.*``) are a stored contract read by the service reports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, collapsed, refuse_fields, required, stripped
from domain.customer import normalise_customer_id
from domain.errors import FieldError, InvalidCommand
from domain.privacy import HoldsPersonalData, erased
from domain.records import RecordEvent, directory


class Status(StrEnum):
    CONTRACTED = "contracted"
    APPROVED = "approved"
    PLANNED = "planned"
    ACCEPTED = "accepted"
    CLOSED = "closed"


class RoutineKind(StrEnum):
    INSPECTION = "inspection"
    BACKUP = "backup"
    MONITORING = "monitoring"
    DRILL = "drill"
    MAINTENANCE = "maintenance"


class OnHoliday(StrEnum):
    SKIP = "skip"
    NEXT_WORKDAY = "next_workday"


class Verdict(StrEnum):
    NORMAL = "normal"
    ABNORMAL = "abnormal"


class CheckKind(StrEnum):
    COMPLAINT = "complaint"
    INTERNAL_AUDIT = "internal_audit"
    EXTERNAL_AUDIT = "external_audit"
    SATISFACTION_REVIEW = "satisfaction_review"


IMPROVEMENT_SOURCES = ("survey", "feedback", "check", "acceptance")
LOW_SCORE = 2  # a score at or below this on any dimension raises an improvement

S = Status
_REPORTING = ("submit_report", "record_survey", "record_check", "raise_improvement")
_DELIVERY = ("schedule_routine", "record_routine", *_REPORTING)
# Which commands each status admits (API.md "projects"); the 409 names these.
ALLOWED: dict[Status, tuple[str, ...]] = {
    S.CONTRACTED: ("approve",),
    S.APPROVED: ("plan", *_DELIVERY, "accept"),
    S.PLANNED: ("plan", *_DELIVERY, "accept"),
    S.ACCEPTED: (*_REPORTING, "close"),
    S.CLOSED: (),
}


@dataclass(frozen=True)
class Routine:
    """A scheduled routine operation (例行操作): its rule is RFC 5545 text read in the
    project calendar's time zone from ``starts`` (DTSTART) on."""

    routine_id: str
    name: str
    kind: str
    rrule: str
    on_holiday: str
    starts: datetime
    until: datetime | None
    scheduled_at: datetime


@dataclass(frozen=True)
class RoutineRun:
    """The inspection record (巡检确认单) of one run; ``ticket_*`` once a ticket was opened."""

    routine_id: str
    run_at: datetime
    performed_at: datetime
    verdict: str
    findings: str
    signer: str
    recorded_at: datetime
    actor: str
    ticket_id: str | None = None
    ticket_number: str | None = None


@dataclass(frozen=True)
class Survey:
    timeliness: int
    effectiveness: int
    attitude: int
    mean: float
    comment: str
    recorded_at: datetime


@dataclass(frozen=True)
class ImprovementAction:
    action: str
    owner: str
    due: date
    source: str
    reference: str | None
    raised_at: datetime


@dataclass(frozen=True)
class Check:
    kind: str
    findings: str
    passed: bool
    recorded_at: datetime


@dataclass(frozen=True)
class Acceptance:
    signer: str
    passed: bool
    notes: str
    recorded_at: datetime


def _names(field: str, values: Any, *, empty_ok: bool = False) -> tuple[tuple[str, ...],
                                                                        list[FieldError]]:
    """Distinct non-empty names in the order given (a name given twice is kept once)."""
    names = tuple(dict.fromkeys(n for n in (collapsed(v) for v in values or ()) if n))
    if not names and not empty_ok:
        return names, [FieldError(field, "name at least one")]
    return names, []


def _choice(field: str, value: Any, kind: type[StrEnum]) -> list[FieldError]:
    return [] if value in {k.value for k in kind} else [
        FieldError(field, "one of " + ", ".join(k.value for k in kind))]


def _score(field: str, value: Any) -> list[FieldError]:
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5
    return [] if ok else [FieldError(field, "must be an integer from 1 to 5")]


def _aware(field: str, value: Any) -> list[FieldError]:
    if not isinstance(value, datetime) or value.tzinfo is None:
        return [FieldError(field, "a time with a UTC offset")]
    return []


class Project(HoldsPersonalData, StatusRules, Aggregate):
    TOPIC = "opsledger.project:Project"
    ALLOWED = ALLOWED
    RECORD = "project"

    class Event(RecordEvent):
        TOPIC = "opsledger.project:Project.Event"

    class Contracted(Aggregate.Created):
        TOPIC = "opsledger.project:Project.Contracted"
        number: str
        name: str
        customer: str
        contract_number: str
        services: tuple[str, ...]
        contract_start: date
        contract_end: date  # inclusive
        budget: str | None
        sla_policy: str
        calendar: str
        actor: str

    class Approved(Event):
        TOPIC = "opsledger.project:Project.Approved"
        project_manager: str
        team: tuple[str, ...]

        def apply(self, p: Project) -> None:
            p.status = Status.APPROVED
            p.project_manager = self.project_manager
            p.team = self.team
            p.approved_at = self.timestamp

    class Planned(Event):
        TOPIC = "opsledger.project:Project.Planned"
        targets: str
        scope: str
        staff: tuple[str, ...]
        budget: str
        assessment: str
        duration: str | None

        def apply(self, p: Project) -> None:
            p.status = Status.PLANNED
            p.plan = {"targets": self.targets, "scope": self.scope, "staff": self.staff,
                      "budget": self.budget, "assessment": self.assessment,
                      "duration": self.duration}
            p.planned_at = self.timestamp

    class RoutineScheduled(Event):
        TOPIC = "opsledger.project:Project.RoutineScheduled"
        routine_id: str
        name: str
        kind: str
        rrule: str
        on_holiday: str
        starts: datetime
        until: datetime | None

        def apply(self, p: Project) -> None:
            p.routines = (*p.routines, Routine(
                self.routine_id, self.name, self.kind, self.rrule, self.on_holiday,
                self.starts, self.until, self.timestamp))

    class RoutineRecorded(Event):
        TOPIC = "opsledger.project:Project.RoutineRecorded"
        routine_id: str
        run_at: datetime
        performed_at: datetime
        verdict: str
        findings: str
        signer: str

        def apply(self, p: Project) -> None:
            p.runs = (*p.runs, RoutineRun(
                self.routine_id, self.run_at, self.performed_at, self.verdict, self.findings,
                self.signer, self.timestamp, self.actor))

    class RoutineTicketOpened(Event):
        TOPIC = "opsledger.project:Project.RoutineTicketOpened"
        routine_id: str
        run_at: datetime
        ticket_id: str
        ticket_number: str

        def apply(self, p: Project) -> None:
            p.runs = tuple(
                replace(r, ticket_id=self.ticket_id, ticket_number=self.ticket_number)
                if r.routine_id == self.routine_id and r.run_at == self.run_at else r
                for r in p.runs)

    class ReportSubmitted(Event):
        TOPIC = "opsledger.project:Project.ReportSubmitted"
        period: str

        def apply(self, p: Project) -> None:
            p.reports = (*p.reports, (self.period, self.timestamp))

    class SurveyRecorded(Event):
        TOPIC = "opsledger.project:Project.SurveyRecorded"
        timeliness: int
        effectiveness: int
        attitude: int
        mean: float
        comment: str

        def apply(self, p: Project) -> None:
            p.surveys = (*p.surveys, Survey(self.timeliness, self.effectiveness,
                                            self.attitude, self.mean, self.comment,
                                            self.timestamp))

    class ImprovementRaised(Event):
        TOPIC = "opsledger.project:Project.ImprovementRaised"
        action: str
        owner: str
        due: date
        source: str
        reference: str | None

        def apply(self, p: Project) -> None:
            p.improvements = (*p.improvements, ImprovementAction(
                self.action, self.owner, self.due, self.source, self.reference, self.timestamp))

    class CheckRecorded(Event):
        TOPIC = "opsledger.project:Project.CheckRecorded"
        kind: str
        findings: str
        passed: bool

        def apply(self, p: Project) -> None:
            p.checks = (*p.checks, Check(self.kind, self.findings, self.passed,
                                         self.timestamp))

    class Accepted(Event):
        TOPIC = "opsledger.project:Project.Accepted"
        signer: str
        passed: bool
        notes: str

        def apply(self, p: Project) -> None:
            p.acceptances = (*p.acceptances, Acceptance(self.signer, self.passed, self.notes,
                                                        self.timestamp))
            if self.passed:
                p.status = Status.ACCEPTED
                p.accepted_at = self.timestamp

    class Closed(Event):
        TOPIC = "opsledger.project:Project.Closed"

        def apply(self, p: Project) -> None:
            p.status = Status.CLOSED
            p.closed_at = self.timestamp

    class PersonalDataErased(Event):
        """The customer's personal data was erased (crypto-shredding, ADR 0034, 0043): the key
        that sealed the signers and survey comments recorded so far is destroyed, so they read
        as ``[erased]``; this event clears them from every process's cached project too.
        Allowed in any status; carries no personal data."""

        TOPIC = "opsledger.project:Project.PersonalDataErased"
        reason: str
        erasure_id: str

        def apply(self, p: Project) -> None:
            p.runs = tuple(replace(r, signer=erased(r.signer)) for r in p.runs)
            p.acceptances = tuple(replace(a, signer=erased(a.signer)) for a in p.acceptances)
            p.surveys = tuple(replace(v, comment=erased(v.comment)) for v in p.surveys)

    def __init__(
        self, number: str, name: str, customer: str, contract_number: str,
        services: tuple[str, ...], contract_start: date, contract_end: date,
        budget: str | None, sla_policy: str, calendar: str, actor: str,
    ) -> None:
        self.number = number
        self.name = name
        self.customer = customer
        self.contract_number = contract_number
        self.services = tuple(services)
        self.contract_start = contract_start
        self.contract_end = contract_end
        self.budget = budget
        self.sla_policy = sla_policy
        self.calendar = calendar
        self.created_by = actor
        self.status = Status.CONTRACTED
        self.project_manager: str | None = None
        self.team: tuple[str, ...] = ()
        self.plan: dict[str, Any] | None = None
        self.routines: tuple[Routine, ...] = ()
        self.runs: tuple[RoutineRun, ...] = ()
        self.reports: tuple[tuple[str, datetime], ...] = ()
        self.surveys: tuple[Survey, ...] = ()
        self.improvements: tuple[ImprovementAction, ...] = ()
        self.checks: tuple[Check, ...] = ()
        self.acceptances: tuple[Acceptance, ...] = ()
        self.approved_at: datetime | None = None
        self.planned_at: datetime | None = None
        self.accepted_at: datetime | None = None
        self.closed_at: datetime | None = None

    # ----------------------------------------------------------------- queries

    @property
    def contracted_at(self) -> datetime:
        return self.created_on

    def covers(self, day: date) -> bool:
        """Whether ``day`` lies in the contract period (both ends included)."""
        return self.contract_start <= day <= self.contract_end

    def routine(self, routine_id: str) -> Routine | None:
        return next((r for r in self.routines if r.routine_id == routine_id), None)

    def run(self, routine_id: str, run_at: datetime) -> RoutineRun | None:
        return next((r for r in self.runs
                     if r.routine_id == routine_id and r.run_at == run_at), None)

    def awaiting_improvement(self) -> bool:
        """Whether the last acceptance failed and no improvement was raised since."""
        if not self.acceptances or self.acceptances[-1].passed:
            return False
        failed_at = self.acceptances[-1].recorded_at
        return not any(i.raised_at >= failed_at for i in self.improvements)

    # ---------------------------------------------------------------- commands

    @classmethod
    def contract(
        cls, *, id: UUID, number: str, name: str, customer: str, contract_number: str,
        services: tuple[str, ...] | list[str], start: date, end: date, budget: str | None,
        sla_policy: str, calendar: str, actor: str, at: datetime,
    ) -> Project:
        """The caller has checked that ``sla_policy`` and ``calendar`` exist."""
        customer = normalise_customer_id(customer)
        names, errors = _names("contract.services", services)
        errors += required("name", name) + required("customer", customer)
        errors += required("contract.number", contract_number)
        errors += required("sla_policy", sla_policy) + required("calendar", calendar)
        if isinstance(start, date) and isinstance(end, date) and end < start:
            errors.append(FieldError("contract.end", "must not be before contract.start"))
        refuse_fields(errors)
        return cls._create(
            cls.Contracted, id=id, timestamp=at, number=number, name=collapsed(name),
            customer=customer, contract_number=collapsed(contract_number), services=names,
            contract_start=start, contract_end=end, budget=stripped(budget) or None,
            sla_policy=sla_policy, calendar=calendar, actor=actor,
        )

    def approve(self, *, project_manager: str, team: tuple[str, ...] | list[str], actor: str,
                at: datetime) -> None:
        self.require("approve")
        names, errors = _names("team", team)
        refuse_fields(required("project_manager", project_manager) + errors)
        self.trigger_event(self.Approved, timestamp=at, actor=actor,
                           project_manager=collapsed(project_manager), team=names)

    def make_plan(
        self, *, targets: str, scope: str, staff: tuple[str, ...] | list[str], budget: str,
        assessment: str, actor: str, at: datetime, duration: str | None = None,
    ) -> None:
        """The delivery plan (交付计划); planning again revises it (a new event)."""
        self.require("plan", "approve the project first (立项)"
                     if self.status is S.CONTRACTED else "")
        names, errors = _names("staff", staff)
        errors = (required("targets", targets) + required("scope", scope) + errors
                  + required("budget", budget) + required("assessment", assessment))
        refuse_fields(errors)
        self.trigger_event(self.Planned, timestamp=at, actor=actor, targets=stripped(targets),
                           scope=stripped(scope), staff=names, budget=stripped(budget),
                           assessment=stripped(assessment), duration=stripped(duration) or None)

    def schedule_routine(
        self, *, routine_id: str, name: str, kind: str, rrule: str, on_holiday: str,
        starts: datetime, until: datetime | None, actor: str, at: datetime,
    ) -> None:
        """The use case has parsed ``rrule`` (a 422 naming ``rrule`` when it cannot)."""
        self.require("schedule_routine", "approve the project first (立项)"
                     if self.status is S.CONTRACTED else "")
        errors = (required("name", name) + _choice("kind", kind, RoutineKind)
                  + _choice("on_holiday", on_holiday, OnHoliday) + required("rrule", rrule)
                  + _aware("starts", starts))
        if until is not None:
            errors += _aware("until", until)
            if not errors and until < starts:
                errors.append(FieldError("until", "must not be before starts"))
        if self.routine(routine_id) is not None:
            errors.append(FieldError("routine_id", "already scheduled"))
        refuse_fields(errors)
        self.trigger_event(self.RoutineScheduled, timestamp=at, actor=actor,
                           routine_id=routine_id, name=collapsed(name), kind=kind,
                           rrule=rrule.strip(), on_holiday=on_holiday, starts=starts,
                           until=until)

    def record_routine(
        self, *, routine_id: str, run_at: datetime, performed_at: datetime, verdict: str,
        findings: str, signer: str, actor: str, at: datetime,
    ) -> None:
        """One run's inspection record; ``run_at`` is the scheduled occurrence (checked
        against the rule by the use case), ``performed_at`` when it was done."""
        self.require("record_routine", "approve the project first (立项)"
                     if self.status is S.CONTRACTED else "")
        if self.routine(routine_id) is None:
            raise InvalidCommand.field("routine_id", f"no routine {routine_id!r} in this project")
        errors = (_aware("run_at", run_at) + _aware("performed_at", performed_at)
                  + _choice("verdict", verdict, Verdict) + required("signer", signer))
        if verdict == Verdict.ABNORMAL:
            errors += required("findings", findings)  # an abnormal run says what was found
        refuse_fields(errors)
        if self.run(routine_id, run_at) is not None:
            self.refuse("record_routine", "this run of the routine is already recorded")
        self.trigger_event(self.RoutineRecorded, timestamp=at, actor=actor,
                           routine_id=routine_id, run_at=run_at, performed_at=performed_at,
                           verdict=verdict, findings=stripped(findings), signer=collapsed(signer))

    def link_routine_ticket(self, *, routine_id: str, run_at: datetime, ticket_id: str,
                            ticket_number: str, actor: str, at: datetime) -> bool:
        """Links the ticket an abnormal run opened; ``False`` (nothing recorded) when that run
        already has a ticket. Allowed in any status (the opener may catch up late)."""
        run = self.run(routine_id, run_at)
        if run is None or run.verdict != Verdict.ABNORMAL:
            raise InvalidCommand.field("run_at", "no abnormal run recorded at that time")
        if run.ticket_id is not None:
            return False
        self.trigger_event(self.RoutineTicketOpened, timestamp=at, actor=actor,
                           routine_id=routine_id, run_at=run_at, ticket_id=ticket_id,
                           ticket_number=ticket_number)
        return True

    def submit_report(self, *, period: str, actor: str, at: datetime) -> None:
        """The use case has checked the period's form (``2026-11``, ``2026-Q4``, ``2026``)."""
        self.require("submit_report")
        self.trigger_event(self.ReportSubmitted, timestamp=at, actor=actor, period=period)

    def record_survey(self, *, timeliness: int, effectiveness: int, attitude: int,
                      comment: str, actor: str, at: datetime) -> bool:
        """Records a survey by dimension; ``True`` when a score is low (≤ 2), so the use case
        raises the improvement that must follow."""
        self.require("record_survey")
        refuse_fields(_score("timeliness", timeliness) + _score("effectiveness", effectiveness)
               + _score("attitude", attitude))
        scores = (timeliness, effectiveness, attitude)
        self.trigger_event(self.SurveyRecorded, timestamp=at, actor=actor,
                           timeliness=timeliness, effectiveness=effectiveness,
                           attitude=attitude, mean=round(sum(scores) / 3, 2),
                           comment=stripped(comment))
        return min(scores) <= LOW_SCORE

    def raise_improvement(self, *, action: str, owner: str, due: date, source: str,
                          actor: str, at: datetime, reference: str | None = None) -> None:
        self.require("raise_improvement")
        errors = required("action", action) + required("owner", owner)
        if source not in IMPROVEMENT_SOURCES:
            errors.append(FieldError("source", "one of " + ", ".join(IMPROVEMENT_SOURCES)))
        if not isinstance(due, date):
            errors.append(FieldError("due", "a date"))
        refuse_fields(errors)
        self.trigger_event(self.ImprovementRaised, timestamp=at, actor=actor,
                           action=stripped(action), owner=collapsed(owner), due=due, source=source,
                           reference=stripped(reference) or None)

    def record_check(self, *, kind: str, findings: str, passed: bool, actor: str,
                     at: datetime) -> None:
        """An execution check (交付执行检查): complaint, audit or satisfaction review."""
        self.require("record_check")
        errors = _choice("kind", kind, CheckKind) + required("findings", findings)
        if not isinstance(passed, bool):
            errors.append(FieldError("passed", "true or false"))
        refuse_fields(errors)
        self.trigger_event(self.CheckRecorded, timestamp=at, actor=actor, kind=kind,
                           findings=stripped(findings), passed=passed)

    def accept(self, *, signer: str, passed: bool, notes: str, actor: str,
               at: datetime) -> None:
        self.require("accept")
        if self.plan is None:
            self.require("accept", "a delivery plan comes before acceptance", missing=("plan",))
        if self.awaiting_improvement():
            self.require("accept", "the last acceptance failed: raise an improvement first",
                         missing=("improvement",))
        errors = required("signer", signer)
        if not isinstance(passed, bool):
            errors.append(FieldError("passed", "true or false"))
        if passed is False:
            errors += required("notes", notes)  # a failed acceptance says what is unmet
        refuse_fields(errors)
        self.trigger_event(self.Accepted, timestamp=at, actor=actor, signer=collapsed(signer),
                           passed=passed, notes=stripped(notes))

    def close(self, *, actor: str, at: datetime) -> None:
        self.require("close", "only an accepted project can be closed"
                     if self.status is not S.CLOSED else "")
        self.trigger_event(self.Closed, timestamp=at, actor=actor)

    def personal_texts(self) -> list[str]:
        """The signers of the runs and acceptances, the surveys' comments."""
        return [r.signer for r in self.runs] + [a.signer for a in self.acceptances] + [
            v.comment for v in self.surveys]


ProjectDirectory = directory(
    "opsledger.project:ProjectDirectory", "opsledger:project-directory",
    key="project_id", items="projects", module=__name__,
    doc="""The ids of every project in order of contracting (for listing), changed in the same
    transaction as each project's contract, like ``CustomerDirectory``.""")
