"""Spare-part commands (备件, issue 20 item 2, ADR 0064); fields are named as the bodies of
``PUT /api/v1/warehouses/{slug}``, ``POST /api/v1/warehouses/{slug}/receive``,
``POST /api/v1/requisitions`` and ``POST /api/v1/requisitions/{ref}/<step>``.

``RequestParts`` saves in one transaction the requisition (``BJ-YYYYMMDD-NNN``) and the
``StockLine.Issued`` that takes its parts out of stock. The stock line's version is bumped by
every issue, so two requisitions that read the same quantity cannot both be saved: the one
that saves second conflicts, ``desk.handle`` loads the line again and decides on what is
left (a 409 naming ``stock`` when that is too little). No lock, one rule: the store's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.commands.base import NOTHING, Command, RecordCommand, command, resolve_ref
from application.errors import record_not_found
from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.numbering import RecordKind, record_id_for
from domain.project import Project
from domain.spare_part import (DEFAULT_ARRIVAL_TARGET, Requisition, StockLine, Warehouse,
                               WarehouseDirectory,
                               normalise_part, stock_line_id, warehouse_id)
from domain.ticket import Status, Ticket

if TYPE_CHECKING:
    from application.desk import Context

REQUISITION = "requisition"
WAREHOUSE = "warehouse"
#: A requisition is for a ticket still being worked.
CLOSED_TICKET = (Status.CLOSED, Status.INVALID)


def slug_of(ref: str) -> str:
    return ref.strip().lower()


@command
class DefineWarehouse(Command):
    """``Warehouse.define`` → ``Warehouse.Defined`` or ``Warehouse.redefine`` →
    ``Warehouse.Redefined`` (``PUT /api/v1/warehouses/{slug}``): its name, the
    project (``PRJ-…``) whose stock it holds and that project's spare-part arrival target in
    hours (listed: ``WarehouseDirectory.Listed``).
    HTTP: ``WarehouseIn``."""

    record_class = Warehouse
    record_label = WAREHOUSE
    verb = "define"
    missing_ok = True

    slug: str
    name: str
    project: str = ""
    location: str = ""
    arrival_target_hours: float = DEFAULT_ARRIVAL_TARGET.total_seconds() / 3600

    def target(self) -> UUID | None:
        return warehouse_id(slug_of(self.slug))

    def decide(self, w: Warehouse | None, ctx: Context) -> Any:
        project = self.project.strip().upper()
        if project:
            found = ctx.desk.load(record_id_for(project)) if project.startswith(
                f"{RecordKind.PROJECT.value}-") else None
            if not isinstance(found, Project):
                raise InvalidCommand.field("project", f"no project {self.project!r}")
        fields = dict(name=self.name, project=project, location=self.location,
                      arrival_target=timedelta(hours=self.arrival_target_hours), actor=ctx.actor, at=ctx.at)
        if w is None:
            w = Warehouse.define(slug=slug_of(self.slug), **fields)  # type: ignore[arg-type]
            directory = (ctx.desk.load(WarehouseDirectory.ID)
                         or WarehouseDirectory.open(ctx.at))
            directory.add(w.slug, ctx.at)
            return w, directory
        return None if w.redefine(**fields) else NOTHING  # type: ignore[arg-type]


@command
class ReceiveStock(Command):
    """A receipt into stock (入库) of warehouse ``ref``: ``StockLine.receive`` →
    ``StockLine.Received`` (the line
    opened, ``StockLine.Opened`` and ``Warehouse.PartListed``, on the part's first receipt).
    HTTP: ``ReceiveStock``."""

    record_class = StockLine
    record_label = "stock line"
    verb = "receive"
    missing_ok = True

    ref: str  # the warehouse's slug
    part_number: str
    quantity: int
    description: str = ""
    location: str = ""
    note: str = ""

    def target(self) -> UUID | None:
        return stock_line_id(slug_of(self.ref), self.part_number)

    def decide(self, line: StockLine | None, ctx: Context) -> Any:
        slug = slug_of(self.ref)
        if line is not None:
            line.receive(quantity=self.quantity, description=self.description,
                         location=self.location, note=self.note, actor=ctx.actor, at=ctx.at)
            return None
        w = ctx.desk.load(warehouse_id(slug))
        if not isinstance(w, Warehouse):
            raise record_not_found(self.ref, WAREHOUSE)
        line = StockLine.open(warehouse=slug, part_number=self.part_number,
                              description=self.description, location=self.location,
                              actor=ctx.actor, at=ctx.at)
        line.receive(quantity=self.quantity, note=self.note, actor=ctx.actor, at=ctx.at)
        w.list_part(line.part_number, actor=ctx.actor, at=ctx.at)
        return line, w


@command
class RequestParts(Command):
    """A requisition (备件领用单 ``BJ-…``) for ticket ``ticket``: ``Requisition.request`` →
    ``Requisition.Requested`` and ``StockLine.issue`` → ``StockLine.Issued`` in one
    transaction; a 409 naming ``stock`` when too few are
    left, a 422 naming ``ticket`` / ``warehouse`` / ``part_number`` when one is unknown.
    HTTP: ``RequestParts``."""

    record_class = Requisition
    record_label = REQUISITION
    verb = "request"

    ticket: str
    warehouse: str
    part_number: str
    quantity: int = 1
    note: str = ""

    def decide(self, record: None, ctx: Context) -> Any:
        try:
            t = ctx.desk.load(resolve_ref(self.ticket, "ticket"))
        except Exception:  # noqa: BLE001 - any unreadable ref names no ticket
            t = None
        if not isinstance(t, Ticket):
            raise InvalidCommand.field("ticket", f"no ticket {self.ticket!r}")
        if t.status in CLOSED_TICKET:
            raise TransitionNotAllowed(t.status.value, "request_parts", t.allowed_commands(),
                                       "spare parts are requested for an open ticket")
        slug = slug_of(self.warehouse)
        w = ctx.desk.load(warehouse_id(slug))
        if not isinstance(w, Warehouse):
            raise InvalidCommand.field("warehouse", f"no warehouse {self.warehouse!r}")
        line = ctx.desk.load(stock_line_id(slug, self.part_number))
        if not isinstance(line, StockLine):
            raise InvalidCommand.field("part_number", f"no part {normalise_part(self.part_number)!r}"
                                                      f" in warehouse {slug}")
        number = ctx.issue(RecordKind.SPARE_PART_REQUISITION)
        r = Requisition.request(
            id=record_id_for(number), number=number, ticket_id=str(t.id),
            ticket_number=t.number, customer=t.customer, warehouse=slug,
            part_number=line.part_number, description=line.description,
            quantity=self.quantity, arrival_target=w.arrival_target, note=self.note,
            actor=ctx.actor, at=ctx.at)
        line.issue(quantity=self.quantity, requisition_id=str(r.id), requisition_number=number,
                   actor=ctx.actor, at=ctx.at)
        return r, line


@command
class RequisitionCommand(RecordCommand):
    record_class = Requisition
    record_label = REQUISITION


@command
class RequisitionStep(RequisitionCommand):
    """A step of the requisition named by ``verb`` (the ``Requisition`` method), with a note
    and, when recorded later, the time it happened."""

    note: str = ""
    occurred_at: datetime | None = None

    def decide(self, r: Requisition, ctx: Context) -> None:
        getattr(r, self.verb)(note=self.note, actor=ctx.actor, at=ctx.at,
                              occurred_at=self.occurred_at)


@command
class DispatchParts(RequisitionStep):
    """``Requisition.dispatch`` → ``Requisition.Dispatched`` (sent to the site). HTTP: ``Note``."""

    verb = "dispatch"


@command
class PartsArrived(RequisitionStep):
    """``Requisition.arrive`` → ``Requisition.Arrived`` (备件到场, measured). HTTP: ``Note``."""

    verb = "arrive"


@command
class InstallParts(RequisitionStep):
    """``Requisition.install`` → ``Requisition.Installed``. HTTP: ``Note``."""

    verb = "install"


@command
class ReturnFaultyParts(RequisitionCommand):
    """``Requisition.return_faulty`` → ``Requisition.ReturnedFaulty`` (the part was faulty). HTTP:
    ``ReturnFaulty``."""

    verb = "return_faulty"
    reason: str
    occurred_at: datetime | None = None

