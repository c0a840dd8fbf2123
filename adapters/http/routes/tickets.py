"""Ticket routes: register, the ticket's commands, the ticket, its history, the list and
the work queues (API.md "Tickets", "Queues")."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import PathParameter
from litestar.datastructures import State
from litestar.exceptions import NotFoundException

from adapters.http import params as p
from adapters.http.schemas import common as c
from adapters.http.schemas import tickets as s
from adapters.http.access import (
    customer_side, principal_of, scoped_customer,
)
from adapters.http.notes import visible_history
from application import queues
from application.commands.base import Command
from application.commands.tickets import (
    AddInformation,
    Assign,
    AwaitCustomer,
    Classify,
    CloseTicket,
    Comment,
    Confirm,
    CustomerReply,
    Escalate,
    GiveFeedback,
    Invalidate,
    LogWork,
    RegisterTicket,
    Reopen,
    Resolve,
    Resume,
    Start,
)
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.ticket import Improvement, Status, Visibility
from projections.base import stamp
from projections.ticket_list.view import SLA_STATES, TicketQuery
from adapters.http import kit


@post(f"{kit.API}/tickets", status_code=201, summary="Register a ticket", tags=["tickets"],
      opt={kit.COMMAND_OPT: s.RegisterTicket, kit.COMMAND_CLASS_OPT: RegisterTicket})
@functools.partial(kit.threaded, inline=True)
def register_ticket(request: Request[Any, Any, Any], state: State, data: s.RegisterTicket) -> Response[s.TicketView]:
    return kit.run_command(request, state, data, kit.registration(request, data))


def _ticket_command(command: type[Command], body: type, summary: str,
                    build: Callable[[str, Any], Command] | None = None) -> Any:
    """One ``POST /tickets/{ref}/<verb>`` handler: ``command`` built from ``body``."""
    return kit.command_route("tickets", command, body, summary, respond=kit.respond_ticket,
                             view=s.TicketView, build=build)


def _feedback(ref: str, b: s.FeedbackIn) -> GiveFeedback:
    i = b.improvement
    return GiveFeedback(ref=ref, timeliness=b.timeliness, effectiveness=b.effectiveness,
                        attitude=b.attitude, comment=b.comment,
                        improvement=Improvement(i.action, i.owner, i.due) if i else None)


TICKET_COMMANDS = [
    _ticket_command(Escalate, s.Escalate,
                    "Escalate manually: priority raised, manager and expert notified"),
    _ticket_command(Invalidate, c.Reason, "Invalidate a registered request"),
    _ticket_command(Classify, s.Classify, "Classify and prioritise"),
    _ticket_command(Assign, s.Assign, "Assign to an engineer and/or group"),
    _ticket_command(Start, c.Empty, "Start work"),
    _ticket_command(LogWork, s.LogWork, "Log work done"),
    _ticket_command(AwaitCustomer, c.Reason, "Wait for the customer (SLA paused)"),
    _ticket_command(Resume, c.Empty, "Resume after the customer answered"),
    _ticket_command(Resolve, s.Resolve, "Record the resolution"),
    _ticket_command(Confirm, s.Confirm,
                    "Customer acceptance (SD record); rejection returns to work"),
    _ticket_command(CloseTicket, s.CloseTicket, "Close with the customer's agreement (SD record)"),
    _ticket_command(Reopen, c.Reason, "Reopen a closed ticket"),
    _ticket_command(AddInformation, s.AddInformation,
                    "Add information to an open ticket (the customer's words; no status change)"),
    _ticket_command(GiveFeedback, s.FeedbackIn, "Customer satisfaction feedback (FB record)",
                    _feedback),
]


def _staff_note(ref: str, b: s.CommentIn) -> Comment:
    """A note by the staff: ``internal`` unless the body says ``public`` (ADR 0055)."""
    return Comment(ref=ref, body=b.body, visibility=b.visibility or Visibility.INTERNAL,
                   attachments=tuple(b.attachments), via="api")


def _customer_note(ref: str, b: s.CommentIn) -> CustomerReply:
    """A requester's note: the customer's public message, which resumes a ticket waiting
    for the customer (``CustomerReply``); ``internal`` is refused naming ``visibility``."""
    if b.visibility is Visibility.INTERNAL:
        raise InvalidCommand.field("visibility", "a customer's message is public; internal "
                                   "notes are the staff's")
    return CustomerReply(ref=ref, body=b.body, attachments=tuple(b.attachments), via="api")


@post(f"{kit.API}/tickets/{{ref:str}}/comment", status_code=200, tags=["tickets"],
      summary="Add a note: public, or internal (staff only); a requester's is the customer's "
              "public message and resumes a ticket waiting for the customer",
      name="ticket-comment",
      opt={kit.COMMAND_OPT: s.CommentIn, kit.STATE_OPT: ("ticket", "comment"),
           kit.COMMAND_CLASS_OPT: Comment, kit.BUILD_OPT: _staff_note})
@functools.partial(kit.threaded, inline=True)
def comment(request: Request[Any, Any, Any], state: State, ref: str,
            data: s.CommentIn) -> Response[s.TicketView]:
    build = _customer_note if customer_side(request) else _staff_note
    return kit.run_command(request, state, data, build(ref, data), ref)


@get(f"{kit.API}/tickets/{{ref:str}}", summary="A ticket (optionally as of a past time)", tags=["tickets"])
@kit.threaded
def get_ticket(state: State, ref: str, as_of: p.AsOf = None) -> Response[s.TicketView]:
    desk = kit.services_of(state).desk
    when = kit.parse_as_of(as_of)
    ticket = desk.get_ticket(ref, as_of=when)
    return kit.json_answer(kit.ticket_view(desk, ticket, when), headers={"ETag": f'"{ticket.version}"'})


@get(f"{kit.API}/tickets/{{ref:str}}/history", summary="Every event of a ticket, oldest first", tags=["tickets"])
@kit.threaded
def ticket_history(request: Request[Any, Any, Any], state: State, ref: str) -> list[c.HistoryItem]:
    # internal notes: left out for requesters, their text hidden for auditors (ADR 0055)
    return kit.history_items(visible_history(principal_of(request),
                                             kit.services_of(state).desk.ticket_history(ref)))


_STATUSES = {x.value for x in Status}


_PRIORITIES = {"P1", "P2", "P3"}


# The list's parameters as the OpenAPI document states them (ADR 0044).
StatusFilter = p.listed(_STATUSES, "Ticket status")


PriorityFilter = p.listed(_PRIORITIES, "Priority")


SlaStateFilter = p.listed(SLA_STATES, "SLA state now")


Limit = p.limit(50)


@get(f"{kit.API}/tickets", summary="List tickets with filters", tags=["tickets"])
@kit.threaded
def list_tickets(
    request: Request[Any, Any, Any],
    state: State,
    status: StatusFilter = None,
    priority: PriorityFilter = None,
    assignee: str | None = None,
    customer: str | None = None,
    group: str | None = None,
    sla_state: SlaStateFilter = None,
    limit: Limit = 50,
    cursor: p.Cursor = None,
) -> s.TicketPage:
    services = kit.services_of(state)
    q = TicketQuery(
        sla_states=kit.split_values(sla_state, "sla_state", set(SLA_STATES)),
        now=stamp(services.desk.clock.now()),
        statuses=kit.split_values(status, "status", _STATUSES),
        priorities=kit.split_values(priority, "priority", _PRIORITIES),
        assignee=assignee,
        customer=_customer_filter(request, customer),
        group=group,
        limit=kit.parse_limit(limit),
        after=kit.parse_cursor(cursor),
    )
    return kit.ticket_page(services, q)


def _customer_filter(request: Request[Any, Any, Any], customer: str | None) -> str | None:
    """The list's customer filter (a requester's own organisation, whatever they asked)."""
    customer = scoped_customer(request, customer)
    return normalise_customer_id(customer) if customer is not None else None


QUEUES = (queues.UNASSIGNED, queues.MINE, queues.BREACHING, "by-assignee/{id}")


QueueName = Annotated[str, PathParameter(schema_extra={"enum": list(QUEUES[:3])})]


@get(f"{kit.API}/queues/{{name:str}}", summary="A work queue: unassigned, mine or breaching", tags=["queues"])
@kit.threaded
def queue(request: Request[Any, Any, Any], state: State, name: QueueName, limit: Limit = 50,
          cursor: p.Cursor = None) -> s.TicketPage:
    # The queues of application.queues that the API offers (the console shows them all).
    if name not in QUEUES[:3]:
        raise NotFoundException(f"no queue {name!r}; queues: {', '.join(QUEUES)}")
    services = kit.services_of(state)
    q = queues.base_query(name, user=kit.actor_of(request),
                          now=stamp(services.desk.clock.now()), limit=kit.parse_limit(limit),
                          after=kit.cursor_of(cursor, "breaching" if name == queues.BREACHING
                                              else "queue"))
    return kit.ticket_page(services, q)


@get(f"{kit.API}/queues/by-assignee/{{assignee:str}}", summary="Open tickets of one assignee", tags=["queues"])
@kit.threaded
def queue_by_assignee(state: State, assignee: str, limit: Limit = 50, cursor: p.Cursor = None) -> s.TicketPage:
    # the "mine" queue of ``assignee``
    q = queues.base_query(queues.MINE, user=assignee, limit=kit.parse_limit(limit),
                          after=kit.parse_cursor(cursor))
    return kit.ticket_page(kit.services_of(state), q)


HANDLERS = [register_ticket, *TICKET_COMMANDS, comment, get_ticket, ticket_history, list_tickets, queue,
            queue_by_assignee]
