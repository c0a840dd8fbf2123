"""Use cases of customers: register, read, list, assign an SLA policy (API.md "Identities",
ADR 0018), and the lookup the SLA clocks use to find a customer's policy.

Functions over the same ``ServiceDesk`` (store, clock, cache, write lock), like
``application.catalog``. A registration is keyed by the customer id: the aggregate id derives
from it, so two registrations of one id race on one stream; the loser reloads and compares.
A repeat with the same ``name`` and ``sla_policy`` is an idempotent repeat (nothing recorded,
``created`` false: a ``200``); with different data it is a ``CustomerExists`` (a ``409``: use
``assign_sla_policy`` to change the policy).

Not here yet (issue 7): registering a free-text customer on a ticket's first use of it. A
ticket whose customer is not registered takes ``default``.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.catalog import get_policy
from application.desk import MAX_ATTEMPTS, RETRY_DELAY, RETRY_MAX_DELAY, ServiceDesk
from application.errors import ApplicationError, ConcurrencyConflict, RecordNotFound
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


@dataclass
class CustomerResult:
    customer: Customer
    created: bool = False
    changed: bool = False


def _check_policy(desk: ServiceDesk, slug: str | None) -> None:
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
        found = (desk._get_current(Customer.id_for(text)) if as_of is None
                 else desk.get_record(Customer.id_for(text), Customer, "customer", as_of))
    except (AggregateNotFoundError, RecordNotFound):
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
    try:
        directory = desk._get(CustomerDirectory.ID)
    except AggregateNotFoundError:
        directory = CustomerDirectory.open(at)
    directory.add(record.customer, at)
    return record, directory


def _retry_pause(attempt: int) -> None:
    time.sleep(random.uniform(0, min(RETRY_MAX_DELAY, RETRY_DELAY * 2**attempt)))


def register_customer(desk: ServiceDesk, customer: str, name: str,
                      sla_policy: str | None = None, *, actor: str) -> CustomerResult:
    _check_policy(desk, sla_policy)
    for attempt in range(MAX_ATTEMPTS):
        existing = find_customer(desk, customer)
        if existing is not None:
            if existing.same_as(name, sla_policy):
                return CustomerResult(customer=existing)
            raise CustomerExists(existing.customer)
        at = desk.clock.now()
        record = Customer.register(customer, name, sla_policy, actor=actor, at=at)
        try:
            directory = desk._get(CustomerDirectory.ID)
        except AggregateNotFoundError:
            directory = CustomerDirectory.open(at)
        directory.add(record.customer, at)
        try:
            desk._save(record, directory)
        except IntegrityError:
            _retry_pause(attempt)
            continue
        return CustomerResult(customer=record, created=True, changed=True)
    raise ConcurrencyConflict(MAX_ATTEMPTS)


def get_customer(desk: ServiceDesk, customer: str) -> Customer:
    found = find_customer(desk, customer)
    if found is None:
        raise CustomerNotFound(customer)
    return found


def list_customers(desk: ServiceDesk) -> list[Customer]:
    try:
        directory: CustomerDirectory = desk._get(CustomerDirectory.ID)
    except AggregateNotFoundError:
        return []
    found = (find_customer(desk, i) for i in sorted(directory.customers))
    return [c for c in found if c is not None]


def assign_policy(desk: ServiceDesk, customer: str, sla_policy: str, *,
                  actor: str) -> CustomerResult:
    """Sets the policy the customer's tickets take from now on (when they are classified);
    tickets that already have deadlines keep their policy."""
    if not sla_policy:
        raise InvalidCommand.field("sla_policy", "must not be empty")
    _check_policy(desk, sla_policy)
    for attempt in range(MAX_ATTEMPTS):
        record = get_customer(desk, customer)
        changed = record.assign_policy(sla_policy, actor=actor, at=desk.clock.now())
        if not changed:
            return CustomerResult(customer=record)
        try:
            desk._save(record)
        except IntegrityError:
            _retry_pause(attempt)
            continue
        return CustomerResult(customer=record, changed=True)
    raise ConcurrencyConflict(MAX_ATTEMPTS)


def customer_policy(desk: ServiceDesk, customer: str) -> str | None:
    """The SLA policy of a registered customer, ``None`` when it has none or is unknown
    (the seam ``SlaClocks.customer_policy``)."""
    found = find_customer(desk, customer)
    return found.sla_policy if found is not None else None
