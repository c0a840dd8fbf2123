"""Customer commands (API.md "Identities", ADR 0018), keyed by the customer id; fields as
``POST /api/v1/customers`` and ``POST /api/v1/customers/{customer}/assign_sla_policy`` name
them (``adapters/http/customers``).

A registration's aggregate id derives from the customer id, so two registrations of one id
race on one stream; the handler reloads the loser, which then compares: a repeat with the
same ``name`` and ``sla_policy`` records nothing (``created`` false, a ``200``); other data
is a ``CustomerExists`` (a ``409``: use ``AssignSlaPolicy`` to change the policy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.commands.base import NOTHING, Command, command
from application.customers import CustomerExists, CustomerNotFound, check_policy
from domain.customer import Customer, CustomerDirectory
from domain.errors import InvalidCommand

if TYPE_CHECKING:
    from application.desk import Context


@command
class RegisterCustomer(Command):
    """``Customer.register`` → ``Customer.Registered``, listed (``CustomerDirectory.Listed``)
    in the same save; ``NOTHING`` for a repeat with the same data. HTTP: ``CustomerIn``."""

    record_class = Customer
    record_label = "customer"
    verb = "register"
    missing_ok = True

    id: str
    name: str
    sla_policy: str | None = None

    def target(self) -> UUID | None:
        return Customer.id_for(self.id)

    def prepare(self, desk: Any) -> None:
        check_policy(desk, self.sla_policy)

    def decide(self, existing: Customer | None, ctx: Context) -> Any:
        if existing is not None:
            if existing.same_as(self.name, self.sla_policy):
                return NOTHING
            raise CustomerExists(existing.customer)
        at = ctx.at
        record = Customer.register(self.id, self.name, self.sla_policy, actor=ctx.actor, at=at)
        directory = ctx.desk.load(CustomerDirectory.ID) or CustomerDirectory.open(at)
        directory.add(record.customer, at)
        return (record, directory)


@command
class AssignSlaPolicy(Command):
    """``Customer.assign_policy`` → ``Customer.SlaPolicyAssigned``: the policy the customer's
    tickets take from now on (when classified; tickets with deadlines keep theirs);
    ``NOTHING`` when it is already the one. HTTP: ``AssignPolicyIn``."""

    record_class = Customer
    record_label = "customer"
    verb = "assign_sla_policy"
    missing_ok = True  # an unknown customer is a ``CustomerNotFound``

    customer: str
    sla_policy: str

    def target(self) -> UUID | None:
        return Customer.id_for(self.customer)

    def prepare(self, desk: Any) -> None:
        if not self.sla_policy:
            raise InvalidCommand.field("sla_policy", "must not be empty")
        check_policy(desk, self.sla_policy)

    def decide(self, record: Customer | None, ctx: Context) -> Any:
        if record is None:
            raise CustomerNotFound(self.customer)
        changed = record.assign_policy(self.sla_policy, actor=ctx.actor, at=ctx.at)
        return None if changed else NOTHING
