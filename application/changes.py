"""Use cases of changes (变更, DOMAIN.md §4, ADR 0021): request, every gated command, follow-up
improvement changes, reads; and the standard-change models that pre-approve standard changes.

Functions over the same ``ServiceDesk`` (one store, clock, cache and write lock), through its
generic write path (``desk._run`` / ``desk._change``): optimistic concurrency with retries,
``If-Match`` (``expected_version``) and ``Idempotency-Key`` work as for tickets.

The origin of a change is checked here (the domain cannot read the store): a ticket, problem
change or project must exist (else a 422 naming ``origin``).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.desk import (
    MAX_ATTEMPTS,
    RETRY_DELAY,
    RETRY_MAX_DELAY,
    CommandResult,
    HistoryEntry,
    ServiceDesk,
)
from application.errors import ConcurrencyConflict, RecordNotFound, VersionMismatch
from application.idempotency import IdempotencyKey, IdempotencyRecord
from domain.change import Change, ChangeKind, Origin, OriginKind, PlanInput, StandardModelRef
from domain.errors import InvalidCommand
from domain.numbering import NUMBERED_RECORDS, RecordKind, record_id_for
from domain.standard_change import (
    ModelDefinition,
    StandardChangeCatalogue,
    StandardChangeModel,
    valid_model_slug,
)

LABEL = "change"
MODEL_LABEL = "standard change"
# The records a change may originate from, by the stored class's topic (no import of their
# modules needed: a problem is whatever ``domain.problem`` stores under this topic).
ORIGIN_TOPICS = {
    "opsledger.ticket:Ticket": OriginKind.TICKET,
    "opsledger.problem:Problem": OriginKind.PROBLEM,
    "opsledger.change:Change": OriginKind.CHANGE,
    "opsledger.project:Project": OriginKind.PROJECT,
}
# The domain method behind each simple command (those that need nothing from the store).
METHODS = {
    "assess": "assess",
    "review": "review",
    "customer_review": "customer_review",
    "consent": "consent",
    "approve_emergency": "approve_emergency",
    "start": "start",
    "complete": "complete",
    "roll_back": "roll_back",
    "start_trial": "start_trial",
    "evaluate": "evaluate",
    "close": "close",
    "cancel": "cancel",
}


@dataclass(frozen=True)
class OriginRef:
    """The origin as the caller names it: an id or number, with its kind when known."""

    id: str
    kind: str | None = None


def _origin_error(message: str) -> InvalidCommand:
    return InvalidCommand.field("origin", message)


def resolve_origin(desk: ServiceDesk, ref: OriginRef) -> tuple[Origin, Any]:
    """The origin as recorded and the record it names."""
    text = ref.id.strip() if isinstance(ref.id, str) else ""
    if not text:
        raise _origin_error("name a ticket, problem or project")
    if ref.kind is not None and ref.kind not in set(OriginKind):
        raise InvalidCommand.field("origin.kind", "one of " + ", ".join(OriginKind))
    prefix = text.split("-", 1)[0].upper()
    try:
        record_id = record_id_for(text) if prefix in NUMBERED_RECORDS else UUID(text)
    except ValueError:
        raise _origin_error(f"{text!r} is not a ticket, problem, change or project id or "
                            "number") from None
    try:
        record = desk._get(record_id)
    except AggregateNotFoundError:
        record = None
    kind = ORIGIN_TOPICS.get(getattr(type(record), "TOPIC", ""))
    if kind is None or (ref.kind is not None and ref.kind != kind):
        wanted = ref.kind or "ticket, problem, change or project"
        raise _origin_error(f"no {wanted} {text!r}")
    return Origin(kind, str(record.id), getattr(record, "number", "")), record


def _model_ref(desk: ServiceDesk, slug: str | None) -> StandardModelRef | None:
    if slug is None:
        return None
    try:
        model = get_model(desk, slug)
    except RecordNotFound:
        raise InvalidCommand.field("standard_change", f"no standard-change model {slug!r}; "
                                                      "PUT it first") from None
    d = model.definition
    return StandardModelRef(id=model.slug, version=model.version, name=d.name,
                            systems=d.systems, approved_by=d.approved_by)


def request_change(
    desk: ServiceDesk, *, kind: ChangeKind | str, origin: OriginRef, title: str,
    description: str = "", affected_system: str = "", standard_change: str | None = None,
    actor: str, idempotency: IdempotencyKey | None = None,
) -> CommandResult:
    """Records a change request with the next ``CHG-YYYYMMDD-NNN`` number. Without an
    ``affected_system`` the change takes its origin ticket's (the calendar needs one)."""
    recorded_origin, source = resolve_origin(desk, origin)
    system = affected_system.strip() or str(getattr(source, "affected_system", "") or "")
    model = _model_ref(desk, standard_change)

    def mutate(_: Any, at: datetime, numbers: Any) -> Change:
        number = numbers.issue(RecordKind.CHANGE)
        return Change.request(
            id=record_id_for(number), number=number, kind=kind, origin=recorded_origin,
            title=title, description=description, affected_system=system,
            standard_model=model, actor=actor, at=at)

    return desk._run(None, mutate, actor=actor, expected_version=None,
                     idempotency=idempotency, kind=Change, label=LABEL)


def run_command(
    desk: ServiceDesk, ref: str | UUID, name: str, *, actor: str,
    expected_version: int | None = None, idempotency: IdempotencyKey | None = None,
    **arguments: Any,
) -> CommandResult:
    """Runs the change command ``name`` (a key of ``METHODS``) with its ``arguments``."""
    method = METHODS[name]

    def command(change: Change, at: datetime, _: Any) -> None:
        getattr(change, method)(**arguments, actor=actor, at=at)

    return desk._change(ref, command, actor=actor, expected_version=expected_version,
                        idempotency=idempotency, kind=Change, label=LABEL)


def record_plan(desk: ServiceDesk, ref: str | UUID, plan: PlanInput, *, actor: str,
                **opts: Any) -> CommandResult:
    def command(change: Change, at: datetime, _: Any) -> None:
        change.record_plan(plan, actor=actor, at=at)

    return desk._change(ref, command, actor=actor, kind=Change, label=LABEL, **opts)


def raise_improvement(desk: ServiceDesk, ref: str | UUID, *, action: str, owner: str,
                      due: date | None, title: str = "", actor: str, **opts: Any
                      ) -> CommandResult:
    """Records a left-over issue's improvement action on the change and opens the follow-up
    change that carries it out (origin: this change; same system), in one transaction. The
    follow-up is a normal change: it passes every review and consent gate itself."""

    def command(change: Change, at: datetime, numbers: Any) -> Change:
        change.check_improvement(action=action, owner=owner, due=due)
        assert due is not None
        number = numbers.issue(RecordKind.CHANGE)
        follow_up = Change.request(
            id=record_id_for(number), number=number, kind=ChangeKind.NORMAL,
            origin=Origin(OriginKind.CHANGE, str(change.id), change.number),
            title=title.strip() or f"{change.title}: {action.strip()}"[:200],
            description=f"Improvement of {change.number} (owner {owner.strip()}, due "
                        f"{due.isoformat()}): {action.strip()}",
            affected_system=change.affected_system, actor=actor, at=at)
        change.raise_improvement(action=action, owner=owner, due=due, follow_up=follow_up,
                                 actor=actor, at=at)
        return follow_up

    return desk._change(ref, command, actor=actor, kind=Change, label=LABEL, **opts)


def get_change(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> Change:
    return desk.get_record(ref, Change, LABEL, as_of)  # type: ignore[no-any-return]


def change_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Change, LABEL)


# ------------------------------------------------------------- standard-change models


@dataclass(frozen=True)
class ModelResult:
    model: StandardChangeModel
    created: bool = False
    changed: bool = False
    replayed: bool = False


def _load_model(desk: ServiceDesk, slug: str) -> StandardChangeModel | None:
    if not valid_model_slug(slug):
        return None
    try:
        found = desk._get(StandardChangeModel.id_for(slug))
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, StandardChangeModel) else None


def put_model(desk: ServiceDesk, slug: str, definition: ModelDefinition, *, actor: str,
              expected_version: int | None = None,
              idempotency: IdempotencyKey | None = None) -> ModelResult:
    """Defines the model ``slug`` or records a new version of it (nothing when unchanged)."""
    for attempt in range(MAX_ATTEMPTS):
        idem_record = desk._find_idempotent(idempotency)
        if idem_record is not None:
            model = desk.repository.get(idem_record.target_id, version=idem_record.target_version)
            return ModelResult(model=model, created=idem_record.created, replayed=True)
        model = _load_model(desk, slug)
        actual = model.version if model is not None else 0
        if expected_version is not None and actual != expected_version:
            raise VersionMismatch(expected_version, actual)
        at = desk.clock.now()
        catalogue = None
        if model is None:
            model = StandardChangeModel.define(slug, definition, actor=actor, at=at)
            try:
                catalogue = desk._get(StandardChangeCatalogue.ID)
            except AggregateNotFoundError:
                catalogue = StandardChangeCatalogue.open(at)
            catalogue.add(slug, at)
            created = changed = True
        else:
            created, changed = False, model.redefine(definition, actor=actor, at=at)
        idem = (IdempotencyRecord.record(idempotency, target_id=model.id,
                                         target_version=model.version, created=created,
                                         actor=actor, at=at)
                if idempotency is not None else None)
        if not changed and idem is None:
            return ModelResult(model=model)
        try:
            desk._save(model if changed else None, catalogue, idem)
        except IntegrityError:
            time.sleep(random.uniform(0, min(RETRY_MAX_DELAY, RETRY_DELAY * 2**attempt)))
            continue
        return ModelResult(model=model, created=created, changed=changed)
    raise ConcurrencyConflict(MAX_ATTEMPTS)


def get_model(desk: ServiceDesk, slug: str, as_of: datetime | None = None
              ) -> StandardChangeModel:
    if as_of is None:
        found = _load_model(desk, slug)
        if found is None:
            raise RecordNotFound(slug, MODEL_LABEL)
        return found
    if not valid_model_slug(slug):
        raise RecordNotFound(slug, MODEL_LABEL)
    return desk.get_record(StandardChangeModel.id_for(slug), StandardChangeModel,  # type: ignore[no-any-return]
                           MODEL_LABEL, as_of)


def list_models(desk: ServiceDesk) -> list[StandardChangeModel]:
    try:
        catalogue: StandardChangeCatalogue = desk._get(StandardChangeCatalogue.ID)
    except AggregateNotFoundError:
        return []
    return [m for m in (_load_model(desk, s) for s in sorted(catalogue.slugs)) if m is not None]
