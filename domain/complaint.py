"""Complaints (投诉, issue 21 item 3, ADR 0066), handled apart from delivery.

The source documents: "应向客户公示对服务极端不满意的投诉渠道和受理流程,并尽可能保证投诉处理的独立性"
([004] 4.3.1) -- the complaint is handled independently of the people it is about; "针对客户
投诉,公司将及时反应 … 客户投诉处理及时率:100%;客户投诉完成率:100%" ([001] 四) -- it is answered in
time and every complaint is finished; "必要时应与客户核实确认不满意的具体内容" ([004] 4.4.1) --
the customer confirms. So:

- ``file`` records ``Complaint.Filed`` (``CMP-YYYYMMDD-NNN``) about a ``ticket``, an
  ``engineer`` or the ``service``, for a customer, with the complainant's contact (personal
  data, sealed with the customer's key like a ticket's contact) and the two time limits:
  ``response_due`` (filed + the response limit) and ``closure_due`` (filed + the closure
  limit). The documents set no hours; the defaults are ``RESPONSE_LIMIT`` (1 day) and
  ``CLOSURE_LIMIT`` (5 days), as ADR 0066 explains.
- ``assign_handler``: a manager who is not the engineer concerned (the engineer complained
  about, or the ticket's assignee when the complaint is about a ticket); a 409 naming why
  otherwise.
- ``respond`` (the handler's answer to the customer: the first one stops the response
  clock), ``resolve`` (what was done), then the customer ``confirm``s (or ``reject``s: back
  to handling); ``close`` needs the customer's confirmation (409 naming
  ``customer_confirmation``).
- ``record_overdue(now)``: the watcher's question; records ``ResponseOverdue`` /
  ``ClosureOverdue`` once each, when the limit has passed without a response / close.

Pure: standard library and ``eventsourcing.domain``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, given, present, refuse_fields, stripped
from domain.customer import normalise_customer_id
from domain.errors import FieldError
from domain.records import RecordEvent, directory
from domain.ticket import Contact

#: The complaint's time limits from filing (ADR 0066; the documents ask "及时反应" and 100 %
#: timeliness without hours).
RESPONSE_LIMIT = timedelta(days=1)
CLOSURE_LIMIT = timedelta(days=5)


class About(StrEnum):
    TICKET = "ticket"
    ENGINEER = "engineer"
    SERVICE = "service"


class Status(StrEnum):
    RECEIVED = "received"  # filed, no handler yet
    HANDLING = "handling"
    RESOLVED = "resolved"  # awaiting the customer's confirmation
    CONFIRMED = "confirmed"  # the customer confirmed; a manager closes it
    CLOSED = "closed"


OPEN = (Status.RECEIVED, Status.HANDLING, Status.RESOLVED, Status.CONFIRMED)

ALLOWED: dict[Status, tuple[str, ...]] = {
    Status.RECEIVED: ("assign_handler",),
    Status.HANDLING: ("assign_handler", "respond", "resolve"),
    Status.RESOLVED: ("respond", "confirm", "reject", "close"),
    Status.CONFIRMED: ("close",),
    Status.CLOSED: (),
}


class Complaint(StatusRules, Aggregate):
    TOPIC = "opsledger.complaint:Complaint"
    ALLOWED = ALLOWED
    RECORD = "complaint"

    class Event(RecordEvent):
        TOPIC = "opsledger.complaint:Complaint.Event"

    class Filed(Aggregate.Created):
        """``contact``: the complainant (personal data, sealed with ``customer``'s key).
        ``engineers``: the engineers concerned, who may not handle it."""

        TOPIC = "opsledger.complaint:Complaint.Filed"
        number: str
        about: About
        customer: str
        contact: Contact
        description: str
        ticket_id: str
        ticket_number: str
        engineer: str
        service: str
        engineers: tuple[str, ...]
        response_due: datetime
        closure_due: datetime
        actor: str

    class HandlerAssigned(Event):
        TOPIC = "opsledger.complaint:Complaint.HandlerAssigned"
        handler: str

        def apply(self, c: Complaint) -> None:
            c.handler = self.handler
            if c.status is Status.RECEIVED:
                c.status = Status.HANDLING

    class Responded(Event):
        TOPIC = "opsledger.complaint:Complaint.Responded"
        message: str

        def apply(self, c: Complaint) -> None:
            if c.responded_at is None:
                c.responded_at = self.timestamp
            c.responses = (*c.responses, (self.timestamp, self.actor, self.message))

    class Resolved(Event):
        TOPIC = "opsledger.complaint:Complaint.Resolved"
        resolution: str

        def apply(self, c: Complaint) -> None:
            c.status = Status.RESOLVED
            c.resolution = self.resolution
            c.resolved_at = self.timestamp
            if c.responded_at is None:  # the resolution told to the customer answers them
                c.responded_at = self.timestamp

    class Confirmed(Event):
        """The customer confirms the resolution (recorded by them or by staff for them)."""

        TOPIC = "opsledger.complaint:Complaint.Confirmed"
        note: str

        def apply(self, c: Complaint) -> None:
            c.status = Status.CONFIRMED
            c.confirmed_at = self.timestamp
            c.confirmed_by = self.actor

    class Rejected(Event):
        """The customer is not satisfied: back to handling."""

        TOPIC = "opsledger.complaint:Complaint.Rejected"
        reason: str

        def apply(self, c: Complaint) -> None:
            c.status = Status.HANDLING
            c.rejections += 1

    class Closed(Event):
        TOPIC = "opsledger.complaint:Complaint.Closed"
        note: str

        def apply(self, c: Complaint) -> None:
            c.status = Status.CLOSED
            c.closed_at = self.timestamp

    class ResponseOverdue(Event):
        """The response limit passed without a response (recorded once)."""

        TOPIC = "opsledger.complaint:Complaint.ResponseOverdue"
        due: datetime

        def apply(self, c: Complaint) -> None:
            c.response_overdue = True

    class ClosureOverdue(Event):
        """The closure limit passed with the complaint still open (recorded once)."""

        TOPIC = "opsledger.complaint:Complaint.ClosureOverdue"
        due: datetime

        def apply(self, c: Complaint) -> None:
            c.closure_overdue = True

    def __init__(self, number: str, about: About, customer: str, contact: Contact,
                 description: str, ticket_id: str, ticket_number: str, engineer: str,
                 service: str, engineers: tuple[str, ...], response_due: datetime,
                 closure_due: datetime, actor: str) -> None:
        self.number = number
        self.about = About(about)
        self.customer = customer
        self.contact = contact
        self.description = description
        self.ticket_id = ticket_id
        self.ticket_number = ticket_number
        self.engineer = engineer
        self.service = service
        self.engineers = tuple(engineers)
        self.response_due = response_due
        self.closure_due = closure_due
        self.filed_by = actor
        self.status = Status.RECEIVED
        self.handler: str | None = None
        self.responded_at: datetime | None = None
        self.responses: tuple[tuple[datetime, str, str], ...] = ()
        self.resolution: str | None = None
        self.resolved_at: datetime | None = None
        self.confirmed_at: datetime | None = None
        self.confirmed_by: str | None = None
        self.rejections = 0
        self.closed_at: datetime | None = None
        self.response_overdue = False
        self.closure_overdue = False

    # ----------------------------------------------------------------- queries

    @property
    def filed_at(self) -> datetime:
        return self.created_on

    def concerns(self, customer: str | None) -> bool:
        wanted = normalise_customer_id(customer or "")
        return bool(wanted) and wanted == self.customer

    def response_late(self, now: datetime) -> bool:
        """Whether the response came (or is still missing) after its limit."""
        return (self.responded_at or now) > self.response_due

    def closure_late(self, now: datetime) -> bool:
        return (self.closed_at or now) > self.closure_due

    # ---------------------------------------------------------------- commands

    @classmethod
    def file(cls, *, id: UUID, number: str, about: str, customer: str, contact: Contact,
             description: str, actor: str, at: datetime, ticket_id: str = "",
             ticket_number: str = "", ticket_assignee: str | None = None, engineer: str = "",
             service: str = "", response_limit: timedelta = RESPONSE_LIMIT,
             closure_limit: timedelta = CLOSURE_LIMIT) -> Complaint:
        """Files the complaint; one 422 names every field refused. ``ticket_assignee``: the
        assignee of the ticket complained about (an engineer concerned)."""
        errors: list[FieldError] = []
        named = stripped(about).lower() or (  # left out: what the complaint names
            "ticket" if ticket_id else "engineer" if stripped(engineer)
            else "service" if stripped(service) else "")
        try:
            kind: About | None = About(named)
        except ValueError:
            errors.append(FieldError("about", "one of ticket, engineer, service"))
            kind = None
        who = present(errors, "customer", normalise_customer_id(customer or ""))
        text = present(errors, "description", stripped(description),
                       "say what the customer complains about")
        if kind is About.TICKET and not ticket_id:
            errors.append(FieldError("ticket", "name the ticket complained about"))
        if kind is About.ENGINEER and not stripped(engineer):
            errors.append(FieldError("engineer", "name the engineer complained about"))
        if kind is About.SERVICE and not stripped(service):
            errors.append(FieldError("service", "name the service complained about"))
        refuse_fields(errors)
        assert kind is not None
        concerned = tuple(dict.fromkeys(
            e for e in (stripped(engineer), stripped(ticket_assignee)) if e))
        return cls._create(
            cls.Filed, id=id, timestamp=at, number=number, about=kind, customer=who,
            contact=contact, description=text, ticket_id=ticket_id,
            ticket_number=ticket_number, engineer=stripped(engineer),
            service=stripped(service), engineers=concerned, response_due=at + response_limit,
            closure_due=at + closure_limit, actor=actor)

    def assign_handler(self, *, handler: str, is_manager: bool, actor: str,
                       at: datetime) -> None:
        """The handler: a manager (``is_manager``) who is not an engineer concerned; a 409
        naming why otherwise."""
        self.require("assign_handler")
        name = given("handler", handler, "name the manager who handles the complaint")
        if name in self.engineers:
            self.refuse("assign_handler", (
                f"{name} is the engineer the complaint concerns: a complaint is handled "
                "independently, by another manager"))
        if not is_manager:
            self.refuse("assign_handler", (
                f"{name} is not a manager: a complaint is handled by a manager"))
        if name != self.handler:
            self.trigger_event(self.HandlerAssigned, timestamp=at, actor=actor, handler=name)

    def respond(self, *, message: str, actor: str, at: datetime) -> None:
        self.require("respond")
        self.trigger_event(self.Responded, timestamp=at, actor=actor, message=given(
            "message", message, "write the answer given to the customer"))

    def resolve(self, *, resolution: str, actor: str, at: datetime) -> None:
        self.require("resolve")
        self.trigger_event(self.Resolved, timestamp=at, actor=actor, resolution=given(
            "resolution", resolution, "say what was done about the complaint"))

    def confirm(self, *, note: str, actor: str, at: datetime) -> None:
        self.require("confirm")
        self.trigger_event(self.Confirmed, timestamp=at, actor=actor, note=stripped(note))

    def reject(self, *, reason: str, actor: str, at: datetime) -> None:
        self.require("reject")
        self.trigger_event(self.Rejected, timestamp=at, actor=actor, reason=given(
            "reason", reason, "say what the customer is still not satisfied with"))

    def close(self, *, note: str, actor: str, at: datetime) -> None:
        """Closes a complaint the customer confirmed: 409 naming ``customer_confirmation``
        while it is missing."""
        if self.status is Status.RESOLVED:
            self.refuse("close", "the customer has not confirmed the resolution yet",
                        missing=("customer_confirmation",))
        self.require("close")
        self.trigger_event(self.Closed, timestamp=at, actor=actor, note=stripped(note))

    def record_overdue(self, *, now: datetime, actor: str, at: datetime) -> bool:
        """Records each limit passed, once; ``False`` when nothing is due."""
        due = False
        if self.responded_at is None and not self.response_overdue and now >= self.response_due \
                and self.status is not Status.CLOSED:
            self.trigger_event(self.ResponseOverdue, timestamp=at, actor=actor,
                               due=self.response_due)
            due = True
        if self.status is not Status.CLOSED and not self.closure_overdue \
                and now >= self.closure_due:
            self.trigger_event(self.ClosureOverdue, timestamp=at, actor=actor,
                               due=self.closure_due)
            due = True
        return due


ComplaintDirectory = directory(
    "opsledger.complaint:ComplaintDirectory", "opsledger:complaint-directory",
    key="complaint_id", items="complaints", module=__name__,
    doc="""The ids of every complaint in order of filing (lists, reports, the watcher).""")
