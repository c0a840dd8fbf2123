"""Configuration item commands (配置项, issue 20 item 1, ADR 0063); fields are named as the
bodies of ``POST /api/v1/cis``, ``…/cis/{ref}/update``, ``/status``, ``/relate``,
``/unrelate``, ``/verify`` and the rows of an import (``ImportCis``).

``classes``: the classes a CI may have (``OPSLEDGER_CI_CLASSES``, the edge passes them;
``DEFAULT_CLASSES`` otherwise). A repair order (ADR 0065) sets a CI ``in_repair`` and back with
``ChangeCiStatus``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, uuid5

from application.commands.base import NOTHING, Command, RecordCommand, command
from domain.ci import DEFAULT_CLASSES, ConfigurationItem, Status
from domain.ticket import Ticket
from domain.errors import InvalidCommand
from domain.numbering import RecordKind, record_id_for

if TYPE_CHECKING:
    from application.desk import Context

LABEL = "configuration item"


def find_ci(ctx_desk: Any, ref: str, field_name: str) -> ConfigurationItem:
    """The CI ``ref`` (an id or ``CI-`` number) for a command, or a 422 naming ``field_name``."""
    from application.cis import load_ci  # the reads module (no cycle at import time)

    found = load_ci(ctx_desk, ref)
    if found is None:
        raise InvalidCommand.field(field_name, f"no configuration item {ref!r}")
    return found


@command
class CiFields:
    """What describes a CI (a registration's fields; an import row)."""

    name: str
    ci_class: str
    customer: str
    location: str = ""
    asset_tag: str = ""
    serial: str = ""
    model: str = ""
    vendor: str = ""
    warranty_end: date | None = None
    status: Status | str = Status.IN_USE
    attributes: Mapping[str, str] = field(default_factory=dict)


def _register(f: CiFields, ctx: Context, classes: Sequence[str]) -> ConfigurationItem:
    number = ctx.issue(RecordKind.CONFIGURATION_ITEM)
    return ConfigurationItem.register(
        id=record_id_for(number), number=number, name=f.name, ci_class=f.ci_class,
        customer=f.customer, actor=ctx.actor, at=ctx.at, classes=classes,
        location=f.location, asset_tag=f.asset_tag, serial=f.serial, model=f.model,
        vendor=f.vendor, warranty_end=f.warranty_end, status=f.status,
        attributes=f.attributes)


@command
class RegisterCi(Command):
    """``ConfigurationItem.register`` → ``ConfigurationItem.Registered`` (``CI-…``).
    HTTP: ``RegisterCi``."""

    record_class = ConfigurationItem
    record_label = LABEL
    verb = "register"

    item: CiFields
    classes: Sequence[str] = DEFAULT_CLASSES

    def decide(self, record: None, ctx: Context) -> Any:
        return _register(self.item, ctx, self.classes)


@command
class ImportCis(Command):
    """``ConfigurationItem.register`` → ``ConfigurationItem.Registered`` for many CIs in one
    save (one import batch: ``application.ci_import``); one refused row refuses the batch
    (the preview finds them first). CLI: ``opsledger cis import``; HTTP: ``ImportCis``."""

    record_class = ConfigurationItem
    record_label = LABEL
    verb = "import"

    items: Sequence[CiFields]
    classes: Sequence[str] = DEFAULT_CLASSES

    def decide(self, record: None, ctx: Context) -> Any:
        return tuple(_register(f, ctx, self.classes) for f in self.items)


@command
class CiCommand(RecordCommand):
    record_class = ConfigurationItem
    record_label = LABEL


@command
class UpdateCi(CiCommand):
    """``ConfigurationItem.update`` → ``Updated`` with the fields that changed (``None``:
    unchanged; nothing changed records nothing). HTTP: ``UpdateCi``."""

    verb = "update"

    name: str | None = None
    ci_class: str | None = None
    customer: str | None = None
    location: str | None = None
    asset_tag: str | None = None
    serial: str | None = None
    model: str | None = None
    vendor: str | None = None
    warranty_end: date | str | None = None  # "" clears it
    attributes: Mapping[str, str] | None = None
    classes: Sequence[str] = DEFAULT_CLASSES

    def decide(self, ci: ConfigurationItem, ctx: Context) -> Any:
        fields = {n: getattr(self, n) for n in (
            "name", "ci_class", "customer", "location", "asset_tag", "serial", "model",
            "vendor", "warranty_end", "attributes")}
        changed = ci.update(fields=fields, actor=ctx.actor, at=ctx.at, classes=self.classes)
        return None if changed else NOTHING


@command
class ChangeCiStatus(CiCommand):
    """``ConfigurationItem.change_status`` → ``StatusChanged`` (``in_use`` / ``spare`` /
    ``in_repair`` / ``retired``, with a reason); the same status again records nothing.
    HTTP: ``ChangeCiStatus``; a repair order uses it too (ADR 0065)."""

    verb = "change_status"

    status: Status | str
    reason: str

    def decide(self, ci: ConfigurationItem, ctx: Context) -> Any:
        changed = ci.change_status(status=self.status, reason=self.reason, actor=ctx.actor,
                                   at=ctx.at)
        return None if changed else NOTHING


@command
class RelateCi(CiCommand):
    """``ConfigurationItem.relate`` → ``Related``: "this CI <type> ``target_ci``" (an id or
    ``CI-`` number; 422 naming ``target`` when there is no such CI). HTTP: ``RelateCi``."""

    verb = "relate"

    type: str
    target_ci: str  # the body's ``target`` (``target`` is the command's own method)

    def decide(self, ci: ConfigurationItem, ctx: Context) -> Any:
        other = find_ci(ctx.desk, self.target_ci, "target")
        before = len(ci.relations)
        relation_id = str(uuid5(NAMESPACE_URL, f"opsledger:ci-relation:{ci.id}:{ci.version}"))
        ci.relate(relation_id=relation_id, type=self.type, target=str(other.id),
                  target_number=other.number, actor=ctx.actor, at=ctx.at)
        return None if len(ci.relations) > before else NOTHING


@command
class UnrelateCi(CiCommand):
    """``ConfigurationItem.unrelate`` → ``Unrelated``. HTTP: ``UnrelateCi``."""

    verb = "unrelate"

    relation: str
    reason: str = ""

    def decide(self, ci: ConfigurationItem, ctx: Context) -> Any:
        ci.unrelate(relation_id=self.relation.strip(), reason=self.reason, actor=ctx.actor,
                    at=ctx.at)


@command
class VerifyCi(CiCommand):
    """``ConfigurationItem.verify`` → ``Verified``: a verification round's (核查) verdict.
    HTTP: ``VerifyCi``."""

    verb = "verify"

    round: str
    verdict: str
    note: str = ""


@command
class NameTicketCis(RecordCommand):
    """``Ticket.name_cis`` → ``Ticket.CisAffected``: the configuration items a ticket concerns,
    named after its registration by the desk (the whole set, any customer's CIs -- a
    provider's shared switch, say; an unknown CI is a 422 naming ``cis.N``; the same set again
    records nothing). HTTP: ``NameCis``."""

    record_class = Ticket
    record_label = "ticket"
    verb = "name_cis"

    cis: Sequence[str]

    def decide(self, t: Ticket, ctx: Context) -> Any:
        from application.cis import affected_cis

        found = affected_cis(ctx.desk, self.cis, None, field="cis")
        changed = t.name_cis(cis=tuple((str(c.id), c.number) for c in found), actor=ctx.actor,
                             at=ctx.at)
        return None if changed else NOTHING


@dataclass(frozen=True, slots=True)
class RoundVerdict:
    """One CI's verdict in a verification round."""

    ci: str  # its id or CI- number
    verdict: str
    note: str = ""


@command
class RecordVerificationRound(Command):
    """``ConfigurationItem.verify`` → ``ConfigurationItem.Verified`` for every CI a
    verification round's run (核查, twice a year in the source documents) checked, in one save:
    a refused verdict refuses the run (a 422 naming ``verdicts.N.<field>``).
    HTTP: ``VerificationRun``."""

    record_class = ConfigurationItem
    record_label = LABEL
    verb = "verify_round"

    round: str
    verdicts: Sequence[RoundVerdict]

    def decide(self, record: None, ctx: Context) -> Any:
        if not self.verdicts:
            raise InvalidCommand.field("verdicts", "name at least one CI")
        changed: dict[str, ConfigurationItem] = {}
        for i, v in enumerate(self.verdicts):
            ci = find_ci(ctx.desk, v.ci, f"verdicts.{i}.ci")
            ci = changed.get(str(ci.id), ci)
            try:
                ci.verify(round=self.round, verdict=v.verdict, note=v.note, actor=ctx.actor,
                          at=ctx.at)
            except InvalidCommand as e:
                raise InvalidCommand([type(x)(f"verdicts.{i}.{x.field}" if x.field != "round"
                                              else "round", x.message)
                                      for x in e.errors]) from None
            changed[str(ci.id)] = ci
        return tuple(changed.values())
