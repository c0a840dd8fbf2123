"""The Litestar application: ticket commands and reads, queues, the audit log, health, docs.

Handlers are sync and run in Litestar's worker threads (the eventsourcing library has no
async API). Every command answers with the ticket's new view and ``ETag: "<version>"``.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
import msgspec.inspect
import structlog
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.params import PathParameter
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.serialization import encode_json, get_serializer
from litestar.types import Receive, Scope, Send

from adapters.container import Services
from adapters.numbers import MAX_DIGITS, MAX_WHOLE, NotAWholeNumber, whole_number
from adapters.http import params as p
from adapters.http import schemas as s
from adapters.http.contract import complete_document
from adapters.http.docs_page import DocsPagePlugin, docs_page
from adapters.http.access import (
    ADMIN, STAFF, authenticate_caller, authorize, own_customer, principal_of, scoped_customer,
)
from adapters.http.body_check import STATE_OPT, state_then_fields
from adapters.http.fastlane import COMMAND_OPT, command_lane
from adapters.http.limits import declare_queries
from adapters.http.problems import document_problems, exception_handlers, problem
from adapters.http.threads import run_sync
from application.desk import CommandResult, ServiceDesk
from application.encoding import prepare_types
from application.idempotency import IdempotencyKey
from application.identities import require_known_user
from domain.customer import normalise_customer_id
from domain.ticket import Contact, Improvement, Status
from application.sla_compliance import compliance as sla_compliance
from projections.ticket_list.projection import OPEN_STATUSES, SLA_STATES, sla_state_at, stamp
from projections.ticket_list.view import TicketQuery

log = structlog.get_logger("opsledger.http")

API = "/api/v1"
MAX_POSITION = MAX_WHOLE  # positions are 64-bit integers in both stores
_LOCAL = ZoneInfo("Asia/Shanghai")  # the zone of the service's dates (ticket numbers too)


# ------------------------------------------------------------------- helpers


def threaded(fn: Callable[..., Any], *, inline: bool = False) -> Callable[..., Any]:
    """Run a blocking handler in a worker thread (the store has no async API).

    ``inline``: a short command may run on the event loop itself, where the settings say so
    (``inline_commands``, ADR 0039): the hop to a worker thread and back cost ~0.35 ms of
    latency and ~0.2 ms of CPU per request, as much as a third of a command.

    Litestar's own ``sync_to_thread=True`` wraps a handler a second time when another
    method is later added on the same path, which then returns an un-awaited coroutine
    (seen with Litestar 2.25); an explicit async wrapper avoids that.

    A JSON body is also decoded again *strictly*: Litestar converts bodies in msgspec's lax
    mode, which would take ``"hours": "2"`` as a number and ``1763659800`` as a time.
    """

    @functools.wraps(fn)
    async def handler(*args: Any, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        request = kwargs.get("request")
        if isinstance(data, s.Input) and request is not None:
            raw = await request.body()
            if raw.strip():
                kwargs["data"] = _strict(type(data), raw)
        call = functools.partial(fn, *args, **kwargs)
        if inline and kwargs["state"].services.settings.commands_inline:
            return call()
        return await run_sync(call)

    return handler


def _default_body(body_type: type[s.Input]) -> s.Input:
    try:
        return body_type()
    except TypeError:
        info: Any = msgspec.inspect.type_info(body_type)
        required = [f.name for f in info.fields if f.required]
        raise ValidationException(
            "a JSON body is required",
            extra=[{"key": f, "message": "required (send a JSON object)"} for f in required],
        ) from None


def _strict(body_type: type[s.Input], raw: bytes) -> s.Input:
    try:
        return s.decode_body(body_type, raw)
    except msgspec.ValidationError as e:
        raise ValidationException(str(e), extra=[{"message": str(e)}]) from None


def _services(state: State) -> Services:
    return state.services  # type: ignore[no-any-return]


def _if_match(request: Request[Any, Any, Any]) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    try:
        return whole_number(value)
    except NotAWholeNumber:
        raise ValidationException(
            "If-Match must be a version as given in the ETag, e.g. \"3\"",
            extra=[{"key": "If-Match", "message": 'must be a quoted version like "3"'}],
        ) from None


def _idempotency(request: Request[Any, Any, Any], data: Any) -> IdempotencyKey | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 200:
        raise ValidationException(
            "bad Idempotency-Key",
            extra=[{"key": "Idempotency-Key", "message": "must be 1 to 200 characters"}],
        )
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}\n".encode())
    digest.update(msgspec.json.encode(data, order="deterministic"))
    return IdempotencyKey(key=key, fingerprint=digest.hexdigest())


def _actor(request: Request[Any, Any, Any]) -> str:
    """The acting user's id, recorded on every event of a command."""
    return principal_of(request).user_id


def _sla(desk: ServiceDesk, ticket: Any, now: datetime | None = None) -> Any:
    """The ticket's SLA clocks at ``now`` (default: the desk's clock), for the view."""
    if desk.sla is None:
        return None
    return desk.sla.status(ticket, now or desk.clock.now())


def _ticket_view(desk: ServiceDesk, ticket: Any, as_of: datetime | None = None) -> s.TicketView:
    """The ticket's view with its SLA clocks at ``as_of`` (default: now) and its project
    (ADR 0028) from the contracts recorded by then."""
    terms = (desk.sla.project_terms(ticket.customer, ticket.reported_at, as_of)
             if desk.sla else None)
    project = s.LinkedRecord(terms.project_id, terms.project_number) if terms else None
    return s.ticket_view(ticket, _sla(desk, ticket, as_of), project)


class JsonAnswer(Response[Any]):
    """A JSON answer encoded where it is built, in the worker thread, and sent as it is
    (ADR 0040): Litestar's response path (header objects, rendering on the event loop) costs
    about as much as the encoding itself, on the loop that every request shares. Encoded as
    Litestar's ``Response`` does (its serializer); a route that adds its own headers or
    cookies gets Litestar's path."""

    __slots__ = ("_body", "_headers")

    def __init__(self, content: Any, *, status_code: int = 200,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(content, status_code=status_code, headers=headers,
                         media_type=MediaType.JSON)
        self._body = encode_json(content, get_serializer())
        self._headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                         for k, v in (headers or {}).items()]

    def to_asgi_response(self, app: Any, request: Any, *, background: Any = None,
                         cookies: Any = None, encoded_headers: Any = None, headers: Any = None,
                         is_head_response: bool = False, media_type: Any = None,
                         status_code: int | None = None, type_encoders: Any = None) -> Any:
        if background or cookies or encoded_headers or headers or is_head_response or self.cookies:
            return super().to_asgi_response(
                app, request, background=background, cookies=cookies,
                encoded_headers=encoded_headers, headers=headers,
                is_head_response=is_head_response, media_type=media_type,
                status_code=status_code, type_encoders=type_encoders)
        return _Encoded(self.status_code or status_code or 200, [
            *self._headers, (b"content-type", b"application/json"),
            (b"content-length", str(len(self._body)).encode())], self._body)


class _Encoded:
    """The ASGI answer of a ``JsonAnswer``: start and body, nothing else to do."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


def record_response(result: CommandResult, body: Any, collection: str) -> Response[Any]:
    """A command's answer for any record: its view, ``ETag``, ``201`` + ``Location`` on
    create, ``Idempotent-Replayed`` on a repeat."""
    record = result.aggregate
    headers = {"ETag": f'"{record.version}"'}
    if result.created:
        headers["Location"] = f"{API}/{collection}/{record.id}"
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JsonAnswer(body, status_code=201 if result.created else 200, headers=headers)


def _respond(result: CommandResult, desk: ServiceDesk) -> Response[s.TicketView]:
    return record_response(result, _ticket_view(desk, result.ticket), "tickets")


def _command(
    request: Request[Any, Any, Any],
    state: State,
    name: str,
    data: Any,
    call: Callable[..., CommandResult],
    ref: str | None = None,
    *,
    label: str = "ticket",
    respond: Callable[[CommandResult, ServiceDesk], Response[Any]] | None = None,
) -> Response[Any]:
    """Runs ``call`` with the actor, ``Idempotency-Key`` and ``If-Match`` of the request and
    answers ``respond(result, desk)`` (default: the ticket view); logs ``<label>.<name>``."""
    services = _services(state)
    actor = _actor(request)
    opts: dict[str, Any] = {"actor": actor, "idempotency": _idempotency(request, data)}
    if ref is not None:
        opts["expected_version"] = _if_match(request)
    began = time.perf_counter()
    outcome = "error"
    number = None
    try:
        result = call(services.desk, **opts)
        outcome = "replayed" if result.replayed else "ok"
        number = result.aggregate.number
        return (respond or _respond)(result, services.desk)
    except Exception as e:
        outcome = type(e).__name__
        raise
    finally:
        log.info(
            f"{label}.{name}",
            outcome=outcome,
            **{label: number or ref},
            actor=actor,
            duration_ms=round((time.perf_counter() - began) * 1000, 2),
        )


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    text = value.strip().replace(" ", "+")  # a '+' in an unencoded query arrives as ' '
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationException(
            "as_of must be an ISO 8601 time with an offset",
            extra=[{"key": "as_of", "message": "not an ISO 8601 time (e.g. 2026-11-20T17:30:00+08:00)"}],
        ) from None
    if parsed.tzinfo is None:
        raise ValidationException(
            "as_of needs an offset",
            extra=[{"key": "as_of", "message": "needs a UTC offset (e.g. Z or +08:00)"}],
        )
    _in_range(parsed, "as_of")
    return parsed


# ----------------------------------------------------------------- commands


@post(f"{API}/tickets", status_code=201, summary="Register a ticket", tags=["tickets"],
      opt={COMMAND_OPT: s.RegisterTicket})
@functools.partial(threaded, inline=True)
def register_ticket(request: Request[Any, Any, Any], state: State, data: s.RegisterTicket) -> Response[s.TicketView]:
    customer = own_customer(request, data.customer)
    def call(desk: ServiceDesk, **opts: Any) -> CommandResult:
        return desk.register_ticket(
            customer=customer,
            contact=Contact(data.contact.name, data.contact.phone, data.contact.email),
            channel=data.channel,
            title=data.title,
            description=data.description,
            affected_system=data.affected_system,
            reported_at=data.reported_at,
            attachments=data.attachments,
            type=data.type,
            category=data.category,
            urgency=data.urgency,
            impact=data.impact,
            importance=data.importance,
            priority=data.priority,
            override_reason=data.override_reason,
            sla_policy=data.sla_policy,
            **opts,
        )

    return _command(request, state, "register", data, call)


def command_route(
    collection: str,
    label: str,
    name: str,
    body: type,
    summary: str,
    invoke: Callable[..., CommandResult],
    *,
    respond: Callable[[CommandResult, ServiceDesk], Response[Any]],
    view: type,
) -> Any:
    """One ``POST /<collection>/{ref}/<name>`` handler with its own body schema, answering
    ``respond(result, desk)`` (a ``view`` struct); ``label`` names the record in logs."""

    def handler(
        request: Request[Any, Any, Any], state: State, ref: str, data: Any = None
    ) -> Response[Any]:
        if data is None:  # no body at all: fine when every field of the body is optional
            data = _default_body(body)
        return _command(
            request, state, name, data, lambda desk, **opts: invoke(desk, ref, data, **opts), ref,
            label=label, respond=respond,
        )

    handler.__annotations__ = {
        "request": Request,
        "state": State,
        "ref": str,
        # ``X | None`` only where every field is optional: such a body may be left out or
        # ``null``; any other body is required and never null (the OpenAPI document says so).
        "data": body | None if _all_optional(body) else body,  # type: ignore[operator]
        "return": Response[view],  # type: ignore[valid-type]
    }
    handler.__name__ = f"{label}_{name}"
    handler = threaded(handler, inline=True)
    return post(
        f"{API}/{collection}/{{ref:str}}/{name}",
        status_code=200,
        summary=summary,
        tags=[collection],
        name=f"{label}-{name}",
        # the command lane (ADR 0040); the record's state before the body's fields (issue 16)
        opt={COMMAND_OPT: body, STATE_OPT: (label, name)},
    )(handler)


def _all_optional(body: type) -> bool:
    info: Any = msgspec.inspect.type_info(body)
    return not any(f.required for f in info.fields)


def _ticket_command(name: str, body: type, summary: str, invoke: Callable[..., CommandResult]) -> Any:
    """One POST /tickets/{ref}/<name> handler with its own body schema."""
    return command_route("tickets", "ticket", name, body, summary, invoke,
                         respond=_respond, view=s.TicketView)


TICKET_COMMANDS = [
    _ticket_command(
        "escalate", s.Escalate, "Escalate manually: priority raised, manager and expert notified",
        lambda d, r, b, **o: d.escalate(r, reason=b.reason, **o),
    ),
    _ticket_command(
        "invalidate", s.Reason, "Invalidate a registered request",
        lambda d, r, b, **o: d.invalidate(r, reason=b.reason, **o),
    ),
    _ticket_command(
        "classify", s.Classify, "Classify and prioritise",
        lambda d, r, b, **o: d.classify(
            r, type=b.type, category=b.category, urgency=b.urgency, impact=b.impact,
            importance=b.importance, priority=b.priority, override_reason=b.override_reason, **o,
        ),
    ),
    _ticket_command(
        "assign", s.Assign, "Assign to an engineer and/or group",
        lambda d, r, b, **o: d.assign(
            r, assignee=b.assignee, group=b.group, interface_person=b.interface_person,
            check_assignee=functools.partial(require_known_user, d), **o,  # issue 16
        ),
    ),
    _ticket_command("start", s.Empty, "Start work", lambda d, r, b, **o: d.start(r, **o)),
    _ticket_command(
        "log_work", s.LogWork, "Log work done",
        lambda d, r, b, **o: d.log_work(
            r, action=b.action, hours=b.hours, performed_at=b.performed_at,
            workaround=b.workaround, **o,
        ),
    ),
    _ticket_command(
        "await_customer", s.Reason, "Wait for the customer (SLA paused)",
        lambda d, r, b, **o: d.await_customer(r, reason=b.reason, **o),
    ),
    _ticket_command("resume", s.Empty, "Resume after the customer answered",
                    lambda d, r, b, **o: d.resume(r, **o)),
    _ticket_command(
        "resolve", s.Resolve, "Record the resolution",
        lambda d, r, b, **o: d.resolve(
            r, resolution=b.resolution, root_cause=b.root_cause, first_contact=b.first_contact, **o
        ),
    ),
    _ticket_command(
        "confirm", s.Confirm, "Customer acceptance (SD record); rejection returns to work",
        lambda d, r, b, **o: d.confirm(
            r, signer=b.signer, items=b.items, criteria=b.criteria, passed=b.passed,
            unmet_items=b.unmet_items, note=b.note, **o,
        ),
    ),
    _ticket_command(
        "close", s.CloseTicket, "Close with the customer's agreement (SD record)",
        lambda d, r, b, **o: d.close_ticket(r, signer=b.signer, reason=b.reason, **o),
    ),
    _ticket_command("reopen", s.Reason, "Reopen a closed ticket",
                    lambda d, r, b, **o: d.reopen(r, reason=b.reason, **o)),
    _ticket_command(
        "feedback", s.FeedbackIn, "Customer satisfaction feedback (FB record)",
        lambda d, r, b, **o: d.give_feedback(
            r, timeliness=b.timeliness, effectiveness=b.effectiveness, attitude=b.attitude,
            comment=b.comment,
            improvement=Improvement(b.improvement.action, b.improvement.owner, b.improvement.due)
            if b.improvement else None,
            **o,
        ),
    ),
]


# -------------------------------------------------------------------- reads


@get(f"{API}/tickets/{{ref:str}}", summary="A ticket (optionally as of a past time)", tags=["tickets"])
@threaded
def get_ticket(state: State, ref: str, as_of: p.AsOf = None) -> Response[s.TicketView]:
    desk = _services(state).desk
    when = _as_of(as_of)
    ticket = desk.get_ticket(ref, as_of=when)
    return JsonAnswer(_ticket_view(desk, ticket, when), headers={"ETag": f'"{ticket.version}"'})


@get(f"{API}/tickets/{{ref:str}}/history", summary="Every event of a ticket, oldest first", tags=["tickets"])
@threaded
def ticket_history(state: State, ref: str) -> list[s.HistoryItem]:
    return history_items(_services(state).desk.ticket_history(ref))


def history_items(entries: Any) -> list[s.HistoryItem]:
    """``desk.history`` entries on the wire, for any record's ``/history``."""
    return [
        s.HistoryItem(
            version=h.version,
            position=h.position,
            type=h.type,
            topic=h.topic,
            recorded_at=s.utc(h.recorded_at),
            actor=h.actor,
            data=s.plain(h.data),
        )
        for h in entries
    ]


def _split(value: str | None, name: str, allowed: set[str] | None = None) -> tuple[str, ...]:
    if not value:
        return ()
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise ValidationException(
                f"unknown {name}",
                extra=[{"key": name, "message": f"unknown value(s) {', '.join(bad)}; use {', '.join(sorted(allowed))}"}],
            )
    return items


#: The breaching queue's cursor is a due time and a row (``due_micros * 10**13 + seq``,
#: ADR 0017): wider than 64 bits, and split in Python before it reaches a store.
BREACHING_CURSOR_MAX = 10**MAX_DIGITS - 1


def _cursor(value: str | None, high: int = MAX_WHOLE) -> int | None:
    """``?cursor=``: a ``next_cursor`` of a previous page (``adapters.numbers``: ASCII
    digits, at most ``high``), else a 400 naming ``cursor``."""
    if value is None or value == "":
        return None
    try:
        return whole_number(value, high=high)
    except NotAWholeNumber:
        raise ValidationException("bad cursor", extra=[{"key": "cursor", "message": "not a cursor from a previous page"}]) from None


def _limit(value: int) -> int:
    if not 1 <= value <= 500:
        raise ValidationException("bad limit", extra=[{"key": "limit", "message": "must be from 1 to 500"}])
    return value


def _page(services: Services, q: TicketQuery) -> s.TicketPage:
    # Read your own writes: wait (briefly) until the read model has what this process saved.
    services.runner.wait_for(services.desk.saved_position, services.settings.read_your_writes_seconds)
    now = q.now or stamp(services.desk.clock.now())
    page = services.tickets.query(q)
    items = [_item(r, now) for r in page.rows]
    return s.TicketPage(items=items, next_cursor=page.next_cursor, count=len(items))


def _item(row: Any, now: str) -> s.TicketListItem:
    data = dict(row)
    data["paused"] = row["status"] == "waiting_customer"  # the clocks stand still
    data["sla_recorded_state"] = row["sla_state"]
    data["sla_state"] = sla_state_at(row, now)
    return msgspec.convert(data, s.TicketListItem)


_STATUSES = {x.value for x in Status}
_PRIORITIES = {"P1", "P2", "P3"}
_OPEN = tuple(x.value for x in OPEN_STATUSES)
# The list's parameters as the OpenAPI document states them (ADR 0044).
StatusFilter = p.listed(_STATUSES, "Ticket status")
PriorityFilter = p.listed(_PRIORITIES, "Priority")
SlaStateFilter = p.listed(SLA_STATES, "SLA state now")
Limit = p.limit(50)
AuditLimit = p.limit(100, clamped=True)


@get(f"{API}/tickets", summary="List tickets with filters", tags=["tickets"])
@threaded
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
    services = _services(state)
    q = TicketQuery(
        sla_states=_split(sla_state, "sla_state", set(SLA_STATES)),
        now=stamp(services.desk.clock.now()),
        statuses=_split(status, "status", _STATUSES),
        priorities=_split(priority, "priority", _PRIORITIES),
        assignee=assignee,
        customer=_customer_filter(request, customer),
        group=group,
        limit=_limit(limit),
        after=_cursor(cursor),
    )
    return _page(services, q)


def _customer_filter(request: Request[Any, Any, Any], customer: str | None) -> str | None:
    """The list's customer filter (a requester's own organisation, whatever they asked)."""
    customer = scoped_customer(request, customer)
    return normalise_customer_id(customer) if customer is not None else None


QUEUES = ("unassigned", "mine", "breaching", "by-assignee/{id}")
QueueName = Annotated[str, PathParameter(schema_extra={"enum": list(QUEUES[:3])})]


@get(f"{API}/queues/{{name:str}}", summary="A work queue: unassigned, mine or breaching", tags=["queues"])
@threaded
def queue(request: Request[Any, Any, Any], state: State, name: QueueName, limit: Limit = 50,
          cursor: p.Cursor = None) -> s.TicketPage:
    if name == "unassigned":
        q = TicketQuery(statuses=("registered", "classified"), unassigned=True, order="queue",
                        limit=_limit(limit), after=_cursor(cursor))
    elif name == "mine":
        q = TicketQuery(statuses=_OPEN, assignee=_actor(request), order="queue",
                        limit=_limit(limit), after=_cursor(cursor))
    elif name == "breaching":
        # Open tickets whose SLA state is warning or breached now, most urgent first: the
        # earliest due of the running clocks, then the oldest (ADR 0017).
        q = TicketQuery(statuses=_OPEN, sla_states=("warning", "breached"),
                        now=stamp(_services(state).desk.clock.now()), order="breaching",
                        limit=_limit(limit), after=_cursor(cursor, BREACHING_CURSOR_MAX))
    else:
        raise NotFoundException(f"no queue {name!r}; queues: {', '.join(QUEUES)}")
    return _page(_services(state), q)


@get(f"{API}/queues/by-assignee/{{assignee:str}}", summary="Open tickets of one assignee", tags=["queues"])
@threaded
def queue_by_assignee(state: State, assignee: str, limit: Limit = 50, cursor: p.Cursor = None) -> s.TicketPage:
    q = TicketQuery(statuses=_OPEN, assignee=assignee, order="queue", limit=_limit(limit), after=_cursor(cursor))
    return _page(_services(state), q)


def _period_bound(value: str | None, key: str, *, end: bool) -> datetime:
    """An ISO date (the day's start in the service's zone, Asia/Shanghai; an end date
    counts in full) or an ISO time with an offset."""
    if value is None or not value.strip():
        raise ValidationException(f"{key} is required", extra=[{"key": key, "message": "required (ISO date or time)"}])
    text = value.strip().replace(" ", "+")
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=_LOCAL)
            _in_range(day, key)
            return day + timedelta(days=1) if end else day
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationException(
            f"bad {key}", extra=[{"key": key, "message": "not an ISO 8601 date or time (e.g. 2026-11-01 or 2026-11-01T00:00:00+08:00)"}],
        ) from None
    if parsed.tzinfo is None:
        raise ValidationException(f"{key} needs an offset", extra=[{"key": key, "message": "a time needs a UTC offset (e.g. Z or +08:00)"}])
    _in_range(parsed, key)
    return parsed


def _this_month(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The month ``now`` falls in, in ``zone`` (the service's, ``OPSLEDGER_TIMEZONE``): its
    first midnight and the next month's."""
    local = now.astimezone(zone)
    first = datetime(local.year, local.month, 1, tzinfo=zone)
    following = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=zone)
    return first, following


def _in_range(parsed: datetime, key: str) -> None:
    if s.out_of_range(parsed):
        raise ValidationException(f"{key} out of range",
                                  extra=[{"key": key, "message": "must lie between 1970 and 2200"}])


def _figures(f: Any, **key: Any) -> s.ComplianceFigures:
    return s.ComplianceFigures(
        tickets=f.tickets, response_met=f.response_met, response_missed=f.response_missed,
        response_met_pct=f.response_met_pct, resolution_met=f.resolution_met,
        resolution_missed=f.resolution_missed, resolution_met_pct=f.resolution_met_pct, **key)


@get(f"{API}/sla/compliance", summary="SLA compliance for a period (default: the current month), "
     "by priority and customer", tags=["sla"])
@threaded
def sla_compliance_figures(state: State, from_: p.PeriodFrom = None,
                           to: p.PeriodTo = None) -> s.Compliance:
    services = _services(state)
    if from_ is None and to is None:  # the current month in the service's zone
        start, end = _this_month(services.desk.clock.now(), services.desk.timezone)
    else:
        start = _period_bound(from_, "from", end=False)
        end = _period_bound(to, "to", end=True)
    if end <= start:
        raise ValidationException("empty period", extra=[{"key": "to", "message": "must be later than from"}])
    services.runner.wait_for(services.desk.saved_position, services.settings.read_your_writes_seconds)
    r = sla_compliance(services.tickets, start, end, services.desk.clock.now())
    return s.Compliance(
        period_start=start, period_end=end, now=r.now, total=_figures(r.total),
        by_priority=[_figures(f, priority=k) for k, f in r.by_priority.items()],
        by_customer=[_figures(f, customer=k) for k, f in r.by_customer.items()],
    )


@get(f"{API}/audit/events", summary="The global event log in recorded order", tags=["audit"])
@threaded
def audit_events(state: State, after: p.After = 0, limit: AuditLimit = 100) -> s.LogPage:
    if not 0 <= after <= MAX_POSITION:
        raise ValidationException("bad after", extra=[
            {"key": "after", "message": f"must be from 0 to {MAX_POSITION} (a position)"}])
    desk = _services(state).desk
    items = [
        s.LogItem(
            position=n.id,
            originator_id=str(n.originator_id),
            version=n.originator_version,
            type=type(e).__name__,
            topic=n.topic,
            recorded_at=s.utc(e.timestamp) if getattr(e, "timestamp", None) else None,
            actor=getattr(e, "actor", None),
            data=s.plain({k: v for k, v in vars(e).items() if k not in ("originator_id", "originator_version", "timestamp")}),
        )
        for n, e in desk.read_log(after, _limit(limit) if limit <= 500 else 500)
    ]
    return s.LogPage(items=items, last_position=items[-1].position if items else None, head=desk.max_position())


@get("/healthz", summary="Liveness: up (200) or down (503); for staff also the store, "
     "projections, SLA watch and notifications", tags=["health"], exclude_from_auth=True,
     security=[])
async def healthz(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    services = _services(state)
    staff = await _staff_asks(services, request)
    return await run_sync(_health, services, staff)


async def _staff_asks(services: Services, request: Request[Any, Any, Any]) -> bool:
    """Whether ``/healthz`` may say more than up or down (ADR 0045): to a caller the rest of
    the API knows as staff (any role but requester) -- a valid token, or anyone on an open
    development store, where every caller is the admin. No token, a requester's, a bad one:
    the short answer, never a 401 (the probe must always answer)."""
    try:
        principal, _ = await authenticate_caller(
            services, request.headers.get("authorization"),
            request.headers.get("x-opsledger-actor"))
    except Exception:  # noqa: BLE001 - not authenticated (or the store is down): short answer
        return False
    return bool(principal.roles & _HEALTH_ROLES)


_HEALTH_ROLES = frozenset({*STAFF, ADMIN})


def _health(services: Services, staff: bool) -> Response[Any]:
    try:
        head = services.desk.max_position()
    except Exception as e:
        log.warning("health.store_unavailable", error=f"{type(e).__name__}: {e}")
        return problem(503, "Store unavailable", "the event store does not answer", "store-unavailable",
                       status_text="unavailable")
    if not staff:
        return Response({"status": "ok"})
    return Response(
        {
            "status": "ok",
            "store": services.settings.database.kind,
            "head": head,
            "projections": services.runner.status(),
            "sla_watch": services.watch_thread.status(),
            "notifications": services.notifier.status(),
        }
    )


@get("/docs", sync_to_thread=False, summary="A browsable API reference (offline)", tags=["health"],
     exclude_from_auth=True, include_in_schema=False, media_type="text/html")
def docs(request: Request[Any, Any, Any]) -> str:
    return docs_page(request.app.openapi_schema.to_schema())


# ---------------------------------------------------------------------- app


def _prepare_structs() -> None:
    """Build msgspec's type info of every body and view type of the HTTP modules before
    serving: handlers convert in many threads at once, and msgspec must not build it
    concurrently (``application.encoding.TYPE_INFO_LOCK``)."""
    modules = [m for name, m in list(sys.modules.items()) if name.startswith("adapters.http.") and m]
    structs = {v for m in modules for v in vars(m).values()
               if isinstance(v, type) and issubclass(v, msgspec.Struct) and v is not msgspec.Struct}
    prepare_types(*sorted(structs, key=lambda t: t.__qualname__))


def create_app(services: Services, *, run_projections: bool = True) -> Litestar:
    def startup(app: Litestar) -> None:
        services.notifier.start()  # this process's own commands (escalate) send notices too
        if run_projections:
            services.runner.start()
            if services.settings.sla_watch_seconds > 0:
                services.watch_thread.start()

    def shutdown(app: Litestar) -> None:
        services.watch_thread.stop()
        services.notifier.stop()
        services.runner.stop()

    from adapters.http.catalog import CATALOG_HANDLERS  # here: catalog imports this module
    from adapters.http.customers import CUSTOMER_HANDLERS  # the same
    from adapters.http.problem_records import PROBLEM_HANDLERS  # the same
    from adapters.http.change_records import CHANGE_HANDLERS  # the same
    from adapters.http.knowledge import KNOWLEDGE_HANDLERS  # the same
    from adapters.http.project_records import PROJECT_HANDLERS  # the same
    from adapters.http.reports import REPORT_HANDLERS  # the same
    from adapters.http.privacy import PRIVACY_HANDLERS  # the same
    from adapters.http.audit import AUDIT_HANDLERS  # the same
    from adapters.http.identities import IDENTITY_HANDLERS  # the same
    from adapters.http.edge import edge

    _prepare_structs()

    app = Litestar(
        route_handlers=[
            register_ticket, *TICKET_COMMANDS, get_ticket, ticket_history, list_tickets,
            queue, queue_by_assignee, sla_compliance_figures, audit_events, healthz, docs, *CATALOG_HANDLERS,
            *CUSTOMER_HANDLERS, *PROBLEM_HANDLERS, *CHANGE_HANDLERS,
            *KNOWLEDGE_HANDLERS, *PROJECT_HANDLERS, *REPORT_HANDLERS, *PRIVACY_HANDLERS,
            *AUDIT_HANDLERS, *IDENTITY_HANDLERS,
        ],
        state=State({"services": services}),
        middleware=[edge(services.settings), command_lane],
        guards=[authorize, state_then_fields],  # who may, then state, then fields
        exception_handlers=exception_handlers(),
        request_max_body_size=services.settings.max_body_bytes,
        on_startup=[startup],
        on_shutdown=[shutdown],
        openapi_config=OpenAPIConfig(
            title="opsledger",
            version="1.0.0",
            description="Event-sourced IT operations service delivery. See /docs for a browsable reference.",
            path="/schema",
            render_plugins=[DocsPagePlugin()],  # no CDN scripts (ADR 0045)
            components=Components(security_schemes={"bearer": SecurityScheme(
                type="http", scheme="bearer",
                description="An API token (POST /api/v1/users/{user}/tokens) or OPSLEDGER_ADMIN_TOKEN",
            )}),
            security=[{"bearer": []}],
        ),
        debug=False,
    )
    document_problems(app.openapi_schema)
    declare_queries(app, API)  # unknown query parameters: 400 (ADR 0045)
    complete_document(app, app.openapi_schema)
    return app
