"""Spare parts (备件, issue 20 item 2, ADR 0064): reads of warehouses, their stock and the
requisitions (备件领用单). The commands are values in ``application.commands.spare_parts``.

Warehouses are few and list their part numbers; each stock line lists the requisitions that
took parts from it. So the lists read those records from the aggregate cache instead of
keeping a read model: the warehouses → their stock lines → their requisitions. (A read model
is the next step once a desk has thousands of requisitions a month.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.commands.base import resolve_ref
from application.desk import HistoryEntry, ServiceDesk
from application.records import Page, page_of
from domain.customer import normalise_customer_id
from domain.spare_part import (Requisition, StockLine, Warehouse, WarehouseDirectory,
                               stock_line_id, warehouse_id)

REQUISITION = "requisition"
WAREHOUSE = "warehouse"


def get_warehouse(desk: ServiceDesk, slug: str, as_of: datetime | None = None) -> Warehouse:
    return desk.get_record(warehouse_id(slug.strip().lower()), Warehouse, WAREHOUSE,
                           as_of)  # type: ignore[no-any-return]


def warehouses(desk: ServiceDesk) -> list[Warehouse]:
    directory = desk.load(WarehouseDirectory.ID)
    if not isinstance(directory, WarehouseDirectory):
        return []
    found = (desk.load(warehouse_id(slug)) for slug in directory.warehouses)
    return [w for w in found if isinstance(w, Warehouse)]


def stock(desk: ServiceDesk, w: Warehouse, as_of: datetime | None = None) -> list[StockLine]:
    """The stock lines of warehouse ``w`` in order of their first receipt."""
    lines = []
    for part in w.parts:
        if as_of is None:
            line = desk.load(stock_line_id(w.slug, part))
        else:
            try:
                line = desk.get_record(stock_line_id(w.slug, part), StockLine, "stock line",
                                       as_of)
            except Exception:  # noqa: BLE001 - a line opened after ``as_of``
                line = None
        if isinstance(line, StockLine):
            lines.append(line)
    return lines


def get_requisition(desk: ServiceDesk, ref: str | UUID,
                    as_of: datetime | None = None) -> Requisition:
    return desk.get_record(ref, Requisition, REQUISITION, as_of)  # type: ignore[no-any-return]


def requisition_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Requisition, REQUISITION)


def all_requisitions(desk: ServiceDesk) -> Iterator[Requisition]:
    for w in warehouses(desk):
        for line in stock(desk, w):
            for rid in line.requisitions:
                r = desk.load(UUID(rid))
                if isinstance(r, Requisition):
                    yield r


@dataclass(frozen=True)
class RequisitionQuery:
    """Filters of the list (none: every requisition); ``customer``: a requester's own."""

    ticket: str | None = None
    warehouse: str | None = None
    statuses: tuple[str, ...] = ()
    customer: str | None = None
    limit: int = 50
    offset: int = 0


def ticket_key(ref: str | None) -> str | None:
    """The ticket id a ``ticket`` filter names (an id or SR number); other text matches none."""
    if ref is None or not ref.strip():
        return None
    try:
        return str(resolve_ref(ref, "ticket"))
    except Exception:  # noqa: BLE001 - text naming no ticket lists nothing
        return ref.strip()


def list_requisitions(desk: ServiceDesk, q: RequisitionQuery) -> Page[Requisition]:
    """The requisitions ``q`` asks for, the latest first."""
    ticket = ticket_key(q.ticket)
    slug = q.warehouse.strip().lower() if q.warehouse else None
    wanted = normalise_customer_id(q.customer) if q.customer is not None else None
    rows = [r for r in all_requisitions(desk)
            if (ticket is None or r.ticket_id == ticket)
            and (slug is None or r.warehouse == slug)
            and (not q.statuses or r.status.value in q.statuses)
            and (wanted is None or normalise_customer_id(r.customer) == wanted)]
    rows.sort(key=lambda r: (r.requested_at, r.number), reverse=True)
    return page_of(rows, q.offset, q.limit)
