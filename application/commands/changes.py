"""Change commands (变更, DOMAIN §4, ADR 0021) and standard-change models: each names the
``Change`` (or ``StandardChangeModel``) method it calls and the event it records; fields are
named as the bodies of ``POST /api/v1/changes[/{ref}/<verb>]`` and
``PUT /api/v1/standard-changes/{slug}`` (``adapters/http/change_schemas``).

The origin of a change is checked here (the domain cannot read the store): a ticket,
problem, change or project must exist (else a 422 naming ``origin``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.changes import LABEL, MODEL_LABEL, OriginRef, model_ref, resolve_origin
from application.cis import named_cis  # ADR 0063
from application.commands.base import NOTHING, Command, RecordCommand, command
from domain.change import (
    Change,
    ChangeKind,
    ConsentChannel,
    Decision,
    Origin,
    OriginKind,
    PlanInput,
    Risk,
)
from domain.numbering import RecordKind, record_id_for
from domain.standard_change import (
    ModelDefinition,
    StandardChangeCatalogue,
    StandardChangeModel,
)

if TYPE_CHECKING:
    from application.desk import Context


@command
class ChangeCommand(RecordCommand):
    record_class = Change
    record_label = LABEL


@command
class RequestChange(Command):
    """``Change.request`` → ``Change.Requested`` (``CHG-YYYYMMDD-NNN``). ``origin``: the id or
    number of a ticket, problem, change or project (with its ``kind`` in an ``OriginRef``);
    without an ``affected_system`` the change takes its origin's. HTTP: ``RequestChange``
    (an ``OriginIn`` origin converted to ``OriginRef``)."""

    record_class = Change
    record_label = LABEL
    verb = "request"

    kind: ChangeKind | str
    origin: str | OriginRef
    title: str
    description: str = ""
    affected_system: str = ""
    standard_change: str | None = None
    # CI ids or numbers (ADR 0063); ``None``: its origin's (``Change.CisAffected``)
    affected_cis: Sequence[str] | None = None

    def decide(self, record: None, ctx: Context) -> Change:
        desk = ctx.desk
        origin = self.origin if isinstance(self.origin, OriginRef) else OriginRef(self.origin)
        recorded_origin, source = resolve_origin(desk, origin)
        system = self.affected_system.strip() or str(
            getattr(source, "affected_system", "") or "")
        model = model_ref(desk, self.standard_change)
        number = ctx.issue(RecordKind.CHANGE)
        change = Change.request(
            id=record_id_for(number), number=number, kind=self.kind, origin=recorded_origin,
            title=self.title, description=self.description, affected_system=system,
            standard_model=model, actor=ctx.actor, at=ctx.at)
        change.name_cis(cis=named_cis(desk, self.affected_cis, [source]), actor=ctx.actor,
                        at=ctx.at)  # ADR 0063
        return change


@command
class Assess(ChangeCommand):
    """``Change.assess`` → ``Change.Assessed`` (a new revision). HTTP: ``Assess``."""

    verb = "assess"
    risk: Risk | str
    impact: str


@command
class PlanChange(ChangeCommand):
    """``Change.record_plan`` → ``Change.Planned`` (a new revision; every field required).
    HTTP: ``PlanIn`` (converted to ``domain.change.PlanInput``)."""

    verb = "plan"
    plan: PlanInput

    def decide(self, c: Change, ctx: Context) -> None:
        c.record_plan(self.plan, actor=ctx.actor, at=ctx.at)


@command
class Review(ChangeCommand):
    """``Change.review`` → ``Change.Reviewed`` (the internal review of the current
    revision). HTTP: ``ReviewIn``."""

    verb = "review"
    decision: Decision | str
    reviewer: str
    comment: str = ""


@command
class CustomerReview(ChangeCommand):
    """``Change.customer_review`` → ``Change.CustomerReviewed``. HTTP: ``ReviewIn``."""

    verb = "customer_review"
    decision: Decision | str
    reviewer: str
    comment: str = ""


@command
class Consent(ChangeCommand):
    """``Change.consent`` → ``Change.ConsentRecorded`` (the customer's formal consent with its
    evidence). HTTP: ``ConsentIn``."""

    verb = "consent"
    evidence: str
    channel: ConsentChannel | str
    reference: str = ""
    given_by: str = ""


@command
class ApproveEmergency(ChangeCommand):
    """``Change.approve_emergency`` → ``Change.EmergencyApproved`` (may start before the
    reviews, still owed before close). HTTP: ``EmergencyIn``."""

    verb = "approve_emergency"
    approver: str
    reason: str


@command
class StartChange(ChangeCommand):
    """``Change.start`` → ``Change.Started`` (a 409 naming every missing gate).
    HTTP: ``Empty``."""

    verb = "start"


@command
class Complete(ChangeCommand):
    """``Change.complete`` → ``Change.Completed``. HTTP: ``CompleteIn``."""

    verb = "complete"
    result: str


@command
class RollBack(ChangeCommand):
    """``Change.roll_back`` → ``Change.RolledBack``. HTTP: ``Reason``."""

    verb = "roll_back"
    reason: str


@command
class StartTrial(ChangeCommand):
    """``Change.start_trial`` → ``Change.TrialStarted``. HTTP: ``TrialIn``."""

    verb = "start_trial"
    days: int


@command
class Evaluate(ChangeCommand):
    """``Change.evaluate`` → ``Change.Evaluated`` (the effect against the plan's goal).
    HTTP: ``EvaluateIn``."""

    verb = "evaluate"
    goal_met: bool
    notes: str


@command
class RaiseChangeImprovement(ChangeCommand):
    """``Change.raise_improvement`` → ``Change.ImprovementRaised``, and the follow-up change
    that carries it out (``Change.request`` → ``Change.Requested``, origin: this change,
    same system) in the same save; the follow-up passes every gate itself.
    HTTP: ``ImprovementIn``."""

    verb = "raise_improvement"
    action: str
    owner: str
    due: date | None
    title: str = ""

    def decide(self, change: Change, ctx: Context) -> Change:
        at, actor, action, owner, due = ctx.at, ctx.actor, self.action, self.owner, self.due
        change.check_improvement(action=action, owner=owner, due=due)
        assert due is not None
        number = ctx.issue(RecordKind.CHANGE)
        follow_up = Change.request(
            id=record_id_for(number), number=number, kind=ChangeKind.NORMAL,
            origin=Origin(OriginKind.CHANGE, str(change.id), change.number),
            title=self.title.strip() or f"{change.title}: {action.strip()}"[:200],
            description=f"Improvement of {change.number} (owner {owner.strip()}, due "
                        f"{due.isoformat()}): {action.strip()}",
            affected_system=change.affected_system, actor=actor, at=at)
        change.raise_improvement(action=action, owner=owner, due=due, follow_up=follow_up,
                                 actor=actor, at=at)
        return follow_up


@command
class CloseChange(ChangeCommand):
    """``Change.close`` → ``Change.Closed`` (a 409 naming gates still owed).
    HTTP: ``CloseIn``."""

    verb = "close"
    confirmed_by: str = ""
    note: str = ""


@command
class CancelChange(ChangeCommand):
    """``Change.cancel`` → ``Change.Cancelled`` (before implementation). HTTP: ``Reason``."""

    verb = "cancel"
    reason: str


# ------------------------------------------------------------- standard-change models


@command
class PutStandardModel(Command):
    """Defines the model ``slug`` (``StandardChangeModel.define`` →
    ``StandardChangeModel.Defined``, listed in the catalogue: ``StandardChangeCatalogue.Listed``)
    or records a new version (``StandardChangeModel.redefine`` → ``Redefined``); ``NOTHING``
    when the definition is unchanged. HTTP: ``StandardModelIn`` (parsed to a
    ``ModelDefinition``)."""

    record_class = StandardChangeModel
    record_label = MODEL_LABEL
    verb = "put"
    missing_ok = True

    slug: str
    definition: ModelDefinition

    def target(self) -> UUID | None:
        return StandardChangeModel.id_for(self.slug)

    def decide(self, model: StandardChangeModel | None, ctx: Context) -> Any:
        at, actor = ctx.at, ctx.actor
        if model is not None:
            return None if model.redefine(self.definition, actor=actor, at=at) else NOTHING
        created = StandardChangeModel.define(self.slug, self.definition, actor=actor, at=at)
        catalogue = ctx.desk.load(StandardChangeCatalogue.ID) or StandardChangeCatalogue.open(at)
        catalogue.add(self.slug, at)
        return (created, catalogue)
