"""Service catalogue commands (服务目录, issue 21 item 1, ADR 0061): define or redefine a
catalogue service (keyed by slug, fields as ``PUT /api/v1/catalogue/{service_id}`` names
them), and approve or reject a request made through it (``POST /api/v1/tickets/{ref}/approve``
and ``/reject``).

A PUT is "create or redefine", as for the SLA policies (``application.commands.catalog``):
the service's id derives from its slug, a creation also lists the slug in the
``ServiceDirectory`` in the same save, and an identical definition records nothing.

Approving moves the request on and starts its SLA clocks: ``desk.sla.update`` runs after the
command in the same save and computes the deadlines from the approval (``Ticket.sla_start``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.catalog import find_record
from application.commands.base import NOTHING, Command, command
from application.commands.catalog import with_defaults
from application.commands.tickets import TicketCommand
from application.service_catalogue import LABEL, check_schema
from domain.errors import InvalidCommand
from domain.service_catalogue import CatalogueService, ServiceDefinition, ServiceDirectory
from domain.ticket import Ticket

if TYPE_CHECKING:
    from application.desk import Context, ServiceDesk

MANAGER, CUSTOMER = "manager", "customer"
CAPACITIES = (MANAGER, CUSTOMER)


@command
class PutService(Command):
    """``CatalogueService.define`` → ``CatalogueService.Defined`` (listed:
    ``ServiceDirectory.Listed``) or ``CatalogueService.redefine`` →
    ``CatalogueService.Redefined``; ``NOTHING`` when unchanged. The form schema must be a JSON
    Schema of an object and the SLA policy must exist (422 naming ``form_schema`` /
    ``sla_policy``). HTTP: ``ServiceIn`` (parsed to a ``ServiceDefinition``)."""

    record_class = CatalogueService
    record_label = LABEL
    verb = "put"
    missing_ok = True

    slug: str
    definition: ServiceDefinition

    def target(self) -> UUID | None:
        return CatalogueService.id_for(self.slug)

    def prepare(self, desk: ServiceDesk) -> None:
        with_defaults(desk)  # the ``default`` SLA policy exists to be named

    def decide(self, record: CatalogueService | None, ctx: Context) -> Any:
        d = self.definition
        check_schema(d.form_schema)
        if d.sla_policy is not None and find_record(ctx.desk, "policy", d.sla_policy) is None:
            raise InvalidCommand.field("sla_policy", f"no SLA policy {d.sla_policy!r}; PUT "
                                       "/api/v1/sla-policies/{id} first")
        at, actor = ctx.at, ctx.actor
        if record is not None:
            return None if record.redefine(d, actor=actor, at=at) else NOTHING
        created = CatalogueService.define(self.slug, d, actor=actor, at=at)
        directory = ctx.desk.load(ServiceDirectory.ID) or ServiceDirectory.open(at)
        directory.add(self.slug, at)
        return (created, directory)


def _refuse_capacity(t: Ticket, command: str, capacity: str) -> None:
    """A request that needs a manager's approval is decided by a manager only."""
    if capacity not in CAPACITIES:
        raise InvalidCommand.field("capacity", f"one of {', '.join(CAPACITIES)}")
    wanted = t.service_request.approval if t.service_request else MANAGER
    if wanted == MANAGER and capacity != MANAGER:
        t.refuse(command, "this request needs a manager's approval",
                 missing=("manager_approval",))


@command
class ApproveRequest(TicketCommand):
    """``Ticket.approve`` → ``Ticket.Approved``: a request ``awaiting_approval`` moves on
    (``registered`` / ``classified``) and its SLA clocks start now. ``capacity``: whom the
    approver acts as (``manager``; ``customer``: the requester's organisation), set by the
    edge from the caller's roles. HTTP: ``Empty``."""

    verb = "approve"
    capacity: str = MANAGER

    def decide(self, t: Ticket, ctx: Context) -> None:
        t.require(self.verb)
        _refuse_capacity(t, self.verb, self.capacity)
        t.approve(capacity=self.capacity, actor=ctx.actor, at=ctx.at)


@command
class RejectRequest(TicketCommand):
    """``Ticket.reject_request`` → ``Ticket.ApprovalRejected``: the request ends (``invalid``,
    with the reason) and no clock ever ran. ``capacity`` as for ``ApproveRequest``. HTTP:
    ``Reason``."""

    verb = "reject"
    reason: str
    capacity: str = MANAGER

    def decide(self, t: Ticket, ctx: Context) -> None:
        t.require(self.verb)
        _refuse_capacity(t, self.verb, self.capacity)
        t.reject_request(reason=self.reason, capacity=self.capacity, actor=ctx.actor,
                         at=ctx.at)
