"""The service catalogue (服务目录, issue 21 item 1, ADR 0061): versioned service records.

A catalogue service is what a customer may ask for by name: its name (zh, and en), its class
as the source documents divide the services ("报告服务、管理类服务、主动式服务及响应式服务":
``report``, ``management``, ``proactive``, ``responsive``), the request form (a JSON Schema the
request's ``form`` must satisfy), who approves a request before work starts (``none``,
``manager``, ``customer``), the SLA policy its requests run on, the default category, group
and priority, and the deliverable document (日常维护单, 设备维修单 …).

Like the SLA policies (``domain.sla``) a service is kept by its slug (``vpn-access``) as an
aggregate whose id derives from the slug; every version is an event carrying the whole
definition (``Defined``, then ``Redefined``), an identical definition records nothing, and a
request cites the version it was made against. ``ServiceDirectory`` lists the slugs.

Whether ``form_schema`` is a valid JSON Schema, and whether a form satisfies it, is checked by
the application with a JSON Schema library (``application.service_forms``): the domain only
requires an object.

Pure: standard library and ``eventsourcing.domain`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.checks import collapsed
from domain.errors import FieldError, InvalidCommand
from domain.records import RecordEvent, VersionedRecord, directory
from domain.sla import SLUG_RULE, check_slug, valid_slug

# The four kinds of service of the source documents ([001] 1.1 服务水平体系).
SERVICE_CLASSES = ("report", "management", "proactive", "responsive")
APPROVALS = ("none", "manager", "customer")
PRIORITIES = ("P1", "P2", "P3")
DEFAULT_PRIORITY = "P3"
MAX_NAME = 200


def _text(value: Any, field: str, errors: list[FieldError], *, needed: bool = False,
          limit: int = MAX_NAME) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(FieldError(field, "must be text"))
        return ""
    text = collapsed(value)
    if needed and not text:
        errors.append(FieldError(field, "must not be empty"))
    elif len(text) > limit:
        errors.append(FieldError(field, f"at most {limit} characters"))
    return text


@dataclass(frozen=True)
class ServiceDefinition:
    """One version of a catalogue service (the whole body of ``PUT /catalogue/{id}``)."""

    name: str
    name_en: str
    service_class: str
    form_schema: dict[str, Any]
    approval: str
    sla_policy: str | None
    category: str | None
    group: str | None
    priority: str
    deliverable: str

    @classmethod
    def parse(
        cls,
        *,
        name: Any,
        service_class: Any,
        form_schema: Any,
        approval: Any = "none",
        sla_policy: Any = None,
        name_en: Any = "",
        category: Any = None,
        group: Any = None,
        priority: Any = DEFAULT_PRIORITY,
        deliverable: Any = "",
    ) -> ServiceDefinition:
        """Every broken rule at once (one ``InvalidCommand`` naming the fields)."""
        errors: list[FieldError] = []
        name_text = _text(name, "name", errors, needed=True)
        name_en_text = _text(name_en, "name_en", errors)
        if service_class not in SERVICE_CLASSES:
            errors.append(FieldError("class", f"one of {', '.join(SERVICE_CLASSES)} (报告服务、"
                                     "管理类服务、主动式服务、响应式服务)"))
        if not isinstance(form_schema, Mapping):
            errors.append(FieldError("form_schema", "a JSON Schema object"))
        if approval not in APPROVALS:
            errors.append(FieldError("approval", f"one of {', '.join(APPROVALS)}"))
        if sla_policy is not None and not valid_slug(sla_policy):
            errors.append(FieldError("sla_policy", f"not an SLA policy id: {SLUG_RULE}"))
        category_text = _text(category, "category", errors) or None
        group_text = _text(group, "group", errors) or None
        if priority not in PRIORITIES:
            errors.append(FieldError("priority", f"one of {', '.join(PRIORITIES)}"))
        deliverable_text = _text(deliverable, "deliverable", errors)
        if errors:
            raise InvalidCommand(errors)
        return cls(name=name_text, name_en=name_en_text, service_class=str(service_class),
                   form_schema=dict(form_schema), approval=str(approval),
                   sla_policy=sla_policy, category=category_text, group=group_text,
                   priority=str(priority), deliverable=deliverable_text)

    @property
    def needs_approval(self) -> bool:
        return self.approval != "none"

    def as_fields(self) -> dict[str, Any]:
        return dict(name=self.name, name_en=self.name_en, service_class=self.service_class,
                    form_schema=self.form_schema, approval=self.approval,
                    sla_policy=self.sla_policy, category=self.category, group=self.group,
                    priority=self.priority, deliverable=self.deliverable)


_FIELDS = tuple(f.name for f in fields(ServiceDefinition))


def service_id(slug: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"opsledger:catalogue-service:{slug}")


class CatalogueService(VersionedRecord, Aggregate):
    """One service of the catalogue; each version is a whole definition."""

    TOPIC = "opsledger.catalogue:CatalogueService"
    check_slug = staticmethod(check_slug)

    class Event(RecordEvent):
        TOPIC = "opsledger.catalogue:CatalogueService.Event"

    class Defined(Aggregate.Created):
        TOPIC = "opsledger.catalogue:CatalogueService.Defined"
        slug: str
        name: str
        name_en: str
        service_class: str
        form_schema: dict[str, Any]
        approval: str
        sla_policy: str | None
        category: str | None
        group: str | None
        priority: str
        deliverable: str
        actor: str

    class Redefined(Event):
        TOPIC = "opsledger.catalogue:CatalogueService.Redefined"
        name: str
        name_en: str
        service_class: str
        form_schema: dict[str, Any]
        approval: str
        sla_policy: str | None
        category: str | None
        group: str | None
        priority: str
        deliverable: str

        def apply(self, service: CatalogueService) -> None:
            service._set(ServiceDefinition(**{f: getattr(self, f) for f in _FIELDS}), self.actor)

    def __init__(self, slug: str, name: str, name_en: str, service_class: str,
                 form_schema: dict[str, Any], approval: str, sla_policy: str | None,
                 category: str | None, group: str | None, priority: str, deliverable: str,
                 actor: str) -> None:
        self.slug = slug
        self._set(ServiceDefinition(
            name=name, name_en=name_en, service_class=service_class, form_schema=form_schema,
            approval=approval, sla_policy=sla_policy, category=category, group=group,
            priority=priority, deliverable=deliverable), actor)

    def _set(self, definition: ServiceDefinition, actor: str) -> None:
        # Only assigns (a replay runs this again).
        self.definition = definition
        self.defined_by = actor

    @property
    def number(self) -> str:
        """What logs and answers call the record: its slug (a service has no number)."""
        return str(self.slug)

    @staticmethod
    def id_for(slug: str) -> UUID:
        return service_id(slug)


ServiceDirectory = directory(
    "opsledger.catalogue:ServiceDirectory", "opsledger:service-catalogue",
    key="slug", items="slugs", module=__name__,
    doc="""The slugs of every catalogue service, in order of creation (for listing).""")
