"""HTTP for spare parts (备件, issue 20 item 2, ADR 0064): warehouses, stock, requisitions.

- ``PUT /warehouses/{slug} {name, project?, location?, arrival_target_hours?}`` defines a
  warehouse (``201`` the first time) with its project's spare-part arrival target (4 hours
  unless given); ``GET /warehouses``, ``GET /warehouses/{slug}``.
- ``POST /warehouses/{slug}/receive {part_number, quantity, description, location?, note?}``:
  a receipt into stock (入库); ``GET /warehouses/{slug}/stock`` (``?as_of=``).
- ``POST /requisitions {ticket, warehouse, part_number, quantity, note?}`` → ``201`` a
  requisition (备件领用单 ``BJ-…``), its parts issued from stock in the same transaction; a
  ``409`` naming ``stock`` when too few are left. ``POST /requisitions/{ref}/dispatch`` ·
  ``/arrive`` · ``/install`` · ``/return_faulty {reason}``.
- ``GET /requisitions?ticket=&warehouse=&status=`` (latest first), ``GET /requisitions/{ref}``
  (``?as_of=``), ``/history``.

Stock and requisitions are the desk's internal records: staff read them, the desk and
engineers change them (docs/authorization.md).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, put
from litestar.datastructures import State

from adapters.http import kit
from adapters.http.openapi.contract import also_answers
from adapters.http.params import AsOf, Cursor, NewSlug, limit, listed
from adapters.http.schemas import spare_parts as sp
from application import spare_parts as uc
from application.commands.spare_parts import (DefineWarehouse, DispatchParts, InstallParts,
                                               PartsArrived, ReceiveStock, RequestParts,
                                               ReturnFaultyParts)
from application.desk import CommandResult, ServiceDesk
from domain.spare_part import RequisitionStatus

TAG = "spare-parts"


def _present(result: CommandResult, desk: ServiceDesk) -> sp.RequisitionView:
    return sp.requisition_view(result.aggregate, result.at)


REQUISITIONS = kit.Records("requisitions", sp.RequisitionView, _present, tag=TAG)


@put(f"{kit.API}/warehouses/{{slug:str}}", status_code=200, tags=[TAG],
     summary="Define or redefine a spare-part warehouse (its project's arrival target)",
     responses=also_answers(201, "Defined: the warehouse's first version", sp.WarehouseView),
     opt={kit.COMMAND_CLASS_OPT: DefineWarehouse})
@kit.threaded
def put_warehouse(request: Request[Any, Any, Any], state: State, slug: NewSlug,
                  data: sp.WarehouseIn) -> Response[sp.WarehouseView]:
    command = DefineWarehouse(slug=slug, name=data.name, project=data.project,
                              location=data.location,
                              arrival_target_hours=data.arrival_target_hours)
    return kit.put_definition(request, state, data, command,
                              lambda record, desk: sp.warehouse_view(record),
                              f"{kit.API}/warehouses/{slug}")


@get(f"{kit.API}/warehouses", tags=[TAG], summary="The spare-part warehouses")
@kit.threaded
def list_warehouses(state: State) -> sp.WarehousePage:
    items = [sp.warehouse_view(w) for w in uc.warehouses(kit.services_of(state).desk)]
    return sp.WarehousePage(items=items, count=len(items))


@get(f"{kit.API}/warehouses/{{slug:str}}", tags=[TAG], summary="A spare-part warehouse")
@kit.threaded
def get_warehouse(state: State, slug: str, as_of: AsOf = None) -> Response[sp.WarehouseView]:
    w = uc.get_warehouse(kit.services_of(state).desk, slug, kit.parse_as_of(as_of))
    return kit.versioned(sp.warehouse_view(w), w.version)


@get(f"{kit.API}/warehouses/{{slug:str}}/stock", tags=[TAG],
     summary="The stock of a warehouse: every part number, its quantity and shelf")
@kit.threaded
def warehouse_stock(state: State, slug: str, as_of: AsOf = None) -> sp.WarehouseStock:
    desk = kit.services_of(state).desk
    when = kit.parse_as_of(as_of)
    w = uc.get_warehouse(desk, slug, when)
    items = [sp.stock_line_view(line) for line in uc.stock(desk, w, when)]
    return sp.WarehouseStock(warehouse=sp.warehouse_view(w), items=items, count=len(items))


def _stock_answer(result: CommandResult, desk: ServiceDesk) -> Response[sp.StockLineView]:
    headers = {"ETag": f'"{result.aggregate.version}"'}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return kit.json_answer(sp.stock_line_view(result.aggregate), headers=headers)


@post(f"{kit.API}/warehouses/{{slug:str}}/receive", status_code=200, tags=[TAG],
      summary="A receipt into stock (入库): the part's stock line, its new quantity",
      opt={kit.COMMAND_CLASS_OPT: ReceiveStock})
@kit.threaded
def receive_stock(request: Request[Any, Any, Any], state: State, slug: str,
                  data: sp.ReceiveStock) -> Response[sp.StockLineView]:
    command = ReceiveStock(ref=slug, part_number=data.part_number, quantity=data.quantity,
                           description=data.description, location=data.location,
                           note=data.note)
    return kit.run_command(request, state, data, command, respond=_stock_answer)


request_parts = REQUISITIONS.creates(
    "request_parts", RequestParts, sp.RequestParts,
    "Request spare parts for a ticket (备件领用单): issued from stock",
    lambda request, state, data: RequestParts(
        ticket=data.ticket, warehouse=data.warehouse, part_number=data.part_number,
        quantity=data.quantity, note=data.note))


dispatch = REQUISITIONS.command(DispatchParts, sp.Note, "The parts were sent to the site")
arrive = REQUISITIONS.command(PartsArrived, sp.Note, "The parts arrived on site (备件到场)")
install = REQUISITIONS.command(InstallParts, sp.Note, "The parts were installed")
return_faulty = REQUISITIONS.command(ReturnFaultyParts, sp.ReturnFaulty,
                                     "The part was faulty and is returned")


get_requisition = REQUISITIONS.read(
    "get_requisition", "A spare-part requisition (optionally as of a past time)",
    uc.get_requisition, sp.requisition_view, view_as_of=True)


requisition_history = REQUISITIONS.history(
    "requisition_history", "Every event of a requisition, oldest first",
    uc.requisition_history)


StatusFilter = listed([x.value for x in RequisitionStatus], "The requisition's status")
Limit = limit(50)


@get(f"{kit.API}/requisitions", tags=[TAG], summary="Spare-part requisitions, latest first")
@kit.threaded
def list_requisitions(state: State, ticket: str | None = None, warehouse: str | None = None,
                      status: StatusFilter = None, limit: Limit = 50,
                      cursor: Cursor = None) -> sp.RequisitionPage:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    page = uc.list_requisitions(desk, uc.RequisitionQuery(
        ticket=ticket, warehouse=warehouse,
        statuses=kit.split_values(status, "status", {x.value for x in RequisitionStatus}),
        limit=kit.parse_limit(limit), offset=kit.parse_cursor(cursor) or 0))
    return kit.page_body(sp.RequisitionPage, [sp.requisition_view(r, now) for r in page.items],
                         page.next_offset)


HANDLERS = [put_warehouse, list_warehouses, get_warehouse, warehouse_stock, receive_stock,
            request_parts, dispatch, arrive, install, return_faulty, get_requisition,
            requisition_history, list_requisitions]
