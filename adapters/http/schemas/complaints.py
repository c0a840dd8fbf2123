"""Wire types of complaints (投诉, ADR 0066).

``POST /complaints`` needs ``description`` and what the complaint is about (``about``, or
left out: the one of these given):
``ticket`` (its id or number; the customer is the ticket's), ``engineer`` or ``service``,
and ``customer`` unless a ticket names it (a requester's own organisation when left out).
``contact`` (the complainant) is personal data: sealed with the customer's key, masked for
the roles that see contacts masked, erased with the customer's personal data.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from adapters.http.schemas import common as s
from adapters.http.schemas.tickets import ContactIn, ContactOut
from application.commands.complaints import FileComplaint as File
from application.complaints import overdue
from domain.complaint import Complaint
from domain.ticket import Contact


class FileComplaint(s.Input):
    about: s.Short = ""  # ticket | engineer | service (left out: the one named)
    description: s.Text = ""
    customer: s.Short | None = None
    contact: ContactIn | None = None  # the complainant
    complainant: ContactIn | None = None  # the same, by this name (``contact`` wins)
    ticket: s.Short = ""  # about a ticket: its id or SR- number
    engineer: s.Short = ""  # about an engineer: their user id
    service: s.Short = ""  # about the service: which


class AssignHandler(s.Input):
    handler: s.Short = ""  # a manager's user id; left out: the caller


class Respond(s.Input):
    message: s.Text


class Resolve(s.Input):
    resolution: s.Text


class Confirm(s.Input):
    note: s.Line = ""


class Reject(s.Input):
    reason: s.Line


class Close(s.Input):
    note: s.Line = ""


class ResponseItem(Struct):
    at: datetime
    by: str
    message: str


class ComplaintView(Struct):
    id: str
    number: str
    about: str  # ticket | engineer | service
    customer: str
    contact: ContactOut  # the complainant (personal data)
    description: str
    ticket: s.LinkedRecord | None
    engineer: str
    service: str
    engineers_concerned: list[str]  # who may not handle it
    status: str  # received | handling | resolved | confirmed | closed
    handler: str | None
    filed_by: str
    filed_at: datetime
    response_due: datetime
    closure_due: datetime
    responded_at: datetime | None
    responses: list[ResponseItem]
    resolution: str | None
    resolved_at: datetime | None
    confirmed_at: datetime | None
    confirmed_by: str | None
    rejections: int
    closed_at: datetime | None
    response_overdue: bool  # recorded by the watcher
    closure_overdue: bool
    overdue: bool  # past a limit at the time of the answer (open complaints)
    version: int


class ComplaintPage(Struct):
    items: list[ComplaintView]
    next_cursor: str | None
    count: int


def complaint_view(c: Complaint, now: datetime) -> ComplaintView:
    return s.copied(
        ComplaintView, c,
        id=str(c.id), about=c.about.value,
        contact=ContactOut(c.contact.name, c.contact.phone, c.contact.email),
        ticket=s.LinkedRecord(c.ticket_id, c.ticket_number) if c.ticket_id else None,
        engineers_concerned=list(c.engineers),
        status=c.status.value,
        filed_at=s.utc(c.filed_at), response_due=s.utc(c.response_due),
        closure_due=s.utc(c.closure_due), responded_at=s.utc_opt(c.responded_at),
        responses=[ResponseItem(s.utc(at), by, text) for at, by, text in c.responses],
        resolved_at=s.utc_opt(c.resolved_at),
        confirmed_at=s.utc_opt(c.confirmed_at),
        closed_at=s.utc_opt(c.closed_at),
        overdue=overdue(c, now))


def file_command(body: FileComplaint, customer: str) -> File:
    """The command of a filing body (the API's and the portal's/console's form);
    ``customer``: the organisation it is for (a requester's own)."""
    contact = body.contact or body.complainant
    return File(
        about=body.about, description=body.description, customer=customer,
        contact=Contact(contact.name, contact.phone, contact.email) if contact
        else Contact(name=""),
        ticket=body.ticket, engineer=body.engineer, service=body.service)
