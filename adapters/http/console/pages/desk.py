"""The desk's home (``/ui/``): the work queues, their filters, bulk assign and classify, and
live updates (issue 18).

- ``GET /ui/?queue=<name>``: one queue of ``application.queues`` (unassigned, mine, my groups,
  breaching, waiting for the customer, awaiting acceptance, all) for the caller, narrowed by
  the filters of the URL (``status``, ``priority``, ``customer``, ``group``, ``assignee``,
  ``category``, ``sla_state``; ``sort``: ``queue``, ``newest`` or ``due``) so a view can be
  bookmarked; 50 rows a page, paged by the read model's cursor (``?cursor=``). The rows are
  what ``GET /api/v1/tickets`` answers (``kit.ticket_page``: one indexed query of the ticket
  list read model, no aggregate loaded), with the SLA state coloured and the time to the next
  due of a running clock. Governed by ``GET /api/v1/tickets``, for staff.
- Live: the table polls its own URL every 10 s (htmx) with the position it shows (``seen``:
  the ticket list's read-model position and the minute, as the countdowns read in minutes);
  an unchanged position answers ``204`` (nothing swapped), else only the table
  (``desk/_queue.html``). While rows are ticked for a bulk action the table stands still.
- ``POST /ui/bulk/assign``, ``POST /ui/bulk/classify``: the ticked tickets (``ticket`` =
  ``<number>:<version>``), one command each, decoded and built as the API's route does it
  (its body type, ``kit.from_body``), run through ``forms.run_form`` with the ticket's own version and
  its own idempotency key (the form's ``_key`` and the number); the caller's right is decided
  per ticket (``access.may_command``: the matrix and, for an engineer, the assignment), as
  the API would for one call each. The answer lists each ticket's result: done, or the status
  and message the API would have answered. Governed by the API command's rule.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.response import Template

from adapters.http import kit
from adapters.http.access import (AUDIENCE_OPT, DISPATCHER, ENGINEER, MANAGER, OPERATION_OPT,
                                  STAFF, may_call, may_command, principal_of)
from adapters.http.console.forms import KEY_FIELD, VERSION_FIELD, form_body, new_key, run_form
from adapters.http.console.records import page_route
from adapters.http.console.render import page
from adapters.http.problem_details import handler_for
from adapters.http.schemas import tickets as s
from application import queues
from application.commands.tickets import Assign, Classify
from domain.customer import normalise_customer_id
from domain.priority import Impact, Importance, Priority, Urgency
from domain.ticket import Status, TicketType
from projections.base import stamp
from projections.ticket_list.view import SLA_STATES

_TICKET = f"{kit.API}/tickets/{{ref}}"
PAGE_ROWS = 50
POLL_SECONDS = 10
#: ``?sort=`` → the read model's order (``application.queues.ORDERS``).
SORTS = {"queue": "queue", "newest": "newest", "due": "breaching"}
FILTERS = ("status", "priority", "customer", "group", "assignee", "category", "sla_state",
           "sort")
#: The choices of the filters' and the bulk forms' selects (labels in common.toml).
CHOICES = {
    "status": [x.value for x in Status], "priority": [p.value for p in Priority],
    "sla_state": list(SLA_STATES), "sort": list(SORTS), "type": [x.value for x in TicketType],
    "urgency": [u.value for u in Urgency], "impact": [i.value for i in Impact],
    "importance": [i.value for i in Importance],
}
#: The bulk actions: the API operation (its rule), its body type and its command, built as
#: the route ``POST /api/v1/tickets/{ref}/<verb>`` builds it (``kit.from_body``).
BULK = {"assign": (f"POST {_TICKET}/assign", s.Assign, Assign),
        "classify": (f"POST {_TICKET}/classify", s.Classify, Classify)}
MAX_BULK = 200


# ------------------------------------------------------------------ the queues


@page_route("/ui/", "console-desk", operation=f"GET {kit.API}/tickets")
def desk_home(request: Request[Any, Any, Any], state: State, queue: str | None = None,
              status: str | None = None, priority: str | None = None,
              customer: str | None = None, group: str | None = None,
              assignee: str | None = None, category: str | None = None,
              sla_state: str | None = None, sort: str | None = None,
              cursor: str | None = None, seen: str | None = None) -> Response[Any]:
    services = kit.services_of(state)
    principal = principal_of(request)
    name = queue or default_queue(principal.roles)
    if name not in queues.QUEUES:
        raise ValidationException("unknown queue", extra=[
            {"key": "queue", "message": f"use one of {', '.join(queues.QUEUES)}"}])
    asked = {"status": status, "priority": priority, "customer": customer, "group": group,
             "assignee": assignee, "category": category, "sla_state": sla_state, "sort": sort}
    asked = {k: v.strip() for k, v in asked.items() if v and v.strip()}
    narrowing = _narrowing(asked)
    now = services.desk.clock.now()
    q = queues.queue_query(name, narrowing, user=principal.user_id, groups=principal.groups,
                           now=stamp(now), limit=PAGE_ROWS)
    if q is not None:
        q = _after(q, cursor)
    result = kit.ticket_page(services, q)
    position = f"{services.tickets.position()}.{int(now.timestamp() // 60)}"
    htmx = request.headers.get("hx-request") == "true"
    if htmx and seen == position:
        return Response(content=b"", status_code=204, headers={"HX-Reswap": "none"})
    view = {"queue": name, **asked}
    context = dict(
        queue=name, asked=asked, rows=[_row(item, now) for item in result.items],
        here=_url(view, cursor), first=_url(view) if cursor else None,
        next=_url(view, result.next_cursor) if result.next_cursor else None,
        position=position, poll=POLL_SECONDS, bulk=_bulk_forms(principal),
        no_groups=name == queues.GROUPS and not principal.groups)
    if htmx:
        return page(request, "desk/_queue.html", **context)
    return page(request, "desk/home.html", **context, choices=CHOICES,
                tabs=[(n, _url({"queue": n})) for n in queues.QUEUES], back=_url(view, cursor))


def default_queue(roles: frozenset[str]) -> str:
    """An engineer starts at their own tickets, the rest of the desk at the unassigned."""
    return queues.MINE if ENGINEER in roles and not roles & {DISPATCHER, MANAGER} \
        else queues.UNASSIGNED


def _narrowing(asked: dict[str, str]) -> queues.Narrowing:
    sort = asked.get("sort")
    if sort is not None and sort not in SORTS:
        raise ValidationException("unknown sort", extra=[
            {"key": "sort", "message": f"use one of {', '.join(SORTS)}"}])
    customer = asked.get("customer")
    return queues.Narrowing(
        statuses=kit.split_values(asked.get("status"), "status", set(CHOICES["status"])),
        priorities=kit.split_values(asked.get("priority"), "priority",
                                    set(CHOICES["priority"])),
        sla_states=kit.split_values(asked.get("sla_state"), "sla_state", set(SLA_STATES)),
        customer=normalise_customer_id(customer) if customer else None,
        group=asked.get("group"), assignee=asked.get("assignee"),
        category=asked.get("category"), order=SORTS[sort] if sort else None)


def _after(q: Any, cursor: str | None) -> Any:
    return replace(q, after=kit.cursor_of(cursor, q.order))


def _url(view: dict[str, str], cursor: str | None = None) -> str:
    params = {k: v for k, v in view.items() if v}
    if cursor:
        params["cursor"] = cursor
    return "/ui/?" + urlencode(params)


def _row(item: Any, now: datetime) -> dict[str, Any]:
    """A row as the table shows it: the item, its SLA mark (``paused`` while waiting for the
    customer, ``none`` without deadlines) and the seconds to the earliest due of its running
    clocks (negative: overdue; none when no clock runs)."""
    running = [due for due, stop in ((item.response_due, item.responded_at),
                                     (item.resolution_due, item.resolved_at))
               if due is not None and stop is None]
    left = None
    if running and not item.paused:
        due = datetime.fromisoformat(min(running).replace("Z", "+00:00"))
        left = (due - now).total_seconds()
    mark = "paused" if item.paused and item.sla_state else item.sla_state or "none"
    return {"item": item, "sla": mark, "left": left}


def _bulk_forms(principal: Any) -> list[str]:
    """The bulk actions the caller's roles allow (``may``: before any ticket is named)."""
    return [verb for verb, (key, _, _) in BULK.items() if may_call(principal, key)]


# ------------------------------------------------------------------ bulk actions


def _bulk_handler(verb: str) -> Any:
    operation, body_type, command = BULK[verb]
    build = kit.from_body(command)

    def run(request: Request[Any, Any, Any], state: State, form: Any) -> list[dict[str, Any]]:
        services = kit.services_of(state)
        principal = principal_of(request)
        body = form_body(form, body_type, ZoneInfo(services.settings.timezone))
        chosen = [str(v) for v in _getall(form, "ticket") if str(v).strip()]
        if not chosen:
            raise ValidationException("no ticket chosen", extra=[
                {"key": "ticket", "message": "tick at least one ticket"}])
        if len(chosen) > MAX_BULK:
            raise ValidationException("too many tickets", extra=[
                {"key": "ticket", "message": f"at most {MAX_BULK} at once"}])
        key = (_getall(form, KEY_FIELD) or [new_key()])[-1]
        results = []
        for entry in dict.fromkeys(chosen):  # each once, in the order ticked
            number, _, version = entry.rpartition(":") if ":" in entry else (entry, "", "")
            try:
                ticket = services.desk.get_ticket(number)
                if not may_command(principal, operation, ticket):
                    raise PermissionDeniedException(
                        f"{operation} is not allowed to you on {ticket.number}")
                one = {KEY_FIELD: f"{str(key)[:60]}:{number}", VERSION_FIELD: version}
                result = run_form(request, state, one, build(number, body), number)
                t = result.aggregate
                results.append({"number": t.number, "ok": True, "replayed": result.replayed,
                                "status": t.status.value, "assignee": t.assignee,
                                "group": t.group,
                                "priority": str(t.priority) if t.priority else None})
            except Exception as e:  # noqa: BLE001 - each ticket answers as the API would
                answer = handler_for(e)(request, e)
                content = answer.content if isinstance(answer.content, dict) else {}
                results.append({"number": number, "ok": False, "code": answer.status_code,
                                "detail": str(content.get("detail") or "")})
        return results

    async def handler(request: Request[Any, Any, Any], state: State) -> Template:
        form = await request.form()
        results = await request.app.state.run_blocking(run, request, state, form)
        back = str(form.get("back") or "")
        if not back.startswith("/ui/?") and back != "/ui/":
            back = "/ui/"
        context = dict(verb=verb, results=results, back=back,
                       done=sum(1 for r in results if r["ok"]))
        if request.headers.get("hx-request") == "true":
            # the queue shows the new state; the form gets a fresh key for the next action
            return page(request, "desk/_bulk_result.html", **context, oob=True,
                        headers={"HX-Trigger": "desk-changed"})
        return page(request, "desk/bulk.html", **context, oob=False)

    handler.__name__ = f"console_bulk_{verb}"
    return post(f"/ui/bulk/{verb}", name=f"console-bulk-{verb}", include_in_schema=False,
                status_code=200, opt={OPERATION_OPT: operation, AUDIENCE_OPT: STAFF})(handler)


def _getall(form: Any, name: str) -> list[Any]:
    getall = getattr(form, "getall", None)
    if getall is None:
        value = form.get(name)
        return [] if value is None else value if isinstance(value, list) else [value]
    try:
        return list(getall(name))
    except KeyError:
        return []


HANDLERS = [desk_home, *(_bulk_handler(verb) for verb in BULK)]
