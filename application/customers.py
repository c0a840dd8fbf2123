"""Customers: reads, lists, the lookup the SLA clocks use to find a customer's policy (ADR
0018), and a customer registered on its first use by another record.

The commands are values in ``application.commands.customers`` (``RegisterCustomer``,
``AssignSlaPolicy``), run by ``ServiceDesk.handle``. A ticket whose customer is not
registered takes the ``default`` policy.
"""

from __future__ import annotations

from datetime import datetime

from application.catalog import get_policy
from application.desk import ServiceDesk
from application.errors import ApplicationError, RecordNotFound
from domain.customer import Customer, CustomerDirectory, normalise_customer_id
from domain.errors import InvalidCommand


class CustomerNotFound(ApplicationError):
    def __init__(self, customer: str):
        self.customer = customer
        super().__init__(f"no customer {customer!r}")


class CustomerExists(ApplicationError):
    """A registration of an existing customer with other data (a 409)."""

    def __init__(self, customer: str):
        self.customer = customer
        super().__init__(
            f"customer {customer!r} is already registered with another name or SLA policy; "
            "use assign_sla_policy to change its policy")


def check_policy(desk: ServiceDesk, slug: str | None) -> None:
    """A 422 naming ``sla_policy`` when ``slug`` names no SLA policy."""
    if slug is None:
        return
    try:
        get_policy(desk, slug)
    except ApplicationError:
        raise InvalidCommand.field("sla_policy", f"no SLA policy {slug!r}; PUT it first") from None


def find_customer(desk: ServiceDesk, customer: str,
                  as_of: datetime | None = None) -> Customer | None:
    """The registered customer (as it stood at ``as_of``, by recorded time, when given)."""
    text = normalise_customer_id(customer)
    if not text:
        return None
    try:
        found = (desk.load_current(Customer.id_for(text)) if as_of is None
                 else desk.get_record(Customer.id_for(text), Customer, "customer", as_of))
    except RecordNotFound:
        return None
    return found if isinstance(found, Customer) else None


def customer_on_first_use(desk: ServiceDesk, customer: str, at: datetime,
                          actor: str) -> tuple[Customer | CustomerDirectory, ...]:
    """The customer, registered now (its name is its id) with the directory when it is new:
    the aggregates to save in the same transaction as the record that first names it (a
    project's contract, a requester)."""
    found = find_customer(desk, customer)
    if found is not None:
        return (found,)
    record = Customer.register(customer, customer, None, actor=actor, at=at)
    directory = desk.load(CustomerDirectory.ID) or CustomerDirectory.open(at)
    directory.add(record.customer, at)
    return record, directory


def get_customer(desk: ServiceDesk, customer: str) -> Customer:
    found = find_customer(desk, customer)
    if found is None:
        raise CustomerNotFound(customer)
    return found


def list_customers(desk: ServiceDesk) -> list[Customer]:
    directory: CustomerDirectory | None = desk.load(CustomerDirectory.ID)
    if directory is None:
        return []
    found = (find_customer(desk, i) for i in sorted(directory.customers))
    return [c for c in found if c is not None]


def customer_policy(desk: ServiceDesk, customer: str) -> str | None:
    """The SLA policy of a registered customer, ``None`` when it has none or is unknown
    (the seam ``SlaClocks.customer_policy``)."""
    found = find_customer(desk, customer)
    return found.sla_policy if found is not None else None
