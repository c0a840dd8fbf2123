"""Wire types of configuration items (ADR 0063).

Bodies are strict (unknown fields refused). The registration's class is ``class`` on the
wire (``ci_class`` in the command: ``class`` is a Python keyword). ``warranty_end`` is a
date (``YYYY-MM-DD``); free ``attributes`` are text by name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from application.commands.cis import CiFields, RegisterCi as Register, UpdateCi as Update
from domain.ci import ConfigurationItem, Status

Attributes = Annotated[dict[s.Short, s.Line], Meta(max_length=100)]


class RegisterCi(s.Input):
    customer: s.Short  # a requester may not register CIs; staff name one
    ci_class: s.Short = msgspec.field(name="class", default="")
    name: s.Short = ""
    location: s.Short = ""
    asset_tag: s.Short = ""
    serial: s.Short = ""
    model: s.Short = ""
    vendor: s.Short = ""
    warranty_end: date | None = None
    status: Status = Status.IN_USE
    attributes: Attributes = {}


class UpdateCi(s.Input):
    """Only the fields given change; ``warranty_end: ""`` clears it."""

    ci_class: s.Short | None = msgspec.field(name="class", default=None)
    name: s.Short | None = None
    customer: s.Short | None = None
    location: s.Short | None = None
    asset_tag: s.Short | None = None
    serial: s.Short | None = None
    model: s.Short | None = None
    vendor: s.Short | None = None
    warranty_end: s.Short | None = None
    attributes: Attributes | None = None


class ChangeCiStatus(s.Input):
    status: Status
    reason: s.Line = ""


class RelateCi(s.Input):
    type: s.Short
    target: s.Short


class UnrelateCi(s.Input):
    relation: s.Short
    reason: s.Line = ""


class VerifyCi(s.Input):
    round: s.Short
    verdict: s.Short
    note: s.Line = ""


class NameCis(s.Input):
    """The CIs a ticket concerns (ids or ``CI-`` numbers), the whole set."""

    cis: Annotated[list[s.Short], Meta(max_length=100)]


class RoundVerdictIn(s.Input):
    ci: s.Short  # its id or CI- number
    verdict: s.Short  # confirmed | corrected | missing
    note: s.Line = ""


class VerificationRun(s.Input):
    """A run of a verification round (核查): the verdict on each CI it checked."""

    round: s.Short
    verdicts: Annotated[list[RoundVerdictIn], Meta(max_length=5000)]


class ImportCis(s.Input):
    """A CSV or XLSX file (``filename`` says which by its ending), its bytes in base64;
    ``apply: false`` previews (every row checked, nothing saved)."""

    filename: s.Short
    content_base64: Annotated[str, Meta(max_length=40_000_000)]
    apply: bool = False


class RelationView(Struct):
    id: str
    type: str
    target: s.LinkedRecord
    since: datetime
    by: str


class VerificationView(Struct):
    round: str
    verdict: str
    note: str
    at: datetime
    by: str


class CiView(Struct):
    id: str
    number: str
    name: str
    ci_class: str = msgspec.field(name="class")
    customer: str = ""
    location: str = ""
    asset_tag: str = ""
    serial: str = ""
    model: str = ""
    vendor: str = ""
    warranty_end: date | None = None
    in_warranty: bool | None = None
    status: str = ""
    attributes: dict[str, str] = {}
    relations: list[RelationView] = []
    verifications: list[VerificationView] = []
    registered_at: datetime | None = None
    registered_by: str = ""
    updated_at: datetime | None = None
    allowed_commands: list[str] = []
    version: int = 0


class CiItem(Struct):
    """A CI in a list or an impact answer."""

    id: str
    number: str
    name: str
    ci_class: str = msgspec.field(name="class")
    customer: str = ""
    status: str = ""
    location: str = ""
    asset_tag: str = ""
    updated_at: datetime | None = None


class CiPage(Struct):
    items: list[CiItem]
    next_cursor: str | None
    count: int


class AffectedCi(Struct):
    id: str
    number: str
    name: str
    ci_class: str = msgspec.field(name="class")
    customer: str = ""
    status: str = ""
    depth: int = 1  # relations away from the CI asked about
    via: str = ""  # the relation type that makes it depend (runs_on, depends_on, ...)
    depends_on: str = ""  # the number of the CI it depends on, one step nearer


class ImpactView(Struct):
    ci: CiItem
    affected: list[AffectedCi]
    count: int
    customers: list[str]  # the customers of the affected CIs (and of the CI itself)
    systems: list[AffectedCi]  # the affected CIs that are systems (application, database, …)
    depth: int
    truncated: bool


def ci_view(ci: ConfigurationItem, today: date) -> CiView:
    return s.copied(
        CiView, ci,
        id=str(ci.id),
        in_warranty=ci.in_warranty(today), status=ci.status.value,
        attributes=dict(ci.attributes),
        relations=[RelationView(r.id, r.type.value, s.LinkedRecord(r.target, r.target_number),
                                s.utc(r.since), r.by) for r in ci.relations],
        verifications=[VerificationView(r, v.value, n, s.utc(at), by)
                       for r, v, n, at, by in ci.verifications],
        registered_at=s.utc(ci.registered_at),
        updated_at=s.utc(ci.modified_on), allowed_commands=list(ci.allowed_commands()))


def ci_item(row: dict[str, Any]) -> CiItem:
    return CiItem(id=row["id"], number=row["number"], name=row["name"],
                  ci_class=row["ci_class"], customer=row["customer"], status=row["status"],
                  location=row["location"], asset_tag=row["asset_tag"],
                  updated_at=s.utc_opt(row["updated_at"]))


def register_command(body: RegisterCi, customer: str, classes: tuple[str, ...]) -> Register:
    return Register(item=CiFields(
        name=body.name, ci_class=body.ci_class, customer=customer, location=body.location,
        asset_tag=body.asset_tag, serial=body.serial, model=body.model, vendor=body.vendor,
        warranty_end=body.warranty_end, status=body.status, attributes=dict(body.attributes)),
        classes=classes)


def update_command(ref: str, body: UpdateCi, classes: tuple[str, ...]) -> Update:
    return Update(ref=ref, name=body.name, ci_class=body.ci_class, customer=body.customer,
                  location=body.location, asset_tag=body.asset_tag, serial=body.serial,
                  model=body.model, vendor=body.vendor, warranty_end=body.warranty_end,
                  attributes=body.attributes, classes=classes)
