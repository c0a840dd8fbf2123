"""Limits at the HTTP edge (ADR 0037): requests per token, and the shape of a request before
any handler sees it (body media type, path ids and query values).

The edge middleware (``adapters/http/edge/middleware.py``) applies both after authentication: the rate
limit (``rate_limiter``) counts every request of a caller, bad ones too, and a caller is known
by then; ``check_request`` then refuses a malformed request before any handler sees it.
Errors are raised as Litestar exceptions, so they are problem+json like every other answer
(``problems.exception_handlers``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, get_args
from urllib.parse import parse_qsl

from litestar import Litestar, Request
from litestar.exceptions import HTTPException, TooManyRequestsException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware, get_remote_address
from litestar.routes import HTTPRoute
from litestar.types import Receive, Scope, Send

from adapters.http.edge.browser import is_console
from adapters.inputs.numbers import NotAWholeNumber, whole_number
from adapters.settings import Settings
from application.identities import Principal

# Paths that are never limited: the load balancer's health probe must always get through.
UNLIMITED = ["^/healthz"]
MAX_PATH_VALUE = 200  # characters of one path id ("{ref}"), ids and numbers are far shorter
MAX_QUERY_VALUE = 2_000  # characters of one query value (a search is at most 200)
MAX_QUERY_STRING = 32_768  # bytes of the whole query string
# Control characters (C0, DEL, C1): a path id has no use for any; a query value may hold
# tab and newline (a customer filter typed with other spacing is normalised, not refused).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_QUERY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_JSON = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
_WITH_BODY = {"POST", "PUT", "PATCH"}


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def caller_key(request: Request[Any, Any, Any]) -> str:
    """Whom a request counts against: a sha256 of its bearer token (never the token itself,
    which would then sit in the limiter's store), else the client's address."""
    token = _bearer(request)
    if token is None:
        return "addr:" + get_remote_address(request)
    return "token:" + hashlib.sha256(token.encode()).hexdigest()


class RateLimit(RateLimitMiddleware):
    """Litestar's fixed-window limiter, whose 429 also says when to come back
    (``Retry-After``, RFC 9110) besides the ``RateLimit-*`` headers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except TooManyRequestsException as e:
            headers = dict(e.headers or {})
            wait = max(1, int(headers.get(self.config.rate_limit_reset_header_key, "1")))
            unit, count = self.unit, self.max_requests
            raise TooManyRequestsException(
                detail=f"more than {count} requests per {unit} from this caller; "
                f"retry in {wait} s",
                headers={**headers, "Retry-After": str(wait)},
            ) from None


def rate_limiter(settings: Settings) -> DefineMiddleware | None:
    """The per-token limiter of ``OPSLEDGER_RATE_LIMIT`` (None when "off"): called with the
    rest of the stack, it gives the ASGI app that counts. It counts the requests of issued API
    tokens (authentication runs first); the operator's bootstrap token
    (``OPSLEDGER_ADMIN_TOKEN``, used by scripts and load tests) and the callers of an open
    development store carry no token id and are not limited (``counted``: the edge does not
    even enter the limiter for them)."""
    rule = settings.rate_limit_rule
    if rule is None:
        return None

    async def limited(request: Request[Any, Any, Any]) -> bool:
        return counted(request.scope.get("user"))

    config = RateLimitConfig(
        rate_limit=rule,  # type: ignore[arg-type]
        exclude=UNLIMITED,
        identifier_for_request=caller_key,
        check_throttle_handler=limited,
        middleware_class=RateLimit,
    )
    return config.middleware


def counted(user: Any) -> bool:
    """Whether the rate limit counts this caller's requests: an issued API token's."""
    return isinstance(user, Principal) and user.token_id is not None


def _invalid(field: str, message: str) -> ValidationException:
    return ValidationException(f"{field}: {message}", extra=[{"key": field, "message": message}])


#: ``opt`` key of a route that takes ``multipart/form-data`` files (ADR 0056).
FILES_OPT = "opsledger_files"
#: The room a form's boundaries, part headers and text fields take beside its file.
FILES_FORM_OVERHEAD = 64 * 1024


def check_files_length(scope: Scope, headers: dict[bytes, bytes], max_bytes: int) -> None:
    """A route that takes files (``FILES_OPT``, ADR 0056): a body announced larger than the
    file limit and its form's room is a 413 before anything reads it; a console form must
    announce its length (411), since the CSRF check parses the whole form before the
    handler (the JSON API's route counts the bytes as they stream instead)."""
    route = scope.get("route_handler")
    if route is None or not route.opt.get(FILES_OPT) or scope["method"] != "POST":
        return
    length = headers.get(b"content-length", b"").strip()
    if not length:
        if is_console(scope["path"]):
            raise HTTPException(status_code=411, detail="send the form with a Content-Length")
        return
    if not length.isdigit() or int(length) > max_bytes + FILES_FORM_OVERHEAD:
        size = f"{max_bytes / (1024 * 1024):g} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
        raise HTTPException(
            status_code=413,
            detail=f"a file may be at most {size} (OPSLEDGER_ATTACHMENT_MAX_BYTES)",
            extra=[{"key": "file", "message": f"larger than {size}"}])


def _check_body_type(headers: dict[bytes, bytes]) -> None:
    length = headers.get(b"content-length", b"").strip()
    has_body = b"transfer-encoding" in headers or (length not in (b"", b"0"))
    if not has_body:
        return
    media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    # A body is read as JSON only when it says so (ADR 0045): text/plain, a form (what
    # ``curl -d`` sends without ``-H``) or no type at all is a 415, also when it holds JSON --
    # a web page can send those to any address without the browser asking first.
    if not _JSON.match(media.decode("latin-1")):
        given = media.decode("latin-1")[:100] or "none"
        raise HTTPException(
            status_code=415,
            detail=f"the body must be JSON sent with Content-Type: application/json (given: "
                   f"{given}); with curl: -H 'content-type: application/json'",
            extra=[{"key": "Content-Type", "message": "must be application/json"}],
        )


def _check_values(scope: Scope) -> None:
    for name, value in (scope.get("path_params") or {}).items():
        text = str(value)
        if len(text) > MAX_PATH_VALUE:
            raise _invalid(name, f"longer than {MAX_PATH_VALUE} characters")
        if _CONTROL.search(text):
            raise _invalid(name, "contains a control character")
    raw: bytes = scope.get("query_string", b"")
    if not raw:
        return
    if len(raw) > MAX_QUERY_STRING:
        raise _invalid("query", f"the query string is longer than {MAX_QUERY_STRING} bytes")
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise _invalid("query", "not valid percent-encoded UTF-8") from None
    for name, value in pairs:
        if len(value) > MAX_QUERY_VALUE:
            raise _invalid(name, f"longer than {MAX_QUERY_VALUE} characters")
        if _QUERY_CONTROL.search(value) or _CONTROL.search(name):
            raise _invalid(name, "contains a control character")
    _check_query_names(scope, pairs)


#: ``opt`` key of a route whose query is checked at the edge (``declare_queries``): the
#: names it takes, each with whether it is an integer.
QUERY_OPT = "opsledger_query"


def declare_queries(app: Litestar, prefix: str) -> None:
    """Marks every ``GET`` route under ``prefix`` with the query parameters its handler
    takes (``QUERY_OPT``), for ``check_request`` (ADR 0045): any other name is a 400 naming
    it, and an integer parameter takes ASCII digits only (``adapters.inputs.numbers``), before
    Litestar's lax conversion would read ``1e2`` as 100."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(prefix):
            continue
        for method, (handler, kwargs_model) in route.route_handler_map.items():
            if method != "GET":
                continue
            parameters = handler.parsed_fn_signature.parameters
            handler.opt[QUERY_OPT] = {
                p.field_alias: _is_integer(parameters[p.field_name].annotation)
                for p in kwargs_model.expected_query_params}


def _is_integer(annotation: Any) -> bool:
    kinds = [a for a in (get_args(annotation) or (annotation,)) if a is not type(None)]
    return kinds == [int]


def _check_query_names(scope: Scope, pairs: list[tuple[str, str]]) -> None:
    handler = scope.get("route_handler")
    known: dict[str, bool] | None = handler.opt.get(QUERY_OPT) if handler is not None else None
    if known is None:
        return
    unknown = sorted({name for name, _ in pairs if name not in known})
    if unknown:
        expected = ", ".join(sorted(known)) or "none"
        raise ValidationException(
            f"unknown query parameter(s): {', '.join(unknown)} (this route takes: {expected})",
            extra=[{"key": name, "message": f"unknown query parameter; this route takes: {expected}"}
                   for name in unknown])
    for name, value in pairs:
        if known[name]:
            try:
                whole_number(value)
            except NotAWholeNumber as e:
                raise _invalid(name, e.reason) from None


def check_request(scope: Scope, headers: dict[bytes, bytes]) -> None:
    """Refuses, before the handler: a body that is not JSON (415), and path ids or query
    values that are overlong, hold control characters or are not UTF-8, query parameters
    the route does not take and integers that are not ASCII digits (400 naming them).
    A 10 kB ``ref`` or a NUL in ``?assignee=`` never reaches a store (PostgreSQL refuses
    NUL in text: that would be a 500). ``headers``: the request's, by lower-case name."""
    route = scope.get("route_handler")
    if scope["method"] in _WITH_BODY and not is_console(scope["path"]) and not (
            route is not None and route.opt.get(FILES_OPT)):
        # the console's forms post forms, guarded by its CSRF token (ADR 0048); a route that
        # takes files reads its multipart form itself, after the guard (ADR 0056)
        _check_body_type(headers)
    _check_values(scope)
