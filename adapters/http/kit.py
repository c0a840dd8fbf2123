"""The kit of the HTTP edge: from a request to a use case and back (docs/architecture.md).

Every route module uses it and nothing else of the edge's plumbing:

* the request's parts: the actor (``actor_of``), ``If-Match`` (``if_match``),
  ``Idempotency-Key`` (``idempotency_key``), ``?as_of=`` (``parse_as_of``), ``?cursor=`` and
  ``?limit=`` (``parse_cursor``, ``parse_limit``), comma lists (``split_values``), periods
  (``period_bound``, ``compliance_period``);
* running a command through the one handler (``run_command``: a command value built from the
  body, ``from_body``, ADR 0046) and answering it (``record_response``: ``ETag``, ``201`` +
  ``Location`` on create, ``Idempotent-Replayed``), the command routes of every record kind
  (``command_route``, ``Records``) and the reads' helpers (``read_your_writes``,
  ``versioned``, ``query_time``, ``history_items``; ``compliance``: the SLA figures of the
  API and the console's SLA board) and the ticket list's pages
  (``ticket_page``: the list, the queues, the console's desk);
* ``read_positions``: the middleware of the read models' positions (a client's
  ``X-Opsledger-Min-Position``, the ``X-Opsledger-Read-Position`` of a read, ADR 0070);
* ``threaded``: a blocking handler off the event loop (or on it, for commands, ADR 0039).

The speed machinery these use lives in ``adapters/http/speed/`` (each module names its ADR).
"""

from __future__ import annotations

from dataclasses import dataclass

import contextvars
import functools
import hashlib
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import msgspec.inspect
from msgspec.structs import asdict
import structlog
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import ServiceUnavailableException, ValidationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.container import Services
from adapters.inputs.numbers import MAX_DIGITS, MAX_WHOLE, NotAWholeNumber, whole_number
from adapters.http.schemas import common as c
from adapters.http.schemas import tickets as s
from adapters.http.access import (
    customer_side, own_customer, principal_of, scoped_customer,
)
from adapters.http.params import AsOf
from application import milestones  # milestone clocks (ADR 0062)
from application.commands.base import Command
from application.commands.tickets import RegisterTicket
from application.desk import CommandResult, ServiceDesk
from application.errors import RecordNotFound
from application.idempotency import IdempotencyKey
from application.sla_compliance import compliance as sla_compliance
from domain.ticket import Contact
from projections.base import stamp
from projections.ticket_list.projection import sla_state_at
from projections.ticket_list.view import TicketQuery
from adapters.http.speed.answer import JsonAnswer
from adapters.http.speed.threads import run_sync

#: ``opt`` keys of a command route: its body type (read by the command lane, ADR 0040, and by
#: the state-before-fields guard) and its (record label, command name) for that guard.
COMMAND_OPT = "opsledger_command"
STATE_OPT = "opsledger_state"
#: ``opt`` key of a command route: the command class it runs (ADR 0046).
COMMAND_CLASS_OPT = "opsledger_command_class"
#: ``opt`` key of a command route: how it builds the command from ``(ref, body)``, for the
#: console's forms, which build it the same way (ADR 0048).
BUILD_OPT = "opsledger_command_build"


def json_answer(content: Any, *, status_code: int = 200,
                headers: dict[str, str] | None = None) -> Response[Any]:
    """A JSON answer, encoded where it is built (``speed.answer.JsonAnswer``, ADR 0040)."""
    return JsonAnswer(content, status_code=status_code, headers=headers)

log = structlog.get_logger("opsledger.http")


API = "/api/v1"


MAX_POSITION = MAX_WHOLE  # positions are 64-bit integers in both stores


LOCAL_ZONE = ZoneInfo("Asia/Shanghai")  # the zone of the service's dates (ticket numbers too)


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
                kwargs["data"] = strict_body(type(data), raw)
        call = functools.partial(fn, *args, **kwargs)
        if inline and kwargs["state"].services.settings.commands_inline:
            return call()
        return await run_sync(call)

    return handler


def default_body(body_type: type[s.Input]) -> s.Input:
    try:
        return body_type()
    except TypeError:
        info: Any = msgspec.inspect.type_info(body_type)
        required = [f.name for f in info.fields if f.required]
        raise ValidationException(
            "a JSON body is required",
            extra=[{"key": f, "message": "required (send a JSON object)"} for f in required],
        ) from None


def strict_body(body_type: type[s.Input], raw: bytes) -> s.Input:
    try:
        return c.decode_body(body_type, raw)
    except msgspec.ValidationError as e:
        raise ValidationException(str(e), extra=[{"message": str(e)}]) from None


def services_of(state: State) -> Services:
    return state.services  # type: ignore[no-any-return]


def if_match(request: Request[Any, Any, Any]) -> int | None:
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


def idempotency_key(request: Request[Any, Any, Any], data: Any) -> IdempotencyKey | None:
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


def actor_of(request: Request[Any, Any, Any]) -> str:
    """The acting user's id, recorded on every event of a command."""
    return principal_of(request).user_id


def quarantined_message(state: State, id: str) -> Response[bytes]:
    """A message the mail intake kept aside (ADR 0057), byte for byte as ``message/rfc822``
    (the API's ``GET /mail/quarantine/{id}`` and the console's page of it); an unknown id:
    ``404``."""
    row = services_of(state).quarantine.get(id.strip())
    if row is None or row.raw is None:
        raise RecordNotFound(id, "quarantined mail")
    return Response(row.raw, media_type="message/rfc822", headers={
        "Content-Disposition": f'attachment; filename="{row.id}.eml"',
        "X-Content-Type-Options": "nosniff"})


def sla_of(desk: ServiceDesk, ticket: Any, now: datetime | None = None) -> Any:
    """The ticket's SLA clocks at ``now`` (default: the desk's clock), for the view."""
    if desk.sla is None:
        return None
    return desk.sla.status(ticket, now or desk.clock.now())


def ticket_view(desk: ServiceDesk, ticket: Any, as_of: datetime | None = None, *,
                clocks_at: datetime | None = None) -> s.TicketView:
    """The ticket's view with its SLA clocks at ``as_of`` (default: ``clocks_at``, or now)
    and its project (ADR 0028) from the contracts recorded by then."""
    terms = (desk.sla.project_terms(ticket.customer, ticket.reported_at, as_of)
             if desk.sla else None)
    project = s.LinkedRecord(terms.project_id, terms.project_number) if terms else None
    return s.ticket_view(ticket, sla_of(desk, ticket, as_of or clocks_at), project)


def answer_headers(result: CommandResult, location: str) -> dict[str, str]:
    """A command's answer headers: ``ETag``, ``Location`` on create, ``Idempotent-Replayed``
    on a repeat."""
    headers = {"ETag": f'"{result.aggregate.version}"'}
    if result.position is not None:  # for X-Opsledger-Min-Position of a later read (ADR 0070)
        headers[POSITION_HEADER] = str(result.position)
    if result.created:
        headers["Location"] = location
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return headers


def record_response(result: CommandResult, body: Any, collection: str) -> Response[Any]:
    """A command's answer for any record: its view, ``ETag``, ``201`` + ``Location`` on
    create, ``Idempotent-Replayed`` on a repeat."""
    headers = answer_headers(result, f"{API}/{collection}/{result.aggregate.id}")
    return JsonAnswer(body, status_code=201 if result.created else 200, headers=headers)


def put_definition(request: Request[Any, Any, Any], state: State, data: Any, command: Command,
                   present: Callable[[Any, ServiceDesk], Any], location: str) -> Response[Any]:
    """``PUT`` of a definition named by a slug (a calendar, an SLA policy, a standard-change
    model): ``command`` through the one handler with the actor, ``If-Match`` and
    ``Idempotency-Key`` of the request; answers ``present(record, desk)`` with
    ``answer_headers`` (``201`` on the first version, ``200`` on a redefinition)."""
    desk = services_of(state).desk
    result = desk.handle(command, actor=actor_of(request), expected_version=if_match(request),
                         idempotency=idempotency_key(request, data))
    return Response(present(result.aggregate, desk), status_code=201 if result.created else 200,
                    headers=answer_headers(result, location))


def respond_ticket(result: CommandResult, desk: ServiceDesk) -> Response[s.TicketView]:
    """A ticket command's answer: the ticket with its clocks read at the command's time, so
    every repeat of one ``Idempotency-Key`` answers the same bytes."""
    return record_response(result, ticket_view(desk, result.ticket, clocks_at=result.at),
                           "tickets")


def run_command(
    request: Request[Any, Any, Any],
    state: State,
    data: Any,
    command: Command,
    ref: str | None = None,
    *,
    respond: Callable[[CommandResult, ServiceDesk], Response[Any]] | None = None,
) -> Response[Any]:
    """Runs ``command`` (built from the request's body) through the one handler,
    ``desk.handle``, with the actor, ``Idempotency-Key`` (a digest of ``data``) and, on a
    record named by ``ref``, ``If-Match`` of the request; answers ``respond(result, desk)``
    (default: the ticket view); logs ``<record_label>.<verb>``."""
    services = services_of(state)
    actor = actor_of(request)
    idempotency = idempotency_key(request, data)
    expected_version = if_match(request) if ref is not None else None
    label = command.record_label
    began = time.perf_counter()
    outcome = "error"
    number = None
    try:
        with services.desk.answering():
            result = services.desk.handle(command, actor=actor,
                                          expected_version=expected_version,
                                          idempotency=idempotency)
            outcome = "replayed" if result.replayed else "ok"
            number = result.aggregate.number
            return (respond or respond_ticket)(result, services.desk)
    except Exception as e:
        outcome = type(e).__name__
        raise
    finally:
        log.info(
            f"{label}.{command.verb}",
            outcome=outcome,
            **{label: number or ref},
            actor=actor,
            duration_ms=round((time.perf_counter() - began) * 1000, 2),
        )


def from_body(command: type[Command]) -> Callable[[str, Any], Command]:
    """The command ``command`` built from a body whose fields are named as its fields:
    ``command(ref=ref, **fields of the body)`` (ADR 0046). A body with a nested value that
    differs from the command's gives its own conversion instead."""

    def build(ref: str, body: Any) -> Command:
        return command(ref=ref, **asdict(body))  # type: ignore[call-arg]

    return build


def registration(request: Request[Any, Any, Any], data: s.RegisterTicket) -> RegisterTicket:
    """The ``RegisterTicket`` command of a registration body (the API's and the console's):
    a requester's own organisation as the customer (``access.own_customer``)."""
    fields = asdict(data)
    fields["customer"] = own_customer(request, data.customer)
    fields["contact"] = Contact(data.contact.name, data.contact.phone, data.contact.email)
    if fields.get("affected_cis"):  # a requester names their own CIs only (ADR 0063)
        fields["own_cis"] = customer_side(request)
    return RegisterTicket(**fields)


def parse_as_of(value: str | None, local: ZoneInfo | None = None) -> datetime | None:
    """``?as_of=``: an ISO 8601 time with an offset (400 naming ``as_of`` otherwise);
    ``local``: the zone a time without an offset is read in (a browser's ``datetime-local``
    input on the console), else such a time is refused."""
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
    if parsed.tzinfo is None and local is not None:
        parsed = parsed.replace(tzinfo=local)
    if parsed.tzinfo is None:
        raise ValidationException(
            "as_of needs an offset",
            extra=[{"key": "as_of", "message": "needs a UTC offset (e.g. Z or +08:00)"}],
        )
    in_range(parsed, "as_of")
    return parsed


def command_route(
    collection: str,
    command: type[Command],
    body: type,
    summary: str,
    *,
    respond: Callable[[CommandResult, ServiceDesk], Response[Any]],
    view: type,
    build: Callable[[str, Any], Command] | None = None,
) -> Any:
    """One ``POST /<collection>/{ref}/<verb>`` handler for the command class ``command``
    with its own body schema ``body``: the command is ``build(ref, body)`` (default:
    ``from_body``, the body's fields as the command's), answered ``respond(result, desk)``
    (a ``view`` struct)."""
    label, name = command.record_label, command.verb
    make = build or from_body(command)

    def handler(
        request: Request[Any, Any, Any], state: State, ref: str, data: Any = None
    ) -> Response[Any]:
        if data is None:  # no body at all: fine when every field of the body is optional
            data = default_body(body)
        return run_command(request, state, data, make(ref, data), ref, respond=respond)

    handler.__annotations__ = {
        "request": Request,
        "state": State,
        "ref": str,
        # ``X | None`` only where every field is optional: such a body may be left out or
        # ``null``; any other body is required and never null (the OpenAPI document says so).
        "data": body | None if all_optional(body) else body,  # type: ignore[operator]
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
        # the command lane (ADR 0040); the record's state before the body's fields (issue 16);
        # the command the route runs (its fields are the body's, ADR 0046)
        opt={COMMAND_OPT: body, STATE_OPT: (label, name), COMMAND_CLASS_OPT: command,
             BUILD_OPT: make},
    )(handler)


def all_optional(body: type) -> bool:
    info: Any = msgspec.inspect.type_info(body)
    return not any(f.required for f in info.fields)


def history_items(entries: Any) -> list[c.HistoryItem]:
    """``desk.history`` entries on the wire, for any record's ``/history``."""
    return [
        c.HistoryItem(
            version=h.version,
            position=h.position,
            type=h.type,
            topic=h.topic,
            recorded_at=s.utc(h.recorded_at),
            actor=h.actor,
            data=c.plain(h.data),
        )
        for h in entries
    ]


def split_values(value: str | None, name: str, allowed: set[str] | None = None) -> tuple[str, ...]:
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


def parse_cursor(value: str | None, high: int = MAX_WHOLE) -> int | None:
    """``?cursor=``: a ``next_cursor`` of a previous page (``adapters.inputs.numbers``: ASCII
    digits, at most ``high``), else a 400 naming ``cursor``."""
    if value is None or value == "":
        return None
    try:
        return whole_number(value, high=high)
    except NotAWholeNumber:
        raise ValidationException("bad cursor", extra=[{"key": "cursor", "message": "not a cursor from a previous page"}]) from None


def parse_limit(value: int) -> int:
    if not 1 <= value <= 500:
        raise ValidationException("bad limit", extra=[{"key": "limit", "message": "must be from 1 to 500"}])
    return value


def period_bound(value: str | None, key: str, *, end: bool) -> datetime:
    """An ISO date (the day's start in the service's zone, Asia/Shanghai; an end date
    counts in full) or an ISO time with an offset."""
    if value is None or not value.strip():
        raise ValidationException(f"{key} is required", extra=[{"key": key, "message": "required (ISO date or time)"}])
    text = value.strip().replace(" ", "+")
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=LOCAL_ZONE)
            in_range(day, key)
            return day + timedelta(days=1) if end else day
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationException(
            f"bad {key}", extra=[{"key": key, "message": "not an ISO 8601 date or time (e.g. 2026-11-01 or 2026-11-01T00:00:00+08:00)"}],
        ) from None
    if parsed.tzinfo is None:
        raise ValidationException(f"{key} needs an offset", extra=[{"key": key, "message": "a time needs a UTC offset (e.g. Z or +08:00)"}])
    in_range(parsed, key)
    return parsed


def compliance_period(services: Services, from_: str | None,
                      to: str | None) -> tuple[datetime, datetime]:
    """The period of the SLA compliance figures (``GET /sla/compliance`` and the console's SLA
    board): ``from`` and ``to`` (``period_bound``), or, when neither is given, the current
    month in the service's zone (``OPSLEDGER_TIMEZONE``); a 422 naming ``to`` when the period
    is empty."""
    if from_ is None and to is None:
        zone = services.desk.timezone
        local = services.desk.clock.now().astimezone(zone)
        start = datetime(local.year, local.month, 1, tzinfo=zone)
        end = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=zone)
    else:
        start = period_bound(from_, "from", end=False)
        end = period_bound(to, "to", end=True)
    if end <= start:
        raise ValidationException("empty period", extra=[{"key": "to", "message": "must be later than from"}])
    return start, end


def compliance(services: Services, start: datetime, end: datetime) -> s.Compliance:
    """The SLA compliance figures for ``[start, end)`` at now (``application.sla_compliance``,
    ADR 0017), by priority and customer, as the API answers them; the read models first catch
    up with this process's writes."""
    read_your_writes(services)
    r = sla_compliance(services.tickets, start, end, services.desk.clock.now())

    def figures(f: Any, **key: Any) -> s.ComplianceFigures:
        return s.ComplianceFigures(
            tickets=f.tickets, response_met=f.response_met, response_missed=f.response_missed,
            response_met_pct=f.response_met_pct, resolution_met=f.resolution_met,
            resolution_missed=f.resolution_missed, resolution_met_pct=f.resolution_met_pct,
            **key)

    return s.Compliance(
        period_start=start, period_end=end, now=r.now, total=figures(r.total),
        by_priority=[figures(f, priority=k) for k, f in r.by_priority.items()],
        by_customer=[figures(f, customer=k) for k, f in r.by_customer.items()],
        milestones=milestone_compliance(services, start, end, r.now),
    )


def milestone_compliance(services: Services, start: datetime,
                         end: datetime, now: datetime) -> list[s.MilestoneCompliance]:
    """Per milestone clock (ADR 0062), the runs of the tickets reported in the period."""
    desk = services.desk
    if desk.sla is None:
        return []
    tickets = milestones.reported_in(desk, services.tickets, start, end, now)
    return [s.MilestoneCompliance(**f.as_dict())
            for f in milestones.figures(desk.sla, tickets, now)]


def in_range(parsed: datetime, key: str) -> None:
    if c.out_of_range(parsed):
        raise ValidationException(f"{key} out of range",
                                  extra=[{"key": key, "message": "must lie between 1970 and 2200"}])



@dataclass(frozen=True)
class Records:
    """The routes every record kind has alike: create, a command per verb, a read by ``ref``
    (``?as_of=``) and its history. The kind's route module names its use cases and views;
    lists and anything particular stay handlers of its own."""

    collection: str  # the path segment: "problems", "changes", "knowledge"
    view: type  # the struct a command answers (for the OpenAPI schema)
    present: Callable[[CommandResult, ServiceDesk], Any]  # a command's result as ``view``
    tag: str = ""  # the reads' OpenAPI tag (default: ``collection``)

    def respond(self, result: CommandResult, desk: ServiceDesk) -> Response[Any]:
        return record_response(result, self.present(result, desk), self.collection)

    def create(self, request: Request[Any, Any, Any], state: State, data: Any,
               command: Command) -> Response[Any]:
        """Runs the creating ``command`` built from ``data`` (``201`` + ``Location``)."""
        return run_command(request, state, data, command, respond=self.respond)

    def creates(self, name: str, command: type[Command], body: type, summary: str,
                build: Callable[[Request[Any, Any, Any], State, Any], Command]) -> Any:
        """The ``POST /<collection>`` handler ``name``: the creating ``command`` built as
        ``build(request, state, body)``, answered ``201`` + ``Location`` (``create``)."""

        def handler(request: Request[Any, Any, Any], state: State, data: Any) -> Response[Any]:
            return self.create(request, state, data, build(request, state, data))

        handler.__annotations__ = {"request": Request, "state": State, "data": body,
                                   "return": Response[self.view]}  # type: ignore[valid-type]
        handler.__name__ = handler.__qualname__ = name
        return post(f"{API}/{self.collection}", status_code=201, tags=[self.tag or self.collection],
                    summary=summary, opt={COMMAND_CLASS_OPT: command})(threaded(handler))

    def command(self, command: type[Command], body: type, summary: str,
                build: Callable[[str, Any], Command] | None = None) -> Any:
        """The ``POST /<collection>/{ref}/<verb>`` handler of ``command`` (``command_route``)."""
        return command_route(self.collection, command, body, summary, respond=self.respond,
                             view=self.view, build=build)

    def read(self, name: str, summary: str, load: Callable[..., Any],
             view: Callable[[Any, datetime], Any], *,
             readable: Callable[[Any, str | None], Any] | None = None,
             view_as_of: bool = False) -> Any:
        """The ``GET /<collection>/{ref}`` handler ``name`` (``?as_of=``): the record
        ``load(desk, ref, as_of=…)``, for a requester only what ``readable(record, customer)``
        lets through (another's is a 404), answered ``view(record, at)`` with its ``ETag``;
        ``at`` is now, or with ``view_as_of`` the time asked for."""

        def handler(request: Request[Any, Any, Any], state: State, ref: str,
                    as_of: str | None = None) -> Response[Any]:
            desk = services_of(state).desk
            when = parse_as_of(as_of)
            record = load(desk, ref, as_of=when)
            if readable is not None:
                record = readable(record, scoped_customer(request, None))
            now = desk.clock.now()
            return versioned(view(record, (when or now) if view_as_of else now), record.version)

        handler.__annotations__ = {"request": Request, "state": State, "ref": str, "as_of": AsOf,
                                   "return": Response[self.view]}  # type: ignore[valid-type]
        return self._get(handler, name, "/{ref:str}", summary)

    def history(self, name: str, summary: str, entries: Callable[[ServiceDesk, str], Any], *,
                readable: Callable[[ServiceDesk, str, str | None], Any] | None = None) -> Any:
        """The ``GET /<collection>/{ref}/history`` handler ``name``: ``entries(desk, ref)``
        (``desk.history``) on the wire; with ``readable(desk, ref, customer)``, a requester's
        only for a record they may read."""

        def handler(request: Request[Any, Any, Any], state: State,
                    ref: str) -> list[c.HistoryItem]:
            desk = services_of(state).desk
            if readable is not None:
                readable(desk, ref, scoped_customer(request, None))
            return history_items(entries(desk, ref))

        handler.__annotations__ = {"request": Request, "state": State, "ref": str,
                                   "return": list[c.HistoryItem]}
        return self._get(handler, name, "/{ref:str}/history", summary)

    def _get(self, handler: Callable[..., Any], name: str, path: str, summary: str) -> Any:
        handler.__name__ = handler.__qualname__ = name
        return get(f"{API}/{self.collection}{path}", tags=[self.tag or self.collection],
                   summary=summary)(threaded(handler))


def page_body(page: type, items: list[Any], next_offset: int | None) -> Any:
    """A list's page on the wire: ``items``, their ``count`` and the ``next_cursor`` (the next
    page's offset; ``None`` on the last)."""
    return page(items=items, count=len(items),
                next_cursor=None if next_offset is None else str(next_offset))


#: A command's answer: the log position of its last event (ADR 0070).
POSITION_HEADER = "X-Opsledger-Position"
#: A read's request: the least position its read models must have (a position a command
#: answered); the read waits for it (``read_your_writes``), else answers 503.
MIN_POSITION_HEADER = "X-Opsledger-Min-Position"
#: A read's answer from a replica: the position of the read models it was served from.
READ_POSITION_HEADER = "X-Opsledger-Read-Position"
_MIN_POSITION = MIN_POSITION_HEADER.lower().encode()
#: Per request (GET): the ``X-Opsledger-Min-Position`` asked, and the position read.
_READ: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "opsledger_read", default=None)


def read_positions(app: ASGIApp) -> ASGIApp:
    """The middleware of the read positions (ADR 0070): a GET's ``X-Opsledger-Min-Position``
    is kept for ``read_your_writes`` (in a context variable, which the handler's thread
    inherits), and the position a read was served from is added to its answer
    (``X-Opsledger-Read-Position``, ``X-Opsledger-Read-From``)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        asked = next((v.decode("latin-1") for k, v in scope["headers"] if k == _MIN_POSITION), None)
        note: dict[str, Any] = {"asked": asked}
        token = _READ.set(note)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and "position" in note:
                message = {**message, "headers": [  # type: ignore[typeddict-item]
                    *message.get("headers", ()),
                    (READ_POSITION_HEADER.encode(), str(note["position"]).encode()),
                    (b"X-Opsledger-Read-From", note["source"].encode())]}
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            _READ.reset(token)

    return middleware


def _asked_position(note: dict[str, Any] | None) -> int | None:
    """The request's ``X-Opsledger-Min-Position`` (``None``: not given); 400 if malformed."""
    text = None if note is None else note.get("asked")
    if text is None:
        return None
    try:
        return whole_number(text.strip(), high=MAX_POSITION)
    except NotAWholeNumber:
        raise ValidationException(f"bad {MIN_POSITION_HEADER}", extra=[{
            "key": MIN_POSITION_HEADER,
            "message": "must be a log position as a command answered it, e.g. 1234"}]) from None


def read_your_writes(services: Services, at_least: int = 0) -> None:
    """Wait (briefly: ``read_your_writes_seconds``) until the read models have what this
    process saved, at least ``at_least`` and the request's ``X-Opsledger-Min-Position``, so a
    list shows the writes its caller just made. The read models are the primary's, or the
    hot standby's where one is set (ADR 0070; the position read is then answered in
    ``X-Opsledger-Read-Position``). A position the client asked for that is not there in
    time: 503 with ``Retry-After`` (the list would not show it); the process's own writes not
    there in time: the list as it is (as before)."""
    note = _READ.get()
    asked = _asked_position(note)
    target = max(services.desk.saved_position, at_least, asked or 0)
    seconds = services.settings.read_your_writes_seconds
    if services.replica is None:
        if not services.runner.wait_for(target, seconds) and asked is not None \
                and not services.runner.wait_for(asked, 0):
            raise _behind(asked, None)
        return
    seen = services.replica.wait_for(target, seconds)
    if note is not None:
        note.update(position=seen, source="replica")
    if asked is not None and seen < asked:
        raise _behind(asked, seen)


def _behind(asked: int, seen: int | None) -> ServiceUnavailableException:
    where = "the read replica's" if seen is not None else "the"
    got = f" (at {seen})" if seen is not None else ""
    return ServiceUnavailableException(
        f"{where} read models have not reached position {asked}{got} yet; retry shortly",
        headers={"Retry-After": "1"})


def ticket_page(services: Services, q: TicketQuery | None) -> s.TicketPage:
    """One page of the ticket list read model for ``q`` (``None``: a query that can match
    nothing, ``application.queues``), as the list, the queues and the console's desk show it,
    after the read models have caught up with this process's writes (``read_your_writes``)."""
    read_your_writes(services)
    if q is None:
        return s.TicketPage(items=[], next_cursor=None, count=0)
    now = q.now or stamp(services.desk.clock.now())
    page = services.tickets.query(q)
    items = [ticket_item(r, now) for r in page.rows]
    return s.TicketPage(items=items, next_cursor=page.next_cursor, count=len(items))


def ticket_item(row: Any, now: str) -> s.TicketListItem:
    """A row of the ticket list on the wire, with its SLA state at ``now`` (ADR 0017)."""
    data = dict(row)
    data["paused"] = row["status"] == "waiting_customer"  # the clocks stand still
    data["sla_recorded_state"] = row["sla_state"]
    data["sla_state"] = sla_state_at(row, now)
    return msgspec.convert(data, s.TicketListItem)


def cursor_of(value: str | None, order: str) -> int | None:
    """``?cursor=`` of a list in ``order`` (``parse_cursor``; the breaching order's cursors
    are wider, ``BREACHING_CURSOR_MAX``)."""
    return parse_cursor(value, BREACHING_CURSOR_MAX if order == "breaching" else MAX_WHOLE)


def versioned(body: Any, version: int) -> Response[Any]:
    """A record's view with its version as ``ETag`` (for ``If-Match`` on the next command)."""
    return Response(body, headers={"ETag": f'"{version}"'})


def query_time(value: str | None, name: str) -> datetime | None:
    """A time in the query string by ``as_of``'s rules (ISO 8601 with an offset), its
    ``400`` naming the parameter ``name``."""
    try:
        return parse_as_of(value)
    except ValidationException as e:
        raise ValidationException(f"bad {name}", extra=[
            {"key": name, "message": str(x.get("message", ""))} for x in (e.extra or [])
        ]) from None
