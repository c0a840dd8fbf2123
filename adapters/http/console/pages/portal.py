"""The customers' portal (``/portal/``, issue 18, ADR 0052): what a customer's requester does
without calling the desk. Every page names the API operation whose rule governs it, so the
matrix of ``access.py`` scopes it as it scopes the API: a requester reaches their own
organisation's tickets only (another organisation's ticket is a ``404``), and ``page()``
masks contacts and signers for them.

- ``GET /portal/``: the organisation's tickets, newest first, by tab (all, open, awaiting
  their acceptance, closed), 20 a page by the ticket list's cursor (``GET /api/v1/tickets``).
- ``GET|POST /portal/tickets/new``: a ticket for their own organisation (``POST
  /api/v1/tickets``): the API's ``RegisterTicket`` body from the form (``channel`` web, the
  contact prefilled with their name), built as the API builds it (``kit.registration``: the
  customer is theirs, ``access.own_customer``).
- ``GET /portal/tickets/{ref}``: the ticket as ``GET /api/v1/tickets/{ref}`` shows it, its
  public timeline (``public_timeline``: the events that concern the customer, without the
  staff's work log, SLA marks, escalations and problem links) and the forms the ticket's
  state admits (``command_state.state_refusal``, the API's ``409``) among the requester's
  commands: a message to the desk until the ticket is closed, accept or reject the
  resolution (the SD record), the feedback (FB) after the acceptance, reopen a closed ticket.
- ``POST /portal/tickets/{ref}/<verb>``: each of those commands, run as its API route runs it
  (``records.command_forms``: the route's body type and builder), then ``303`` back.
- ``POST /portal/tickets/{ref}/comment``: the message (ADR 0055): the customer's public note,
  ``CustomerReply`` via ``portal``, which resumes a ticket waiting for the customer. It takes
  the place of the "add information" form (``POST /api/v1/tickets/{ref}/add_information``
  still records ``InformationAdded``, and the timeline still shows those).
- ``GET /portal/knowledge`` and ``/portal/knowledge/{ref}``: the published public articles,
  searched and read as a requester reads them through the API
  (``schemas.knowledge.search`` and ``entry`` with ``requester=True``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.response import Redirect, Template

from adapters.http import kit
from adapters.http.access import (AUDIENCE_OPT, OPERATION_OPT, PORTAL, may_command,
                                  principal_of, scoped_customer)
from adapters.http.console import records
from adapters.http.console.forms import form_body, register_ticket, run_form
from adapters.http.notes import visible_history
from adapters.http.uploads import record_files
from adapters.http.console.render import page
from adapters.http.schemas import knowledge as kb
from adapters.http.schemas.announcements import portal_banner
from adapters.http.schemas.tickets import CommentIn
from application import feedback
from application.command_state import state_refusal
from application.commands.tickets import CustomerReply
from domain.customer import normalise_customer_id
from domain.priority import Urgency
from domain.errors import InvalidCommand
from domain.ticket import Status, Ticket, Visibility
from projections.ticket_list.view import OPEN_STATUSES, TicketQuery

API = kit.API
LABEL = "ticket"
PAGE_SIZE = 20
#: The tabs of the home page and the statuses each shows (``all``: every ticket).
TABS: dict[str, tuple[str, ...]] = {
    "all": (),
    "open": tuple(x.value for x in OPEN_STATUSES if x.value != "resolved")
    + (Status.AWAITING_APPROVAL.value,),  # a catalogue request awaiting approval (ADR 0061)
    "acceptance": ("resolved",),
    "closed": ("closed", "invalid"),
}
#: The requester's ticket commands with a form of ``records.command_forms``, in the order
#: the page offers them; and the message (``comment``, its own handler, ADR 0055), offered
#: until the ticket is closed or invalid.
VERBS = ("confirm", "feedback", "reopen")
MESSAGE = "comment"
NO_MESSAGES = frozenset({Status.CLOSED, Status.INVALID})
URGENCIES = [u.value for u in Urgency]


def _opt(operation: str) -> dict[str, str]:
    return {OPERATION_OPT: operation, AUDIENCE_OPT: PORTAL}


# ------------------------------------------------------------------ the tickets


@records.page_route("/portal/", "console-portal", audience=PORTAL, operation=f"GET {API}/tickets")
def portal_home(request: Request[Any, Any, Any], state: State, tab: str = "all",
                cursor: str | None = None) -> Template:
    services = kit.services_of(state)
    if tab not in TABS:
        raise ValidationException("no such tab", extra=[
            {"key": "tab", "message": f"one of {', '.join(TABS)}"}])
    customer = normalise_customer_id(str(scoped_customer(request, None)))
    kit.read_your_writes(services)  # a ticket just submitted is listed
    found = services.tickets.query(TicketQuery(
        customer=customer, statuses=TABS[tab], order="newest", limit=PAGE_SIZE,
        after=kit.parse_cursor(cursor)))
    return page(request, "portal/home.html", tickets=[dict(r) for r in found.rows],
                tabs=list(TABS), tab=tab, next_cursor=found.next_cursor, paged=cursor is not None,
                announcements=portal_banner(services.desk, customer))  # ADR 0060


@get("/portal/tickets/new", name="console-portal-new", include_in_schema=False,
     opt=_opt(f"POST {API}/tickets"))
async def new_ticket(request: Request[Any, Any, Any]) -> Template:
    return page(request, "portal/new.html", urgencies=URGENCIES,
                contact_name=principal_of(request).name)


@post("/portal/tickets/new", name="console-portal-register", include_in_schema=False,
      status_code=303, opt=_opt(f"POST {API}/tickets"))
async def register(request: Request[Any, Any, Any], state: State) -> Redirect:
    form = await request.form()
    number = await request.app.state.run_blocking(register_ticket, request, state, form)
    return Redirect(f"/portal/tickets/{number}", status_code=303)


@records.page_route("/portal/tickets/{ref:str}", "console-portal-ticket", audience=PORTAL)
def ticket_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    desk = kit.services_of(state).desk
    ticket = desk.get_ticket(ref)
    offered = commands(request, ticket)
    window = feedback.window_end(desk, ticket) if "feedback" in offered else None
    history = visible_history(principal_of(request), desk.ticket_history(ticket.id))
    return page(request, "portal/ticket.html", ticket=kit.ticket_view(desk, ticket),
                timeline=public_timeline(history),
                files=record_files(kit.services_of(state), principal_of(request), history),
                commands=offered,
                max_mib=kit.services_of(state).settings.attachment_max_bytes // (1024 * 1024),
                feedback_window=window, signer=principal_of(request).name)


def commands(request: Request[Any, Any, Any], ticket: Ticket) -> list[str]:
    """The requester's commands the ticket's state admits now (the API's ``409`` rule) and
    the matrix lets the caller call."""
    principal = principal_of(request)
    offered = [v for v in VERBS if state_refusal(ticket, v, LABEL) is None
               and may_command(principal, records.operation("tickets", v), ticket)]
    if ticket.status not in NO_MESSAGES and may_command(
            principal, records.operation("tickets", MESSAGE), ticket):
        offered.append(MESSAGE)
    return offered


@post("/portal/tickets/{ref:str}/comment", name="portal-ticket-comment",
      include_in_schema=False, status_code=303,
      opt=_opt(records.operation("tickets", MESSAGE)))
async def message(request: Request[Any, Any, Any], state: State, ref: str) -> Redirect:
    """The customer's message (see the module's docstring): the API's ``CommentIn`` from
    the form; ``internal`` is refused naming ``visibility``, as on the API."""
    form = await request.form()

    def run() -> str:
        body = form_body(form, CommentIn)
        if body.visibility is Visibility.INTERNAL:
            raise InvalidCommand.field("visibility", "a customer's message is public")
        command = CustomerReply(ref=ref, body=body.body, attachments=tuple(body.attachments),
                                via="portal")
        return str(run_form(request, state, form, command, ref).aggregate.number)

    number = await request.app.state.run_blocking(run)
    return Redirect(f"/portal/tickets/{number}", status_code=303)


# ---------------------------------------------------------- the public timeline


def _acceptance(d: dict[str, Any]) -> dict[str, Any]:
    a = d.get("acceptance") or {}
    return {"number": a.get("number"), "signer": a.get("signer"),
            "unmet_items": "、".join(a.get("unmet_items") or []), "note": a.get("note")}


#: What a requester's timeline shows of a ticket's history (ADR 0052): the events that
#: concern the customer, each with the facts they need. Everything else is the staff's own
#: record and is left out: the work log, SLA deadlines, warnings and breaches, escalations,
#: problem links, erasures.
PUBLIC_EVENTS: dict[str, Any] = {
    "Registered": lambda d: {},
    "Invalidated": lambda d: {"reason": d.get("reason")},
    "Classified": lambda d: {"priority": (d.get("classification") or {}).get("priority")},
    "PriorityGiven": lambda d: {"priority": d.get("priority")},
    "Assigned": lambda d: {},
    "Started": lambda d: {},
    "CustomerAwaited": lambda d: {"reason": d.get("reason")},
    "Resumed": lambda d: {},
    "Resolved": lambda d: {"resolution": (d.get("resolution") or {}).get("resolution")},
    "AcceptanceConfirmed": _acceptance,
    "AcceptanceRejected": _acceptance,
    "Reopened": lambda d: {"reason": d.get("reason")},
    "FeedbackGiven": lambda d: {"number": (d.get("feedback") or {}).get("number"),
                                "mean": (d.get("feedback") or {}).get("mean")},
    "InformationAdded": lambda d: {"information": d.get("information")},
    # a catalogue request (ADR 0061): the service asked for, its approval or refusal
    "ServiceRequested": lambda d: {"service_name": d.get("service_name")},
    "Approved": lambda d: {},
    "ApprovalRejected": lambda d: {"reason": d.get("reason")},
    # public notes only: ``notes.visible_history`` has left the others out already
    "CommentAdded": lambda d: {"body": d.get("body")} if d.get("visibility") == "public"
    else None,
}


def public_timeline(entries: list[Any]) -> list[dict[str, Any]]:
    """The ticket's history as its requester reads it, oldest first (``PUBLIC_EVENTS``)."""
    shown = []
    for h in kit.history_items(entries):
        pick = PUBLIC_EVENTS.get(h.type)
        picked = pick(h.data) if pick is not None else None
        if picked is None:
            continue
        facts = {k: v for k, v in picked.items() if v not in (None, "", [])}
        shown.append({"type": h.type, "actor": h.actor, "recorded_at": h.recorded_at,
                      "facts": facts, "author": h.data.get("author")})
    return shown


# ------------------------------------------------------------------ knowledge


@records.page_route("/portal/knowledge", "console-portal-knowledge", audience=PORTAL)
def knowledge(request: Request[Any, Any, Any], state: State, q: str = "",
              cursor: str | None = None) -> Template:
    services = kit.services_of(state)
    kit.read_your_writes(services)  # an article just published or retired shows as it is now
    query = kb.search_query(q.strip(), PAGE_SIZE, kit.parse_cursor(cursor) or 0)
    found = kb.search(services.knowledge, query, requester=True)
    return page(request, "portal/knowledge.html", q=q.strip(), found=found,
                paged=cursor is not None)


@records.page_route("/portal/knowledge/{ref:str}", "console-portal-article", audience=PORTAL)
def article(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    found = kb.entry(kit.services_of(state).desk, ref, requester=True)
    return page(request, "portal/article.html", article=found)


HANDLERS = [portal_home, new_ticket, register, ticket_page, message, knowledge, article,
            *records.command_forms("tickets", LABEL, VERBS, base="/portal", audience=PORTAL)]
