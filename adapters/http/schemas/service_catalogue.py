"""The service catalogue's wire types (ADR 0061): ``PUT /api/v1/catalogue/{service_id}``, its
views, and the catalogue part of a ticket's view (the service requested, its form, and the
approval)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from msgspec import Struct

from adapters.http.schemas.common import Input, Name, Short, Slug, copied, utc
from domain.service_catalogue import CatalogueService, ServiceDefinition
from domain.ticket import ApprovalDecision, ServiceRequest

ServiceClass = Literal["report", "management", "proactive", "responsive"]
Approval = Literal["none", "manager", "customer"]
Priority = Literal["P1", "P2", "P3"]


class Names(Input):
    """A name in both languages (``{"zh": …, "en": …}``), as the catalogue shows it."""

    zh: Name
    en: Short = ""


class ServiceIn(Input):
    """A catalogue service's whole definition (each PUT is a new version). ``name``: its
    Chinese name (and ``name_en``), or both at once as ``{"zh", "en"}``."""

    name: Name | Names
    # ``class`` is a Python keyword: the field is ``class`` on the wire.
    service_class: ServiceClass = msgspec.field(name="class")
    form_schema: dict[str, Any]
    approval: Approval = "none"
    sla_policy: Slug | None = None
    name_en: Short = ""
    category: Short | None = None
    group: Short | None = None
    priority: Priority = "P3"
    deliverable: Short = ""


class ServiceView(Struct, frozen=True):
    id: str
    name: str
    name_en: str
    service_class: str = msgspec.field(name="class")
    form_schema: dict[str, Any] = msgspec.field(default_factory=dict)
    approval: str = "none"
    sla_policy: str | None = None
    category: str | None = None
    group: str | None = None
    priority: str = "P3"
    deliverable: str = ""
    version: int = 1
    recorded_at: datetime | None = None
    recorded_by: str = ""
    created_at: datetime | None = None


class ServiceList(Struct, frozen=True):
    items: list[ServiceView]
    count: int


def definition(body: ServiceIn) -> ServiceDefinition:
    """The service's definition from the body (422 naming the fields it refuses)."""
    if isinstance(body.name, Names):
        name, name_en = body.name.zh, body.name.en or body.name_en
    else:
        name, name_en = body.name, body.name_en
    return ServiceDefinition.parse(
        name=name, service_class=body.service_class, form_schema=body.form_schema,
        approval=body.approval, sla_policy=body.sla_policy, name_en=name_en,
        category=body.category, group=body.group, priority=body.priority,
        deliverable=body.deliverable)


def service_view(record: CatalogueService) -> ServiceView:
    d = record.definition
    return copied(
        ServiceView, d,
        id=record.slug,
        version=record.version, recorded_at=utc(record.modified_on),
        recorded_by=record.defined_by, created_at=utc(record.created_on))


# ------------------------------------------------------- on the ticket's view


class ApprovalOut(Struct, frozen=True):
    """``state``: ``awaiting`` (not decided yet), ``approved``, ``rejected``."""

    required: str
    state: str
    by: str | None = None
    capacity: str | None = None
    at: datetime | None = None
    reason: str | None = None


class ServiceRequestOut(Struct, frozen=True):
    service_id: str
    service_version: int
    service_name: str
    form: dict[str, Any]
    approval: ApprovalOut


def service_request_out(request: ServiceRequest | None,
                        decision: ApprovalDecision | None) -> ServiceRequestOut | None:
    """The ``service`` block of a ticket's view; ``None`` for a ticket not from the catalogue."""
    if request is None:
        return None
    if request.approval == "none":
        approval = ApprovalOut(required="none", state="not_required")
    elif decision is None:
        approval = ApprovalOut(required=request.approval, state="awaiting")
    else:
        approval = ApprovalOut(
            required=request.approval, state="approved" if decision.approved else "rejected",
            by=decision.actor, capacity=decision.capacity, at=utc(decision.at),
            reason=decision.reason or None)
    return ServiceRequestOut(request.service_id, request.service_version, request.service_name,
                             dict(request.form), approval)
