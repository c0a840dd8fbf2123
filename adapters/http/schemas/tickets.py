"""The ticket's wire types: request bodies of its commands and its views (ADR 0009).

Request structs forbid unknown fields and bound every string (``common.Input``), so bad
input is a 400 that names the field before any use case runs. Times in responses are UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta, Struct, field as struct_field

from adapters.http.schemas.common import (
    Name, Short, Text, Line, Phone, Email, Items, Hours, Score, AwareTime, Input, LinkedRecord,
    Ref, TEXT, copied, utc, utc_opt, Slug,
)
from adapters.http.schemas.service_catalogue import ServiceRequestOut, service_request_out
from application.report_model import MilestoneCompliance  # ADR 0062
from domain.priority import Impact, Importance, Priority, Urgency
from domain.ticket import MAX_COMMENT, Channel, Status, Ticket, TicketType, Visibility


class ContactIn(Input):
    name: Name
    phone: Phone = ""
    email: Email = ""


class RegisterTicket(Input, kw_only=True):
    # A requester's own organisation when left out; required of everyone else (the
    # document lists it as required: contract.DOCUMENT_REQUIRED).
    customer: Annotated[Name | None, Meta(extra={"document_required": True})] = None
    contact: ContactIn
    channel: Channel
    title: Name
    description: Text = ""
    affected_system: Short = ""
    reported_at: AwareTime | None = None
    attachments: Annotated[list[Line], Meta(max_length=50)] = []
    type: TicketType | None = None
    category: Short | None = None
    urgency: Urgency | None = None
    impact: Impact | None = None
    importance: Importance | None = None
    priority: Priority | None = None
    override_reason: Line = ""
    sla_policy: Short | None = None
    service_id: Slug | None = None  # a catalogue service (ADR 0061) ...
    form: dict[str, Any] | None = None  # ... and its form, checked against its JSON Schema
    affected_cis: Annotated[list[Short], Meta(max_length=100)] = []  # CI ids/numbers (ADR 0063)


class Escalate(Input):
    """Manual escalation (ADR 0016); the SLA watcher escalates by itself on a breach."""

    reason: Line


class Classify(Input):
    type: TicketType
    category: Short
    urgency: Urgency
    impact: Impact
    importance: Importance
    priority: Priority | None = None
    override_reason: Line = ""


class Assign(Input):
    assignee: Short | None = None
    group: Short | None = None
    interface_person: Short | None = None


class LogWork(Input):
    action: Text
    hours: Hours
    performed_at: AwareTime | None = None
    workaround: Text = ""
    attachments: Annotated[list[Ref], Meta(max_length=20)] = []  # uploaded files (ADR 0056)


class Resolve(Input):
    resolution: Text
    root_cause: Text
    first_contact: bool = False


class Confirm(Input):
    signer: Name
    items: Items
    criteria: Items
    passed: bool
    unmet_items: Items = []
    note: Line = ""


class CloseTicket(Input):
    signer: Name
    reason: Line


class AddInformation(Input):
    """What the customer adds to an open ticket (ADR 0052)."""

    information: Text


class CommentIn(Input):
    """A note on a ticket (ADR 0055): ``visibility`` ``internal`` (the staff only) or
    ``public`` (everyone entitled to the ticket). Left out: ``internal`` from staff (the safe
    default, as Request Tracker's and Zammad's agents' notes), ``public`` from a requester,
    whose words are always the customer's public message (``internal`` from them is a
    ``422`` naming ``visibility``). ``attachments``: ids of files uploaded by the caller
    (``POST /api/v1/attachments``). ``body`` may be empty only when files are attached."""

    body: Annotated[str, Meta(max_length=MAX_COMMENT, pattern=TEXT)]
    visibility: Visibility | None = None
    attachments: Annotated[list[Ref], Meta(max_length=20)] = []


class ImprovementIn(Input):
    action: Line
    owner: Name
    due: date


class FeedbackIn(Input):
    timeliness: Score
    effectiveness: Score
    attitude: Score
    comment: Text = ""
    improvement: ImprovementIn | None = None


# ------------------------------------------------------------------ responses


class ContactOut(Struct):
    """``name`` "[erased]", ``phone``/``email`` null once the customer's personal data was
    erased (ADR 0034)."""

    name: str
    phone: str | None
    email: str | None


class WorkEntryOut(Struct):
    action: str
    hours: float
    performed_at: datetime
    recorded_at: datetime
    actor: str
    workaround: str | None
    # How long after the work it was recorded (0 when recorded as it happened): a late entry
    # shows as late (issue 6).
    late_by_seconds: int = 0
    attachments: list[str] = []  # ids of uploaded files (ADR 0056)


class ResolutionOut(Struct):
    resolution: str
    root_cause: str
    first_contact: bool
    resolved_at: datetime
    actor: str


class AcceptanceOut(Struct):
    number: str
    signer: str
    items: list[str]
    criteria: list[str]
    passed: bool
    unmet_items: list[str]
    note: str
    at: datetime


class ImprovementOut(Struct):
    action: str
    owner: str
    due: date


class FeedbackOut(Struct):
    number: str
    timeliness: int
    effectiveness: int
    attitude: int
    mean: float
    comment: str
    at: datetime
    improvement: ImprovementOut | None
    late: bool = False  # given after the 3-working-day window (ADR 0028)
    window_end: datetime | None = None


class MilestoneView(Struct):
    """A milestone clock of the ticket (ADR 0062): its latest run."""

    name: str
    starts_on: str
    stops_on: list[str]
    target: str
    calendar: str
    state: str  # not_started | ok | warning | breached | met | cancelled
    started_at: datetime | None
    due: datetime | None
    stopped_at: datetime | None
    stopped_by: str | None
    remaining_seconds: int | None
    runs: int
    breaches: int


class SlaView(Struct):
    """API.md's ``sla`` block (+ versions and remaining working seconds), ADR 0015."""

    policy: str
    policy_version: int
    calendar: str
    calendar_version: int
    holiday_data: str | None
    response_due: datetime
    resolution_due: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    paused: bool
    paused_seconds: int
    state: str
    response_state: str
    resolution_state: str
    response_remaining_seconds: int
    resolution_remaining_seconds: int
    escalation_level: int
    milestones: list[MilestoneView] = struct_field(default_factory=list)  # ADR 0062


class TicketView(Struct):
    id: UUID
    number: str
    status: Status
    priority: Priority | None
    computed_priority: Priority | None
    override_reason: str | None
    type: TicketType | None
    category: str | None
    urgency: Urgency | None
    impact: Impact | None
    importance: Importance | None
    customer: str
    contact: ContactOut
    contact_erased: bool
    channel: Channel
    title: str
    description: str
    affected_system: str
    attachments: list[str]
    reported_at: datetime
    recorded_at: datetime
    # ``recorded_at`` - ``reported_at`` in whole seconds (0 if not later): a ticket
    # registered after the fact shows how late (issue 6).
    late_by_seconds: int
    registered_by: str
    sla_policy: str | None
    assignee: str | None
    group: str | None
    interface_person: str | None
    work_log: list[WorkEntryOut]
    hours_logged: float
    workaround: str | None
    waiting_reason: str | None
    resolution: ResolutionOut | None
    acceptance: AcceptanceOut | None
    acceptances: list[AcceptanceOut]
    feedback: FeedbackOut | None
    feedbacks: list[FeedbackOut]
    invalid_reason: str | None
    first_response_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    allowed_commands: list[str]
    version: int
    updated_at: datetime
    sla: SlaView | None = None
    problems: list[LinkedRecord] = []  # linked problems, oldest link first (ADR 0019)
    affected_cis: list[LinkedRecord] = []  # the configuration items it concerns (ADR 0063)
    project: LinkedRecord | None = None  # the delivery project it belongs to (ADR 0028)
    source: str | None = None  # what opened it when not a person (an abnormal routine run)
    service: ServiceRequestOut | None = None  # a catalogue request and its approval (ADR 0061)


class TicketListItem(Struct):
    id: str
    number: str
    status: str
    priority: str | None
    type: str | None
    category: str | None
    customer: str
    title: str
    channel: str
    affected_system: str
    assignee: str | None
    group: str | None
    reported_at: str
    recorded_at: str
    updated_at: str
    version: int
    # SLA (ADR 0017): the recorded deadlines and clock stops, and the state at the time of
    # the request (the same rule as the ticket view's ``sla.state`` and the ``sla_state``
    # filter); ``sla_recorded_state`` is what the watcher has recorded (its events only).
    response_due: str | None = None
    resolution_due: str | None = None
    responded_at: str | None = None
    resolved_at: str | None = None
    paused: bool = False
    escalation_level: int = 0
    sla_state: str | None = None
    sla_recorded_state: str | None = None


class ComplianceFigures(Struct):
    """One group's compliance (ADR 0017): clocks met/missed; ``*_met_pct`` is met over
    (met + missed) in percent, ``None`` when no clock of the group is decided yet."""

    tickets: int
    response_met: int
    response_missed: int
    response_met_pct: float | None
    resolution_met: int
    resolution_missed: int
    resolution_met_pct: float | None
    priority: str | None = None
    customer: str | None = None


class Compliance(Struct):
    period_start: datetime
    period_end: datetime
    now: datetime
    total: ComplianceFigures
    by_priority: list[ComplianceFigures]
    by_customer: list[ComplianceFigures]
    # per milestone clock (ADR 0062): met, missed, pending and met % as the clocks above
    milestones: list[MilestoneCompliance] = struct_field(default_factory=list)


class TicketPage(Struct):
    items: list[TicketListItem]
    next_cursor: str | None
    count: int


def _acceptance(a: Any) -> AcceptanceOut:
    return copied(
        AcceptanceOut, a,
        items=list(a.items),
        criteria=list(a.criteria),
        unmet_items=list(a.unmet_items),
        at=utc(a.at),
    )


def _feedback(f: Any) -> FeedbackOut:
    imp = f.improvement
    return copied(
        FeedbackOut, f,
        at=utc(f.at),
        improvement=ImprovementOut(imp.action, imp.owner, imp.due) if imp else None,
        late=getattr(f, "late", False),
        window_end=utc_opt(getattr(f, "window_end", None)),
    )


def sla_view(status: Any) -> SlaView | None:
    """``status`` is an ``application.sla_clocks.SlaStatus`` (or None: no deadlines yet)."""
    if status is None:
        return None
    return copied(
        SlaView, status,
        response_due=utc(status.response_due),
        resolution_due=utc(status.resolution_due),
        responded_at=utc_opt(status.responded_at),
        resolved_at=utc_opt(status.resolved_at),
        milestones=[MilestoneView(**{k: utc_opt(v) if isinstance(v, datetime) else v
                                     for k, v in ms.items()})
                    for ms in getattr(status, "milestones", ())],
    )


def late_by(happened: datetime, recorded: datetime) -> int:
    """Whole seconds between when something happened and when we recorded it (0 if not later)."""
    return max(0, int((recorded - happened).total_seconds()))


def ticket_view(t: Ticket, sla: Any = None, project: LinkedRecord | None = None) -> TicketView:
    """``sla``: the ticket's ``SlaStatus`` at the time the view is for (see app.py);
    ``project``: the project whose contract period holds its ``reported_at``."""
    c = t.classification
    p = t.proposed
    r = t.resolution
    acceptances = [_acceptance(a) for a in t.acceptances]
    feedbacks = [_feedback(f) for f in t.feedbacks]
    return copied(
        TicketView, t,
        priority=t.priority,  # the classification's, or one given before it (issue 16)
        computed_priority=c.computed_priority if c else None,
        override_reason=(c.override_reason if c else t.given_override_reason) or None,
        type=c.type if c else p.type,
        category=c.category if c else p.category,
        urgency=c.urgency if c else p.urgency,
        impact=c.impact if c else p.impact,
        importance=c.importance if c else p.importance,
        contact=ContactOut(t.contact.name, t.contact.phone, t.contact.email),
        contact_erased=t.contact.erased,
        attachments=list(t.attachments),
        reported_at=utc(t.reported_at),
        recorded_at=utc(t.created_on),
        late_by_seconds=late_by(t.reported_at, t.created_on),
        work_log=[
            WorkEntryOut(
                action=w.action,
                hours=w.hours,
                performed_at=utc(w.performed_at),
                recorded_at=utc(w.recorded_at),
                actor=w.actor,
                workaround=w.workaround or None,
                late_by_seconds=late_by(w.performed_at, w.recorded_at),
                attachments=list(w.attachments),
            )
            for w in t.work_log
        ],
        hours_logged=round(sum(w.hours for w in t.work_log), 2),
        resolution=ResolutionOut(
            r.resolution, r.root_cause, r.first_contact, utc(r.resolved_at), r.actor
        )
        if r
        else None,
        acceptance=acceptances[-1] if acceptances else None,
        acceptances=acceptances,
        feedback=feedbacks[-1] if feedbacks else None,
        feedbacks=feedbacks,
        first_response_at=utc_opt(t.first_response_at),
        closed_at=utc_opt(t.closed_at),
        allowed_commands=list(t.allowed_commands()),
        updated_at=utc(t.modified_on),
        sla=sla_view(sla),
        problems=[LinkedRecord(i, n) for i, n in zip(t.problems, t.problem_numbers, strict=True)],
        affected_cis=[LinkedRecord(i, n) for i, n in zip(
            t.affected_cis, t.affected_ci_numbers, strict=True)],  # ADR 0063
        project=project,
        source=getattr(t, "source", None),
        service=service_request_out(t.service_request, t.approval_decision),
    )
