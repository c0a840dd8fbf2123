"""The service report's shape (ADR 0029, field list in docs/reports.md).

msgspec Structs: the JSON form is their encoding, so the field order here is the order in
the JSON and a change here is a change of a documented contract. Percentages are 0–100 with
two decimals, ``None`` when nothing was decided; hours are working hours with two decimals.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from application.major_incidents import IncidentFigures  # ADR 0067
from application.risks import RiskFigures  # ADR 0067
from application.complaints import ComplaintSection  # ADR 0066
from application.field_work import FieldWork  # ADR 0064

PRIORITIES = ("P1", "P2", "P3")


class Struct(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class ProjectInfo(Struct):
    id: str
    number: str
    name: str
    customer: str
    contract_number: str
    contract_start: date
    contract_end: date
    calendar: str
    sla_policy: str


class PeriodInfo(Struct):
    label: str
    kind: str
    start: datetime
    end: datetime
    timezone: str
    summary_due: date  # the 5th of the month after the period (DOMAIN §5)


class TicketVolumes(Struct):
    total: int  # every ticket of the project reported in the period (invalid ones too)
    valid: int
    invalid: int
    open: int
    resolved: int  # resolved, waiting for the customer's acceptance
    closed: int
    unclassified: int
    by_priority: dict[str, int]  # P1, P2, P3 always present
    by_type: dict[str, int]
    by_category: dict[str, int]
    by_channel: dict[str, int]
    by_status: dict[str, int]


class Compliance(Struct):
    tickets: int
    response_met: int
    response_missed: int
    response_pending: int
    response_met_pct: float | None
    resolution_met: int
    resolution_missed: int
    resolution_pending: int
    resolution_met_pct: float | None


class MilestoneCompliance(Struct):
    """A milestone clock's runs on the period's tickets (ADR 0062), as the clocks above."""

    milestone: str
    met: int
    missed: int
    pending: int
    met_pct: float | None


class SlaFigures(Compliance):
    by_priority: dict[str, Compliance]
    milestones: list[MilestoneCompliance] = []  # the milestone clocks (ADR 0062)


class ResolutionTimes(Struct):
    resolved: int  # tickets whose resolution stands at ``as_of`` (resolved or closed)
    mean_working_hours: float | None
    p90_working_hours: float | None
    max_working_hours: float | None


class Reopens(Struct):
    resolved_once: int  # tickets resolved at least once
    reopened: int  # tickets reopened at least once (after a closure)
    reopen_pct: float | None
    acceptance_rejected: int  # tickets whose resolution the customer rejected at least once


class Scores(Struct):
    responses: int
    timeliness: float | None
    effectiveness: float | None
    attitude: float | None
    mean: float | None


class LowScore(Struct):
    source: str  # ticket | survey
    reference: str  # the FB number, or ``survey`` + recorded time
    mean: float
    late: bool


class Satisfaction(Scores):
    ticket_feedback: Scores
    surveys: Scores
    late_feedback: int
    late_items: list[str]  # FB numbers given after the 3-working-day window
    low_scores: list[LowScore]  # a dimension at 2 or less


class MajorIncident(Struct):
    number: str
    title: str
    priority: str | None
    status: str
    escalation_level: int
    reported_at: datetime
    resolved_at: datetime | None
    resolution_working_hours: float | None
    resolution_state: str | None


class MajorIncidents(Struct):
    count: int
    items: list[MajorIncident]


class ProblemItem(Struct):
    number: str
    title: str | None  # None for a reader who may not open problems (``without_titles``)
    status: str
    known_error: bool
    tickets: list[str]  # the numbers of the period's tickets linked to it


class Problems(Struct):
    total: int
    open: int
    known_errors: int
    resolved: int
    closed: int
    items: list[ProblemItem]


class ChangeItem(Struct):
    number: str
    kind: str
    title: str | None  # None for a reader who may not open changes (``without_titles``)
    status: str
    outcome: str  # successful | rolled_back | goal_missed | in_progress | pending | cancelled
    origin: str


class Changes(Struct):
    total: int
    by_kind: dict[str, int]
    by_status: dict[str, int]
    successful: int
    rolled_back: int
    goal_missed: int
    success_pct: float | None
    rollback_pct: float | None
    items: list[ChangeItem]


class RoutineRun(Struct):
    routine_id: str
    name: str
    run_at: datetime
    verdict: str
    ticket_number: str | None


class Routines(Struct):
    scheduled: int  # routines scheduled by ``as_of``
    due: int  # occurrences in the period up to ``as_of``
    done: int  # runs recorded for occurrences in the period
    normal: int
    abnormal: int
    overdue: int  # due occurrences without a recorded run
    abnormal_runs: list[RoutineRun]


class Workload(Struct):
    person: str
    assigned: int  # the period's tickets assigned to them at ``as_of``
    resolved: int  # of those resolved (or resolved by them, when unassigned)
    hours_logged: float  # work-log hours they entered on the period's tickets


class ServiceReport(Struct):
    report: str  # "service-report"
    version: int  # the shape's version (docs/reports.md)
    project: ProjectInfo
    period: PeriodInfo
    as_of: datetime
    generated_at: datetime  # equals ``as_of``: the report is the one produced at that time
    tickets: TicketVolumes
    sla: SlaFigures
    resolution_time: ResolutionTimes
    first_contact_resolved: int
    first_contact_resolution_pct: float | None
    reopens: Reopens
    satisfaction: Satisfaction
    major_incidents: MajorIncidents
    problems: Problems
    changes: Changes
    routines: Routines
    workload: list[Workload]
    risks: RiskFigures | None = None  # hidden risks (隐患, ADR 0067)
    incident_records: IncidentFigures | None = None  # declared major incidents (ADR 0067)
    complaints: ComplaintSection | None = None  # 投诉 (ADR 0066)
    field_work: FieldWork | None = None  # visits' on-site time, parts' arrival (ADR 0064)


REPORT_VERSION = 1
