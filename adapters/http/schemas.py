"""Wire types: strict msgspec structs for request bodies, plain structs for responses.

Request structs forbid unknown fields and bound every string, so bad input is a 400 that
names the field before any use case runs. Times in responses are UTC (``Z``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from msgspec import Meta, Struct

from domain.priority import Impact, Importance, Priority, Urgency
from domain.ticket import Channel, Status, Ticket, TicketType

# Characters refused in strings (ADR 0037). Short fields (names, ids, titles, refs) take no
# control character at all: C0, DEL, C1, the Unicode line/paragraph separators. Free text
# (descriptions, resolutions, reasons) may also hold tab and newline. A lone surrogate (JSON
# can escape one, "\\ud800"; it is not text and PostgreSQL refuses it) never gets this far:
# msgspec's decoder refuses it (a 400 naming the body). The patterns leave it out (ADR 0044):
# they are also the OpenAPI document's, and a JSON Schema regular expression cannot hold a
# surrogate (validators refuse the whole pattern, and clients then check nothing).
LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
TEXT = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=LINE)]
Short = Annotated[str, Meta(max_length=200, pattern=LINE)]
Ref = Annotated[str, Meta(min_length=1, max_length=100, pattern=LINE)]  # an id or a number
Slug = Annotated[str, Meta(min_length=1, max_length=63, pattern=LINE)]  # calendar, policy ids
Text = Annotated[str, Meta(max_length=20_000, pattern=TEXT)]
Line = Annotated[str, Meta(max_length=2_000, pattern=TEXT)]  # a reason, a note, an item
Phone = Annotated[str, Meta(max_length=40, pattern=r"^[0-9+()\- ]*$")]
# No space and no control character (spelled out: ``\s`` is not the same class in Python's
# and in JSON Schema's regular expressions, ADR 0044).
_MAILBOX = r"[^@\s\x00-\x1f\x7f-\x9f]+"
Email = Annotated[str, Meta(max_length=254, pattern=rf"^$|^{_MAILBOX}@{_MAILBOX}$")]
Items = Annotated[list[Line], Meta(max_length=100)]
Refs = Annotated[list[Ref], Meta(max_length=100)]
Hours = Annotated[float, Meta(gt=0, le=744)]
Score = Annotated[int, Meta(ge=1, le=5)]
# A budget given as a number: nothing negative or absurd (a whole number stays whole).
Amount = Annotated[int, Meta(ge=0, le=10**15)] | Annotated[float, Meta(ge=0, le=1e15)]
# The times the service holds, as the OpenAPI document states them (ADR 0044): an RFC 3339
# time with an offset (``date-time``) from 1971 to 2198 -- a little less than the 1970-2200
# that ``out_of_range`` takes, so an offset can never carry a documented time out of it -- and
# a day that every month has (no 29 February: a regular expression cannot count leap years).
_YEAR = r"(?:197[1-9]|19[89][0-9]|20[0-9]{2}|21[0-8][0-9]|219[0-8])"
_DAY = (r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
        r"|(?:0[13578]|1[02])-31)")
DATE_PATTERN = rf"^{_YEAR}-{_DAY}$"
TIME_PATTERN = (rf"^{_YEAR}-{_DAY}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{{1,6}})?"
                r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$")
# A time without an offset is ambiguous (API.md: times carry an offset): a 400 naming the field.
AwareTime = Annotated[datetime, Meta(tz=True, extra_json_schema={"pattern": TIME_PATTERN})]
# Times outside these bounds are refused (``Input.__post_init__``): an extreme year would
# overflow when moved to UTC or when deadlines are added to it.
T = TypeVar("T")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def out_of_range(value: datetime) -> bool:
    """True for a time the service will not hold (see ``EARLIEST``/``LATEST``)."""
    try:
        return not EARLIEST <= value.astimezone(UTC) < LATEST
    except OverflowError:
        return True


_EXACT = 2**53  # beyond this a float no longer spells one integer


def decode_body(body_type: type[T], raw: bytes) -> T:
    """``raw`` decoded strictly into ``body_type`` (``msgspec.ValidationError`` if it does not
    fit). ``5.0`` is the integer 5 in JSON Schema, so the OpenAPI document allows it where it
    says ``integer`` (ADR 0044): a body that fails is read once more with its whole numbers
    written as integers (the common case, a body that fits, costs nothing more)."""
    try:
        return msgspec.json.decode(raw, type=body_type, strict=True)
    except msgspec.ValidationError:
        try:
            whole = _whole_numbers(msgspec.json.decode(raw))
        except (msgspec.DecodeError, RecursionError):  # not JSON, or nested too deep
            whole = None
        if whole is None:
            raise
        try:
            return msgspec.json.decode(msgspec.json.encode(whole), type=body_type, strict=True)
        except msgspec.ValidationError:
            pass
        raise


def _whole_numbers(value: Any) -> Any:
    """``value`` (decoded JSON) with every whole float (``5.0``) as an int; None when it
    holds none (then there is nothing to read again)."""
    found = False

    def walk(v: Any) -> Any:
        nonlocal found
        if isinstance(v, float) and v.is_integer() and -_EXACT <= v <= _EXACT:
            found = True
            return int(v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    result = walk(value)
    return result if found else None


class Input(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A request body: strict, unknown fields refused, every string bounded."""

    def __post_init__(self) -> None:
        # msgspec turns a ValueError here into a 400 (``problems._validation`` names the field).
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime) and out_of_range(value):
                raise ValueError(
                    f"Invalid field `{name}`: times must lie between "
                    f"{EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")


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


class Reason(Input):
    reason: Line


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


class Empty(Input):
    pass


class LogWork(Input):
    action: Text
    hours: Hours
    performed_at: AwareTime | None = None
    workaround: Text = ""


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


class LinkedRecord(Struct):
    """Another record linked to this one (a ticket's problems, a problem's tickets)."""

    id: str
    number: str


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
    project: LinkedRecord | None = None  # the delivery project it belongs to (ADR 0028)
    source: str | None = None  # what opened it when not a person (an abnormal routine run)


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


class TicketPage(Struct):
    items: list[TicketListItem]
    next_cursor: str | None
    count: int


class HistoryItem(Struct):
    version: int
    position: int | None
    type: str
    topic: str
    recorded_at: datetime
    actor: str | None
    data: dict[str, Any]


class LogItem(Struct):
    position: int
    originator_id: str
    version: int
    type: str
    topic: str
    recorded_at: datetime | None
    actor: str | None
    data: dict[str, Any]


class LogPage(Struct):
    items: list[LogItem]
    last_position: int | None
    head: int


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _utc_opt(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def plain(value: Any) -> Any:
    """Event data as JSON-ready builtins (dataclasses, enums, datetimes in UTC)."""
    return msgspec.to_builtins(_to_utc(value))


def _to_utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    if isinstance(value, dict):
        return {k: _to_utc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_utc(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _to_utc(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def _acceptance(a: Any) -> AcceptanceOut:
    return AcceptanceOut(
        number=a.number,
        signer=a.signer,
        items=list(a.items),
        criteria=list(a.criteria),
        passed=a.passed,
        unmet_items=list(a.unmet_items),
        note=a.note,
        at=utc(a.at),
    )


def _feedback(f: Any) -> FeedbackOut:
    imp = f.improvement
    return FeedbackOut(
        number=f.number,
        timeliness=f.timeliness,
        effectiveness=f.effectiveness,
        attitude=f.attitude,
        mean=f.mean,
        comment=f.comment,
        at=utc(f.at),
        improvement=ImprovementOut(imp.action, imp.owner, imp.due) if imp else None,
        late=getattr(f, "late", False),
        window_end=_utc_opt(getattr(f, "window_end", None)),
    )


def sla_view(status: Any) -> SlaView | None:
    """``status`` is an ``application.sla_clocks.SlaStatus`` (or None: no deadlines yet)."""
    if status is None:
        return None
    return SlaView(
        policy=status.policy,
        policy_version=status.policy_version,
        calendar=status.calendar,
        calendar_version=status.calendar_version,
        holiday_data=status.holiday_data,
        response_due=utc(status.response_due),
        resolution_due=utc(status.resolution_due),
        responded_at=_utc_opt(status.responded_at),
        resolved_at=_utc_opt(status.resolved_at),
        paused=status.paused,
        paused_seconds=status.paused_seconds,
        state=status.state,
        response_state=status.response_state,
        resolution_state=status.resolution_state,
        response_remaining_seconds=status.response_remaining_seconds,
        resolution_remaining_seconds=status.resolution_remaining_seconds,
        escalation_level=status.escalation_level,
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
    return TicketView(
        id=t.id,
        number=t.number,
        status=t.status,
        priority=t.priority,  # the classification's, or one given before it (issue 16)
        computed_priority=c.computed_priority if c else None,
        override_reason=(c.override_reason if c else t.given_override_reason) or None,
        type=c.type if c else p.type,
        category=c.category if c else p.category,
        urgency=c.urgency if c else p.urgency,
        impact=c.impact if c else p.impact,
        importance=c.importance if c else p.importance,
        customer=t.customer,
        contact=ContactOut(t.contact.name, t.contact.phone, t.contact.email),
        contact_erased=t.contact.erased,
        channel=t.channel,
        title=t.title,
        description=t.description,
        affected_system=t.affected_system,
        attachments=list(t.attachments),
        reported_at=utc(t.reported_at),
        recorded_at=utc(t.created_on),
        late_by_seconds=late_by(t.reported_at, t.created_on),
        registered_by=t.registered_by,
        sla_policy=t.sla_policy,
        assignee=t.assignee,
        group=t.group,
        interface_person=t.interface_person,
        work_log=[
            WorkEntryOut(
                action=w.action,
                hours=w.hours,
                performed_at=utc(w.performed_at),
                recorded_at=utc(w.recorded_at),
                actor=w.actor,
                workaround=w.workaround or None,
                late_by_seconds=late_by(w.performed_at, w.recorded_at),
            )
            for w in t.work_log
        ],
        hours_logged=round(sum(w.hours for w in t.work_log), 2),
        workaround=t.workaround,
        waiting_reason=t.waiting_reason,
        resolution=ResolutionOut(
            r.resolution, r.root_cause, r.first_contact, utc(r.resolved_at), r.actor
        )
        if r
        else None,
        acceptance=acceptances[-1] if acceptances else None,
        acceptances=acceptances,
        feedback=feedbacks[-1] if feedbacks else None,
        feedbacks=feedbacks,
        invalid_reason=t.invalid_reason,
        first_response_at=_utc_opt(t.first_response_at),
        closed_at=_utc_opt(t.closed_at),
        reopen_count=t.reopen_count,
        allowed_commands=list(t.allowed_commands()),
        version=t.version,
        updated_at=utc(t.modified_on),
        sla=sla_view(sla),
        problems=[LinkedRecord(i, n) for i, n in zip(t.problems, t.problem_numbers, strict=True)],
        project=project,
        source=getattr(t, "source", None),
    )
