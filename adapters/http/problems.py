"""Every error as ``application/problem+json`` (RFC 9457); never a bare 500 page."""

from __future__ import annotations

import re
from typing import Any

import structlog
from eventsourcing.persistence import OperationalError as StoreOperationalError
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

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
# field `title`"); the key, if any, is the object that holds it.
_NAMED_RE = re.compile(r"(?:missing required|contains unknown) field `([^`]*)`")


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        field = item.get("key")
        named = _NAMED_RE.search(message)
        if named:
            holder = "" if not field or field == "data" else str(field)
            field = f"{holder}.{named.group(1)}" if holder else named.group(1)
        elif not field or field == "data":
            m = _KEY_RE.search(message)
            field = (m.group(1) if m else "") or "body"
        errors.append({"field": field, "message": message})
    if not errors:
        errors.append({"field": "body", "message": exc.detail})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(400, "Invalid input", detail, "invalid-input", errors=errors)


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    429: "Too many requests",
}


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    detail = exc.detail
    if status == 413:
        detail = "the request body is over 1 MiB"
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="opsledger"')
    return problem(
        status,
        _TITLES.get(status, "HTTP error"),
        detail,
        f"http-{status}",
        headers=headers or None,
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
        HTTPException: _http,
        **_psycopg_errors(),
        Exception: _unexpected,
    }
