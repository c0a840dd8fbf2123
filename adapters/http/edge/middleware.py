"""The edge of every HTTP request, in front of the route handlers (ADR 0040): the request id,
authentication, the rate limit, the request's shape and the masking of answers.

One plain ASGI layer does what five did (the request-id middleware, Litestar's
authentication middleware, the rate limiter, the input guard, the masking middleware): each
layer cost a frame, a wrapper and its own look at the headers, about 0.1 ms per request
together on the event loop every request shares. The order is unchanged:

1. the request id (``X-Request-Id`` when given, else a new one) is bound to the logs and
   added to the answer;
2. authentication (``access.authenticate_caller``) puts the caller in ``scope["user"]``,
   except on ``/healthz``, ``/schema``, ``/docs``, routes marked ``exclude_from_auth`` and
   ``OPTIONS`` (as Litestar's authentication middleware excluded them);
3. the rate limit (``limits.rate_limiter``) counts the requests of issued API tokens; other
   callers never enter it;
4. ``limits.check_request`` refuses a body that is not JSON and malformed path or query
   values;
5. callers that do not see contact data get their answers masked (``access.masking_send``).

Errors are Litestar exceptions, turned into problem+json by the app's exception handlers; those
raised here are answered here, so that they carry the request id as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import structlog
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from litestar.exceptions import NotAuthorizedException

from adapters.http.access import authenticate_caller, masking_send, needs_masking
from adapters.http.edge.browser import is_console, send_to_login, session_token
from adapters.http.edge.limits import check_files_length, check_request, counted, rate_limiter
from adapters.http.problem_details import send_problem
from adapters.settings import Settings
from application.identities import Principal

#: Paths that need no token (as routes marked ``exclude_from_auth`` and ``OPTIONS``).
PUBLIC_PATHS = ("/healthz", "/schema", "/docs")


def edge(settings: Settings) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware for ``create_app`` (see the module's docstring)."""
    limiter = rate_limiter(settings)

    def middleware(app: ASGIApp) -> ASGIApp:
        async def checked(scope: Scope, receive: Receive, send: Send) -> None:
            check_request(scope, dict(scope["headers"]))
            check_files_length(scope, dict(scope["headers"]), settings.attachment_max_bytes)
            user = scope.get("user")
            if isinstance(user, Principal) and needs_masking(user):
                send = masking_send(send)
            await app(scope, receive, send)

        limited = limiter(checked) if limiter is not None else None

        async def call(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            raw = scope["headers"]
            headers = dict(raw)
            request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:100] or uuid.uuid4().hex
            scope.setdefault("state", {})["request_id"] = request_id
            send = _with_request_id(send, request_id.encode())
            structlog.contextvars.bind_contextvars(request_id=request_id)
            try:
                if not _public(scope):
                    first = dict(reversed(raw))  # the first of repeated headers, as Litestar's
                    authorization = _text(first.get(b"authorization"))
                    cookie = None if authorization else session_token(scope, first)
                    try:
                        scope["user"], scope["auth"] = await authenticate_caller(
                            scope["litestar_app"].state,
                            authorization or (f"Bearer {cookie}" if cookie else None),
                            _text(first.get(b"x-opsledger-actor")))
                    except NotAuthorizedException:
                        if not (authorization is None and is_console(scope["path"])):
                            raise
                        # a browser on a page: to the login form (browser.py, ADR 0049)
                        await send_to_login(scope, receive, send, expired=cookie is not None)
                        return
                if limited is not None and counted(scope.get("user")):
                    await limited(scope, receive, send)
                else:
                    await checked(scope, receive, send)
            except Exception as exc:
                # Refused here (401, 429, 400, 415, ...): answered through the app's exception
                # handlers like any error, but with this request's id on the answer too.
                if ScopeState.from_scope(scope).response_started or is_console(scope["path"]):
                    raise  # the console's errors are pages (console/errors.py)
                await send_problem(scope, receive, send, exc)
            finally:
                structlog.contextvars.unbind_contextvars("request_id")

        return call

    return middleware


def _public(scope: Scope) -> bool:
    """Requests that need no token."""
    handler = scope.get("route_handler")
    return bool(
        (handler is not None and handler.opt.get("exclude_from_auth"))
        or scope.get("method") == "OPTIONS"
        or scope["path"].startswith(PUBLIC_PATHS)
    )


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _with_request_id(send: Send, request_id: bytes) -> Send:
    async def send_with_id(message: Any) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
        await send(message)

    return send_with_id
