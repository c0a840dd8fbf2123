"""The ticket page and the new-ticket form (issue 18).

- ``GET /ui/tickets/{ref}`` (an id or a number): what ``GET /api/v1/tickets/{ref}`` answers
  (``kit.ticket_view``: the header, the SLA clocks from ``kit.sla_of``), the timeline from
  the ticket's history (``desk.ticket_history``, as ``/history``), oldest first, each event
  with the time it claims (``reported_at``, ``performed_at``, ``occurred_at``...) beside the
  time it was recorded; and one form per command the page offers (``commands``): the
  ticket's state admits it (``command_state.state_refusal``, the API's ``409``) and the
  caller may call it (``access.may_command``: the matrix and, for an engineer, the ticket
  assigned to them or their group). ``?as_of=`` (a ``datetime-local`` time is read in the
  calendar's zone) shows the page as it stood then, without forms.
- ``POST /ui/tickets/{ref}/<verb>``: each ticket command of the matrix, run as its API route
  runs it (``console.records.command_forms``), then ``303`` back here.
- ``GET /ui/tickets/new`` + ``POST /ui/tickets/new``: phone and walk-in intake, the API's
  ``RegisterTicket`` body and its builder (``kit.registration``); the priority the desk's
  matrix gives (``GET /ui/tickets/priority``, ``desk.matrix`` as registration uses it) and
  the customer's open tickets of the same system (``GET /ui/tickets/duplicates``, the ticket
  list read model), both htmx fragments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.response import Redirect, Template

from adapters.http import kit
from adapters.http.access import (AUDIENCE_OPT, OPERATION_OPT, RULES, STAFF, may_call,
                                  may_command, needs_masking, principal_of)
from adapters.http.console import records
from adapters.http.console.forms import form_body, register_ticket, run_form
from adapters.http.notes import visible_history
from adapters.http.uploads import record_files
from adapters.http.notices import notice_items
from adapters.http.schemas.tickets import CommentIn
from adapters.http.console.i18n import Words
from adapters.http.console.field_visits import visit_panel  # ADR 0064
from adapters.http.console.records import page_route
from adapters.http.console.render import page, words
from application.command_state import state_refusal
from application.desk import HIDDEN
from application.commands.tickets import Comment
from application.customers import list_customers
from domain.customer import normalise_customer_id
from domain.priority import Impact, Importance, Priority, Urgency
from domain.ticket import Channel, Ticket, TicketType, Visibility
from projections.ticket_list.projection import OPEN_STATUSES
from projections.ticket_list.view import TicketQuery

COLLECTION, LABEL = "tickets", "ticket"
_TICKET = f"{kit.API}/tickets/{{ref}}"
#: The notes' command (ADR 0055): its own form under the timeline (``note``), not a panel.
NOTE = "comment"
#: Every ticket command of the matrix (``access.RULES``), in its order: a form each.
VERBS = tuple(key.rsplit("/", 1)[1] for key in RULES
              if key.startswith(f"POST {_TICKET}/") and not key.endswith(f"/{NOTE}")
              and "/visits" not in key)  # field visits: their own forms (ADR 0064)
#: The choices of the forms' selects (the domain's values; labels in common.toml).
CHOICES = {
    "channel": [c.value for c in Channel], "type": [t.value for t in TicketType],
    "urgency": [u.value for u in Urgency], "impact": [i.value for i in Impact],
    "importance": [i.value for i in Importance], "priority": [p.value for p in Priority],
}
DUPLICATES_SHOWN = 10


# ------------------------------------------------------------------ the ticket


@page_route("/ui/tickets/{ref:str}", "console-ticket", operation=f"GET {_TICKET}")
def ticket_page(request: Request[Any, Any, Any], state: State, ref: str,
                as_of: str | None = None) -> Template:
    desk = kit.services_of(state).desk
    w = words(request)
    when = kit.parse_as_of(as_of, w.zone) if as_of else None
    ticket = desk.get_ticket(ref, as_of=when)
    history = [h for h in visible_history(principal_of(request), desk.ticket_history(ticket.id))
               if when is None or h.recorded_at <= when]  # internal notes: ADR 0055
    events = timeline(history, w)
    may_note = not when and may_command(principal_of(request),
                                        records.operation(COLLECTION, NOTE), ticket)
    return page(request, "tickets/page.html", ticket=kit.ticket_view(desk, ticket, when),
                timeline=events, fields=field_words(w, events), as_of=when,
                as_of_value=when.astimezone(w.zone).strftime("%Y-%m-%dT%H:%M") if when else "",
                commands=[] if when else commands(request, ticket), choices=CHOICES,
                may_note=may_note, may_attach=may_note,  # files: ADR 0056
                files=record_files(kit.services_of(state), principal_of(request), history),
                max_mib=kit.services_of(state).settings.attachment_max_bytes // (1024 * 1024),
                notices=notice_items(kit.services_of(state), str(ticket.id),  # ADR 0059
                                     masked=needs_masking(principal_of(request))),
                visits=visit_panel(request, ticket, when, desk.clock.now()))  # ADR 0064


def commands(request: Request[Any, Any, Any], ticket: Ticket) -> list[str]:
    """The commands the page has a form for (see the module's docstring)."""
    principal = principal_of(request)
    return [v for v in VERBS if state_refusal(ticket, v, LABEL) is None
            and may_command(principal, records.operation(COLLECTION, v), ticket)]


@post(f"/ui/tickets/{{ref:str}}/{NOTE}", name="ui-ticket-comment", include_in_schema=False,
      status_code=303, opt={OPERATION_OPT: records.operation(COLLECTION, NOTE),
                            AUDIENCE_OPT: STAFF})
async def note(request: Request[Any, Any, Any], state: State, ref: str) -> Redirect:
    """The notes form (ADR 0055): the API's ``CommentIn`` from the form, a staff note
    (``internal`` unless ``public`` is chosen) recorded ``via`` the console."""
    form = await request.form()

    def run() -> str:
        body = form_body(form, CommentIn)
        command = Comment(ref=ref, body=body.body, attachments=tuple(body.attachments),
                          visibility=body.visibility or Visibility.INTERNAL, via="console")
        return str(run_form(request, state, form, command, ref).aggregate.number)

    number = await request.app.state.run_blocking(run)
    return Redirect(f"/ui/tickets/{number}#notes", status_code=303)


#: Fields an event's time claim may be in (the event's own, or its entry's, resolution's...).
_CLAIMED = ("occurred_at", "reported_at", "performed_at", "resolved_at", "at")
#: Events whose facts would drown the timeline (or repeat the header): only these are shown
#: (``a.b``: the field ``b`` of ``a``).
_ONLY = {
    "Registered": ("contact", "channel"),
    "SlaDeadlinesSet": ("deadlines.priority", "deadlines.policy", "deadlines.response_due",
                        "deadlines.resolution_due", "deadlines.reason"),
}
#: Not among an event's facts: the times shown beside it; a contact's ``erased`` flag.
_HIDDEN = {*_CLAIMED, "recorded_at", "erased"}
#: Facts that say again what the event says (who escalated is its actor; what an escalation
#: does is the same every time).
_DROP = {"Escalated": {"by", "actions"},
         # a note's visibility, author and channel are its badges (``note``), not facts
         "CommentAdded": {"visibility", "author", "via", "message_id"}}


def timeline(entries: list[Any], w: Words) -> list[dict[str, Any]]:
    """The history oldest first, as ``records.timeline`` reads each event, each with its
    ``label`` (``tickets.event.<type>``; an unknown type reads as itself), its times read
    once here rather than in the template (a page lists hundreds of events): ``at``
    (recorded), ``claimed`` (the time the event claims, where it reads differently),
    ``as_of`` (the recorded time for the page's ``?as_of=``), and its facts with the domain's
    values in words (``VALUE_WORDS``); the facts keep their field names, which ``page``
    masks by."""
    when = w.when
    items = records.timeline(entries, when)[::-1]
    for item, entry in zip(items, entries, strict=True):
        claimed = _claimed(entry.data)
        item["label"] = _word(w, "tickets.event", entry.type)
        item["at"] = when(entry.recorded_at)
        item["claimed"] = None
        if claimed is not None and claimed != entry.recorded_at:
            item["claimed"] = when(claimed) if when(claimed) != item["at"] else None
        item["as_of"] = entry.recorded_at.isoformat().replace("+", "%2B")
        item["facts"] = {k: ({f: _value(w, f, x) for f, x in v.items()} if isinstance(v, dict)
                             else _value(w, k, v))
                         for k, v in _shown(entry.type, item["facts"]).items()}
        item["note"] = ({k: str(entry.data.get(k, "")) for k in ("visibility", "author", "via")}
                        if entry.type == "CommentAdded" else None)
        if item["note"] and entry.data.get("body") == HIDDEN:  # an auditor's (ADR 0055)
            item["facts"] = {"body": w.t("tickets.note.hidden")}
    return items


#: The catalogue tables that name a field's domain values (common.toml).
VALUE_WORDS = {"channel": "channel", "type": "ticket_type", "urgency": "urgency",
               "impact": "impact", "importance": "importance", "status": "status"}


def field_words(w: Words, items: list[dict[str, Any]]) -> dict[str, str]:
    """The label of every fact's field on the page (``tickets.field.<name>``, else the name)."""
    names = {f for item in items for k, v in item["facts"].items()
             for f in (v if isinstance(v, dict) else (k,))}
    return {name: _word(w, "tickets.field", name) for name in names}


def _word(w: Words, table: str, key: str) -> str:
    return w.t(f"{table}.{key}") if w.has(f"{table}.{key}") else key


def _value(w: Words, field: str, value: Any) -> Any:
    table = VALUE_WORDS.get(field)
    return _word(w, table, value) if table and isinstance(value, str) else value


def _claimed(data: dict[str, Any]) -> datetime | None:
    """The time an event claims: its own field, or its value's (a work entry's
    ``performed_at``, a resolution's ``resolved_at``, an acceptance's ``at``)."""
    for key in _CLAIMED:
        found = data.get(key)
        if isinstance(found, datetime):
            return found
    for value in data.values():
        fields = getattr(value, "__dataclass_fields__", None)
        for key in _CLAIMED if fields else ():
            found = getattr(value, key, None) if key in fields else None
            if isinstance(found, datetime):
                return found
    return None


def _shown(event_type: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The facts of one event the timeline shows (``_ONLY``, ``_DROP``, ``_HIDDEN``); an
    event type not named there shows all its facts."""
    only = _ONLY.get(event_type)
    if only is not None:
        kept: dict[str, Any] = {}
        for path in only:
            key, _, field = path.partition(".")
            if key in facts and not field:
                kept[key] = facts[key]
            elif isinstance(facts.get(key), dict) and field in facts[key]:
                kept.setdefault(key, {})[field] = facts[key][field]
        facts = kept
    drop = _DROP.get(event_type, set()) | _HIDDEN
    return {k: ({f: v for f, v in value.items() if f not in _HIDDEN}
                if isinstance(value, dict) else value)
            for k, value in facts.items() if k not in drop}


# ------------------------------------------------------------------ a new ticket


@page_route("/ui/tickets/new", "console-ticket-new", operation=f"POST {kit.API}/tickets")
def new_ticket(request: Request[Any, Any, Any], state: State) -> Template:
    desk = kit.services_of(state).desk
    principal = principal_of(request)
    customers = []  # offered as the customer field's suggestions to who may list them
    if may_call(principal, f"GET {kit.API}/customers"):
        customers = [{"id": c.customer, "name": c.name} for c in list_customers(desk)]
    return page(request, "tickets/new.html", choices=CHOICES, customers=customers)


@post("/ui/tickets/new", name="console-ticket-register", include_in_schema=False,
      status_code=303, opt={OPERATION_OPT: f"POST {kit.API}/tickets", AUDIENCE_OPT: STAFF})
async def register(request: Request[Any, Any, Any], state: State) -> Redirect:
    form = await request.form()
    number = await request.app.state.run_blocking(register_ticket, request, state, form)
    return Redirect(f"/ui/tickets/{number}", status_code=303)


@get("/ui/tickets/priority", name="console-ticket-priority", include_in_schema=False,
     opt={OPERATION_OPT: f"POST {kit.API}/tickets", AUDIENCE_OPT: STAFF})
async def priority(request: Request[Any, Any, Any], state: State, urgency: str = "",
                   impact: str = "", importance: str = "") -> Template:
    """The priority the desk's matrix gives (``desk.matrix``, as registration and
    ``classify`` take it); none until all three are chosen."""
    chosen = None
    given = {"urgency": urgency, "impact": impact, "importance": importance}
    bad = [{"key": k, "message": f"one of {', '.join(CHOICES[k])}"}
           for k, v in given.items() if v and v not in CHOICES[k]]
    if bad:
        raise ValidationException("unknown urgency, impact or importance", extra=bad)
    if all(given.values()):
        chosen = kit.services_of(state).desk.matrix.priority(
            Urgency(urgency), Impact(impact), Importance(importance))
    return page(request, "tickets/_priority.html", priority=chosen)


@page_route("/ui/tickets/duplicates", "console-ticket-duplicates",
            operation=f"GET {kit.API}/tickets")
def duplicates(request: Request[Any, Any, Any], state: State, customer: str = "",
               affected_system: str = "") -> Template:
    """The customer's open tickets of the same affected system (the ticket list read
    model), for the intake form: is this call a ticket we already have?"""
    customer, system = customer.strip(), affected_system.strip()
    found: list[Any] = []
    if customer and system:
        services = kit.services_of(state)
        kit.read_your_writes(services)
        q = TicketQuery(customer=normalise_customer_id(customer), affected_system=system,
                        statuses=tuple(x.value for x in OPEN_STATUSES), limit=DUPLICATES_SHOWN)
        found = [dict(row) for row in services.tickets.query(q).rows]
    return page(request, "tickets/_duplicates.html", tickets=found,
                asked=bool(customer and system))


HANDLERS = [new_ticket, register, priority, duplicates, ticket_page, note,
            *records.command_forms(COLLECTION, LABEL, VERBS)]
