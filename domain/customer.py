"""Customers and the SLA policy each one takes (API.md "Identities", ADR 0018).

A customer is managed by its customer id, the text a ticket's ``customer`` carries (a slug such
as ``acme`` or free text such as ``客户A``). The aggregate id derives from that text (uuid5),
so two registrations of one customer meet on one stream and the store's optimistic
concurrency settles them.

``CustomerDirectory`` lists the customer ids that exist (one aggregate with a fixed id,
changed in the same transaction as a customer's registration), so listing is one read.

Pure: standard library and ``eventsourcing.domain`` only; time and actor come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from domain.checks import collapsed, refuse_fields
from domain.errors import FieldError, InvalidCommand
from domain.records import CopiesFields, RecordEvent, directory

MAX_ID = 200
MAX_NAME = 200


def normalise_customer_id(text: str) -> str:
    """The customer id as kept: surrounding and repeated white space removed."""
    return collapsed(text)


def customer_id(text: str) -> UUID:
    return _customer_id(normalise_customer_id(text))


@lru_cache(maxsize=4096)
def _customer_id(customer: str) -> UUID:
    """Memoised: every command asks for its customer's id several times (the SLA policy,
    the project's contract), and uuid5 hashes with SHA-1 each time (ADR 0040)."""
    return uuid5(NAMESPACE_URL, f"opsledger:customer:{customer}")


def _check(customer: str, name: str) -> None:
    errors: list[FieldError] = []
    if not customer:
        errors.append(FieldError("id", "must not be empty"))
    elif len(customer) > MAX_ID or any(ord(c) < 32 or ord(c) == 127 for c in customer):
        errors.append(FieldError("id", f"at most {MAX_ID} printable characters"))
    if not name:
        errors.append(FieldError("name", "must not be empty"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", f"at most {MAX_NAME} characters"))
    refuse_fields(errors)


@dataclass(frozen=True)
class ContractTerms:
    """A delivery project's contract as the customer's tickets see it (ADR 0028): tickets
    reported on a day from ``start`` to ``end`` (inclusive, in ``timezone``) belong to the
    project and take its SLA policy and calendar."""

    project_id: str
    project_number: str
    start: date
    end: date
    sla_policy: str
    calendar: str
    timezone: str

    def covers(self, reported_at: datetime) -> bool:
        return self.start <= reported_at.astimezone(ZoneInfo(self.timezone)).date() <= self.end


class Customer(Aggregate):
    """One customer organisation and the SLA policy its tickets take (``None``: ``default``)."""

    TOPIC = "opsledger.customer:Customer"

    class Event(RecordEvent):
        TOPIC = "opsledger.customer:Customer.Event"

    class Registered(Aggregate.Created):
        TOPIC = "opsledger.customer:Customer.Registered"
        customer: str
        name: str
        sla_policy: str | None
        actor: str

    class SlaPolicyAssigned(CopiesFields, Event):
        TOPIC = "opsledger.customer:Customer.SlaPolicyAssigned"
        sla_policy: str

    class ContractRecorded(Event):
        """A project was contracted for this customer (saved with the project, ADR 0028)."""

        TOPIC = "opsledger.customer:Customer.ContractRecorded"
        terms: ContractTerms

        def apply(self, customer: Customer) -> None:
            customer.contracts = (*customer.contracts, self.terms)

    def __init__(self, customer: str, name: str, sla_policy: str | None, actor: str) -> None:
        self.customer = customer
        self.name = name
        self.sla_policy = sla_policy
        self.registered_by = actor
        self.contracts: tuple[ContractTerms, ...] = ()

    def record_contract(self, terms: ContractTerms, *, actor: str, at: datetime) -> None:
        self.trigger_event(self.ContractRecorded, timestamp=at, actor=actor, terms=terms)

    def contract_on(self, reported_at: datetime) -> ContractTerms | None:
        """The contract whose period holds ``reported_at`` (the latest one recorded when
        periods overlap), ``None`` outside every contract."""
        return next((c for c in reversed(self.contracts) if c.covers(reported_at)), None)

    @staticmethod
    def id_for(customer: str) -> UUID:
        return customer_id(customer)

    @classmethod
    def register(cls, customer: str, name: str, sla_policy: str | None, *, actor: str,
                 at: datetime) -> Customer:
        """The caller has checked that ``sla_policy`` names an existing policy."""
        customer = normalise_customer_id(customer)
        name = collapsed(name)
        _check(customer, name)
        return cls._create(cls.Registered, id=cls.id_for(customer), timestamp=at,
                           customer=customer, name=name, sla_policy=sla_policy, actor=actor)

    def same_as(self, name: str, sla_policy: str | None) -> bool:
        """Whether a registration with these data repeats this one (an idempotent repeat)."""
        return collapsed(name) == self.name and sla_policy == self.sla_policy

    def assign_policy(self, sla_policy: str, *, actor: str, at: datetime) -> bool:
        """Records the assignment; ``False`` (nothing recorded) when it is already the one."""
        if not sla_policy:
            raise InvalidCommand.field("sla_policy", "must not be empty")
        if sla_policy == self.sla_policy:
            return False
        self.trigger_event(self.SlaPolicyAssigned, timestamp=at, actor=actor,
                           sla_policy=sla_policy)
        return True


CustomerDirectory = directory(
    "opsledger.customer:CustomerDirectory", "opsledger:customer-directory",
    key="customer", items="customers", module=__name__,
    doc="""The ids of every registered customer, in order of registration (for listing).""")
