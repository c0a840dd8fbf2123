"""The delivery-project use cases (DOMAIN §5, API.md "projects", ADR 0028) over the desk's
one store.

Contracting a project saves, in **one transaction**: the project (``PRJ-YYYYMMDD-NNN``),
the day's number, the project directory (for listing) and the customer's
``ContractRecorded`` (the customer registered first when it is new). The customer's
contracts are what the SLA clocks read (``contract_terms``): a ticket of the customer
reported during the period takes the project's policy and calendar from its first save on,
with no read model in between (consistent, not eventually consistent).

Routines (例行操作): the rule is checked when scheduled (422 naming ``rrule``) and a recorded
``run_at`` must be one of its runs (422 naming ``run_at``); runs are computed on read
(``routine_runs``) from the project and its calendar (``application.recurrence``). The
ticket an abnormal run opens comes from the process manager (``application.routine_tickets``).

Every command takes ``actor`` and the desk's options (``expected_version`` for ``If-Match``,
``idempotency`` for ``Idempotency-Key``) and returns the desk's ``CommandResult``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError

from application.catalog import get_calendar, get_policy
from application.customers import customer_on_first_use, find_customer
from application.desk import CommandResult, HistoryEntry, ServiceDesk
from application.errors import ApplicationError
from application.idempotency import IdempotencyKey
from application.recurrence import default_start, grace_end, is_occurrence, occurrences, parse_rule
from domain.calendar import BusinessCalendar
from domain.customer import ContractTerms, normalise_customer_id
from domain.errors import FieldError, InvalidCommand
from domain.numbering import RecordKind, record_id_for
from domain.project import Project, ProjectDirectory, RoutineRun, Verdict

LABEL = "project"
PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")  # 2026-11, 2026-Q4, 2026
IMPROVEMENT_WORKING_DAYS = 5  # an automatic improvement is due this many working days later


# ---------------------------------------------------------------- catalogue


def _check_catalog(desk: ServiceDesk, sla_policy: str, calendar: str) -> None:
    """A 422 naming ``sla_policy`` / ``calendar`` for each that does not exist."""
    errors: list[FieldError] = []
    for field, slug, get in (("sla_policy", sla_policy, get_policy),
                             ("calendar", calendar, get_calendar)):
        try:
            get(desk, slug)
        except (ApplicationError, ValueError, TypeError):
            errors.append(FieldError(field, f"no {field.replace('_', ' ')} {slug!r}"))
    if errors:
        raise InvalidCommand(errors)


def project_calendar(desk: ServiceDesk, slug: str) -> BusinessCalendar:
    """The business calendar ``slug`` as it is now (China holidays and make-up days included
    when its base is ``china``), as the SLA clocks build it."""
    record = get_calendar(desk, slug)
    if desk.sla is not None:
        return desk.sla.calendar(slug, record.version)[0]  # type: ignore[no-any-return]
    return record.definition.calendar()


# -------------------------------------------------------------------- writes


def _directory(desk: ServiceDesk, at: datetime) -> ProjectDirectory:
    try:
        return desk._get(ProjectDirectory.ID)  # type: ignore[no-any-return]
    except AggregateNotFoundError:
        return ProjectDirectory.open(at)


def contract_project(
    desk: ServiceDesk, *, name: str, customer: str, contract_number: str,
    services: Sequence[str], start: date, end: date, sla_policy: str, calendar: str,
    actor: str, budget: str | None = None, idempotency: IdempotencyKey | None = None,
) -> CommandResult:
    """A project from a contract; the customer's contract recorded in the same transaction."""
    _check_catalog(desk, sla_policy, calendar)
    timezone = get_calendar(desk, calendar).definition.timezone
    if not normalise_customer_id(customer):
        raise InvalidCommand.field("customer", "must not be empty")

    def mutate(_: None, at: datetime, numbers: Any) -> Any:
        number = numbers.issue(RecordKind.PROJECT)
        project = Project.contract(
            id=record_id_for(number), number=number, name=name, customer=customer,
            contract_number=contract_number, services=tuple(services), start=start, end=end,
            budget=budget, sla_policy=sla_policy, calendar=calendar, actor=actor, at=at)
        customers = customer_on_first_use(desk, project.customer, at, actor)
        customers[0].record_contract(ContractTerms(
            project_id=str(project.id), project_number=number, start=start, end=end,
            sla_policy=sla_policy, calendar=calendar, timezone=timezone), actor=actor, at=at)
        directory = _directory(desk, at)
        directory.add(str(project.id), at)
        return (project, *customers, directory)

    return desk._run(None, mutate, actor=actor, expected_version=None, kind=Project,
                     label=LABEL, idempotency=idempotency)


def _on_project(desk: ServiceDesk, ref: str | UUID, command: Any, actor: str,
                **opts: Any) -> CommandResult:
    return desk._change(ref, command, actor=actor, kind=Project, label=LABEL, **opts)


def approve(desk: ServiceDesk, ref: str | UUID, *, project_manager: str, team: Sequence[str],
            actor: str, **opts: Any) -> CommandResult:
    return _on_project(desk, ref, lambda p, at, _: p.approve(
        project_manager=project_manager, team=tuple(team), actor=actor, at=at), actor, **opts)


def plan(desk: ServiceDesk, ref: str | UUID, *, targets: str, scope: str, staff: Sequence[str],
         budget: str, assessment: str, actor: str, duration: str | None = None,
         **opts: Any) -> CommandResult:
    return _on_project(desk, ref, lambda p, at, _: p.make_plan(
        targets=targets, scope=scope, staff=tuple(staff), budget=budget,
        assessment=assessment, duration=duration, actor=actor, at=at), actor, **opts)


def _period_end(p: Project, tz: str) -> datetime:
    """The end of the contract's last day (runs stop there unless ``until`` says earlier)."""
    return datetime.combine(p.contract_end + timedelta(days=1), time(), tzinfo=ZoneInfo(tz))


def schedule_routine(
    desk: ServiceDesk, ref: str | UUID, *, name: str, kind: str, rrule: str, on_holiday: str,
    actor: str, starts: datetime | None = None, until: datetime | None = None,
    routine_id: str | None = None, **opts: Any,
) -> CommandResult:
    """Schedules a routine; ``starts`` (DTSTART) defaults to the contract's first day at the
    calendar's opening time. The new routine's id is the last routine of the answer."""
    new_id = routine_id or str(uuid.uuid4())

    def command(p: Project, at: datetime, _: Any) -> None:
        p.require("schedule_routine")
        cal = project_calendar(desk, p.calendar)
        first = starts if starts is not None else default_start(cal, p.contract_start)
        if first.tzinfo is None:
            raise InvalidCommand.field("starts", "a time with a UTC offset")
        parse_rule(rrule, first, cal.timezone)  # a 422 naming rrule
        p.schedule_routine(routine_id=new_id, name=name, kind=kind, rrule=rrule,
                           on_holiday=on_holiday, starts=first, until=until, actor=actor, at=at)

    return _on_project(desk, ref, command, actor, **opts)


def _until(p: Project, routine_until: datetime | None, tz: str) -> datetime:
    end = _period_end(p, tz)
    return end if routine_until is None else min(end, routine_until)


def record_routine(
    desk: ServiceDesk, ref: str | UUID, *, routine_id: str, run_at: datetime, verdict: str,
    findings: str, signer: str, actor: str, performed_at: datetime | None = None,
    **opts: Any,
) -> CommandResult:
    """The inspection record of one run; ``run_at`` must be one of the routine's runs."""

    def command(p: Project, at: datetime, _: Any) -> None:
        p.require("record_routine")
        routine = p.routine(routine_id)
        if routine is None:
            raise InvalidCommand.field("routine_id", f"no routine {routine_id!r} in this project")
        if run_at.tzinfo is None:
            raise InvalidCommand.field("run_at", "a time with a UTC offset")
        cal = project_calendar(desk, p.calendar)
        if not is_occurrence(routine.rrule, run_at, starts=routine.starts,
                             until=_until(p, routine.until, cal.timezone),
                             on_holiday=routine.on_holiday, calendar=cal):
            raise InvalidCommand.field("run_at", "not a scheduled run of this routine")
        p.record_routine(routine_id=routine_id, run_at=run_at,
                         performed_at=performed_at or at, verdict=verdict, findings=findings,
                         signer=signer, actor=actor, at=at)

    return _on_project(desk, ref, command, actor, **opts)


def submit_report(desk: ServiceDesk, ref: str | UUID, *, period: str, actor: str,
                  **opts: Any) -> CommandResult:
    text = period.strip() if isinstance(period, str) else ""

    def command(p: Project, at: datetime, _: Any) -> None:
        p.require("submit_report")  # the state first: a 409 whatever the period (issue 16)
        if not PERIOD.match(text):
            raise InvalidCommand.field("period",
                                       "a month 2026-11, a quarter 2026-Q4 or a year 2026")
        p.submit_report(period=text, actor=actor, at=at)

    return _on_project(desk, ref, command, actor, **opts)


def improvement_owner(desk: ServiceDesk, p: Project) -> str:
    """Who owns an automatic improvement: the project manager, else the escalation manager
    of the project's SLA policy."""
    if p.project_manager:
        return p.project_manager
    return str(get_policy(desk, p.sla_policy).definition.escalation.manager)


def improvement_due(desk: ServiceDesk, calendar: str, at: datetime) -> date:
    """``IMPROVEMENT_WORKING_DAYS`` working days after ``at`` in ``calendar`` (a date)."""
    cal = project_calendar(desk, calendar)
    due = cal.add_working_days(at, IMPROVEMENT_WORKING_DAYS)
    return due.astimezone(ZoneInfo(cal.timezone)).date()


def record_survey(desk: ServiceDesk, ref: str | UUID, *, timeliness: int, effectiveness: int,
                  attitude: int, comment: str, actor: str, **opts: Any) -> CommandResult:
    """A survey by dimension; a score ≤ 2 raises an improvement in the same transaction
    (owner: ``improvement_owner``, due ``IMPROVEMENT_WORKING_DAYS`` working days later)."""

    def command(p: Project, at: datetime, _: Any) -> None:
        low = p.record_survey(timeliness=timeliness, effectiveness=effectiveness,
                              attitude=attitude, comment=comment, actor=actor, at=at)
        if low:
            scores = {"timeliness": timeliness, "effectiveness": effectiveness,
                      "attitude": attitude}
            weak = ", ".join(f"{k} {v}" for k, v in scores.items() if v <= 2)
            p.raise_improvement(
                action=f"Follow up the low survey scores ({weak}): find the cause with the "
                       "customer and agree corrective steps",
                owner=improvement_owner(desk, p), due=improvement_due(desk, p.calendar, at),
                source="survey", reference=f"survey {len(p.surveys)}", actor=actor, at=at)

    return _on_project(desk, ref, command, actor, **opts)


def raise_improvement(desk: ServiceDesk, ref: str | UUID, *, action: str, owner: str,
                      due: date, actor: str, source: str = "check",
                      reference: str | None = None, **opts: Any) -> CommandResult:
    return _on_project(desk, ref, lambda p, at, _: p.raise_improvement(
        action=action, owner=owner, due=due, source=source, reference=reference, actor=actor,
        at=at), actor, **opts)


def record_check(desk: ServiceDesk, ref: str | UUID, *, kind: str, findings: str, passed: bool,
                 actor: str, **opts: Any) -> CommandResult:
    return _on_project(desk, ref, lambda p, at, _: p.record_check(
        kind=kind, findings=findings, passed=passed, actor=actor, at=at), actor, **opts)


def accept(desk: ServiceDesk, ref: str | UUID, *, signer: str, passed: bool, notes: str,
           actor: str, **opts: Any) -> CommandResult:
    return _on_project(desk, ref, lambda p, at, _: p.accept(
        signer=signer, passed=passed, notes=notes, actor=actor, at=at), actor, **opts)


def close(desk: ServiceDesk, ref: str | UUID, *, actor: str, **opts: Any) -> CommandResult:
    return _on_project(desk, ref, lambda p, at, _: p.close(actor=actor, at=at), actor, **opts)


# --------------------------------------------------------------------- reads


def get_project(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> Project:
    return desk.get_record(ref, Project, LABEL, as_of)  # type: ignore[no-any-return]


def project_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Project, LABEL)


def list_projects(desk: ServiceDesk, *, customer: str | None = None,
                  statuses: Sequence[str] = ()) -> list[Project]:
    """Every project, newest contract first, filtered by customer id and status."""
    try:
        directory: ProjectDirectory = desk._get(ProjectDirectory.ID)
    except AggregateNotFoundError:
        return []
    wanted = normalise_customer_id(customer) if customer else None
    found = [desk._get(UUID(i)) for i in reversed(directory.projects)]
    return [p for p in found if (wanted is None or p.customer == wanted)
            and (not statuses or p.status.value in statuses)]


def contract_terms(desk: ServiceDesk, customer: str, reported_at: datetime,
                   as_of: datetime | None = None) -> ContractTerms | None:
    """The project contract a ticket of ``customer`` reported at ``reported_at`` belongs to
    (the seam ``SlaClocks.project_terms``); ``None`` outside every contract. With ``as_of``,
    only the contracts recorded by then count (a past view shows no later project)."""
    found = find_customer(desk, customer, as_of)
    return found.contract_on(reported_at) if found is not None else None


@dataclass(frozen=True)
class RunItem:
    """One run of a routine in the routine list."""

    routine_id: str
    name: str
    kind: str
    run_at: datetime
    status: str  # due | overdue | done | abnormal
    overdue_after: datetime
    record: RoutineRun | None


def routine_runs(desk: ServiceDesk, ref: str | UUID, *, now: datetime,
                 due_before: datetime | None = None, since: datetime | None = None,
                 routine_id: str | None = None) -> list[RunItem]:
    """The runs of the project's routines before ``due_before`` (default ``now``), oldest
    first: recorded ones as ``done`` / ``abnormal``, the others ``due`` until the end of
    their working day (``grace_end``) and ``overdue`` after it (ADR 0028)."""
    p = get_project(desk, ref)
    cal = project_calendar(desk, p.calendar)
    before = due_before or now
    items: list[RunItem] = []
    for r in p.routines:
        if routine_id is not None and r.routine_id != routine_id:
            continue
        runs = occurrences(r.rrule, starts=r.starts, until=_until(p, r.until, cal.timezone),
                           on_holiday=r.on_holiday, calendar=cal, before=before, after=since)
        recorded = {run.run_at: run for run in p.runs if run.routine_id == r.routine_id}
        for t in runs:
            record = recorded.get(t)
            grace = grace_end(cal, t)
            if record is not None:
                status = "abnormal" if record.verdict == Verdict.ABNORMAL else "done"
            else:
                status = "overdue" if now >= grace else "due"
            items.append(RunItem(r.routine_id, r.name, r.kind, t, status, grace, record))
    return sorted(items, key=lambda i: (i.run_at, i.name))
