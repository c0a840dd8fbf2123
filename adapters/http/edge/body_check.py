"""A bad request body answered in the order a person reads it (issue 16 item 7).

1. The record's state: a command that its record's state forbids is a ``409`` whatever its
   body (an unknown record a ``404``), before any field is looked at.
2. Every bad field at once: one ``400`` whose ``errors`` name each missing, unknown or invalid
   field of the body (nested ones as ``contact.name``, list items as ``items[0]``), not the
   first one only, which is all msgspec reports.

``state_then_fields`` is an app-wide guard (after ``access.authorize``, so a caller who may
not see the record still gets its ``403``/``404`` first). It looks at bodies only: a body
that decodes strictly into its type passes untouched (the command lane never gets here: it
takes only bodies that decode, ADR 0040); so does a body that is not a JSON object at all,
after the state check (Litestar's path then answers it as before). Command routes name their
record and command in ``opt[STATE_OPT]`` (``kit.command_route``).
"""

from __future__ import annotations

import re
import types
import typing
from datetime import datetime
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.handlers.base import BaseRouteHandler

from adapters.http.schemas import common as s
from adapters.http.kit import COMMAND_OPT, STATE_OPT
from application.command_state import check_state
from application.encoding import TYPE_INFO_LOCK


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_AT = re.compile(r" - at `\$(.*)`$")


async def state_then_fields(connection: ASGIConnection[Any, Any, Any, Any],
                            handler: BaseRouteHandler) -> None:
    """The guard (see the module's docstring)."""
    if connection.scope["method"] not in _BODY_METHODS:
        return
    body_type = _body_type(handler)
    if body_type is None:
        return
    decodes, errors = body_errors(body_type, await connection.body())
    if decodes:
        return
    state = handler.opt.get(STATE_OPT)
    ref = connection.path_params.get("ref")
    if state is not None and ref is not None:
        label, command = state
        await connection.app.state.run_blocking(check_state, connection.app.state.services.desk, str(ref), label,
                       command)
    if errors:
        raise ValidationException("the body has invalid fields", extra=errors)


def _body_type(handler: BaseRouteHandler) -> type[s.Input] | None:
    spec = handler.opt.get(COMMAND_OPT)
    if spec is not None:
        return spec  # type: ignore[no-any-return]
    field = getattr(handler, "parsed_data_field", None)
    if field is None:
        return None
    annotation = field.annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, s.Input):
            return candidate
    return None


def body_errors(body_type: type[msgspec.Struct], raw: bytes) -> tuple[bool, list[dict[str, str]]]:
    """``(True, [])`` when ``raw`` decodes strictly into ``body_type`` (an empty or ``null``
    body: when ``body_type`` has no required field). Otherwise ``(False, errors)``: one
    msgspec-style message per bad field (``problems._validation`` turns each into
    ``{"field", "message"}``), or none when the body is not a JSON object at all."""
    text = raw.strip()
    empty = not text or text == b"null"
    if not empty:
        try:
            s.decode_body(body_type, text)  # ``5.0`` is an integer too (ADR 0044)
            return True, []
        except msgspec.ValidationError:
            pass
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return False, []
        try:
            value = msgspec.json.decode(text)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return False, []
        if not isinstance(value, dict):
            return False, []
    else:
        value = {}
    with TYPE_INFO_LOCK:  # decoders of field types are built here (application.encoding)
        errors = _struct_errors(body_type, value, "")
        if errors:
            return False, errors
        if empty:
            return True, []
        try:  # every field is fine alone: a rule across fields (``__post_init__``) is not
            s.decode_body(body_type, text)
        except msgspec.ValidationError as e:
            return False, [{"message": str(e)}]
    return True, []


def _struct_errors(struct: type[msgspec.Struct], value: dict[str, Any],
                   path: str) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    fields = msgspec.structs.fields(struct)
    names = {f.encode_name for f in fields}
    if struct.__struct_config__.forbid_unknown_fields:
        errors += [_message(f"Object contains unknown field `{key}`", path)
                   for key in value if key not in names]
    for f in fields:
        name = f.encode_name
        where = f"{path}.{name}" if path else name
        if name not in value:
            if f.required:
                errors.append(_message(f"Object missing required field `{name}`", path))
            continue
        nested = _struct_of(f.type)
        if nested is not None and isinstance(value[name], dict):
            inner = _struct_errors(nested, value[name], where)
            if inner:
                errors += inner
                continue
        try:
            decoded = msgspec.json.decode(msgspec.json.encode(value[name]), type=f.type,
                                          strict=True)
        except msgspec.ValidationError as e:
            errors.append({"message": _at(str(e), where)})
            continue
        if isinstance(decoded, datetime) and issubclass(struct, s.Input) and \
                s.out_of_range(decoded):  # ``Input.__post_init__``'s rule, said here too
            errors.append(_message(
                f"Invalid field `{name}`: times must lie between {s.EARLIEST:%Y-%m-%d} and "
                f"{s.LATEST:%Y-%m-%d}", path))
    return errors


def _struct_of(annotation: Any) -> type[msgspec.Struct] | None:
    """The struct type of a field typed ``Struct`` or ``Struct | None``."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        structs = [a for a in typing.get_args(annotation)
                   if isinstance(a, type) and issubclass(a, msgspec.Struct)]
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(structs) == 1 and len(rest) == 1:
            return structs[0]
    return None


def _message(message: str, path: str) -> dict[str, str]:
    """A message about the object at ``path`` ("" the body), as msgspec words it."""
    return {"message": f"{message} - at `$.{path}`" if path else message}


def _at(message: str, where: str) -> str:
    """msgspec's message about a value decoded alone, with its path from the body's root."""
    m = _AT.search(message)
    if m:
        return f"{message[:m.start()]} - at `$.{where}{m.group(1)}`"
    return f"{message} - at `$.{where}`"
