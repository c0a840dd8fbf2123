"""Delivery projects (DOMAIN §5, API.md "projects", ADR 0028): reads, routine runs, and the
lookups the project commands make.

The commands are values in ``application.commands.projects`` (``ContractProject``,
``ScheduleRoutine``, ``RecordRoutine``, ...), run by ``ServiceDesk.handle``. The customer's
contracts are what the SLA clocks read (``contract_terms``). Routine runs are computed on
read (``routine_runs``) from the project and its calendar (``application.recurrence``); the
ticket an abnormal run opens comes from the process manager (``application.routine_tickets``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo


from application.catalog import get_calendar, get_policy
from application.customers import find_customer
from application.desk import HistoryEntry, ServiceDesk
from application.errors import ApplicationError
from application.recurrence import grace_end, occurrences
from domain.calendar import BusinessCalendar
from domain.customer import ContractTerms, normalise_customer_id
from domain.errors import FieldError, InvalidCommand
from domain.project import Project, ProjectDirectory, RoutineRun, Verdict

LABEL = "project"
PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")  # 2026-11, 2026-Q4, 2026
IMPROVEMENT_WORKING_DAYS = 5  # an automatic improvement is due this many working days later


# ---------------------------------------------------------------- catalogue


def check_catalog(desk: ServiceDesk, sla_policy: str, calendar: str) -> None:
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


def _period_end(p: Project, tz: str) -> datetime:
    """The end of the contract's last day (runs stop there unless ``until`` says earlier)."""
    return datetime.combine(p.contract_end + timedelta(days=1), time(), tzinfo=ZoneInfo(tz))


def routine_until(p: Project, until: datetime | None, tz: str) -> datetime:
    """When a routine's runs stop: its ``until``, at the latest the contract's end."""
    end = _period_end(p, tz)
    return end if until is None else min(end, until)


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


# --------------------------------------------------------------------- reads


def get_project(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> Project:
    return desk.get_record(ref, Project, LABEL, as_of)  # type: ignore[no-any-return]


def project_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Project, LABEL)


def list_projects(desk: ServiceDesk, *, customer: str | None = None,
                  statuses: Sequence[str] = ()) -> list[Project]:
    """Every project, newest contract first, filtered by customer id and status."""
    directory: ProjectDirectory | None = desk.load(ProjectDirectory.ID)
    if directory is None:
        return []
    wanted = normalise_customer_id(customer) if customer else None
    found = [desk.load(UUID(i)) for i in reversed(directory.projects)]
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
        runs = occurrences(r.rrule, starts=r.starts,
                           until=routine_until(p, r.until, cal.timezone),
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
