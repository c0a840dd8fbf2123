"""Complaint commands (投诉, issue 21 item 3, ADR 0066); fields are named as the bodies of
``POST /api/v1/complaints`` and ``POST /api/v1/complaints/{ref}/<verb>``.

Filing saves the complaint (``CMP-YYYYMMDD-NNN``) and the directory that lists it in one
transaction. A complaint about a ticket names it by id or ``SR-`` number; the ticket's
customer is the complaint's (a 422 naming ``ticket`` when another customer is given) and its
assignee is an engineer concerned, who may not handle the complaint.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from application.commands.base import Command, RecordCommand, command, listed
from application.complaints import LABEL
from application.customers import find_customer
from application.errors import RecordNotFound
from application.identities import has_identities
from domain.complaint import CLOSURE_LIMIT, RESPONSE_LIMIT, Complaint, ComplaintDirectory
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.identity import Role, User, normalise_user_id
from domain.numbering import RecordKind, record_id_for
from domain.ticket import Contact, Ticket

if TYPE_CHECKING:
    from application.desk import Context, ServiceDesk


@command
class FileComplaint(Command):
    """``Complaint.file`` → ``Complaint.Filed``, listed (``ComplaintDirectory.Listed``).
    ``ticket``: the ticket complained about (id or number). HTTP: ``POST /complaints``.
    Body: ``FileComplaint``."""

    record_class = Complaint
    record_label = LABEL
    verb = "file"

    about: str
    description: str
    customer: str = ""
    contact: Contact = field(default_factory=lambda: Contact(name=""))
    ticket: str = ""
    engineer: str = ""
    service: str = ""
    response_limit: timedelta = RESPONSE_LIMIT
    closure_limit: timedelta = CLOSURE_LIMIT

    def prepare(self, desk: ServiceDesk) -> None:
        if self.customer and find_customer(desk, self.customer) is None \
                and not self.ticket.strip():
            raise InvalidCommand.field("customer", f"no registered customer {self.customer!r}")

    def decide(self, record: None, ctx: Context) -> Any:
        customer = normalise_customer_id(self.customer)
        ticket: Ticket | None = None
        if self.ticket.strip():
            try:
                ticket = ctx.desk.get_ticket(self.ticket.strip())
            except RecordNotFound:
                raise InvalidCommand.field("ticket", f"no ticket {self.ticket.strip()!r}") \
                    from None
            if customer and customer != ticket.customer:
                raise InvalidCommand.field("ticket", (  # whose it is is not told
                    f"no ticket {self.ticket.strip()!r} of customer {customer}"))
            customer = ticket.customer
        number = ctx.issue(RecordKind.COMPLAINT)
        c = Complaint.file(
            id=record_id_for(number), number=number, about=self.about, customer=customer,
            contact=self.contact, description=self.description, actor=ctx.actor, at=ctx.at,
            ticket_id=str(ticket.id) if ticket else "",
            ticket_number=ticket.number if ticket else "",
            ticket_assignee=ticket.assignee if ticket else None, engineer=self.engineer,
            service=self.service, response_limit=self.response_limit,
            closure_limit=self.closure_limit)
        return listed(ctx, ComplaintDirectory, c)


@command
class ComplaintCommand(RecordCommand):
    record_class = Complaint
    record_label = LABEL


def is_manager(desk: ServiceDesk, user: str) -> bool:
    """Whether ``user`` is a registered manager; a store without users (a development store)
    takes any name. An unknown user is a 422 naming ``handler``."""
    if not has_identities(desk):
        return True
    found = desk.load(User.id_for(normalise_user_id(user)))
    if not isinstance(found, User):
        raise InvalidCommand.field("handler", f"no user {user!r} is registered")
    return Role.MANAGER.value in {str(r) for r in found.roles}


@command
class AssignComplaintHandler(ComplaintCommand):
    """``Complaint.assign_handler`` → ``Complaint.HandlerAssigned``: a manager who is not the
    engineer concerned (409 naming why otherwise). ``handler`` left out: the caller.
    Body: ``AssignHandler``."""

    verb = "assign_handler"

    handler: str = ""

    def decide(self, c: Complaint, ctx: Context) -> Any:
        c.require("assign_handler")
        name = normalise_user_id(self.handler) if self.handler.strip() else ctx.actor
        c.assign_handler(handler=name, is_manager=is_manager(ctx.desk, name), actor=ctx.actor,
                         at=ctx.at)


@command
class RespondToComplaint(ComplaintCommand):
    """``Complaint.respond`` → ``Complaint.Responded`` (the first stops the response clock).
    Body: ``Respond``."""

    verb = "respond"

    message: str


@command
class ResolveComplaint(ComplaintCommand):
    """``Complaint.resolve`` → ``Complaint.Resolved`` (awaiting the customer's
    confirmation). Body: ``Resolve``."""

    verb = "resolve"

    resolution: str


@command
class ConfirmComplaint(ComplaintCommand):
    """``Complaint.confirm`` → ``Complaint.Confirmed``: the customer accepts the
    resolution. Body: ``Confirm``."""

    verb = "confirm"

    note: str = ""


@command
class RejectComplaintResolution(ComplaintCommand):
    """``Complaint.reject`` → ``Complaint.Rejected``: the customer is not satisfied, the
    complaint goes back to its handler. Body: ``Reject``."""

    verb = "reject"

    reason: str


@command
class CloseComplaint(ComplaintCommand):
    """``Complaint.close`` → ``Complaint.Closed``: only once the customer confirmed (409
    naming ``customer_confirmation`` otherwise). Body: ``Close``."""

    verb = "close"

    note: str = ""


@command
class RecordComplaintOverdue(ComplaintCommand):
    """``Complaint.record_overdue`` → ``Complaint.ResponseOverdue`` /
    ``Complaint.ClosureOverdue``, each once, when its limit passed at ``now`` (the
    watcher's; nothing otherwise)."""

    verb = "record_overdue"

    now: datetime
