"""Spare parts (备件, issue 20 item 2, ADR 0064): warehouses, stock lines and requisitions.

- ``Warehouse`` (keyed by a slug): the stock of one warehouse, usually one project's (项目备件
  库), with the project's spare-part arrival target (备件到场时间, [004] 4.2.1 4: measured for
  the SLA; the seeds give no number, so the default is ``DEFAULT_ARRIVAL_TARGET`` and each
  warehouse states its project's). It lists its part numbers.
- ``StockLine`` (one part number in one warehouse, its id derived from both): part number,
  description, location (shelf), quantity. A receipt (入库) adds; an issue for a requisition
  subtracts and is refused (409 naming ``stock``) when it would go below zero. **Every issue
  is an event on the stock line**, so the event store's optimistic concurrency (one version
  per aggregate, unique in the store) makes two concurrent requisitions that read the same
  quantity unable to both commit: the loser reloads and decides again on the new quantity.
  The stock can never go negative, in one process or many.
- ``Requisition`` (备件领用单 ``BJ-YYYYMMDD-NNN``) for a ticket: ``requested`` (the parts are
  issued from stock in the same transaction) → ``dispatched`` (sent to the site) →
  ``arrived`` (备件到场: measured from the request against the target) → ``installed`` or
  ``returned_faulty`` (the part was faulty and goes back; the faulty part does not return to
  stock). An installed part may later be found faulty and returned too. Each step may claim
  when it happened (``occurred_at``; never in the future, never before the step before it),
  and the measured arrival time uses the claimed time.

Pure: standard library and ``eventsourcing.domain``; time, actor and ids come in as arguments.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, collapsed, given, refuse_fields, required, stripped
from domain.errors import FieldError, InvalidCommand, TransitionNotAllowed
from domain.records import RecordEvent, directory

#: The source documents measure spare-part arrival ([004] 4.2.1 4) without a number; four
#: hours is the usual on-site commitment of a 5x8 contract. Each warehouse sets its own.
DEFAULT_ARRIVAL_TARGET = timedelta(hours=4)
CLOCK_SKEW = timedelta(minutes=5)  # how far a claimed time may lie after the recording
MAX_QUANTITY = 1_000_000
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


def warehouse_id(slug: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"opsledger:warehouse:{slug}")


def normalise_part(part_number: str) -> str:
    return collapsed(part_number).upper()


def stock_line_id(warehouse: str, part_number: str) -> UUID:
    return uuid5(NAMESPACE_URL,
                 f"opsledger:stock-line:{warehouse}:{normalise_part(part_number)}")


def quantity_errors(field: str, value: Any) -> list[FieldError]:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return [FieldError(field, "a whole number of at least 1")]
    if value > MAX_QUANTITY:
        return [FieldError(field, f"at most {MAX_QUANTITY}")]
    return []


class Warehouse(Aggregate):
    """A warehouse of spare parts, defined by ``PUT`` (a slug of its own, like calendars)."""

    TOPIC = "opsledger.spare_part:Warehouse"

    class Event(RecordEvent):
        TOPIC = "opsledger.spare_part:Warehouse.Event"

    class Defined(Aggregate.Created):
        TOPIC = "opsledger.spare_part:Warehouse.Defined"
        slug: str
        name: str
        project: str
        location: str
        arrival_target: timedelta
        actor: str

    class Redefined(Event):
        TOPIC = "opsledger.spare_part:Warehouse.Redefined"
        name: str
        project: str
        location: str
        arrival_target: timedelta

        def apply(self, w: Warehouse) -> None:
            w.name, w.project, w.location = self.name, self.project, self.location
            w.arrival_target = self.arrival_target

    class PartListed(Event):
        """A part number got its first stock line here (the warehouse's list of parts)."""

        TOPIC = "opsledger.spare_part:Warehouse.PartListed"
        part_number: str

        def apply(self, w: Warehouse) -> None:
            w.parts = (*w.parts, self.part_number)

    def __init__(self, slug: str, name: str, project: str, location: str,
                 arrival_target: timedelta, actor: str) -> None:
        self.slug = slug
        self.name = name
        self.project = project
        self.location = location
        self.arrival_target = arrival_target
        self.defined_by = actor
        self.parts: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        return self.slug

    @staticmethod
    def _checked(slug: str, name: str, arrival_target: Any) -> list[FieldError]:
        errors = required("name", name)
        if not SLUG.match(slug):
            errors.append(FieldError("slug", "lower-case letters, digits, '.', '_' or '-'"))
        if not isinstance(arrival_target, timedelta) or arrival_target <= timedelta(0):
            errors.append(FieldError("arrival_target", "a positive duration (e.g. PT4H)"))
        return errors

    @classmethod
    def define(cls, *, slug: str, name: str, project: str = "", location: str = "",
               arrival_target: timedelta = DEFAULT_ARRIVAL_TARGET, actor: str,
               at: datetime) -> Warehouse:
        refuse_fields(cls._checked(slug, name, arrival_target))
        return cls._create(cls.Defined, id=warehouse_id(slug), timestamp=at, slug=slug,
                           name=collapsed(name), project=stripped(project).upper(),
                           location=stripped(location), arrival_target=arrival_target,
                           actor=actor)

    def redefine(self, *, name: str, project: str = "", location: str = "",
                 arrival_target: timedelta = DEFAULT_ARRIVAL_TARGET, actor: str,
                 at: datetime) -> bool:
        """``False`` (nothing recorded) when nothing changed."""
        refuse_fields(self._checked(self.slug, name, arrival_target))
        new = (collapsed(name), stripped(project).upper(), stripped(location), arrival_target)
        if new == (self.name, self.project, self.location, self.arrival_target):
            return False
        self.trigger_event(self.Redefined, timestamp=at, actor=actor, name=new[0],
                           project=new[1], location=new[2], arrival_target=new[3])
        return True

    def list_part(self, part_number: str, *, actor: str, at: datetime) -> None:
        if part_number not in self.parts:
            self.trigger_event(self.PartListed, timestamp=at, actor=actor,
                               part_number=part_number)


class StockLine(Aggregate):
    """One part number's stock in one warehouse. Every receipt and every issue is an event,
    so every issue bumps the version: concurrent issues conflict in the store (ADR 0064)."""

    TOPIC = "opsledger.spare_part:StockLine"

    class Event(RecordEvent):
        TOPIC = "opsledger.spare_part:StockLine.Event"

    class Opened(Aggregate.Created):
        TOPIC = "opsledger.spare_part:StockLine.Opened"
        warehouse: str
        part_number: str
        description: str
        location: str
        actor: str

    class Received(Event):
        """A receipt into stock (入库)."""

        TOPIC = "opsledger.spare_part:StockLine.Received"
        quantity: int
        description: str
        location: str
        note: str

        def apply(self, s: StockLine) -> None:
            s.quantity += self.quantity
            s.received += self.quantity
            s.description = self.description or s.description
            s.location = self.location or s.location

    class Issued(Event):
        """Parts issued for a requisition (出库), never more than in stock."""

        TOPIC = "opsledger.spare_part:StockLine.Issued"
        quantity: int
        requisition_id: str
        requisition_number: str

        def apply(self, s: StockLine) -> None:
            s.quantity -= self.quantity
            s.issued += self.quantity
            s.requisitions = (*s.requisitions, self.requisition_id)

    def __init__(self, warehouse: str, part_number: str, description: str, location: str,
                 actor: str) -> None:
        self.warehouse = warehouse
        self.part_number = part_number
        self.description = description
        self.location = location
        self.quantity = 0
        self.received = 0
        self.issued = 0
        self.requisitions: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        """What logs and errors call it: ``<warehouse>/<part number>``."""
        return f"{self.warehouse}/{self.part_number}"

    @classmethod
    def open(cls, *, warehouse: str, part_number: str, description: str, location: str,
             actor: str, at: datetime) -> StockLine:
        part = normalise_part(part_number)
        refuse_fields(required("part_number", part) + required("description", description))
        return cls._create(cls.Opened, id=stock_line_id(warehouse, part), timestamp=at,
                           warehouse=warehouse, part_number=part,
                           description=collapsed(description), location=stripped(location),
                           actor=actor)

    def receive(self, *, quantity: int, description: str = "", location: str = "",
                note: str = "", actor: str, at: datetime) -> None:
        refuse_fields(quantity_errors("quantity", quantity))
        self.trigger_event(self.Received, timestamp=at, actor=actor, quantity=quantity,
                           description=collapsed(description), location=stripped(location),
                           note=stripped(note))

    def issue(self, *, quantity: int, requisition_id: str, requisition_number: str,
              actor: str, at: datetime) -> None:
        """Issues ``quantity`` for a requisition: a 409 naming ``stock`` when fewer are left."""
        refuse_fields(quantity_errors("quantity", quantity))
        if quantity > self.quantity:
            raise TransitionNotAllowed(
                f"{self.quantity} in stock", "issue", (),
                f"{quantity} × {self.part_number} requested, {self.quantity} left in "
                f"{self.warehouse}", record="stock line", missing=("stock",))
        self.trigger_event(self.Issued, timestamp=at, actor=actor, quantity=quantity,
                           requisition_id=requisition_id, requisition_number=requisition_number)


class RequisitionStatus(StrEnum):
    REQUESTED = "requested"
    DISPATCHED = "dispatched"
    ARRIVED = "arrived"
    INSTALLED = "installed"
    RETURNED_FAULTY = "returned_faulty"


R = RequisitionStatus
ALLOWED: dict[RequisitionStatus, tuple[str, ...]] = {
    R.REQUESTED: ("dispatch",),
    R.DISPATCHED: ("arrive",),
    R.ARRIVED: ("install", "return_faulty"),
    R.INSTALLED: ("return_faulty",),
    R.RETURNED_FAULTY: (),
}


class Requisition(StatusRules, Aggregate):
    """A spare-part requisition (备件领用单) for a ticket."""

    TOPIC = "opsledger.spare_part:Requisition"
    ALLOWED = ALLOWED
    RECORD = "requisition"

    class Event(RecordEvent):
        TOPIC = "opsledger.spare_part:Requisition.Event"

    class Requested(Aggregate.Created):
        TOPIC = "opsledger.spare_part:Requisition.Requested"
        number: str
        ticket_id: str
        ticket_number: str
        customer: str
        warehouse: str
        part_number: str
        description: str
        quantity: int
        arrival_target: timedelta
        note: str
        actor: str

    class Dispatched(Event):
        TOPIC = "opsledger.spare_part:Requisition.Dispatched"
        note: str
        occurred_at: datetime | None = None  # claimed; None: when recorded

        def apply(self, r: Requisition) -> None:
            r.status = R.DISPATCHED
            r.dispatched_at = self.occurred_at or self.timestamp

    class Arrived(Event):
        TOPIC = "opsledger.spare_part:Requisition.Arrived"
        note: str
        occurred_at: datetime | None = None  # claimed; None: when recorded

        def apply(self, r: Requisition) -> None:
            r.status = R.ARRIVED
            r.arrived_at = self.occurred_at or self.timestamp

    class Installed(Event):
        TOPIC = "opsledger.spare_part:Requisition.Installed"
        note: str
        occurred_at: datetime | None = None  # claimed; None: when recorded

        def apply(self, r: Requisition) -> None:
            r.status = R.INSTALLED
            r.installed_at = self.occurred_at or self.timestamp

    class ReturnedFaulty(Event):
        TOPIC = "opsledger.spare_part:Requisition.ReturnedFaulty"
        reason: str
        occurred_at: datetime | None = None

        def apply(self, r: Requisition) -> None:
            r.status = R.RETURNED_FAULTY
            r.returned_at = self.occurred_at or self.timestamp
            r.fault = self.reason

    def __init__(self, number: str, ticket_id: str, ticket_number: str, customer: str,
                 warehouse: str, part_number: str, description: str, quantity: int,
                 arrival_target: timedelta, note: str, actor: str) -> None:
        self.number = number
        self.ticket_id = ticket_id
        self.ticket_number = ticket_number
        self.customer = customer
        self.warehouse = warehouse
        self.part_number = part_number
        self.description = description
        self.quantity = quantity
        self.arrival_target = arrival_target
        self.note = note
        self.requested_by = actor
        self.status = R.REQUESTED
        self.dispatched_at: datetime | None = None
        self.arrived_at: datetime | None = None
        self.installed_at: datetime | None = None
        self.returned_at: datetime | None = None
        self.fault: str | None = None

    # ----------------------------------------------------------------- queries

    @property
    def requested_at(self) -> datetime:
        return self.created_on

    @property
    def arrival_due(self) -> datetime:
        """When the part must be on site: the request plus the warehouse's target (7×24)."""
        return self.requested_at + self.arrival_target

    @property
    def arrival_time(self) -> timedelta | None:
        """备件到场时间: from the request to the arrival on site."""
        return None if self.arrived_at is None else self.arrived_at - self.requested_at

    def arrival_met(self, now: datetime) -> bool | None:
        """Whether the arrival target was met: ``None`` while it still can be."""
        if self.arrived_at is not None:
            return self.arrived_at <= self.arrival_due
        return False if now > self.arrival_due else None

    # ---------------------------------------------------------------- commands

    @classmethod
    def request(cls, *, id: UUID, number: str, ticket_id: str, ticket_number: str,
                customer: str, warehouse: str, part_number: str, description: str,
                quantity: int, arrival_target: timedelta, note: str, actor: str,
                at: datetime) -> Requisition:
        refuse_fields(quantity_errors("quantity", quantity))
        return cls._create(cls.Requested, id=id, timestamp=at, number=number,
                           ticket_id=ticket_id, ticket_number=ticket_number, customer=customer,
                           warehouse=warehouse, part_number=part_number,
                           description=description, quantity=quantity,
                           arrival_target=arrival_target, note=stripped(note), actor=actor)

    def _last_step(self) -> datetime:
        return max(t for t in (self.requested_at, self.dispatched_at, self.arrived_at,
                               self.installed_at) if t is not None)

    def _claimed(self, occurred_at: datetime | None, at: datetime) -> None:
        """A step's claimed time: with an offset, not in the future, not before the last."""
        if occurred_at is None:
            return
        if occurred_at.tzinfo is None:
            raise InvalidCommand.field("occurred_at", "needs a UTC offset")
        if occurred_at > at + CLOCK_SKEW:
            raise InvalidCommand.field("occurred_at", "lies in the future")
        if occurred_at < self._last_step():
            raise InvalidCommand.field("occurred_at", "lies before the requisition's last step"
                                       f" ({self._last_step().isoformat(timespec='minutes')})")

    def _step(self, command: str, event: type[Aggregate.Event], note: str, actor: str,
              at: datetime, occurred_at: datetime | None) -> None:
        """The next step of the requisition's way (dispatch, arrive, install)."""
        self.require(command)
        self._claimed(occurred_at, at)
        self.trigger_event(event, timestamp=at, actor=actor, note=stripped(note),
                           occurred_at=occurred_at)

    def dispatch(self, *, note: str = "", actor: str, at: datetime,
                 occurred_at: datetime | None = None) -> None:
        self._step("dispatch", self.Dispatched, note, actor, at, occurred_at)

    def arrive(self, *, note: str = "", actor: str, at: datetime,
               occurred_at: datetime | None = None) -> None:
        self._step("arrive", self.Arrived, note, actor, at, occurred_at)

    def install(self, *, note: str = "", actor: str, at: datetime,
                occurred_at: datetime | None = None) -> None:
        self._step("install", self.Installed, note, actor, at, occurred_at)

    def return_faulty(self, *, reason: str, actor: str, at: datetime,
                      occurred_at: datetime | None = None) -> None:
        self.require("return_faulty")
        text = given("reason", reason, "say what is faulty")
        self._claimed(occurred_at, at)
        self.trigger_event(self.ReturnedFaulty, timestamp=at, actor=actor, reason=text,
                           occurred_at=occurred_at)


WarehouseDirectory = directory(
    "opsledger.spare_part:WarehouseDirectory", "opsledger:warehouse-directory",
    key="slug", items="warehouses", module=__name__,
    doc="""The slugs of every warehouse in order of definition (for the lists), changed in the same
    transaction as a warehouse's first definition, like ``ProjectDirectory``.""")
