"""A console form runs a command exactly as the JSON API does (ADR 0048): the form's fields
are decoded into the API's own body type (``adapters/http/schemas``: the same lengths,
patterns and required fields), the body into the command (``kit.from_body`` or the route's
own builder), and the command through the one handler, ``ServiceDesk.handle``.

Every command form carries two hidden fields (``hidden_fields`` in templates):

- ``_version``: the record's version when the page was drawn, sent as ``If-Match`` would be,
  so a form over a page someone has changed since answers 409 instead of overwriting;
- ``_key``: a key made when the page was drawn, sent as ``Idempotency-Key`` would be, so a
  double click or a resent form records the command once.

``form_body`` turns the form into the body type: empty fields are left out (the body's
defaults apply), ``a,b``, the lines of a textarea or repeated fields fill a list, and numbers
arrive as text (msgspec's lax conversion reads them); a time without an offset (a ``datetime-local`` input) is read in the
calendar's zone when one is given; anything it refuses is a 422 naming the field, as on the API.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime
from typing import Any, get_args, get_origin
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request
from litestar.datastructures import State
from litestar.exceptions import ValidationException

from adapters.http import kit
from application.commands.base import Command
from application.desk import CommandResult
from application.idempotency import IdempotencyKey
from adapters.inputs.numbers import NotAWholeNumber, whole_number

VERSION_FIELD, KEY_FIELD = "_version", "_key"
_RESERVED = {VERSION_FIELD, KEY_FIELD, "_csrf_token"}
#: A list field's items: ``a,b`` in an input, or one a line in a textarea.
_LIST_SEPARATORS = re.compile(r"[,\r\n]")


def new_key() -> str:
    """A fresh idempotency key for a form drawn now."""
    return uuid.uuid4().hex


def form_body(form: Any, body_type: type[Any], zone: ZoneInfo | None = None) -> Any:
    """The form's fields as ``body_type`` (an API body struct); 422 naming the field. A
    nested struct's fields are named with a dot (``contact.name``); a time field without an
    offset is read in ``zone`` (when given)."""
    try:
        return msgspec.convert(_values(form, body_type, "", zone), type=body_type,
                               strict=False)
    except msgspec.ValidationError as e:
        text = str(e)
        field = text.rsplit("`$.", 1)[-1].rstrip("`").split("[")[0] if "`$." in text else "form"
        raise ValidationException("the form has invalid fields",
                                  extra=[{"key": field, "message": text}]) from None


def _values(form: Any, body_type: type[Any], prefix: str,
            zone: ZoneInfo | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in msgspec.structs.fields(body_type):
        name = prefix + f.name
        nested = _struct_in(f.type)
        if nested is not None:
            inner = _values(form, nested, name + ".", zone)
            if inner:
                values[f.name] = inner
            continue
        items = [v.strip() if isinstance(v, str) else v for v in _all(form, name)]
        items = [v for v in items if v not in ("", None)]
        if not items:
            continue
        if _is_list(f.type):
            values[f.name] = [p.strip() for v in items for p in _LIST_SEPARATORS.split(str(v))
                              if p.strip()]
        elif zone is not None and _is_time(f.type):
            values[f.name] = _in_zone(str(items[-1]), zone)
        else:
            values[f.name] = items[-1]
    return values


def _is_time(annotation: Any) -> bool:
    kinds = [annotation, *get_args(annotation)]
    kinds += [a for k in kinds for a in get_args(k)]  # Optional[Annotated[datetime, ...]]
    return datetime in kinds


def _in_zone(text: str, zone: ZoneInfo) -> str:
    """``2026-12-01T10:00`` as ``2026-12-01T10:00:00+08:00`` in ``zone``; a time with an
    offset, or no time at all, as it came (the body's own check answers it)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    return parsed.replace(tzinfo=zone).isoformat() if parsed.tzinfo is None else text


def _struct_in(annotation: Any) -> type[Any] | None:
    for kind in (annotation, *get_args(annotation)):
        if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            return kind
    return None


def _all(form: Any, name: str) -> list[Any]:
    getall = getattr(form, "getall", None)
    if getall is not None:
        try:
            return list(getall(name))
        except KeyError:
            return []
    value = form.get(name) if hasattr(form, "get") else None
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def _is_list(annotation: Any) -> bool:
    kinds = [annotation, *get_args(annotation)]
    kinds += [a for k in kinds for a in get_args(k)]  # Optional[Annotated[list[...], ...]]
    return any(get_origin(k) in (list, tuple) or k in (list, tuple) for k in kinds)


def run_form(request: Request[Any, Any, Any], state: State, form: Any, command: Command,
             ref: str | None = None) -> CommandResult:
    """Runs ``command`` through ``desk.handle`` as ``kit.run_command`` does for the API, with
    the form's ``_version`` (on a record named by ``ref``) and ``_key`` in place of
    ``If-Match`` and ``Idempotency-Key``; logged as ``<record>.<verb>``."""
    services = kit.services_of(state)
    expected = _version(form) if ref is not None else None
    key = (_all(form, KEY_FIELD) or [None])[-1]
    idempotency = None
    if key:
        digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
        digest.update(repr(command).encode())
        idempotency = IdempotencyKey(key=f"console:{str(key)[:100]}",
                                     fingerprint=digest.hexdigest())
    result: CommandResult = services.desk.handle(command, actor=kit.actor_of(request),
                                                 expected_version=expected,
                                                 idempotency=idempotency)
    kit.log.info(f"{command.record_label}.{command.verb}", outcome="replayed" if result.replayed
                 else "ok", **{command.record_label: result.aggregate.number},
                 actor=kit.actor_of(request), via="console")
    return result


def _version(form: Any) -> int | None:
    raw = (_all(form, VERSION_FIELD) or [None])[-1]
    if raw in (None, ""):
        return None
    try:
        return whole_number(str(raw))
    except NotAWholeNumber as e:
        raise ValidationException("bad _version", extra=[
            {"key": VERSION_FIELD, "message": e.reason}]) from None


def register_ticket(request: Request[Any, Any, Any], state: State, form: Any) -> str:
    """A ticket registered from a form (the desk's intake, the portal's request) exactly as
    ``POST /api/v1/tickets`` registers one (``kit.registration``: a requester's own
    organisation); its number."""
    from zoneinfo import ZoneInfo

    from adapters.http.schemas.tickets import RegisterTicket

    zone = ZoneInfo(kit.services_of(state).settings.timezone)
    body = form_body(form, RegisterTicket, zone)
    return str(run_form(request, state, form, kit.registration(request, body)).aggregate.number)
