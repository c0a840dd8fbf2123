"""Wire types of changes and standard-change models (API.md "Problems, changes, projects").

Bodies are strict (unknown fields refused). The plan's fields are all optional on the wire so
that the domain can answer one 422 naming *every* missing one (msgspec would stop at the
first). Responses give times in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from domain.change import (
    PRE_START,
    Change,
    ChangeKind,
    ConsentChannel,
    Decision,
    Review,
    Risk,
    Status,
)

Steps = Annotated[list[s.Line], Meta(max_length=200)]


class OriginIn(s.Input):
    """An origin with its kind: ``project`` ids are taken as given (projects: issue 5)."""

    id: s.Name
    kind: s.Short | None = None


class RequestChange(s.Input):
    kind: ChangeKind
    origin: s.Name | OriginIn
    title: s.Name
    description: s.Text = ""
    affected_system: s.Short = ""
    standard_change: s.Short | None = None  # the standard-change model a standard change cites
    affected_cis: list[s.Short] | None = None  # CI ids/numbers; default: its origin's (ADR 0063)


class Assess(s.Input):
    risk: Risk
    impact: s.Text


class Schedule(s.Input):
    start: s.AwareTime | None = None
    end: s.AwareTime | None = None


class PlanIn(s.Input):
    goal: s.Text | None = None
    content: s.Text | None = None
    steps: Steps | None = None
    people: Annotated[list[s.Short], Meta(max_length=200)] | None = None
    budget: s.Short | s.Amount | None = None
    schedule: Schedule | None = None
    risk_plan: s.Text | None = None
    rollback_plan: s.Text | None = None


class ReviewIn(s.Input):
    decision: Decision
    reviewer: s.Name
    comment: s.Line = ""


class ConsentIn(s.Input):
    evidence: s.Text
    channel: ConsentChannel
    reference: s.Line = ""  # e.g. the signed form's number, the e-mail's message id
    given_by: s.Short = ""


class EmergencyIn(s.Input):
    approver: s.Name
    reason: s.Line


class CompleteIn(s.Input):
    result: s.Text


class TrialIn(s.Input):
    days: int


class EvaluateIn(s.Input):
    goal_met: bool
    notes: s.Text


class ImprovementIn(s.Input):
    action: s.Line
    owner: s.Name
    due: date
    title: s.Short = ""  # of the follow-up change (default: derived from the action)


class CloseIn(s.Input):
    confirmed_by: s.Short = ""  # the customer's confirmation (确认), when recorded here
    note: s.Line = ""


class StandardModelIn(s.Input):
    name: s.Name | None = None
    description: s.Text = ""
    systems: Annotated[list[s.Short], Meta(max_length=100)] | None = None
    steps: Steps | None = None
    risk: s.Short | None = None
    approved_by: s.Short | None = None


# ------------------------------------------------------------------ responses


class GateView(Struct):
    passed: bool
    owed: bool  # still to be recorded (an emergency change that started without it)
    pre_approved: bool  # by a standard-change model (ADR 0021)


class ChangeView(Struct):
    id: str
    number: str
    kind: str
    status: str
    origin: dict[str, Any]
    title: str
    description: str
    affected_system: str
    standard_change: dict[str, Any] | None
    requested_by: str
    revision: int
    assessment: dict[str, Any] | None
    plan: dict[str, Any] | None
    reviews: list[dict[str, Any]]
    customer_reviews: list[dict[str, Any]]
    consent: dict[str, Any] | None
    consents: list[dict[str, Any]]
    emergency_approval: dict[str, Any] | None
    gates: dict[str, GateView]
    missing_gates: list[str]
    authorised_by: str | None
    started_at: datetime | None
    result: str | None
    completed_at: datetime | None
    rollback: dict[str, Any] | None
    trial: dict[str, Any] | None
    evaluation: dict[str, Any] | None
    improvements: list[dict[str, Any]]
    closed_at: datetime | None
    confirmed_by: str | None
    cancel_reason: str | None
    version: int
    allowed_commands: list[str]
    recorded_at: datetime
    modified_at: datetime
    # the announcements of its window to the customers (ADR 0060): id, number, starts, ends,
    # withdrawn
    announcements: list[dict[str, Any]] = []
    affected_cis: list[s.LinkedRecord] = []  # the configuration items it concerns (ADR 0063)


class ChangeListItem(Struct):
    id: str
    number: str
    kind: str
    status: str
    origin: dict[str, str]
    title: str
    affected_system: str
    risk: str | None
    schedule: dict[str, str] | None
    missing_gates: list[str]
    requested_at: str
    updated_at: str
    version: int


class ChangePage(Struct):
    items: list[ChangeListItem]
    next_cursor: str | None
    count: int


class CalendarConflict(Struct):
    id: str
    number: str
    title: str
    status: str
    start: str
    end: str


class CalendarItem(Struct):
    id: str
    number: str
    title: str
    kind: str
    status: str
    affected_system: str
    start: str
    end: str
    conflicts: list[CalendarConflict]


class ChangeCalendar(Struct):
    start: datetime
    end: datetime
    system: str | None
    items: list[CalendarItem]
    count: int
    conflicts: int  # how many items have at least one conflict


class StandardModelView(Struct):
    id: str
    name: str
    description: str
    systems: list[str]
    steps: list[str]
    risk: str
    approved_by: str
    version: int
    defined_by: str
    recorded_at: datetime
    modified_at: datetime


class StandardModelList(Struct):
    items: list[StandardModelView]
    count: int


# ---------------------------------------------------------------- converters


def _review(r: Review, current: int) -> dict[str, Any]:
    return {**s.plain(r), "current": r.revision == current}


def change_view(c: Change) -> ChangeView:
    plan = None
    if c.plan is not None:
        p = s.plain(c.plan)
        start, end = p.pop("schedule_start"), p.pop("schedule_end")
        plan = {**p, "schedule": {"start": start, "end": end}}
    current = [x for x in c.consents if x.revision == c.revision]
    gates = {
        g: GateView(passed=c.pre_approved or c.gate_passed(g),
                    owed=c.status not in PRE_START and c.status is not Status.CANCELLED
                    and g in c.owed_gates(),
                    pre_approved=c.pre_approved)
        for g in ("internal_review", "customer_review", "consent")
    }
    return s.copied(
        ChangeView, c,
        id=str(c.id), kind=c.kind.value, status=c.status.value,
        origin=s.plain(c.origin),
        standard_change=s.plain(c.standard_model) if c.standard_model else None,
        assessment=s.plain(c.assessment) if c.assessment else None, plan=plan,
        reviews=[_review(r, c.revision) for r in c.reviews],
        customer_reviews=[_review(r, c.revision) for r in c.customer_reviews],
        consent=s.plain(current[-1]) if current else None,
        consents=[{**s.plain(x), "current": x.revision == c.revision} for x in c.consents],
        emergency_approval=s.plain(c.emergency_approval) if c.emergency_approval else None,
        gates=gates, missing_gates=list(c.missing_gates()),
        started_at=s.utc_opt(c.started_at),
        completed_at=s.utc_opt(c.completed_at),
        rollback={"reason": c.rollback_reason, "at": s.utc(c.rolled_back_at)}
        if c.rollback_reason and c.rolled_back_at else None,
        trial=s.plain(c.trial) if c.trial else None,
        evaluation=s.plain(c.evaluation) if c.evaluation else None,
        improvements=[s.plain(i) for i in c.improvements],
        closed_at=s.utc_opt(c.closed_at),
        allowed_commands=list(c.allowed_commands()), recorded_at=s.utc(c.created_on),
        modified_at=s.utc(c.modified_on),
        announcements=[s.plain(a) for a in c.announcements],
        affected_cis=[s.LinkedRecord(i, n) for i, n in zip(
            c.affected_cis, c.affected_ci_numbers, strict=True)])  # ADR 0063


def change_item(r: dict[str, Any]) -> ChangeListItem:
    schedule = ({"start": r["schedule_start"], "end": r["schedule_end"]}
                if r["schedule_start"] else None)
    return ChangeListItem(
        id=r["id"], number=r["number"], kind=r["kind"], status=r["status"],
        origin={"kind": r["origin_kind"], "id": r["origin_id"], "number": r["origin_number"]},
        title=r["title"], affected_system=r["affected_system"], risk=r["risk"],
        schedule=schedule, missing_gates=[g for g in r["missing_gates"].split(",") if g],
        requested_at=r["requested_at"], updated_at=r["updated_at"], version=r["version"])


def calendar_item(entry: Any) -> CalendarItem:
    r = entry["row"]
    return CalendarItem(
        id=r["id"], number=r["number"], title=r["title"], kind=r["kind"], status=r["status"],
        affected_system=r["affected_system"], start=r["schedule_start"], end=r["schedule_end"],
        conflicts=[CalendarConflict(id=o["id"], number=o["number"], title=o["title"],
                                    status=o["status"], start=o["schedule_start"],
                                    end=o["schedule_end"]) for o in entry["conflicts"]])


def model_view(m: Any) -> StandardModelView:
    d = m.definition
    return s.copied(
        StandardModelView, d,
        id=m.slug, systems=list(d.systems),
        steps=list(d.steps), version=m.version,
        defined_by=m.defined_by, recorded_at=s.utc(m.created_on),
        modified_at=s.utc(m.modified_on))
