"""Standard-change models (标准变更模板): the documented rule that pre-approves standard changes
(ADR 0021).

A model names a routine, low-risk change (what it does, on which systems, with which steps)
and who approved it. A standard change that cites a model covering its system, and is
assessed as low risk, may start without its own reviews and consent: the model's approval
stands for them. Each version of a model is an event with the whole definition, so the
approval in force when a change was requested stays on record (the change keeps the model's
id and version).

Pure: standard library and ``eventsourcing.domain`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.checks import present, refuse_fields
from domain.errors import FieldError, InvalidCommand
from domain.records import RecordEvent, VersionedRecord, directory

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PRE_APPROVED_RISK = "low"  # only low-risk routine work is pre-approved


def valid_model_slug(slug: str) -> bool:
    return isinstance(slug, str) and bool(SLUG.match(slug))


@dataclass(frozen=True)
class ModelDefinition:
    name: str
    description: str
    systems: tuple[str, ...]
    steps: tuple[str, ...]
    risk: str
    approved_by: str

    @classmethod
    def parse(cls, *, name: str | None, description: str | None, systems: list[str] | None,
              steps: list[str] | None, risk: str | None, approved_by: str | None
              ) -> ModelDefinition:
        """A checked definition; one 422 names every field that is wrong."""
        clean = {k: (v or "").strip() for k, v in
                 (("name", name), ("approved_by", approved_by), ("risk", risk))}
        system_list = tuple(s.strip() for s in systems or () if s and s.strip())
        step_list = tuple(s.strip() for s in steps or () if s and s.strip())
        errors = [FieldError(k, "must not be empty") for k in ("name", "approved_by")
                  if not clean[k]]
        present(errors, "systems", system_list, "name at least one system")
        present(errors, "steps", step_list, "list at least one step")
        if clean["risk"] != PRE_APPROVED_RISK:
            errors.append(FieldError("risk", "a standard change is pre-approved only at low "
                                             "risk: must be 'low'"))
        refuse_fields(errors)
        return cls(name=clean["name"], description=(description or "").strip(),
                   systems=system_list, steps=step_list, risk=clean["risk"],
                   approved_by=clean["approved_by"])


class StandardChangeModel(VersionedRecord, Aggregate):
    """One standard-change model; each version is a whole definition."""

    TOPIC = "opsledger.standard_change:StandardChangeModel"

    class Event(RecordEvent):
        TOPIC = "opsledger.standard_change:StandardChangeModel.Event"

    class Defined(Aggregate.Created):
        TOPIC = "opsledger.standard_change:StandardChangeModel.Defined"
        slug: str
        definition: ModelDefinition
        actor: str

    class Redefined(Event):
        TOPIC = "opsledger.standard_change:StandardChangeModel.Redefined"
        definition: ModelDefinition

        def apply(self, model: StandardChangeModel) -> None:
            model.definition = self.definition
            model.defined_by = self.actor

    def __init__(self, slug: str, definition: ModelDefinition, actor: str) -> None:
        self.slug = slug
        self.definition = definition
        self.defined_by = actor

    @staticmethod
    def id_for(slug: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"opsledger:standard-change:{slug}")

    @staticmethod
    def check_slug(slug: str) -> None:
        if not valid_model_slug(slug):
            raise InvalidCommand.field("id", "lower-case letters, digits, '.', '_' or '-' "
                                             "(at most 64)")

    @staticmethod
    def event_fields(definition: ModelDefinition) -> dict[str, Any]:
        return {"definition": definition}  # the whole definition is one field


StandardChangeCatalogue = directory(
    "opsledger.standard_change:StandardChangeCatalogue", "opsledger:standard-change-catalogue",
    key="slug", items="slugs", module=__name__,
    doc="""The slugs of every standard-change model, in order of definition (for listing).""")
