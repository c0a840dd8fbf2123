"""Every error as ``application/problem+json`` (RFC 9457); never a bare 500 page."""

from __future__ import annotations

import re
from typing import Any

import structlog
from eventsourcing.persistence import OperationalError as StoreOperationalError
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.types import Receive, Scope, Send

from application.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    StoreUnavailable,
    RecordNotFound,
    VersionMismatch,
)
from domain.errors import InvalidCommand, TransitionNotAllowed

log = structlog.get_logger("opsledger.http")

PROBLEM = "application/problem+json"
BASE = "https://opsledger.dev/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    kind: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body = {"type": BASE + kind, "title": title, "status": status, "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def _invalid(_: Request[Any, Any, Any], exc: InvalidCommand) -> Response[dict[str, Any]]:
    return problem(
        422,
        "The command breaks a rule",
        exc.detail,
        "invalid-command",
        errors=[{"field": e.field, "message": e.message} for e in exc.errors],
    )


def _transition(_: Request[Any, Any, Any], exc: TransitionNotAllowed) -> Response[dict[str, Any]]:
    return problem(
        409,
        "Command not allowed in the current state",
        str(exc),
        "transition-not-allowed",
        state=exc.state,
        command=exc.command,
        allowed_commands=list(exc.allowed),
        **({"missing": list(exc.missing)} if exc.missing else {}),
    )


def _not_found(_: Request[Any, Any, Any], exc: RecordNotFound) -> Response[dict[str, Any]]:
    return problem(404, "Not found", str(exc), "not-found")


def _version(_: Request[Any, Any, Any], exc: VersionMismatch) -> Response[dict[str, Any]]:
    return problem(
        412,
        "Version mismatch",
        str(exc),
        "version-mismatch",
        headers={"ETag": f'"{exc.actual}"'},
        expected_version=exc.expected,
        current_version=exc.actual,
    )


def _conflict(_: Request[Any, Any, Any], exc: ConcurrencyConflict) -> Response[dict[str, Any]]:
    return problem(409, "Concurrent update", str(exc), "concurrent-update")


def _idem(_: Request[Any, Any, Any], exc: IdempotencyKeyReused) -> Response[dict[str, Any]]:
    return problem(
        422,
        "Idempotency key reused",
        str(exc),
        "idempotency-key-reused",
        errors=[{"field": "Idempotency-Key", "message": "already used with a different body"}],
    )


def _unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.warning("store.unavailable", error=f"{type(exc).__name__}: {exc}")
    return problem(
        503,
        "Store unavailable",
        "the event store cannot be reached right now; retry shortly (with the same "
        "Idempotency-Key: in rare cases a command was recorded but its answer was lost)",
        "store-unavailable",
        headers={"Retry-After": "1"},
    )


_KEY_RE = re.compile(r"`\$\.?([^`]*)`")
# msgspec names a missing or unknown field only in the message ("Object missing required
# field `title`"); the key, if any, is the object that holds it. ``Input.__post_init__``
# names its field the same way ("Invalid field `reported_at`: ...").
_NAMED_RE = re.compile(r"(?:missing required|contains unknown|Invalid) field `([^`]*)`")
_PATTERN_RE = re.compile(r"Expected `str` matching regex '[^']*'")


def _field_of(item: dict[str, Any], message: str) -> str:
    """The dotted field a msgspec/Litestar validation item is about ("body" if none)."""
    key = item.get("key")
    holder = "" if not key or key == "data" else str(key)
    if not holder:
        m = _KEY_RE.search(message)
        holder = m.group(1) if m else ""
    named = _NAMED_RE.search(message)
    if named:
        return f"{holder}.{named.group(1)}" if holder else named.group(1)
    return holder or "body"


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        field = _field_of(item, message)
        # The printable-text rule (ADR 0037) in words rather than as a regular expression.
        message = _PATTERN_RE.sub("Expected text without control characters", message)
        errors.append({"field": field, "message": message})
    if not errors:
        errors.append({"field": "body", "message": exc.detail})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(400, "Invalid input", detail, "invalid-input", errors=errors)


def _undecodable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """msgspec raises ``UnicodeDecodeError`` for a body that is not UTF-8 and
    ``RecursionError`` for one nested too deeply; both are bad input, not server errors.
    Any other such error is a bug and stays a 500."""
    if isinstance(exc, RecursionError) and "deserializing" not in str(exc):
        return _unexpected(request, exc)
    message = ("not valid UTF-8" if isinstance(exc, UnicodeDecodeError)
               else "JSON nested too deeply")
    return problem(400, "Invalid input", f"body: {message}", "invalid-input",
                   errors=[{"field": "body", "message": message}])


def _out_of_range(request: Request[Any, Any, Any], exc: OverflowError) -> Response[dict[str, Any]]:
    """A date so far out (year 1, 9999) that moving it to UTC or adding a deadline to it
    overflows: the request's fault. Query times are checked by name first (``_as_of``)."""
    if "out of range" not in str(exc):
        return _unexpected(request, exc)
    message = "a date or time is out of range"
    return problem(400, "Invalid input", message, "invalid-input",
                   errors=[{"field": "query" if request.query_params else "body",
                            "message": message}])


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
}


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    detail = exc.detail
    if status == 413 and not exc.extra:  # a file's limit names itself (ADR 0056)
        detail = "the request body is over 1 MiB"
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="opsledger"')
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = [{"field": e["key"], "message": e["message"]} for e in extra
              if isinstance(e, dict) and "key" in e and "message" in e]
    if status == 400 and not errors:  # a body that is not JSON at all (Litestar's decoder)
        errors = [{"field": "body", "message": detail}]
    return problem(
        status,
        _TITLES.get(status, "HTTP error"),
        detail,
        f"http-{status}",
        headers=headers or None,
        **({"errors": errors} if errors else {}),
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("http.unexpected_error", path=request.url.path, error=type(exc).__name__)
    return problem(
        500,
        "Internal error",
        "an unexpected error occurred; it has been logged with this request's id",
        "internal-error",
    )


def _psycopg_errors() -> dict[type[Exception], Any]:
    try:
        import psycopg
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover
        return {}
    # InterfaceError: a connection that the database closed under us (it restarted).
    return {psycopg.OperationalError: _unavailable, psycopg.InterfaceError: _unavailable,
            PoolTimeout: _unavailable}


def exception_handlers() -> dict[Any, Any]:
    return {
        InvalidCommand: _invalid,
        TransitionNotAllowed: _transition,
        RecordNotFound: _not_found,
        VersionMismatch: _version,
        ConcurrencyConflict: _conflict,
        IdempotencyKeyReused: _idem,
        StoreUnavailable: _unavailable,
        StoreOperationalError: _unavailable,
        StoreInterfaceError: _unavailable,
        ValidationException: _validation,
        UnicodeDecodeError: _undecodable,
        RecursionError: _undecodable,
        OverflowError: _out_of_range,
        HTTPException: _http,
        **_psycopg_errors(),
        Exception: _unexpected,
    }


def handler_for(exc: Exception) -> Any:
    """The handler of ``exception_handlers()`` that answers ``exc``: the first class of its
    MRO that has one (every exception has: ``Exception`` answers a logged 500)."""
    handlers = exception_handlers()
    return next(handlers[cls] for cls in type(exc).__mro__ if cls in handlers)


async def send_problem(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """Answers ``exc`` as problem+json straight from an ASGI layer (the edge, the command
    lane), as the app's exception handlers answer it on Litestar's path: the same handlers,
    looked up by the exception's class; only Litestar's public API is used."""
    request: Request[Any, Any, Any] = Request(scope=scope, receive=receive, send=send)
    response = handler_for(exc)(request, exc)
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)


# ------------------------------------------------------------------ OpenAPI

_ERRORS: dict[int, str] = {
    400: "Invalid input: errors[] names each field",
    401: "No or bad credentials",
    403: "Not allowed for the caller's roles",
    404: "Unknown id or number (or another customer's record)",
    409: "Not allowed in the record's current state, or a concurrent update",
    410: "Gone: erased with its customer's personal data (ADR 0056)",
    412: "If-Match names an older version",
    413: "Request body over 1 MiB",
    415: "The body is not JSON",
    422: "The command breaks a rule: errors[] names the fields",
    429: "Too many requests with this token: see Retry-After",
    503: "The store cannot be reached right now: see Retry-After",
}


def _problem_schema() -> Schema:
    text = Schema(type=OpenAPIType.STRING)
    error = Schema(type=OpenAPIType.OBJECT, required=["field", "message"],
                   properties={"field": text, "message": text})
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status", "detail"],
        properties={"type": text, "title": text, "status": Schema(type=OpenAPIType.INTEGER),
                    "detail": text, "errors": Schema(type=OpenAPIType.ARRAY, items=error)},
        description="RFC 9457 problem details (API.md, Conventions)",
    )


def _statuses(method: str, path: str, has_body: bool) -> list[int]:
    if path == "/healthz":
        return [503]
    codes = [400, 401, 403, 429, 503]
    if "{" in path:
        codes.append(404)
    if method in ("post", "put"):
        codes += [409, 412, 422]
    if has_body:
        codes += [413, 415]
    return sorted(codes)


def document_problems(openapi: OpenAPI) -> OpenAPI:
    """Declares in the OpenAPI document the problem+json answers every operation can give
    (Litestar documents only a generic JSON 400): the common ones of ``_statuses``, declared
    here once for every operation, and those a route declares itself
    (``contract.also_answers``, e.g. a ``422`` on a read), which get the same content.
    Schemathesis and clients check responses against it. Idempotent; returns ``openapi``."""
    schemas = openapi.components.schemas
    schemas.setdefault("Problem", _problem_schema())
    content = {PROBLEM: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))}
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "patch", "delete"):
            op = getattr(item, method, None)
            if op is None:
                continue
            op.responses = op.responses or {}
            common = _statuses(method, path, op.request_body is not None)
            own = {int(c): r.description for c, r in op.responses.items()
                   if c.isdigit() and int(c) in _ERRORS and int(c) not in common
                   and isinstance(r, OpenAPIResponse)}
            for code in sorted({*common, *own}):
                description = own.get(code, _ERRORS[code])
                op.responses[str(code)] = OpenAPIResponse(description=description,
                                                          content=content)
            op.responses = dict(sorted(op.responses.items()))
    return openapi
