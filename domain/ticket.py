"""The service-desk ticket (服务请求/故障/事件), DOMAIN.md §1.

Every step is an explicit past-tense event with a stable topic (``opsledger.ticket:...``),
the acting user (``actor``) and the server's recording time (the library's ``timestamp``,
shown as ``recorded_at``); times that the user claims (``reported_at``, ``performed_at``) are
separate fields, so a late entry stays visible as late. Public command methods check the
rules and then trigger one event; each event's ``apply`` only mutates (it runs again on every
replay). A refused command raises a ``DomainError`` and records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, given, present, refuse_fields, required, stripped
from domain.ci import CisAffectedEvent, NamesCis  # affected CIs (ADR 0063)
from domain.errors import FieldError, InvalidCommand, OverrideReasonRequired, ResolutionTooVague
from domain.priority import DEFAULT_MATRIX, Impact, Importance, Priority, PriorityMatrix, Urgency
from domain.records import RecordEvent
from domain.sla import Milestone  # milestone clocks (ADR 0062)
from domain import visit as visit_rules  # field visits (ADR 0064)
from domain.visit import ServiceSheet, Visit


class Status(StrEnum):
    REGISTERED = "registered"
    CLASSIFIED = "classified"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    INVALID = "invalid"
    # A catalogue request waiting for its approval; no SLA clock runs yet (ADR 0061).
    AWAITING_APPROVAL = "awaiting_approval"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    FAX = "fax"
    ONSITE = "onsite"


class Visibility(StrEnum):
    """Who reads a note (ADR 0055): everyone entitled to the ticket, or the staff only
    (requesters and auditors never see an internal note)."""

    PUBLIC = "public"
    INTERNAL = "internal"


class Author(StrEnum):
    """Whose words a note is: the provider's staff, or the customer (mail, portal)."""

    STAFF = "staff"
    CUSTOMER = "customer"


class TicketType(StrEnum):
    FAULT = "fault"
    CONSULTATION = "consultation"
    OPTIMIZATION = "optimization"
    DELIVERY = "delivery"


S = Status
# Which command each status admits (DOMAIN §1, API.md ticket table). The 409 names these.
ALLOWED: dict[Status, tuple[str, ...]] = {
    S.REGISTERED: ("invalidate", "classify"),
    S.CLASSIFIED: ("invalidate", "classify", "assign"),
    S.ASSIGNED: ("classify", "assign", "start", "log_work", "resolve"),
    S.IN_PROGRESS: ("classify", "assign", "log_work", "await_customer", "resolve"),
    S.WAITING_CUSTOMER: ("resume",),
    S.RESOLVED: ("confirm", "close"),
    S.CLOSED: ("reopen", "feedback"),
    S.INVALID: (),
    S.AWAITING_APPROVAL: ("approve", "reject"),  # a catalogue request (ADR 0061)
}
# Field visits (ADR 0064): planned, rescheduled, departed and arrived while the ticket is
# being worked; the engineer may leave with the service sheet after it was resolved too.
VISITS_OPEN = (S.ASSIGNED, S.IN_PROGRESS, S.WAITING_CUSTOMER)
VISITS_CLOSE = (*VISITS_OPEN, S.RESOLVED)

# Resolution texts that say nothing about what was done ([003] 四(三): 避免模糊表述).
VAGUE_RESOLUTIONS = frozenset(
    {
        "已处理", "已解决", "处理完毕", "已完成", "完成", "解决", "已修复", "修复", "好了",
        "ok", "done", "fixed", "resolved", "solved", "closed", "n/a", "na", "-", ".",
    }
)
MIN_RESOLUTION_CHARS = 4


def vague_resolution(text: str) -> bool:
    """True when a resolution text says nothing precise (empty, a stock phrase like "已解决"
    or "fixed", or shorter than ``MIN_RESOLUTION_CHARS``): tickets and problems refuse it."""
    text = text.strip()
    return (
        not text
        or text.lower().rstrip("。.!！") in VAGUE_RESOLUTIONS
        or len(text) < MIN_RESOLUTION_CHARS
    )


@dataclass(frozen=True)
class Contact:
    """The customer's contact person: personal data (DOMAIN §7). The application stores it
    sealed with the customer's key (ADR 0034); once that key is destroyed every view shows
    ``ERASED_CONTACT`` instead. ``phone``/``email`` are ``None`` only when erased."""

    name: str
    phone: str | None = ""
    email: str | None = ""
    erased: bool = False


# What a contact reads as after its customer's personal data was erased (ADR 0034).
ERASED_CONTACT = Contact(name="[erased]", phone=None, email=None, erased=True)


@dataclass(frozen=True)
class ProposedClassification:
    """Classification fields given at registration before all five are known."""

    type: TicketType | None = None
    category: str | None = None
    urgency: Urgency | None = None
    impact: Impact | None = None
    importance: Importance | None = None

    def complete(self) -> bool:
        return None not in (self.type, self.category, self.urgency, self.impact, self.importance)


@dataclass(frozen=True)
class Classification:
    type: TicketType
    category: str
    urgency: Urgency
    impact: Impact
    importance: Importance
    priority: Priority
    computed_priority: Priority
    override_reason: str = ""


@dataclass(frozen=True)
class WorkEntry:
    action: str
    hours: float
    performed_at: datetime
    recorded_at: datetime
    actor: str
    workaround: str = ""
    # Ids of uploaded files that came with the entry (a service record, ADR 0056).
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolution:
    resolution: str
    root_cause: str
    first_contact: bool
    resolved_at: datetime
    actor: str


@dataclass(frozen=True)
class Acceptance:
    number: str
    signer: str
    items: tuple[str, ...]
    criteria: tuple[str, ...]
    passed: bool
    at: datetime
    unmet_items: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ClockPause:
    """Working time during which the SLA clocks did not run (ADR 0015).

    ``kind`` is ``waiting_customer`` (CustomerAwaited .. Resumed), ``acceptance_rejected`` or
    ``reopened`` (from the resolution that was not accepted to the rejection or reopening:
    the resolution clock resumes with the time it had left, it does not restart).
    """

    start: datetime
    end: datetime
    kind: str


@dataclass(frozen=True)
class SlaDeadlines:
    """The SLA deadlines computed for a ticket, with everything that produced them (ADR 0015).

    The domain records what it is given: the application computes these from the policy
    version and calendar version named here and the holiday data ``holiday_data`` (package
    and version; ``None`` when the calendar has no base schedule). Times are instants; the
    ``*_target_seconds`` are the working length of each target on that calendar (for the
    warning thresholds) and ``*_paused_seconds`` the paused working time that moved each due.
    """

    policy: str
    policy_version: int
    calendar: str
    calendar_version: int
    holiday_data: str | None
    priority: Priority
    response_target: str
    resolution_target: str
    response_started_at: datetime
    response_due: datetime
    response_target_seconds: int
    response_paused_seconds: int
    resolution_started_at: datetime
    resolution_due: datetime
    resolution_target_seconds: int
    resolution_paused_seconds: int
    warning_thresholds: tuple[float, ...]
    rule: str
    reason: str
    # The instants at which each warning threshold is reached (same order as
    # ``warning_thresholds``), pause-aware, computed with the deadlines (ADR 0016). Empty in
    # deadlines recorded before ADR 0016; the watcher then computes them itself.
    response_warnings: tuple[datetime, ...] = ()
    resolution_warnings: tuple[datetime, ...] = ()
    # Who chose the policy when the deadlines were first computed (ADR 0018): ``ticket`` (its
    # ``sla_policy``), ``customer`` (the customer's policy) or ``default``; empty in deadlines
    # recorded before ADR 0018. Later recomputations carry it over.
    policy_source: str = ""
    # The policy version's milestone clocks (ADR 0062), so the ticket and the watcher's index
    # know them without the policy; empty in deadlines recorded before ADR 0062.
    milestones: tuple[Milestone, ...] = ()

    def due(self, clock: str) -> datetime:
        return self.response_due if clock == "response" else self.resolution_due

    def warnings(self, clock: str) -> tuple[datetime, ...]:
        return self.response_warnings if clock == "response" else self.resolution_warnings


@dataclass(frozen=True)
class Improvement:
    action: str
    owner: str
    due: date


@dataclass(frozen=True)
class Feedback:
    number: str
    timeliness: int
    effectiveness: int
    attitude: int
    mean: float
    comment: str
    at: datetime
    improvement: Improvement | None = None
    # Given after the 3-working-day window (DOMAIN §1.9): accepted, flagged (ADR 0028).
    late: bool = False
    window_end: datetime | None = None


@dataclass(frozen=True)
class ServiceRequest:
    """What a request made through the service catalogue asked for (ADR 0061): the service
    and the version its form was validated against, the form, and the approval it needs
    (``none``, ``manager``, ``customer``)."""

    service_id: str
    service_version: int
    service_name: str
    form: dict[str, Any]
    approval: str


@dataclass(frozen=True)
class ApprovalDecision:
    """The approval of a catalogue request: approved or rejected, by whom, in which capacity
    (``manager``, ``customer``), when, and why (a rejection's reason)."""

    approved: bool
    actor: str
    capacity: str
    at: datetime
    reason: str = ""


SLA_CLOCKS = ("response", "resolution")
# Escalation is possible while the ticket is open (API.md: ``escalate`` from any open status).
ESCALATABLE = frozenset(
    {S.REGISTERED, S.CLASSIFIED, S.ASSIGNED, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED}
)
# The customer (or the desk for them) may add information while the ticket is being worked
# (ADR 0052): not in the ``ALLOWED`` table, like escalation, since it changes no status.
TAKES_INFORMATION = frozenset(
    {S.REGISTERED, S.CLASSIFIED, S.ASSIGNED, S.IN_PROGRESS, S.WAITING_CUSTOMER}
)
MAX_INFORMATION = 20_000
MAX_COMMENT = 100_000  # a long mail's text body
NOT_OPEN_FOR_INFORMATION = ("information is added to an open ticket; a resolved one is "
                            "accepted or rejected")
# What an escalation raises the priority to (DOMAIN §2): P3 -> P2 -> P1, P1 stays P1.
RAISED_PRIORITY = {Priority.P3: Priority.P2, Priority.P2: Priority.P1, Priority.P1: Priority.P1}


def sla_mark(kind: str, clock: str, threshold: float, instant: datetime) -> tuple[str, str, float, datetime]:
    """The identity of a time-driven SLA event (ADR 0016): a warning or breach is recorded
    once per (kind, clock, threshold, instant); a recomputed deadline that moves the instant
    is a new deadline, whose events may be recorded again."""
    return (kind, clock, float(threshold), instant)


def _refuse_all(*parts: list[FieldError] | InvalidCommand | None) -> None:
    """Raises one ``InvalidCommand`` naming every field refused, in the order given: a part
    is a list of field errors or a named rule broken (raised as itself when it is the only
    refusal), ``None`` or ``[]`` when that part is fine (issue 16: every field at once)."""
    errors: list[FieldError] = []
    named = [p for p in parts if isinstance(p, InvalidCommand)]
    for part in parts:
        errors += part.errors if isinstance(part, InvalidCommand) else (part or [])
    if len(named) == 1 and list(named[0].errors) == errors:
        raise named[0]
    if errors:
        raise InvalidCommand(errors)


class Ticket(NamesCis, StatusRules, Aggregate):  # NamesCis: name_cis (ADR 0063)
    TOPIC = "opsledger.ticket:Ticket"
    ALLOWED = ALLOWED
    RECORD = "ticket"

    class Event(RecordEvent):
        TOPIC = "opsledger.ticket:Ticket.Event"

        def mutate(self, aggregate: Any) -> Any:
            # The trail of event class names and instants the milestone clocks start and
            # stop on (ADR 0062): the event's ``occurred_at`` when it has one, else its time.
            aggregate = super().mutate(aggregate)
            at = getattr(self, "occurred_at", None) or self.timestamp
            aggregate.event_trail = (*aggregate.event_trail, (type(self).__name__, at))
            return aggregate

    class Registered(Aggregate.Created):
        TOPIC = "opsledger.ticket:Ticket.Registered"
        number: str
        customer: str
        contact: Contact
        channel: Channel
        title: str
        description: str
        affected_system: str
        reported_at: datetime
        attachments: tuple[str, ...]
        proposed: ProposedClassification
        sla_policy: str | None
        actor: str
        # What opened it when not a person: e.g. ``routine:<project>:<routine>:<run_at>``
        # for an abnormal routine run (ADR 0028); absent in older events.
        source: str | None = None

    class Invalidated(Event):
        TOPIC = "opsledger.ticket:Ticket.Invalidated"
        reason: str

        def apply(self, t: Ticket) -> None:
            t.status = Status.INVALID
            t.invalid_reason = self.reason
            t.closed_at = self.timestamp

    class Classified(Event):
        TOPIC = "opsledger.ticket:Ticket.Classified"
        classification: Classification

        def apply(self, t: Ticket) -> None:
            t.classification = self.classification
            if t.status is Status.REGISTERED:
                t.status = Status.CLASSIFIED

    class PriorityGiven(Event):
        """A priority set by hand before the ticket is classified (issue 16 item 4): at
        registration (``priority`` with its ``override_reason``), or raised by an escalation
        of such a ticket. The SLA clocks run on it from ``reported_at``; a later ``classify``
        decides the priority from then on (ADR 0011)."""

        TOPIC = "opsledger.ticket:Ticket.PriorityGiven"
        priority: Priority
        override_reason: str

        def apply(self, t: Ticket) -> None:
            t.given_priority = self.priority
            t.given_override_reason = self.override_reason

    class Assigned(Event):
        TOPIC = "opsledger.ticket:Ticket.Assigned"
        assignee: str | None
        group: str | None
        interface_person: str | None

        def apply(self, t: Ticket) -> None:
            t.assignee = self.assignee
            t.group = self.group
            t.interface_person = self.interface_person
            t.status = Status.ASSIGNED
            if t.first_response_at is None:
                t.first_response_at = self.timestamp

    class Started(Event):
        TOPIC = "opsledger.ticket:Ticket.Started"

        def apply(self, t: Ticket) -> None:
            t.status = Status.IN_PROGRESS
            if t.first_response_at is None:
                t.first_response_at = self.timestamp

    class WorkLogged(Event):
        TOPIC = "opsledger.ticket:Ticket.WorkLogged"
        entry: WorkEntry

        def apply(self, t: Ticket) -> None:
            t.work_log = (*t.work_log, self.entry)
            if self.entry.workaround:
                t.workaround = self.entry.workaround
            t.status = Status.IN_PROGRESS
            if t.first_response_at is None:
                t.first_response_at = self.timestamp

    class CustomerAwaited(Event):
        TOPIC = "opsledger.ticket:Ticket.CustomerAwaited"
        reason: str

        def apply(self, t: Ticket) -> None:
            t.status = Status.WAITING_CUSTOMER
            t.waiting_reason = self.reason
            t.waiting_since = self.timestamp

    class Resumed(Event):
        TOPIC = "opsledger.ticket:Ticket.Resumed"

        def apply(self, t: Ticket) -> None:
            if t.waiting_since is not None:
                t.clock_pauses = (
                    *t.clock_pauses,
                    ClockPause(t.waiting_since, self.timestamp, "waiting_customer"),
                )
            t.status = Status.IN_PROGRESS
            t.waiting_reason = None
            t.waiting_since = None

    class Resolved(Event):
        TOPIC = "opsledger.ticket:Ticket.Resolved"
        resolution: Resolution

        def apply(self, t: Ticket) -> None:
            t.status = Status.RESOLVED
            t.resolution = self.resolution

    class AcceptanceConfirmed(Event):
        TOPIC = "opsledger.ticket:Ticket.AcceptanceConfirmed"
        acceptance: Acceptance

        def apply(self, t: Ticket) -> None:
            t.acceptances = (*t.acceptances, self.acceptance)
            t.status = Status.CLOSED
            t.closed_at = self.timestamp
            t.feedback_due = True

    class AcceptanceRejected(Event):
        TOPIC = "opsledger.ticket:Ticket.AcceptanceRejected"
        acceptance: Acceptance

        def apply(self, t: Ticket) -> None:
            t.acceptances = (*t.acceptances, self.acceptance)
            if t.resolution is not None:
                t.clock_pauses = (
                    *t.clock_pauses,
                    ClockPause(t.resolution.resolved_at, self.timestamp, "acceptance_rejected"),
                )
            t.status = Status.IN_PROGRESS

    class Reopened(Event):
        TOPIC = "opsledger.ticket:Ticket.Reopened"
        reason: str

        def apply(self, t: Ticket) -> None:
            if t.resolution is not None:
                t.clock_pauses = (
                    *t.clock_pauses,
                    ClockPause(t.resolution.resolved_at, self.timestamp, "reopened"),
                )
            t.status = Status.IN_PROGRESS
            t.reopen_count += 1
            t.closed_at = None
            t.feedback_due = False

    class InformationAdded(Event):
        """The customer added information to an open ticket (补充信息, ADR 0052): what they
        say, as they say it. Changes no status and no clock: an engineer waiting for the
        customer resumes the ticket when the answer is enough. ``information`` is the
        customer's words (sealed with the customer's key, ADR 0043)."""

        TOPIC = "opsledger.ticket:Ticket.InformationAdded"
        information: str

        def apply(self, t: Ticket) -> None:
            pass

    class CommentAdded(Event):
        """A note on the ticket (ADR 0055): the staff's (public or internal) or the customer's
        (always public: a reply by mail, a message from the portal). ``via`` says where it came
        from (``api``, ``console``, ``portal``, ``email``); ``message_id`` is the mail's
        ``Message-ID`` ("" otherwise) and ``sender`` its ``From`` (personal data, sealed with
        ``body``); ``attachments`` are the ids of uploaded files (``domain.attachment``).
        Allowed in every status; changes no status and no clock."""

        TOPIC = "opsledger.ticket:Ticket.CommentAdded"
        body: str
        visibility: str
        author: str
        via: str
        attachments: tuple[str, ...]
        message_id: str
        sender: str

        def apply(self, t: Ticket) -> None:
            pass

    class FeedbackGiven(Event):
        TOPIC = "opsledger.ticket:Ticket.FeedbackGiven"
        # Version 2 added ``late`` and ``window_end`` (ADR 0028); stored version-1 events
        # lack them and are upcast on load (ADR 0032, tests/domain/test_upcasting.py).
        class_version = 2
        feedback: Feedback
        # The window's end and whether the feedback came after it.
        late: bool = False
        window_end: datetime | None = None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no feedback window: not late, window end unknown."""
            state.setdefault("late", False)
            state.setdefault("window_end", None)

        def apply(self, t: Ticket) -> None:
            fb = replace(self.feedback, late=self.late, window_end=self.window_end)
            t.feedbacks = (*t.feedbacks, fb)
            t.feedback_due = False

    class SlaDeadlinesSet(Event):
        """Deadlines computed by the SLA engine (actor ``system:sla``), ADR 0015."""

        TOPIC = "opsledger.ticket:Ticket.SlaDeadlinesSet"
        deadlines: SlaDeadlines

        def apply(self, t: Ticket) -> None:
            t.sla_deadlines = self.deadlines

    class SlaWarningRaised(Event):
        """A warning threshold of a clock was reached (ADR 0016); actor ``system:sla``.
        ``occurred_at`` is when it was reached by the deadline arithmetic, the event's
        timestamp when the watcher recorded it."""

        TOPIC = "opsledger.ticket:Ticket.SlaWarningRaised"
        clock: str
        threshold: float
        due: datetime
        occurred_at: datetime

        def apply(self, t: Ticket) -> None:
            t.sla_marks = t.sla_marks | {
                sla_mark("warning", self.clock, self.threshold, self.occurred_at)}

    class SlaBreached(Event):
        """A clock passed its due while running (ADR 0016); ``occurred_at`` is the due."""

        TOPIC = "opsledger.ticket:Ticket.SlaBreached"
        clock: str
        due: datetime
        occurred_at: datetime

        def apply(self, t: Ticket) -> None:
            t.sla_marks = t.sla_marks | {sla_mark("breach", self.clock, 1.0, self.due)}

    class Escalated(Event):
        """An escalation (升级, DOMAIN §2): the priority raised (a ``Classified`` event just
        before it), the manager and the expert notified. ``by`` is ``system`` for the
        watcher's escalation on a breach (``clock``/``due`` name it), else the user."""

        TOPIC = "opsledger.ticket:Ticket.Escalated"
        level: int
        reason: str
        by: str
        priority_from: Priority | None
        priority_to: Priority | None
        manager: str
        expert: str
        actions: tuple[str, ...]
        occurred_at: datetime
        clock: str | None = None
        due: datetime | None = None

        def apply(self, t: Ticket) -> None:
            t.escalation_level = self.level
            if self.clock is not None:
                t.escalated_clocks = t.escalated_clocks | {self.clock}

    class ProblemLinked(Event):
        """The ticket was linked to a problem (DOMAIN §3), in the same transaction as the
        problem's ``TicketLinked`` (ADR 0019). Allowed in any status; no SLA effect."""

        TOPIC = "opsledger.ticket:Ticket.ProblemLinked"
        problem_id: str
        problem_number: str

        def apply(self, t: Ticket) -> None:
            t.problems = (*t.problems, self.problem_id)
            t.problem_numbers = (*t.problem_numbers, self.problem_number)

    # ---------------------------------- affected CIs (ADR 0063, issue 20 item 1)
    class CisAffected(CisAffectedEvent, Event):
        """Saved with the registration or when the CIs are named later; ``affected_system``
        stays the free text."""

        TOPIC = "opsledger.ticket:Ticket.CisAffected"

    # ---- milestone clocks (OLA, ADR 0062): recorded by the SLA watcher (``system:sla``)

    class MilestoneWarningRaised(Event):
        """A warning threshold of a milestone's run was reached; ``started_at`` names the run,
        ``occurred_at`` is when it was reached, the timestamp when it was recorded."""

        TOPIC = "opsledger.ticket:Ticket.MilestoneWarningRaised"
        milestone: str
        threshold: float
        started_at: datetime
        due: datetime
        occurred_at: datetime

        def apply(self, t: Ticket) -> None:
            t.milestone_marks = t.milestone_marks | {
                ("warning", self.milestone, self.started_at, float(self.threshold))}

    class MilestoneBreached(Event):
        """A milestone's run passed its due while running; ``occurred_at`` is the due."""

        TOPIC = "opsledger.ticket:Ticket.MilestoneBreached"
        milestone: str
        started_at: datetime
        due: datetime
        occurred_at: datetime

        def apply(self, t: Ticket) -> None:
            t.milestone_marks = t.milestone_marks | {
                ("breach", self.milestone, self.started_at, 1.0)}

    class ContactErased(Event):
        """The customer's personal data was erased (crypto-shredding, ADR 0034, 0043): the key
        that sealed this ticket's contact, interface person, signers and feedback comments is
        destroyed, so they read as erased in every version of the record; this event clears
        them from every process's cached ticket too. Allowed in any status; carries no
        personal data."""

        TOPIC = "opsledger.ticket:Ticket.ContactErased"
        reason: str
        erasure_id: str

        def apply(self, t: Ticket) -> None:
            gone = ERASED_CONTACT.name
            t.contact = ERASED_CONTACT
            t.interface_person = gone if t.interface_person else t.interface_person
            t.acceptances = tuple(replace(a, signer=gone) for a in t.acceptances)
            t.feedbacks = tuple(replace(f, comment=gone) if f.comment else f
                                for f in t.feedbacks)
            t.visits = visit_rules.signers_erased(t.visits, gone)  # ADR 0064

    # ------------------------------------------------ field visits (ADR 0064, issue 20 item 4)
    # A visit (派工单 PG-…) is part of its ticket; the rules and value objects are in
    # ``domain/visit.py``. The milestone clocks (ADR 0062) match these events by class name.

    visits = cast(tuple[Visit, ...], ())  # class default: tickets of before visits

    class VisitPlanned(Event):
        TOPIC = "opsledger.ticket:Ticket.VisitPlanned"
        visit: str  # its PG-… number
        engineer: str
        planned_arrival: datetime
        note: str

        def apply(self, t: Ticket) -> None:
            t.visits = visit_rules.planned(t.visits, self)

    class VisitRescheduled(Event):
        TOPIC = "opsledger.ticket:Ticket.VisitRescheduled"
        visit: str
        planned_arrival: datetime
        engineer: str  # "" when the same engineer goes
        reason: str

        def apply(self, t: Ticket) -> None:
            t.visits = visit_rules.rescheduled(t.visits, self)

    class VisitDeparted(Event):
        TOPIC = "opsledger.ticket:Ticket.VisitDeparted"
        visit: str
        occurred_at: datetime | None = None  # claimed; None: when recorded

        def apply(self, t: Ticket) -> None:
            t.visits = visit_rules.departed(t.visits, self)

    class VisitArrived(Event):
        TOPIC = "opsledger.ticket:Ticket.VisitArrived"
        visit: str
        occurred_at: datetime | None = None

        def apply(self, t: Ticket) -> None:
            t.visits = visit_rules.arrived(t.visits, self)

    class VisitLeft(Event):
        """The engineer left the site with the technical service sheet (its ``signer`` is
        personal data, sealed with the customer's key: ADR 0043, 0064)."""

        TOPIC = "opsledger.ticket:Ticket.VisitLeft"
        visit: str
        sheet: ServiceSheet
        occurred_at: datetime | None = None

        def apply(self, t: Ticket) -> None:
            t.visits = visit_rules.left(t.visits, self)

    def _visit_step(self, step: str, number: str) -> Visit:
        statuses = VISITS_CLOSE if step == "leave" else VISITS_OPEN
        if self.status not in statuses:
            self.refuse(f"{step}_visit", "field visits are for tickets "
                        + ", ".join(s.value for s in statuses))
        visit = visit_rules.find(self.visits, number)
        visit_rules.require_step(visit, step)
        return visit

    def plan_visit(self, *, number: str, engineer: str, planned_arrival: datetime | None,
                   note: str = "", actor: str, at: datetime) -> None:
        if self.status not in VISITS_OPEN:
            self.refuse("plan_visit", "field visits are for tickets "
                        + ", ".join(s.value for s in VISITS_OPEN))
        refuse_fields(required("engineer", engineer)
                      + visit_rules.planned_arrival_errors(planned_arrival, at))
        self.trigger_event(self.VisitPlanned, timestamp=at, actor=actor, visit=number,
                           engineer=stripped(engineer), planned_arrival=planned_arrival,
                           note=stripped(note))

    def reschedule_visit(self, *, number: str, planned_arrival: datetime | None, reason: str,
                         engineer: str = "", actor: str, at: datetime) -> None:
        visit = self._visit_step("reschedule", number)
        refuse_fields(visit_rules.planned_arrival_errors(planned_arrival, at)
                      + required("reason", reason))
        self.trigger_event(self.VisitRescheduled, timestamp=at, actor=actor,
                           visit=visit.number, planned_arrival=planned_arrival,
                           engineer=stripped(engineer), reason=stripped(reason))

    def depart_visit(self, *, number: str, actor: str, at: datetime,
                     occurred_at: datetime | None = None) -> None:
        visit = self._visit_step("depart", number)
        refuse_fields(visit_rules.occurred_errors(occurred_at, at, None, ""))
        self.trigger_event(self.VisitDeparted, timestamp=at, actor=actor, visit=visit.number,
                           occurred_at=occurred_at)

    def arrive_visit(self, *, number: str, actor: str, at: datetime,
                     occurred_at: datetime | None = None) -> None:
        visit = self._visit_step("arrive", number)
        refuse_fields(visit_rules.occurred_errors(occurred_at, at, visit.departed_at,
                                                  "the departure"))
        self.trigger_event(self.VisitArrived, timestamp=at, actor=actor, visit=visit.number,
                           occurred_at=occurred_at)

    def leave_visit(self, *, number: str, work_done: str, parts_used: Any, signer: str,
                    actor: str, at: datetime, occurred_at: datetime | None = None) -> None:
        visit = self._visit_step("leave", number)
        errors = visit_rules.occurred_errors(occurred_at, at, visit.arrived_at, "the arrival")
        try:
            sheet = visit_rules.sheet_of(work_done, parts_used, signer)
        except InvalidCommand as e:
            raise InvalidCommand([*e.errors, *errors]) from None
        refuse_fields(errors)
        self.trigger_event(self.VisitLeft, timestamp=at, actor=actor, visit=visit.number,
                           sheet=sheet, occurred_at=occurred_at)

    # ------------------------------------------------------------ end of field visits

    # --- requests through the service catalogue (H1, ADR 0061) ----------------------
    # Read with these defaults from tickets cached or snapshotted before ADR 0061.
    service_request: ServiceRequest | None = None
    approval_decision: ApprovalDecision | None = None

    class ServiceRequested(Event):
        """Registered through the service catalogue: the service, its version, the validated
        form and the approval it needs (saved with ``Registered``). A request that needs an
        approval waits in ``awaiting_approval``; no SLA clock runs until it is approved."""

        TOPIC = "opsledger.ticket:Ticket.ServiceRequested"
        service_id: str
        service_version: int
        service_name: str
        form: dict[str, Any]
        approval: str

        def apply(self, t: Ticket) -> None:
            t.service_request = ServiceRequest(
                self.service_id, self.service_version, self.service_name, dict(self.form),
                self.approval)
            if self.approval != "none":
                t.status = Status.AWAITING_APPROVAL

    class Approved(Event):
        """The request was approved: it moves on to ``status`` (``registered``, or
        ``classified`` when it was classified at registration); its SLA clocks start now."""

        TOPIC = "opsledger.ticket:Ticket.Approved"
        status: Status
        capacity: str

        def apply(self, t: Ticket) -> None:
            t.status = Status(self.status)
            t.approval_decision = ApprovalDecision(True, self.actor, self.capacity,
                                                   self.timestamp)

    class ApprovalRejected(Event):
        """The request was refused by its approver, with the reason: it ends (``invalid``,
        its reason the rejection's) without any clock having run."""

        TOPIC = "opsledger.ticket:Ticket.ApprovalRejected"
        reason: str
        capacity: str

        def apply(self, t: Ticket) -> None:
            t.status = Status.INVALID
            t.invalid_reason = self.reason
            t.closed_at = self.timestamp
            t.approval_decision = ApprovalDecision(False, self.actor, self.capacity,
                                                   self.timestamp, self.reason)

    @property
    def sla_start(self) -> datetime:
        """Where a new SLA clock starts: ``reported_at``, or the approval of a catalogue
        request that needed one (its clocks start at approval, ADR 0061)."""
        d = self.approval_decision
        return max(d.at, self.reported_at) if d is not None and d.approved else self.reported_at

    def request_service(self, *, service_id: str, service_version: int, service_name: str,
                        form: dict[str, Any], approval: str, actor: str, at: datetime) -> None:
        """Records the catalogue service and form of a request being registered."""
        self.trigger_event(self.ServiceRequested, timestamp=at, actor=actor,
                           service_id=service_id, service_version=service_version,
                           service_name=service_name, form=dict(form), approval=approval)

    def approve(self, *, capacity: str, actor: str, at: datetime) -> None:
        self.require("approve")
        status = Status.CLASSIFIED if self.classification is not None else Status.REGISTERED
        self.trigger_event(self.Approved, timestamp=at, actor=actor, status=status,
                           capacity=capacity)

    def reject_request(self, *, reason: str, capacity: str, actor: str, at: datetime) -> None:
        self.require("reject")
        text = given("reason", reason, "say why the request is refused")
        self.trigger_event(self.ApprovalRejected, timestamp=at, actor=actor, reason=text,
                           capacity=capacity)

    # ------------------------------------------------- end of catalogue requests (H1)

    def __init__(
        self,
        number: str,
        customer: str,
        contact: Contact,
        channel: Channel,
        title: str,
        description: str,
        affected_system: str,
        reported_at: datetime,
        attachments: tuple[str, ...],
        proposed: ProposedClassification,
        sla_policy: str | None,
        actor: str,
        source: str | None = None,
    ) -> None:
        self.number = number
        self.source = source
        self.proposed = proposed
        self.sla_policy = sla_policy
        self.customer = customer
        self.contact = contact
        self.channel = channel
        self.title = title
        self.description = description
        self.affected_system = affected_system
        self.reported_at = reported_at
        self.attachments = tuple(attachments)
        self.registered_by = actor
        self.status = Status.REGISTERED
        self.classification: Classification | None = None
        # A priority given by hand before classification (``PriorityGiven``), with its reason.
        self.given_priority: Priority | None = None
        self.given_override_reason = ""
        self.assignee: str | None = None
        self.group: str | None = None
        self.interface_person: str | None = None
        self.work_log: tuple[WorkEntry, ...] = ()
        self.workaround: str | None = None
        self.waiting_reason: str | None = None
        self.waiting_since: datetime | None = None
        self.resolution: Resolution | None = None
        self.acceptances: tuple[Acceptance, ...] = ()
        self.feedbacks: tuple[Feedback, ...] = ()
        self.feedback_due = False
        self.invalid_reason: str | None = None
        self.first_response_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.reopen_count = 0
        self.clock_pauses: tuple[ClockPause, ...] = ()
        self.sla_deadlines: SlaDeadlines | None = None
        self.sla_marks: frozenset[tuple[str, str, float, datetime]] = frozenset()
        self.escalation_level = 0
        self.escalated_clocks: frozenset[str] = frozenset()
        # Milestone clocks (ADR 0062): the later events' (class name, instant), and the
        # warnings and breaches recorded, as (kind, milestone, run start, threshold).
        self.event_trail: tuple[tuple[str, datetime], ...] = ()
        self.milestone_marks: frozenset[tuple[str, str, datetime, float]] = frozenset()
        self.problems: tuple[str, ...] = ()  # ids of the linked problems, oldest link first
        self.problem_numbers: tuple[str, ...] = ()  # their numbers, in the same order
        self.affected_cis: tuple[str, ...] = ()  # CI ids (ADR 0063)
        self.affected_ci_numbers: tuple[str, ...] = ()

    # ----------------------------------------------------------------- queries

    @property
    def recorded_at(self) -> datetime:
        return self.created_on

    @property
    def priority(self) -> Priority | None:
        """The classification's priority; before classification, one given by hand."""
        return self.classification.priority if self.classification else self.given_priority

    @property
    def sla_resolved_at(self) -> datetime | None:
        """When the resolution clock stopped: the resolution while resolved or closed (a
        rejected acceptance or a reopening starts it again), or the invalidation."""
        if self.status in (Status.RESOLVED, Status.CLOSED) and self.resolution is not None:
            return self.resolution.resolved_at
        if self.status is Status.INVALID:
            return self.closed_at
        return None

    def allowed_commands(self) -> tuple[str, ...]:
        allowed = ALLOWED[self.status]
        if self.status is Status.CLOSED and not self.feedback_due:
            allowed = tuple(c for c in allowed if c != "feedback")
        return allowed

    # ---------------------------------------------------------------- commands

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        number: str,
        customer: str,
        contact: Contact,
        channel: Channel,
        title: str,
        description: str,
        affected_system: str,
        reported_at: datetime,
        actor: str,
        at: datetime,
        attachments: tuple[str, ...] = (),
        proposed: ProposedClassification | None = None,
        sla_policy: str | None = None,
        source: str | None = None,
        priority: Priority | None = None,
        override_reason: str = "",
    ) -> Ticket:
        """``priority`` (with its ``override_reason``) is a priority given by hand before the
        classification is complete (``PriorityGiven``); with all five classification fields
        the use case classifies at once instead (``classify`` takes the priority then)."""
        errors = required("customer", customer) + required("title", title)
        errors += required("contact.name", contact.name)
        if reported_at.tzinfo is None:
            errors.append(FieldError("reported_at", "needs a UTC offset"))
        elif reported_at > at:
            errors.append(FieldError("reported_at", "may not be in the future"))
        if priority is not None and not stripped(override_reason):
            errors.append(FieldError(
                "override_reason", "a priority given without the full classification needs a "
                "reason (or give type, category, urgency, impact and importance)"))
        refuse_fields(errors)
        ticket = cls._create(
            cls.Registered,
            id=id,
            timestamp=at,
            number=number,
            customer=stripped(customer),
            contact=contact,
            channel=Channel(channel),
            title=stripped(title),
            description=description,
            affected_system=stripped(affected_system),
            reported_at=reported_at,
            attachments=tuple(attachments),
            proposed=proposed or ProposedClassification(),
            sla_policy=sla_policy,
            actor=actor,
            source=source,
        )
        if priority is not None:
            ticket.trigger_event(cls.PriorityGiven, timestamp=at, actor=actor,
                                 priority=Priority(priority),
                                 override_reason=stripped(override_reason))
        return ticket

    def erase_contact(self, *, reason: str, erasure_id: str, actor: str, at: datetime) -> bool:
        """Records that the personal data was erased; ``False`` (nothing recorded) when the
        contact and everything else personal here already read as erased."""
        gone = ERASED_CONTACT.name
        others = [self.interface_person or gone] + [a.signer for a in self.acceptances] + [
            f.comment or gone for f in self.feedbacks]
        others += [v.sheet.signer for v in self.visits if v.sheet]  # ADR 0064
        if self.contact.erased and all(v == gone for v in others):
            return False
        self.trigger_event(self.ContactErased, timestamp=at, actor=actor, reason=reason,
                           erasure_id=erasure_id)
        return True

    def invalidate(self, *, reason: str, actor: str, at: datetime) -> None:
        self.require("invalidate")
        self.trigger_event(self.Invalidated, timestamp=at, actor=actor,
                           reason=given("reason", reason, "say why the request is not valid"))

    def classify(
        self,
        *,
        type: TicketType,
        category: str,
        urgency: Urgency,
        impact: Impact,
        importance: Importance,
        actor: str,
        at: datetime,
        priority: Priority | None = None,
        override_reason: str = "",
        matrix: PriorityMatrix = DEFAULT_MATRIX,
    ) -> None:
        self.require("classify")
        computed = matrix.priority(Urgency(urgency), Impact(impact), Importance(importance))
        chosen = Priority(priority) if priority else computed
        _refuse_all(required("category", category),
                    OverrideReasonRequired() if chosen != computed and not stripped(override_reason)
                    else None)
        self.trigger_event(
            self.Classified,
            timestamp=at,
            actor=actor,
            classification=Classification(
                type=TicketType(type),
                category=stripped(category),
                urgency=Urgency(urgency),
                impact=Impact(impact),
                importance=Importance(importance),
                priority=chosen,
                computed_priority=computed,
                override_reason=stripped(override_reason) if chosen != computed else "",
            ),
        )

    def assign(
        self,
        *,
        actor: str,
        at: datetime,
        assignee: str | None = None,
        group: str | None = None,
        interface_person: str | None = None,
    ) -> None:
        self.require("assign")
        assignee = stripped(assignee) or None
        group = stripped(group) or None
        if assignee is None and group is None:
            raise InvalidCommand(
                [
                    FieldError("assignee", "name an engineer or a group"),
                    FieldError("group", "name an engineer or a group"),
                ]
            )
        self.trigger_event(
            self.Assigned,
            timestamp=at,
            actor=actor,
            assignee=assignee,
            group=group,
            interface_person=stripped(interface_person) or None,
        )

    def start(self, *, actor: str, at: datetime) -> None:
        self.require("start")
        self.trigger_event(self.Started, timestamp=at, actor=actor)

    def log_work(
        self,
        *,
        action: str,
        hours: float,
        actor: str,
        at: datetime,
        performed_at: datetime | None = None,
        workaround: str = "",
        attachments: tuple[str, ...] = (),
    ) -> None:
        self.require("log_work")
        errors = required("action", action)
        if not 0 < hours <= 24 * 31:
            errors.append(FieldError("hours", "must be more than 0 and at most 744"))
        performed = performed_at or at
        if performed.tzinfo is None:
            errors.append(FieldError("performed_at", "needs a UTC offset"))
        elif performed > at:
            errors.append(FieldError("performed_at", "may not be in the future"))
        elif performed < self.reported_at:
            errors.append(FieldError("performed_at", "is before the ticket was reported"))
        refuse_fields(errors)
        self.trigger_event(
            self.WorkLogged,
            timestamp=at,
            actor=actor,
            entry=WorkEntry(
                action=stripped(action),
                hours=float(hours),
                performed_at=performed,
                recorded_at=at,
                actor=actor,
                workaround=stripped(workaround),
                attachments=tuple(attachments),
            ),
        )

    def await_customer(self, *, reason: str, actor: str, at: datetime) -> None:
        self.require("await_customer")
        self.trigger_event(self.CustomerAwaited, timestamp=at, actor=actor,
                           reason=given("reason", reason, "say what the customer must do"))

    def resume(self, *, actor: str, at: datetime) -> None:
        self.require("resume")
        self.trigger_event(self.Resumed, timestamp=at, actor=actor)

    def resolve(
        self,
        *,
        resolution: str,
        root_cause: str,
        actor: str,
        at: datetime,
        first_contact: bool = False,
    ) -> None:
        self.require("resolve")
        text = stripped(resolution)
        _refuse_all(ResolutionTooVague(resolution) if vague_resolution(text) else None,
                    required("root_cause", root_cause))
        self.trigger_event(
            self.Resolved,
            timestamp=at,
            actor=actor,
            resolution=Resolution(
                resolution=text,
                root_cause=stripped(root_cause),
                first_contact=bool(first_contact),
                resolved_at=at,
                actor=actor,
            ),
        )

    def confirm(
        self,
        *,
        number: str,
        signer: str,
        items: tuple[str, ...],
        criteria: tuple[str, ...],
        passed: bool,
        actor: str,
        at: datetime,
        unmet_items: tuple[str, ...] = (),
        note: str = "",
    ) -> None:
        """The customer's acceptance (验收): passed closes, rejected goes back to work."""
        self.require("confirm")
        errors = required("signer", signer)
        items = tuple(stripped(i) for i in items if stripped(i))
        criteria = tuple(stripped(c) for c in criteria if stripped(c))
        unmet = tuple(stripped(u) for u in unmet_items if stripped(u))
        present(errors, "items", items, "list what was delivered")
        present(errors, "criteria", criteria, "list the acceptance criteria")
        if not passed and not unmet:
            errors.append(FieldError("unmet_items", "a rejection must name the unmet items"))
        refuse_fields(errors)
        acceptance = Acceptance(
            number=number,
            signer=stripped(signer),
            items=items,
            criteria=criteria,
            passed=bool(passed),
            at=at,
            unmet_items=() if passed else unmet,
            note=stripped(note),
        )
        event_class = self.AcceptanceConfirmed if passed else self.AcceptanceRejected
        self.trigger_event(event_class, timestamp=at, actor=actor, acceptance=acceptance)

    def close(self, *, number: str, signer: str, reason: str, actor: str, at: datetime) -> None:
        """Close with the customer's agreement to end support, without an itemised form.

        [004 §3.2.1 d]: support ends only when the customer accepts the result and agrees
        to end it, so the signer is required and an acceptance record (SD) is issued.
        """
        self.require("close")
        refuse_fields(required("signer", signer) + required("reason", reason))
        assert self.resolution is not None  # resolved tickets always carry one
        self.trigger_event(
            self.AcceptanceConfirmed,
            timestamp=at,
            actor=actor,
            acceptance=Acceptance(
                number=number,
                signer=stripped(signer),
                items=(self.resolution.resolution,),
                criteria=("customer agreed to end support",),
                passed=True,
                at=at,
                note=stripped(reason),
            ),
        )

    def set_sla_deadlines(self, deadlines: SlaDeadlines, *, actor: str, at: datetime) -> None:
        """Records deadlines computed elsewhere (the domain reads no clock and no policy)."""
        if self.priority is None:
            self.refuse("set_sla_deadlines", "a ticket gets SLA deadlines once it has a priority")
        errors: list[FieldError] = []
        if deadlines.priority != self.priority:
            errors.append(FieldError(
                "priority", f"deadlines for {deadlines.priority}, ticket is {self.priority}"))
        for name in ("response", "resolution"):
            start = getattr(deadlines, f"{name}_started_at")
            due = getattr(deadlines, f"{name}_due")
            if start.tzinfo is None or due.tzinfo is None:
                errors.append(FieldError(f"{name}_due", "needs a UTC offset"))
            elif due < start:
                errors.append(FieldError(f"{name}_due", "is before the clock started"))
        refuse_fields(errors)
        self.trigger_event(self.SlaDeadlinesSet, timestamp=at, actor=actor, deadlines=deadlines)

    # ------------------------------------------------------------ SLA events (ADR 0016)

    def _require_deadline(self, clock: str, due: datetime) -> SlaDeadlines:
        d = self.sla_deadlines
        if clock not in SLA_CLOCKS:
            raise InvalidCommand.field("clock", f"one of {', '.join(SLA_CLOCKS)}")
        if d is None or d.due(clock) != due:
            raise InvalidCommand.field("due", f"not the current {clock} due of this ticket")
        return d

    def raise_sla_warning(
        self, *, clock: str, threshold: float, due: datetime, occurred_at: datetime,
        actor: str, at: datetime,
    ) -> bool:
        """Records that ``threshold`` of the ``clock`` whose current due is ``due`` was reached
        at ``occurred_at``; False (nothing recorded) when that warning is already recorded."""
        self._require_deadline(clock, due)
        if sla_mark("warning", clock, threshold, occurred_at) in self.sla_marks:
            return False
        if not 0 < threshold < 1 or occurred_at > at:
            raise InvalidCommand.field("threshold", "a fraction below 1, reached by now")
        self.trigger_event(self.SlaWarningRaised, timestamp=at, actor=actor, clock=clock,
                           threshold=float(threshold), due=due, occurred_at=occurred_at)
        return True

    def record_sla_breach(self, *, clock: str, due: datetime, actor: str, at: datetime) -> bool:
        """Records that the ``clock`` passed its current ``due``; False when already recorded."""
        self._require_deadline(clock, due)
        if sla_mark("breach", clock, 1.0, due) in self.sla_marks:
            return False
        if due > at:
            raise InvalidCommand.field("due", "is still ahead")
        self.trigger_event(self.SlaBreached, timestamp=at, actor=actor, clock=clock, due=due,
                           occurred_at=due)
        return True

    def escalate(
        self, *, reason: str, manager: str, expert: str, actor: str, at: datetime,
        occurred_at: datetime | None = None, clock: str | None = None,
        due: datetime | None = None,
    ) -> None:
        """Escalates one level: raises the priority through a ``Classified`` event (so the
        SLA deadlines are recomputed by the ADR 0015 rule), then records ``Escalated``."""
        if self.status not in ESCALATABLE:
            self.refuse("escalate", "only an open ticket can be escalated")
        reason = given("reason", reason, "say why the ticket is escalated")
        level = self.escalation_level + 1
        before = self.priority
        after = RAISED_PRIORITY[before] if before is not None else None
        if self.classification is not None and after is not None and after != before:
            c = self.classification
            self.trigger_event(
                self.Classified, timestamp=at, actor=actor,
                classification=Classification(
                    type=c.type, category=c.category, urgency=c.urgency, impact=c.impact,
                    importance=c.importance, priority=after,
                    computed_priority=c.computed_priority,
                    override_reason=f"escalation {level}: {reason}",
                ),
            )
        elif after is not None and after != before:  # a priority given before classification
            self.trigger_event(self.PriorityGiven, timestamp=at, actor=actor, priority=after,
                               override_reason=f"escalation {level}: {reason}")
        actions = (
            "priority_raised" if after != before else "priority_kept",
            "manager_notified",
            "expert_notified",
        )
        self.trigger_event(
            self.Escalated, timestamp=at, actor=actor, level=level, reason=reason,
            by="system" if actor.startswith("system:") else actor,
            priority_from=before, priority_to=after, manager=manager, expert=expert,
            actions=actions, occurred_at=occurred_at or at, clock=clock, due=due,
        )

    # ------------------------------------------------ milestone clocks (ADR 0062)

    @property
    def trail(self) -> tuple[tuple[str, datetime], ...]:
        """Every event's class name and instant, oldest first; the registration at the time
        the customer reported the fault."""
        return (("Registered", self.reported_at), *self.event_trail)

    def _milestone_mark(self, *, milestone: str, started_at: datetime, due: datetime,
                        occurred_at: datetime, at: datetime) -> None:
        d = self.sla_deadlines
        if d is None or milestone not in {m.name for m in d.milestones}:
            raise InvalidCommand.field("milestone", "not a milestone of this ticket's policy")
        if occurred_at > at or due < started_at:
            raise InvalidCommand.field("occurred_at", "reached by now, after the run started")

    def raise_milestone_warning(
        self, *, milestone: str, threshold: float, started_at: datetime, due: datetime,
        occurred_at: datetime, actor: str, at: datetime,
    ) -> bool:
        """Records that ``threshold`` of the run of ``milestone`` started at ``started_at``
        was reached at ``occurred_at``; False (nothing recorded) when already recorded."""
        if ("warning", milestone, started_at, float(threshold)) in self.milestone_marks:
            return False
        if not 0 < threshold < 1:
            raise InvalidCommand.field("threshold", "a fraction between 0 and 1")
        self._milestone_mark(milestone=milestone, started_at=started_at, due=due,
                             occurred_at=occurred_at, at=at)
        self.trigger_event(self.MilestoneWarningRaised, timestamp=at, actor=actor,
                           milestone=milestone, threshold=float(threshold),
                           started_at=started_at, due=due, occurred_at=occurred_at)
        return True

    def record_milestone_breach(
        self, *, milestone: str, started_at: datetime, due: datetime, actor: str, at: datetime,
    ) -> bool:
        """Records that the run of ``milestone`` started at ``started_at`` passed its
        ``due``; False (nothing recorded) when already recorded."""
        if ("breach", milestone, started_at, 1.0) in self.milestone_marks:
            return False
        self._milestone_mark(milestone=milestone, started_at=started_at, due=due,
                             occurred_at=due, at=at)
        self.trigger_event(self.MilestoneBreached, timestamp=at, actor=actor,
                           milestone=milestone, started_at=started_at, due=due, occurred_at=due)
        return True

    def link_problem(
        self, *, problem_id: str, problem_number: str, actor: str, at: datetime
    ) -> bool:
        """Links the problem ``problem_id`` (any status: a closed incident may still turn out
        to be one of a problem's). False, nothing recorded, when it is already linked."""
        if problem_id in self.problems:
            return False
        self.trigger_event(self.ProblemLinked, timestamp=at, actor=actor,
                           problem_id=problem_id, problem_number=problem_number)
        return True

    def add_information(self, *, information: str, actor: str, at: datetime) -> None:
        """Records what the customer adds while the ticket is open (``TAKES_INFORMATION``)."""
        if self.status not in TAKES_INFORMATION:
            self.refuse("add_information", NOT_OPEN_FOR_INFORMATION)
        text = given("information", information, "say what you want to add")
        if len(text) > MAX_INFORMATION:
            raise InvalidCommand.field("information", f"at most {MAX_INFORMATION} characters")
        self.trigger_event(self.InformationAdded, timestamp=at, actor=actor, information=text)

    def comment(self, *, body: str, visibility: Visibility | str = Visibility.PUBLIC,
                author: Author | str = Author.STAFF, via: str = "api",
                attachments: tuple[str, ...] = (), message_id: str = "", sender: str = "",
                actor: str, at: datetime) -> None:
        """Records a note (``CommentAdded``). A customer's words are public: a customer
        cannot write an internal note."""
        errors: list[FieldError] = []
        text = body.strip() if isinstance(body, str) else ""
        if not text and not attachments:
            errors.append(FieldError("body", "must not be empty: say something, or attach a file"))
        elif len(text) > MAX_COMMENT:
            errors.append(FieldError("body", f"at most {MAX_COMMENT} characters"))
        try:
            seen = Visibility(visibility)
        except ValueError:
            errors.append(FieldError("visibility", "public or internal"))
            seen = Visibility.PUBLIC
        try:
            whose = Author(author)
        except ValueError:
            errors.append(FieldError("author", "staff or customer"))
            whose = Author.STAFF
        if whose is Author.CUSTOMER and seen is Visibility.INTERNAL:
            errors.append(FieldError("visibility", "a customer's message is public"))
        refuse_fields(errors)
        self.trigger_event(self.CommentAdded, timestamp=at, actor=actor, body=text,
                           visibility=seen.value, author=whose.value, via=via,
                           attachments=tuple(attachments), message_id=message_id,
                           sender=sender)

    def reopen(self, *, reason: str, actor: str, at: datetime) -> None:
        self.require("reopen")
        self.trigger_event(self.Reopened, timestamp=at, actor=actor,
                           reason=given("reason", reason, "say why the ticket is reopened"))

    def give_feedback(
        self,
        *,
        number: str,
        timeliness: int,
        effectiveness: int,
        attitude: int,
        comment: str,
        actor: str,
        at: datetime,
        improvement: Improvement | None = None,
        window_end: datetime | None = None,
    ) -> None:
        """``window_end``: the end of the feedback window (computed by the use case with the
        ticket's calendar); feedback after it is recorded all the same, flagged ``late``."""
        self.require(
            "feedback",
            reason="feedback for this closure was already given" if self.status is S.CLOSED else "",
        )
        errors = [
            FieldError(name, "must be an integer from 1 to 5")
            for name, score in (
                ("timeliness", timeliness),
                ("effectiveness", effectiveness),
                ("attitude", attitude),
            )
            if not (isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5)
        ]
        if improvement is not None:
            errors += required("improvement.action", improvement.action)
            errors += required("improvement.owner", improvement.owner)
        refuse_fields(errors)
        mean = round((timeliness + effectiveness + attitude) / 3, 2)
        late = window_end is not None and at > window_end
        self.trigger_event(
            self.FeedbackGiven,
            timestamp=at,
            actor=actor,
            late=late,
            window_end=window_end,
            feedback=Feedback(
                number=number,
                timeliness=timeliness,
                effectiveness=effectiveness,
                attitude=attitude,
                mean=mean,
                comment=stripped(comment),
                at=at,
                improvement=improvement,
            ),
        )
