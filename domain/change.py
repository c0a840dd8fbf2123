"""The change (变更), DOMAIN.md §4: request → assessment → plan → internal review, customer
review and formal consent → implementation (or rollback) → trial run → evaluation → closed.

The gates (ADR 0021):

- ``start`` needs an assessment, a plan, and for the *current revision* of both a passed
  internal review, a passed customer review and the customer's consent. Every ``assess`` or
  ``plan`` opens a new revision, so a changed plan (or risk) must be reviewed and consented to
  again. A refused ``start`` is a 409 whose ``missing`` names every gate not passed.
- A rejected review blocks its gate. Before implementation the plan must then be revised
  (``plan`` again) before anyone reviews or consents again.
- A **standard** change citing an approved standard-change model that covers its system, and
  assessed as low risk, is pre-approved: the model's approval stands for the reviews and the
  consent. Otherwise a standard change goes through every gate.
- An **emergency** change may start with a recorded emergency approval (for the current
  revision) instead of the reviews and consent, but those stay owed: ``close`` is refused
  (409, ``missing``) until they are recorded afterwards.
- Left-over issues become improvement actions; each one is a follow-up change (origin: this
  change) that goes through every gate itself. A change whose evaluation missed the goal
  cannot close without at least one.

Pure: standard library and ``eventsourcing.domain``; time, actor and ids come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, given, refuse_fields, required, stripped
from domain.ci import CisAffectedEvent, NamesCis  # ADR 0063
from domain.errors import FieldError, InvalidCommand
from domain.privacy import ERASED_TEXT, HoldsPersonalData, erased
from domain.records import RecordEvent


class ChangeKind(StrEnum):
    STANDARD = "standard"
    NORMAL = "normal"
    EMERGENCY = "emergency"


class Status(StrEnum):
    REQUESTED = "requested"
    ASSESSED = "assessed"
    PLANNED = "planned"
    APPROVED = "approved"  # every gate for ``start`` passed
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"
    IN_TRIAL = "in_trial"
    EVALUATED = "evaluated"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class ConsentChannel(StrEnum):
    EMAIL = "email"
    FAX = "fax"
    FORM = "form"  # a signed form (its reference in ``reference``)
    LETTER = "letter"
    MEETING = "meeting"  # minutes of a meeting
    OTHER = "other"


class OriginKind(StrEnum):
    TICKET = "ticket"
    PROBLEM = "problem"
    PROJECT = "project"
    CHANGE = "change"  # a follow-up improvement of another change


S = Status
PRE_START = frozenset({S.REQUESTED, S.ASSESSED, S.PLANNED, S.APPROVED})
IMPLEMENTED = frozenset({S.IN_PROGRESS, S.COMPLETED, S.IN_TRIAL, S.EVALUATED, S.ROLLED_BACK})
FINAL = frozenset({S.CLOSED, S.CANCELLED})
# The review gates, in the order the 409 names them, and the command that passes each.
REVIEW_GATES: dict[str, str] = {
    "internal_review": "review",
    "customer_review": "customer_review",
    "consent": "consent",
}
#: Every gate of ``start``, in the order the 409 names them (``gate_checklist`` lists them).
START_GATES = ("assessment", "plan", *REVIEW_GATES)
# Commands each status admits before the gates are looked at (``allowed_commands`` refines).
ALLOWED: dict[Status, tuple[str, ...]] = {
    S.REQUESTED: ("assess", "plan", "cancel"),
    S.ASSESSED: ("assess", "plan", "cancel"),
    S.PLANNED: ("assess", "plan", "review", "customer_review", "consent", "approve_emergency",
                "start", "cancel"),
    S.APPROVED: ("assess", "plan", "review", "customer_review", "consent", "approve_emergency",
                 "start", "cancel"),
    S.IN_PROGRESS: ("complete", "roll_back"),
    S.COMPLETED: ("start_trial", "roll_back"),
    S.IN_TRIAL: ("evaluate", "roll_back", "raise_improvement"),
    S.EVALUATED: ("raise_improvement", "close"),
    S.ROLLED_BACK: ("plan", "raise_improvement", "close"),
    S.CLOSED: (),
    S.CANCELLED: (),
}
MAX_TRIAL_DAYS = 366


@dataclass(frozen=True)
class Origin:
    """What the change comes from: a ticket, a problem, a project, or a change it improves on.
    ``id`` is the record's id (checked to exist by the use case, ADR 0021, 0028)."""

    kind: OriginKind
    id: str
    number: str = ""


@dataclass(frozen=True)
class StandardModelRef:
    """The standard-change model a standard change cites, as it stood when the change was
    requested (its approval is what pre-approves the change)."""

    id: str
    version: int
    name: str
    systems: tuple[str, ...]
    approved_by: str

    def covers(self, system: str) -> bool:
        return system.casefold() in {s.casefold() for s in self.systems}


@dataclass(frozen=True)
class Assessment:
    risk: Risk
    impact: str
    revision: int
    actor: str
    at: datetime


@dataclass(frozen=True)
class Plan:
    goal: str
    content: str
    steps: tuple[str, ...]
    people: tuple[str, ...]
    budget: str
    schedule_start: datetime
    schedule_end: datetime
    risk_plan: str
    rollback_plan: str
    revision: int
    actor: str
    at: datetime


@dataclass(frozen=True)
class Review:
    decision: Decision
    reviewer: str
    comment: str
    revision: int
    actor: str
    at: datetime


@dataclass(frozen=True)
class Consent:
    evidence: str
    channel: ConsentChannel
    reference: str
    given_by: str
    revision: int
    actor: str
    at: datetime


@dataclass(frozen=True)
class EmergencyApproval:
    approver: str
    reason: str
    revision: int
    actor: str
    at: datetime


@dataclass(frozen=True)
class Trial:
    days: int
    started_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Evaluation:
    goal_met: bool
    notes: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class Improvement:
    """A left-over issue's action, carried out as the follow-up change ``change_number``."""

    action: str
    owner: str
    due: date
    change_id: str
    change_number: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class AnnouncementLink:
    """An announcement of the change's planned window to the customers (ADR 0060)."""

    id: str
    number: str
    starts: datetime
    ends: datetime
    withdrawn: bool = False


@dataclass(frozen=True)
class Gates:
    """What the gates of ``start`` and ``close`` depend on, kept by the change and by the
    change list (so both decide the status with this one piece of code). Every assessment or
    plan opens a new ``revision`` and forgets the reviews, consent and emergency approval of
    the previous one."""

    kind: str
    covered: bool = False  # a cited standard-change model covers the change's system
    revision: int = 0
    risk: str | None = None
    planned: bool = False
    internal_review: str | None = None  # the last decision on the current revision
    customer_review: str | None = None
    rejected: bool = False  # a review of the current revision was rejected
    consent: bool = False
    emergency: bool = False  # an emergency approval of the current revision

    def _next(self, **changes: Any) -> Gates:
        return replace(self, revision=self.revision + 1, internal_review=None,
                       customer_review=None, rejected=False, consent=False, emergency=False,
                       **changes)

    def assessed(self, risk: str) -> Gates:
        return self._next(risk=str(risk))

    def planned_(self) -> Gates:
        return self._next(planned=True)

    def reviewed(self, gate: str, decision: str) -> Gates:
        return replace(self, **{gate: str(decision)},
                       rejected=self.rejected or decision == Decision.REJECTED)

    def consented(self) -> Gates:
        return replace(self, consent=True)

    def emergency_approved(self) -> Gates:
        return replace(self, emergency=True)

    @property
    def pre_approved(self) -> bool:
        """The standard-change rule: a cited model covering the system, assessed low risk."""
        return self.kind == ChangeKind.STANDARD and self.covered and self.risk == Risk.LOW

    def passed(self, gate: str) -> bool:
        if gate == "consent":
            return self.consent
        return getattr(self, gate) == Decision.APPROVED

    def owed(self) -> tuple[str, ...]:
        """The review gates not passed for the current revision (none when pre-approved)."""
        if self.pre_approved:
            return ()
        return tuple(g for g in REVIEW_GATES if not self.passed(g))

    def missing_for_start(self) -> tuple[str, ...]:
        missing = []
        if self.risk is None:
            missing.append("assessment")
        if not self.planned:
            missing.append("plan")
        if not (self.emergency and self.kind == ChangeKind.EMERGENCY):
            missing.extend(self.owed())
        else:  # the approval waives reviews not yet held, not a recorded rejection
            missing.extend(g for g in self.owed() if getattr(self, g, None) == Decision.REJECTED)
        return tuple(missing)

    def status_before_start(self) -> Status:
        if not self.planned:
            return S.ASSESSED if self.risk is not None else S.REQUESTED
        return S.PLANNED if self.missing_for_start() else S.APPROVED


@dataclass(frozen=True)
class PlanInput:
    """A plan as the caller gives it: any field may be missing (``plan`` names them all)."""

    goal: str | None = None
    content: str | None = None
    steps: tuple[str, ...] | None = None
    people: tuple[str, ...] | None = None
    budget: str | None = None
    schedule_start: datetime | None = None
    schedule_end: datetime | None = None
    risk_plan: str | None = None
    rollback_plan: str | None = None


def _items(values: tuple[str, ...] | None) -> tuple[str, ...]:
    return tuple(stripped(v) for v in values or () if stripped(v))


def _required(**values: str | None) -> list[FieldError]:
    """``required`` of each field named by its keyword."""
    return [e for name, v in values.items() for e in required(name, v)]


class Change(NamesCis, HoldsPersonalData, StatusRules, Aggregate):
    TOPIC = "opsledger.change:Change"
    ALLOWED = ALLOWED
    RECORD = "change"

    class Event(RecordEvent):
        TOPIC = "opsledger.change:Change.Event"

    class Requested(Aggregate.Created):
        TOPIC = "opsledger.change:Change.Requested"
        number: str
        kind: ChangeKind
        origin: Origin
        title: str
        description: str
        affected_system: str
        standard_model: StandardModelRef | None
        actor: str

    class Assessed(Event):
        TOPIC = "opsledger.change:Change.Assessed"
        assessment: Assessment

        def apply(self, c: Change) -> None:
            c.assessment = self.assessment
            c._gate(c.gates.assessed(self.assessment.risk))

    class Planned(Event):
        TOPIC = "opsledger.change:Change.Planned"
        plan: Plan

        def apply(self, c: Change) -> None:
            c.plan = self.plan
            if c.status is S.ROLLED_BACK:  # a re-plan after a rollback: the gates again
                c.status = S.PLANNED
            c._gate(c.gates.planned_())

    class Reviewed(Event):
        """The internal review (内部评审) of the current revision."""

        TOPIC = "opsledger.change:Change.Reviewed"
        review: Review

        def apply(self, c: Change) -> None:
            c.reviews = (*c.reviews, self.review)
            c._gate(c.gates.reviewed("internal_review", self.review.decision))

    class CustomerReviewed(Event):
        """The customer's review (客户评审) of the current revision."""

        TOPIC = "opsledger.change:Change.CustomerReviewed"
        review: Review

        def apply(self, c: Change) -> None:
            c.customer_reviews = (*c.customer_reviews, self.review)
            c._gate(c.gates.reviewed("customer_review", self.review.decision))

    class ConsentRecorded(Event):
        """The customer's formal consent (客户书面同意) with its evidence."""

        TOPIC = "opsledger.change:Change.ConsentRecorded"
        consent: Consent

        def apply(self, c: Change) -> None:
            c.consents = (*c.consents, self.consent)
            c._gate(c.gates.consented())

    class EmergencyApproved(Event):
        TOPIC = "opsledger.change:Change.EmergencyApproved"
        approval: EmergencyApproval

        def apply(self, c: Change) -> None:
            c.emergency_approval = self.approval
            c._gate(c.gates.emergency_approved())

    class Started(Event):
        TOPIC = "opsledger.change:Change.Started"
        # How the start gates were passed: ``reviewed``, ``standard_model`` or ``emergency``.
        authorised_by: str

        def apply(self, c: Change) -> None:
            c.status = Status.IN_PROGRESS
            c.started_at = self.timestamp
            c.authorised_by = self.authorised_by
            c.result = None
            c.rollback_reason = None
            c.trial = None
            c.evaluation = None

    class Completed(Event):
        TOPIC = "opsledger.change:Change.Completed"
        result: str

        def apply(self, c: Change) -> None:
            c.status = Status.COMPLETED
            c.result = self.result
            c.completed_at = self.timestamp

    class RolledBack(Event):
        TOPIC = "opsledger.change:Change.RolledBack"
        reason: str

        def apply(self, c: Change) -> None:
            c.status = Status.ROLLED_BACK
            c.rollback_reason = self.reason
            c.rolled_back_at = self.timestamp

    class TrialStarted(Event):
        TOPIC = "opsledger.change:Change.TrialStarted"
        trial: Trial

        def apply(self, c: Change) -> None:
            c.status = Status.IN_TRIAL
            c.trial = self.trial

    class Evaluated(Event):
        TOPIC = "opsledger.change:Change.Evaluated"
        evaluation: Evaluation

        def apply(self, c: Change) -> None:
            c.status = Status.EVALUATED
            c.evaluation = self.evaluation

    class ImprovementRaised(Event):
        TOPIC = "opsledger.change:Change.ImprovementRaised"
        improvement: Improvement

        def apply(self, c: Change) -> None:
            c.improvements = (*c.improvements, self.improvement)

    class Closed(Event):
        """Closed after the customer's confirmation (``confirmed_by``, when given)."""

        TOPIC = "opsledger.change:Change.Closed"
        confirmed_by: str
        note: str

        def apply(self, c: Change) -> None:
            c.status = Status.CLOSED
            c.closed_at = self.timestamp
            c.confirmed_by = self.confirmed_by or None
            c.close_note = self.note or None

    class Cancelled(Event):
        TOPIC = "opsledger.change:Change.Cancelled"
        reason: str

        def apply(self, c: Change) -> None:
            c.status = Status.CANCELLED
            c.cancel_reason = self.reason
            c.closed_at = self.timestamp

    class CisAffected(CisAffectedEvent, Event):
        TOPIC = "opsledger.change:Change.CisAffected"

    class AnnouncementLinked(Event):
        """An announcement of the change's window was published (ADR 0060), in the same save."""

        TOPIC = "opsledger.change:Change.AnnouncementLinked"
        announcement: AnnouncementLink

        def apply(self, c: Change) -> None:
            c.announcements = (*c.announcements, self.announcement)

    class AnnouncementWithdrawn(Event):
        """That announcement was withdrawn (ADR 0060), in the same save."""

        TOPIC = "opsledger.change:Change.AnnouncementWithdrawn"
        announcement_id: str
        reason: str

        def apply(self, c: Change) -> None:
            c.announcements = tuple(replace(a, withdrawn=True) if a.id == self.announcement_id
                                    else a for a in c.announcements)

    class PersonalDataErased(Event):
        """The personal data of the change's customer (its origin's) was erased (ADR 0034,
        0043): the customer's reviewer and their comment, who gave consent and who confirmed
        the closure read as ``[erased]``; this event clears them from every process's cached
        change too. Allowed in any status; carries no personal data."""

        TOPIC = "opsledger.change:Change.PersonalDataErased"
        reason: str
        erasure_id: str

        def apply(self, c: Change) -> None:
            c.customer_reviews = tuple(
                replace(r, reviewer=erased(r.reviewer), comment=erased(r.comment))
                for r in c.customer_reviews)
            c.consents = tuple(replace(k, given_by=erased(k.given_by)) for k in c.consents)
            if c.confirmed_by:
                c.confirmed_by = ERASED_TEXT

    #: The announcements of its window (ADR 0060); a class default for changes cached before.
    announcements: tuple[AnnouncementLink, ...] = ()

    def __init__(
        self,
        number: str,
        kind: ChangeKind,
        origin: Origin,
        title: str,
        description: str,
        affected_system: str,
        standard_model: StandardModelRef | None,
        actor: str,
    ) -> None:
        self.number = number
        self.kind = kind
        self.origin = origin
        self.title = title
        self.description = description
        self.affected_system = affected_system
        self.standard_model = standard_model
        self.requested_by = actor
        self.status = Status.REQUESTED
        self.affected_cis: tuple[str, ...] = ()  # CI ids (ADR 0063)
        self.affected_ci_numbers: tuple[str, ...] = ()
        self.gates = Gates(kind=kind.value, covered=bool(
            standard_model and standard_model.covers(affected_system)))
        self.assessment: Assessment | None = None
        self.plan: Plan | None = None
        self.reviews: tuple[Review, ...] = ()
        self.customer_reviews: tuple[Review, ...] = ()
        self.consents: tuple[Consent, ...] = ()
        self.emergency_approval: EmergencyApproval | None = None
        self.started_at: datetime | None = None
        self.authorised_by: str | None = None
        self.result: str | None = None
        self.completed_at: datetime | None = None
        self.rollback_reason: str | None = None
        self.rolled_back_at: datetime | None = None
        self.trial: Trial | None = None
        self.evaluation: Evaluation | None = None
        self.improvements: tuple[Improvement, ...] = ()
        self.closed_at: datetime | None = None
        self.confirmed_by: str | None = None
        self.close_note: str | None = None
        self.cancel_reason: str | None = None

    def _gate(self, gates: Gates) -> None:
        """Keeps the gates; before implementation the status follows from them."""
        self.gates = gates
        if self.status in PRE_START:
            self.status = gates.status_before_start()

    # ----------------------------------------------------------------- queries

    @property
    def recorded_at(self) -> datetime:
        return self.created_on

    @property
    def revision(self) -> int:
        return self.gates.revision

    @property
    def pre_approved(self) -> bool:
        return self.gates.pre_approved

    def gate_passed(self, gate: str) -> bool:
        """Whether ``internal_review``, ``customer_review`` or ``consent`` was recorded (and
        passed) for the current revision."""
        return self.gates.passed(gate)

    def owed_gates(self) -> tuple[str, ...]:
        return self.gates.owed()

    def missing_for_start(self) -> tuple[str, ...]:
        return self.gates.missing_for_start()

    def _improvement_required(self) -> bool:
        """An evaluation that missed the goal: closing needs an improvement raised since."""
        e = self.evaluation
        return self.status is S.EVALUATED and e is not None and not e.goal_met

    def missing_for_close(self) -> tuple[str, ...]:
        missing = list(self.owed_gates())
        if self._improvement_required():
            started = self.started_at
            if not any(started is None or i.at >= started for i in self.improvements):
                missing.append("improvement")
        return tuple(missing)

    def missing_gates(self) -> tuple[str, ...]:
        """What the next gated step needs: ``start`` before implementation, ``close`` after."""
        if self.status in PRE_START:
            return self.missing_for_start()
        if self.status in FINAL:
            return ()
        return self.missing_for_close()

    def gate_checklist(self) -> tuple[tuple[str, str], ...]:
        """Every gate of the next gated step (``start`` before implementation, ``close``
        after, nothing once closed or cancelled), each with how it stands: ``missing`` or
        ``rejected`` (a rejected review: missing too; together exactly ``missing_gates``),
        ``passed``, or ``pre_approved`` / ``emergency`` where a standard-change model's
        approval or an emergency approval stands in for a review not held."""
        if self.status in FINAL:
            return ()
        missing = self.missing_gates()
        if self.status in PRE_START:
            gates: tuple[str, ...] = START_GATES
        else:
            gates = (*REVIEW_GATES, *(("improvement",) if self._improvement_required() else ()))
        checklist = []
        for gate in gates:
            if gate in missing:
                state = ("rejected" if getattr(self.gates, gate, None) == Decision.REJECTED
                         else "missing")
            elif gate not in REVIEW_GATES or self.gate_passed(gate):
                state = "passed"
            else:
                state = "pre_approved" if self.pre_approved else "emergency"
            checklist.append((gate, state))
        return tuple(checklist)

    def allowed_commands(self) -> tuple[str, ...]:
        allowed = ALLOWED[self.status]
        hidden: set[str] = set()
        if self.status in PRE_START:
            if self.missing_for_start():
                hidden.add("start")
            if self.kind is not ChangeKind.EMERGENCY or self.plan is None:
                hidden.add("approve_emergency")
            if self.plan is None or self.gates.rejected:
                hidden.update(REVIEW_GATES.values())
        elif self.status in IMPLEMENTED:
            if self.missing_for_close():
                hidden.add("close")
            allowed += tuple(REVIEW_GATES[g] for g in self.owed_gates())
        return tuple(c for c in allowed if c not in hidden)

    # ---------------------------------------------------------------- commands

    @classmethod
    def request(
        cls,
        *,
        id: UUID,
        number: str,
        kind: ChangeKind | str,
        origin: Origin,
        title: str,
        description: str,
        actor: str,
        at: datetime,
        affected_system: str = "",
        standard_model: StandardModelRef | None = None,
    ) -> Change:
        """The application has checked that the origin (and the cited model) exist."""
        errors = _required(title=title)
        if kind not in set(ChangeKind):
            errors.append(FieldError("kind", "one of standard, normal, emergency"))
        if origin.kind not in set(OriginKind) or not stripped(origin.id):
            errors.append(FieldError("origin", "name a ticket, problem or project"))
        if standard_model is not None:
            if kind != ChangeKind.STANDARD:
                errors.append(FieldError("standard_change", "only a standard change cites a "
                                                            "standard-change model"))
            elif not standard_model.covers(stripped(affected_system)):
                errors.append(FieldError(
                    "affected_system", f"standard-change model {standard_model.id!r} covers "
                    f"{', '.join(standard_model.systems)}, not {stripped(affected_system)!r}"))
        refuse_fields(errors)
        return cls._create(
            cls.Requested, id=id, timestamp=at, number=number, kind=ChangeKind(kind),
            origin=Origin(OriginKind(origin.kind), stripped(origin.id), stripped(origin.number)),
            title=stripped(title), description=stripped(description),
            affected_system=stripped(affected_system), standard_model=standard_model, actor=actor)

    def assess(self, *, risk: Risk | str, impact: str, actor: str, at: datetime) -> None:
        """Records the risk and impact; a new revision, so earlier reviews no longer count."""
        self.require("assess")
        errors = _required(impact=impact)
        if risk not in set(Risk):
            errors.append(FieldError("risk", "one of low, medium, high"))
        refuse_fields(errors)
        self.trigger_event(self.Assessed, timestamp=at, actor=actor, assessment=Assessment(
            risk=Risk(risk), impact=stripped(impact), revision=self.revision + 1, actor=actor,
            at=at))

    def record_plan(self, plan: PlanInput, *, actor: str, at: datetime) -> None:
        """Records the plan (目标、内容、步骤、人员、预算、进度、风险预案、回退方案): every
        field is required and one 422 names all that are missing. A new revision: reviews,
        consent and an emergency approval of an earlier plan no longer count."""
        self.require("plan")
        errors = _required(goal=plan.goal, content=plan.content, budget=plan.budget,
                           risk_plan=plan.risk_plan, rollback_plan=plan.rollback_plan)
        if not _items(plan.steps):
            errors.append(FieldError("steps", "list at least one step"))
        if not _items(plan.people):
            errors.append(FieldError("people", "name at least one person"))
        start, end = plan.schedule_start, plan.schedule_end
        if start is None and end is None:
            errors.append(FieldError("schedule", "give its start and end"))
        for name, value in (("schedule.start", start), ("schedule.end", end)):
            if value is None:
                if start is not None or end is not None:
                    errors.append(FieldError(name, "must not be empty"))
            elif value.tzinfo is None:
                errors.append(FieldError(name, "needs a UTC offset"))
        if start and end and start.tzinfo and end.tzinfo and end <= start:
            errors.append(FieldError("schedule.end", "must be after schedule.start"))
        if errors:
            raise InvalidCommand(errors, detail="the plan is incomplete: " + "; ".join(
                f"{e.field}: {e.message}" for e in errors))
        assert start is not None and end is not None
        self.trigger_event(self.Planned, timestamp=at, actor=actor, plan=Plan(
            goal=stripped(plan.goal), content=stripped(plan.content), steps=_items(plan.steps),
            people=_items(plan.people), budget=stripped(plan.budget), schedule_start=start,
            schedule_end=end, risk_plan=stripped(plan.risk_plan),
            rollback_plan=stripped(plan.rollback_plan), revision=self.revision + 1, actor=actor,
            at=at))

    def _check_review(self, command: str, gate: str) -> None:
        if self.status in PRE_START:
            if self.plan is None:
                self.refuse(command, "there is no plan to review yet", missing=("plan",))
            if self.gates.rejected:
                self.refuse(command, "a review rejected the current plan: record a revised "
                                     "plan first", missing=("plan",))
        elif gate not in self.owed_gates():
            self.refuse(command, f"the {gate.replace('_', ' ')} is not owed")

    def _review(self, command: str, gate: str, *, decision: Decision | str, reviewer: str,
                comment: str, actor: str, at: datetime) -> Review:
        self._check_review(command, gate)
        errors = _required(reviewer=reviewer)
        if decision not in set(Decision):
            errors.append(FieldError("decision", "approved or rejected"))
        elif decision == Decision.REJECTED and not stripped(comment):
            errors.append(FieldError("comment", "say why the plan is rejected"))
        refuse_fields(errors)
        return Review(decision=Decision(decision), reviewer=stripped(reviewer),
                      comment=stripped(comment), revision=self.revision, actor=actor, at=at)

    def review(self, *, decision: Decision | str, reviewer: str, actor: str, at: datetime,
               comment: str = "") -> None:
        """The internal review of the current revision."""
        review = self._review("review", "internal_review", decision=decision, reviewer=reviewer,
                              comment=comment, actor=actor, at=at)
        self.trigger_event(self.Reviewed, timestamp=at, actor=actor, review=review)

    def customer_review(self, *, decision: Decision | str, reviewer: str, actor: str,
                        at: datetime, comment: str = "") -> None:
        review = self._review("customer_review", "customer_review", decision=decision,
                              reviewer=reviewer, comment=comment, actor=actor, at=at)
        self.trigger_event(self.CustomerReviewed, timestamp=at, actor=actor, review=review)

    def consent(self, *, evidence: str, channel: ConsentChannel | str, actor: str, at: datetime,
                reference: str = "", given_by: str = "") -> None:
        """The customer's formal consent, with its evidence (e-mail, fax, signed form …)."""
        self._check_review("consent", "consent")
        errors = _required(evidence=evidence)
        if channel not in set(ConsentChannel):
            errors.append(FieldError("channel", "one of " + ", ".join(ConsentChannel)))
        refuse_fields(errors)
        self.trigger_event(self.ConsentRecorded, timestamp=at, actor=actor, consent=Consent(
            evidence=stripped(evidence), channel=ConsentChannel(channel),
            reference=stripped(reference), given_by=stripped(given_by), revision=self.revision,
            actor=actor, at=at))

    def approve_emergency(self, *, approver: str, reason: str, actor: str, at: datetime) -> None:
        """Lets an emergency change start before its reviews and consent (still owed)."""
        if self.status not in PRE_START:
            self.refuse("approve_emergency")
        if self.kind is not ChangeKind.EMERGENCY:
            self.refuse("approve_emergency", f"a {self.kind.value} change has no emergency path")
        if self.plan is None:
            self.refuse("approve_emergency", "an emergency approval approves a plan: record "
                                             "it first", missing=("plan",))
        errors = _required(approver=approver, reason=reason)
        refuse_fields(errors)
        self.trigger_event(self.EmergencyApproved, timestamp=at, actor=actor,
                           approval=EmergencyApproval(approver=stripped(approver),
                                                      reason=stripped(reason),
                                                      revision=self.revision, actor=actor, at=at))

    def start(self, *, actor: str, at: datetime) -> None:
        """Implementation begins: refused (409 naming every missing gate) unless it may."""
        if self.status not in PRE_START:
            self.refuse("start")
        missing = self.missing_for_start()
        if missing:
            self.refuse("start", "the change may not be implemented yet: missing "
                        + ", ".join(missing), missing=missing)
        how = "standard_model" if self.pre_approved else (
            "reviewed" if not self.owed_gates() else "emergency")
        self.trigger_event(self.Started, timestamp=at, actor=actor, authorised_by=how)

    def complete(self, *, result: str, actor: str, at: datetime) -> None:
        self.require("complete")
        self.trigger_event(self.Completed, timestamp=at, actor=actor, result=given(
            "result", result, "describe the result of the implementation"))

    def roll_back(self, *, reason: str, actor: str, at: datetime) -> None:
        self.require("roll_back")
        self.trigger_event(self.RolledBack, timestamp=at, actor=actor,
                           reason=given("reason", reason, "say why the change is rolled back"))

    def start_trial(self, *, days: int, actor: str, at: datetime) -> None:
        self.require("start_trial")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TRIAL_DAYS:
            raise InvalidCommand.field("days", f"a whole number from 1 to {MAX_TRIAL_DAYS}")
        self.trigger_event(self.TrialStarted, timestamp=at, actor=actor, trial=Trial(
            days=days, started_at=at, ends_at=at + timedelta(days=days)))

    def evaluate(self, *, goal_met: bool, notes: str, actor: str, at: datetime) -> None:
        """The effect evaluated against the plan's goal (效果评估)."""
        self.require("evaluate")
        errors = [] if isinstance(goal_met, bool) else [FieldError("goal_met", "true or false")]
        errors += _required(notes=notes)
        refuse_fields(errors)
        self.trigger_event(self.Evaluated, timestamp=at, actor=actor, evaluation=Evaluation(
            goal_met=goal_met, notes=stripped(notes), actor=actor, at=at))

    def check_improvement(self, *, action: str, owner: str, due: date | None) -> None:
        """Checks ``raise_improvement``'s input before the follow-up change is made."""
        self.require("raise_improvement")
        errors = _required(action=action, owner=owner)
        if due is None:
            errors.append(FieldError("due", "must not be empty"))
        refuse_fields(errors)

    def raise_improvement(self, *, action: str, owner: str, due: date, follow_up: Change,
                          actor: str, at: datetime) -> None:
        """Records a left-over issue's action, carried out by ``follow_up`` (a new change
        whose origin is this one, so it passes every gate again)."""
        self.check_improvement(action=action, owner=owner, due=due)
        if follow_up.origin != Origin(OriginKind.CHANGE, str(self.id), self.number):
            raise InvalidCommand.field("follow_up", "the follow-up change must originate here")
        self.trigger_event(self.ImprovementRaised, timestamp=at, actor=actor,
                           improvement=Improvement(
                               action=stripped(action), owner=stripped(owner), due=due,
                               change_id=str(follow_up.id), change_number=follow_up.number,
                               actor=actor, at=at))

    def close(self, *, actor: str, at: datetime, confirmed_by: str = "", note: str = "") -> None:
        """Closes an evaluated (or rolled-back) change; 409 naming the gates still owed."""
        if self.status not in (S.EVALUATED, S.ROLLED_BACK):
            self.refuse("close")
        missing = self.missing_for_close()
        if missing:
            self.refuse("close", "the change may not close yet: missing " + ", ".join(missing),
                        missing=missing)
        self.trigger_event(self.Closed, timestamp=at, actor=actor,
                           confirmed_by=stripped(confirmed_by), note=stripped(note))

    def cancel(self, *, reason: str, actor: str, at: datetime) -> None:
        self.require("cancel")
        self.trigger_event(self.Cancelled, timestamp=at, actor=actor,
                           reason=given("reason", reason, "say why the change is cancelled"))

    def link_announcement(self, link: AnnouncementLink, *, actor: str, at: datetime) -> None:
        """Records the announcement of the change's window (ADR 0060): a 422 naming
        ``change_id`` once the change is closed or cancelled."""
        if self.status in FINAL:
            raise InvalidCommand.field("change_id", f"change {self.number} is "
                                                    f"{self.status.value}")
        self.trigger_event(self.AnnouncementLinked, timestamp=at, actor=actor,
                           announcement=link)

    def announcement_withdrawn(self, announcement_id: str, *, reason: str, actor: str,
                               at: datetime) -> None:
        """Records that an announcement of the change was withdrawn (in any status)."""
        if any(a.id == announcement_id and not a.withdrawn for a in self.announcements):
            self.trigger_event(self.AnnouncementWithdrawn, timestamp=at, actor=actor,
                               announcement_id=announcement_id, reason=reason)

    def personal_texts(self) -> list[str]:
        """The customer's reviewers and their comments, the consents' givers, the confirmer."""
        return [v for r in self.customer_reviews for v in (r.reviewer, r.comment)] + [
            k.given_by for k in self.consents] + [self.confirmed_by or ""]
