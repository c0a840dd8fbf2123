"""Changes (变更, DOMAIN.md §4, ADR 0021) and standard-change models: reads, and the lookups
the change commands make (the origin a change names, the model a standard change cites).

The commands are values in ``application.commands.changes`` (``RequestChange``, ``Assess``,
..., ``PutStandardModel``), run by ``ServiceDesk.handle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


from application.desk import HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from domain.change import Change, Origin, OriginKind, StandardModelRef
from domain.errors import InvalidCommand
from domain.numbering import NUMBERED_RECORDS, record_id_for
from domain.standard_change import StandardChangeCatalogue, StandardChangeModel, valid_model_slug

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
    record = desk.load(record_id)
    kind = ORIGIN_TOPICS.get(getattr(type(record), "TOPIC", ""))
    if kind is None or (ref.kind is not None and ref.kind != kind):
        wanted = ref.kind or "ticket, problem, change or project"
        raise _origin_error(f"no {wanted} {text!r}")
    return Origin(kind, str(record.id), getattr(record, "number", "")), record


def model_ref(desk: ServiceDesk, slug: str | None) -> StandardModelRef | None:
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


def get_change(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> Change:
    return desk.get_record(ref, Change, LABEL, as_of)  # type: ignore[no-any-return]


def change_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Change, LABEL)


# ------------------------------------------------------------- standard-change models


def _load_model(desk: ServiceDesk, slug: str) -> StandardChangeModel | None:
    if not valid_model_slug(slug):
        return None
    found = desk.load(StandardChangeModel.id_for(slug))
    return found if isinstance(found, StandardChangeModel) else None


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
    catalogue: StandardChangeCatalogue | None = desk.load(StandardChangeCatalogue.ID)
    if catalogue is None:
        return []
    return [m for m in (_load_model(desk, s) for s in sorted(catalogue.slugs)) if m is not None]
