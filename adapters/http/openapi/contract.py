"""The OpenAPI document as the server's contract (issue 16 item 5, ADR 0044).

Litestar derives the document from the route declarations. What it cannot see there is
completed here, each part from the code that enforces it, so that the document cannot drift
from the server:

1. **Request bodies** are described by msgspec's own JSON Schema of the struct the handler
   decodes them into (``msgspec.json.schema_components``): the same types that decode a body
   strictly (``kit.strict_body``) describe it. Litestar's translation of a struct drops
   ``forbid_unknown_fields`` (``additionalProperties: false``) and every constraint on the
   items of a list (``list[Line]``). A body that may be left out (a handler that takes
   ``X | None``: every field optional) is ``required: false`` and may be ``null``; any other
   body is required and never ``null``. A field whose ``Meta`` carries
   ``extra={DOCUMENT_REQUIRED: True}`` is listed as required (the server takes it as
   optional for some callers only, e.g. a requester's own customer).
2. **Path parameters**: the edge's rule for every path id (``limits.check_request``): 1 to
   ``limits.MAX_PATH_VALUE`` characters, no control character.
3. **Query parameters**: never ``null`` (a query string has no null: a parameter is absent or
   text), and the edge's rule for every value (at most ``limits.MAX_QUERY_VALUE``
   characters, no control character but tab and newline) where the handler's own
   declaration (``adapters.http.params``) states no stricter pattern.

The error answers of every operation are declared by ``problems.document_problems``.
Uses only Litestar's public API: the app's routes and the ``OpenAPI`` spec objects.

The document is built and completed when it is first asked for (``served_document``, run
before every handler of the ``/schema`` router and by ``/docs``), not when the app is made:
building it is about 40 % of ``create_app`` (0.4 s of 1.0 s with 393 handlers), and most apps
— every in-process test's — never serve it.
"""

from __future__ import annotations

import dataclasses
import threading
import types
import typing
from typing import Any

import msgspec
from litestar import Litestar, Request, Router
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPI, Operation, Parameter, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.routes import HTTPRoute

from adapters.http.edge.limits import _CONTROL, _QUERY_CONTROL, MAX_PATH_VALUE, MAX_QUERY_VALUE
from adapters.http.problem_details import document_problems

#: ``Meta(extra={DOCUMENT_REQUIRED: True})`` on a body field: required in the document.
DOCUMENT_REQUIRED = "document_required"
_REF = "#/components/schemas/{name}"
_METHODS = ("get", "put", "post", "patch", "delete")


def _without(control: Any) -> str:
    """A pattern of text without the characters of the edge's ``[...]`` class ``control``."""
    pattern: str = control.pattern
    assert pattern.startswith("[") and pattern.endswith("]"), pattern
    return f"^[^{pattern[1:-1]}]*$"


#: The edge's rules as JSON Schema patterns (``limits._CONTROL``, ``limits._QUERY_CONTROL``).
PATH_TEXT = _without(_CONTROL)
QUERY_TEXT = _without(_QUERY_CONTROL)


#: ``app.state`` key: the app's document is complete (``served_document``).
_COMPLETED = "openapi_document_completed"
_COMPLETING = threading.Lock()


def served_document(app: Litestar) -> OpenAPI:
    """The app's OpenAPI document, built and completed (problems, bodies, parameters) on the
    first call, in one thread at a time; later calls return it as it is."""
    with _COMPLETING:
        openapi = app.openapi_schema
        if not app.state.get(_COMPLETED):
            document_problems(openapi)
            complete_document(app, openapi)
            app.state[_COMPLETED] = True
    return openapi


def _complete_before_serving(request: Request[Any, Any, Any]) -> None:
    served_document(request.app)


def schema_router(path: str) -> Router:
    """The router of Litestar's ``/schema`` pages (``OpenAPIConfig.openapi_router``): as
    Litestar's own, with the document completed before any of them is drawn."""
    return Router(path, route_handlers=[], include_in_schema=False, dto=None, return_dto=None,
                  before_request=_complete_before_serving)


def complete_document(app: Litestar, openapi: OpenAPI) -> OpenAPI:
    """Completes ``openapi`` (the document of ``app``) as described above; idempotent."""
    _request_bodies(app, openapi)
    for item in (openapi.paths or {}).values():
        for method in _METHODS:
            op: Operation | None = getattr(item, method, None)
            if op is not None:
                for parameter in op.parameters or []:
                    if isinstance(parameter, Parameter):
                        _parameter(parameter)
    return openapi


# ------------------------------------------------------------------ bodies


def _body_types(app: Litestar) -> dict[tuple[str, str], Any]:
    """``(path, method)`` -> the annotation of the handler's ``data``."""
    found: dict[tuple[str, str], Any] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            field = handler.parsed_fn_signature.parameters.get("data")
            if field is None or not handler.resolve_include_in_schema():
                continue
            for method in handler.http_methods:
                found[(route.path_format, method.lower())] = field.annotation
    return found


def _optional(annotation: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, ``(X, False)`` for ``X``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _request_bodies(app: Litestar, openapi: OpenAPI) -> None:
    bodies = {key: _optional(annotation) for key, annotation in _body_types(app).items()}
    structs = sorted({t for t, _ in bodies.values()}, key=lambda t: (t.__module__, t.__qualname__))
    if not structs:
        return
    refs, components = msgspec.json.schema_components(structs, ref_template=_REF)
    ref_of = dict(zip(structs, refs, strict=True))
    schemas = openapi.components.schemas
    names = _struct_names(structs)
    for name, schema in components.items():
        if name in names:  # a request struct: msgspec's own description of it
            schemas[name] = _document_required(schema, names[name])
        else:  # an enum: Litestar's has the same values (and is shared with responses)
            schemas.setdefault(name, schema)
    for (path, method), (body, optional) in bodies.items():
        op = getattr(openapi.paths[path], method, None) if path in (openapi.paths or {}) else None
        if op is None or op.request_body is None:
            continue
        schema: dict[str, Any] = ref_of[body]
        if optional:
            schema = {"anyOf": [schema, {"type": "null"}]}
        for media in op.request_body.content.values():
            media.schema = schema  # type: ignore[assignment]  # a JSON Schema as a dict
        op.request_body.required = not optional


def _struct_names(structs: list[type]) -> dict[str, type]:
    """msgspec's component name -> struct, for every struct reachable from ``structs``."""
    seen: dict[str, type] = {}
    pending = list(structs)
    classes: set[type] = set()
    while pending:
        t = pending.pop()
        if t in classes:
            continue
        classes.add(t)
        for f in msgspec.structs.fields(t):
            pending.extend(_structs_in(f.type))
    short = {}
    for t in classes:
        short.setdefault(t.__name__, []).append(t)
    for name, group in short.items():
        if len(group) == 1:
            seen[name] = group[0]
        else:  # msgspec names clashing structs by their full path
            seen.update({f"{t.__module__}.{t.__qualname__}": t for t in group})
    return seen


def _structs_in(annotation: Any) -> list[type]:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return [annotation]
    return [s for a in typing.get_args(annotation) for s in _structs_in(a)]


def _document_required(schema: dict[str, Any], struct: type) -> dict[str, Any]:
    """Lists the fields marked ``DOCUMENT_REQUIRED`` as required, without ``null``."""
    info: Any = msgspec.inspect.type_info(struct)
    for field in info.fields:
        meta = field.type
        if isinstance(meta, msgspec.inspect.UnionType):
            meta = next((t for t in meta.types if not isinstance(t, msgspec.inspect.NoneType)),
                        meta)
        if not (isinstance(meta, msgspec.inspect.Metadata) and (meta.extra or {}).get(
                DOCUMENT_REQUIRED)):
            continue
        prop = schema["properties"][field.encode_name]
        options = [o for o in prop.pop("anyOf", [prop]) if o.get("type") != "null"]
        prop.pop("default", None)
        if len(options) == 1:
            prop.update(options[0])
        else:
            prop["anyOf"] = options
        schema["required"] = sorted({*schema.get("required", []), field.encode_name})
    return schema


# ------------------------------------------------------------- parameters


def _parameter(parameter: Parameter) -> None:
    schema = parameter.schema
    if parameter.param_in == "path":
        if isinstance(schema, Schema) and schema.type == OpenAPIType.STRING and not schema.enum:
            schema.min_length = max(schema.min_length or 0, 1)
            schema.max_length = min(schema.max_length or MAX_PATH_VALUE, MAX_PATH_VALUE)
            schema.pattern = schema.pattern or PATH_TEXT
        return
    if parameter.param_in != "query" or not isinstance(schema, Schema):
        return
    if schema.one_of:  # ``X | None``: absent, or X
        options = [o for o in schema.one_of
                   if not (isinstance(o, Schema) and o.type == OpenAPIType.NULL)]
        if len(options) == 1 and isinstance(options[0], Schema | Reference):
            inner = options[0]
            schema.one_of = None
            if isinstance(inner, Schema):
                for f in dataclasses.fields(inner):
                    if getattr(schema, f.name) is None:
                        setattr(schema, f.name, getattr(inner, f.name))
            else:
                schema.all_of = [inner]
    if schema.type == OpenAPIType.STRING and schema.enum is None:
        schema.max_length = min(schema.max_length or MAX_QUERY_VALUE, MAX_QUERY_VALUE)
        schema.pattern = schema.pattern or QUERY_TEXT


# ------------------------------------------------------------- responses


def also_answers(status: int, description: str, view: Any = None) -> dict[int, ResponseSpec]:
    """A route's ``responses=``: a status it answers besides its own (a ``PUT`` that creates
    answers ``201`` with ``view``; an error status beyond the common ones, whose problem+json
    content ``problems.document_problems`` adds)."""
    return {status: ResponseSpec(data_container=view, description=description,
                                 generate_examples=False)}
