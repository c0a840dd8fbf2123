"""HTTP for customers: ``/api/v1/customers`` (API.md "Identities", ADR 0018).

``POST /customers`` {``id``, ``name``, ``sla_policy``?} registers a customer: ``201`` with
``Location``; a repeat with the same data is ``200`` (nothing recorded); the same id with
another name or policy is a ``409`` (change the policy with ``assign_sla_policy``). An
unknown ``sla_policy`` is a ``422`` naming ``sla_policy``. ``GET /customers`` lists them,
``GET /customers/{id}`` shows one (``404`` when unknown), ``POST /customers/{id}/
assign_sla_policy`` {``sla_policy``} sets the policy the customer's tickets take when they are
classified from then on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException, NotFoundException
from msgspec import Struct
from msgspec.structs import asdict

from adapters.http.schemas import common as s
from adapters.http import kit
from adapters.http.openapi.contract import also_answers
from application import customers as uc
from application.commands.customers import AssignSlaPolicy, RegisterCustomer
from application.customers import CustomerExists, CustomerNotFound
from domain.customer import Customer

CustomerId = s.CustomerId
PolicyId = s.PolicyId


class CustomerIn(s.Input):
    id: CustomerId
    name: s.Name
    sla_policy: PolicyId | None = None


class AssignPolicyIn(s.Input):
    sla_policy: PolicyId


class CustomerView(Struct, frozen=True):
    id: str
    name: str
    sla_policy: str | None
    version: int
    registered_at: datetime
    registered_by: str
    modified_at: datetime


class CustomerList(Struct, frozen=True):
    items: list[CustomerView]
    count: int


def customer_view(c: Customer) -> CustomerView:
    return s.copied(
        CustomerView, c,
        id=c.customer,
        registered_at=c.created_on.astimezone(UTC),
        modified_at=c.modified_on.astimezone(UTC))


def _found(read: Any) -> Any:
    try:
        return read()
    except CustomerNotFound as e:
        raise NotFoundException(str(e)) from None


@post(f"{kit.API}/customers", summary="Register a customer (optionally with its SLA policy)",
      tags=["customers"], status_code=201, opt={kit.COMMAND_CLASS_OPT: RegisterCustomer},
      responses=also_answers(200, "Already registered with this name: unchanged", CustomerView))
@kit.threaded
def register_customer(request: Request[Any, Any, Any], state: State,
                      data: CustomerIn) -> Response[CustomerView]:
    desk = kit.services_of(state).desk
    try:
        result = desk.handle(RegisterCustomer(**asdict(data)), actor=kit.actor_of(request))
    except CustomerExists as e:
        raise ClientException(str(e), status_code=409) from None
    c = result.aggregate
    headers = {"ETag": f'"{c.version}"'}
    if result.created:
        headers["Location"] = f"{kit.API}/customers/{quote(c.customer, safe='')}"
    return Response(customer_view(c), status_code=201 if result.created else 200,
                    headers=headers)


@get(f"{kit.API}/customers", summary="Every registered customer", tags=["customers"])
@kit.threaded
def list_customers(state: State) -> CustomerList:
    items = [customer_view(c) for c in uc.list_customers(kit.services_of(state).desk)]
    return CustomerList(items=items, count=len(items))


@get(f"{kit.API}/customers/{{customer:str}}", summary="A customer", tags=["customers"])
@kit.threaded
def get_customer(state: State, customer: str) -> Response[CustomerView]:
    c = _found(lambda: uc.get_customer(kit.services_of(state).desk, customer))
    return Response(customer_view(c), headers={"ETag": f'"{c.version}"'})


@post(f"{kit.API}/customers/{{customer:str}}/assign_sla_policy",
      summary="Set the SLA policy a customer's tickets take", tags=["customers"],
      status_code=200, opt={kit.COMMAND_CLASS_OPT: AssignSlaPolicy})
@kit.threaded
def assign_sla_policy(request: Request[Any, Any, Any], state: State, customer: str,
                      data: AssignPolicyIn) -> Response[CustomerView]:
    desk = kit.services_of(state).desk
    result = _found(lambda: desk.handle(AssignSlaPolicy(customer=customer, **asdict(data)),
                                        actor=kit.actor_of(request)))
    return Response(customer_view(result.aggregate),
                    headers={"ETag": f'"{result.aggregate.version}"'})


HANDLERS = [register_customer, list_customers, get_customer, assign_sla_policy]
