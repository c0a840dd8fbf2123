"""Wire types of spare parts (备件: warehouses, stock, requisitions; ADR 0064).

Bodies are strict (unknown fields refused). Responses give times in UTC; durations in hours
(the arrival target) and minutes (the measured arrival time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from domain.spare_part import MAX_QUANTITY, Requisition, StockLine, Warehouse

Quantity = Annotated[int, Meta(ge=1, le=MAX_QUANTITY)]


class WarehouseIn(s.Input):
    name: s.Name
    project: s.Short = ""  # the project (PRJ-…) whose stock it holds
    location: s.Short = ""
    arrival_target_hours: s.Hours = 4.0  # the project's spare-part arrival target


class ReceiveStock(s.Input):
    part_number: s.Name
    quantity: Quantity
    description: s.Short = ""  # required on the part's first receipt
    location: s.Short = ""  # the shelf
    note: s.Line = ""


class RequestParts(s.Input):
    ticket: s.Ref  # its id or SR- number
    warehouse: s.Slug
    part_number: s.Name
    quantity: Quantity = 1
    note: s.Line = ""


class Note(s.Input):
    note: s.Line = ""
    occurred_at: s.AwareTime | None = None  # when it happened (default: now)


class ReturnFaulty(s.Input):
    reason: s.Line
    occurred_at: s.AwareTime | None = None


class WarehouseView(Struct):
    slug: str
    name: str
    project: str
    location: str
    arrival_target_hours: float
    parts: int  # how many part numbers it stocks
    defined_by: str
    version: int


class StockLineView(Struct):
    warehouse: str
    part_number: str
    description: str
    location: str
    quantity: int  # in stock now (never below zero)
    received: int
    issued: int
    version: int


class WarehouseStock(Struct):
    warehouse: WarehouseView
    items: list[StockLineView]
    count: int


class WarehousePage(Struct):
    items: list[WarehouseView]
    count: int


class RequisitionView(Struct):
    id: str
    number: str  # BJ-YYYYMMDD-NNN
    ticket: s.LinkedRecord
    customer: str
    warehouse: str
    part_number: str
    description: str
    quantity: int
    status: str  # requested | dispatched | arrived | installed | returned_faulty
    note: str
    requested_by: str
    requested_at: datetime
    arrival_target_hours: float
    arrival_due: datetime
    dispatched_at: datetime | None
    arrived_at: datetime | None
    arrival_minutes: float | None  # 备件到场时间: request → arrival
    arrival_met: bool | None  # None while the target can still be met
    installed_at: datetime | None
    returned_at: datetime | None
    fault: str | None
    version: int


class RequisitionPage(Struct):
    items: list[RequisitionView]
    next_cursor: str | None
    count: int


def warehouse_view(w: Warehouse) -> WarehouseView:
    return WarehouseView(slug=w.slug, name=w.name, project=w.project, location=w.location,
                         arrival_target_hours=round(w.arrival_target.total_seconds() / 3600, 2),
                         parts=len(w.parts), defined_by=w.defined_by, version=w.version)


def stock_line_view(line: StockLine) -> StockLineView:
    return StockLineView(warehouse=line.warehouse, part_number=line.part_number,
                         description=line.description, location=line.location,
                         quantity=line.quantity, received=line.received, issued=line.issued,
                         version=line.version)


def requisition_view(r: Requisition, now: datetime) -> RequisitionView:
    took = r.arrival_time
    return s.copied(
        RequisitionView, r,
        id=str(r.id), ticket=s.LinkedRecord(r.ticket_id, r.ticket_number),
        status=r.status.value,
        requested_at=s.utc(r.requested_at),
        arrival_target_hours=round(r.arrival_target.total_seconds() / 3600, 2),
        arrival_due=s.utc(r.arrival_due), dispatched_at=s.utc_opt(r.dispatched_at),
        arrived_at=s.utc_opt(r.arrived_at),
        arrival_minutes=None if took is None else round(took.total_seconds() / 60, 1),
        arrival_met=r.arrival_met(now), installed_at=s.utc_opt(r.installed_at),
        returned_at=s.utc_opt(r.returned_at))
