"""The command lane: POST commands with a well-formed JSON body skip Litestar's per-request
handler machinery (ADR 0040).

For every request Litestar builds the handler's arguments (the body decoded, then converted
to the body type in msgspec's lax mode -- which ``kit.threaded`` then decodes again strictly),
copies the route handler for each guard call, and turns the answer into an ``ASGIResponse``:
about 0.1 ms per command on the event loop that every request shares. For the command routes
(``kit.command_route`` and ticket registration mark them with ``COMMAND_OPT``) this lane does
the same steps once each: the guard (``access.authorize``), the body decoded strictly into
its type, the handler in a worker thread (or on the loop where commands run inline, ADR
0039), its ``Response``; errors go through Litestar's
exception handling of the route as before (problem+json).

Anything unusual takes Litestar's path unchanged, so every error answer stays what it was:
no or an oversized ``Content-Length``, an empty or ``null`` body, a body that is not JSON or
not of its type (Litestar reads the body this lane already read: it keeps it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.http.access import authorize
from adapters.http.kit import COMMAND_OPT
from adapters.http.problem_details import send_problem
from adapters.http.speed.threads import run_sync
from adapters.inputs.numbers import NotAWholeNumber, whole_number



def command_lane(app: ASGIApp) -> ASGIApp:
    """The middleware: commands go the lane, everything else (and anything unusual) to ``app``."""

    async def lane(scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope["route_handler"]
        spec = handler.opt.get(COMMAND_OPT)
        if spec is None or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is None or length > handler.resolve_request_max_body_size():
            await app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = handler.resolve_request_class()(
            scope=scope, receive=receive, send=send)
        try:
            data = msgspec.json.decode(await request.body(), type=spec, strict=True)
        except Exception:  # noqa: BLE001 - Litestar's path answers it, as it always did
            await app(scope, receive, send)
            return

        try:
            await authorize(request, handler)
            kwargs: dict[str, Any] = {"request": request, "state": scope["litestar_app"].state,
                                      "data": data}
            if "ref" in scope["path_params"]:
                kwargs["ref"] = scope["path_params"]["ref"]
            if kwargs["state"].services.settings.commands_inline:  # on the loop (ADR 0039)
                response = _call(handler.fn.__wrapped__, kwargs)
            else:
                response = await run_sync(_call, handler.fn.__wrapped__, kwargs)
            answer = response.to_asgi_response(app=None, request=request,
                                               media_type=handler.media_type,
                                               status_code=handler.status_code)
        except Exception as exc:  # noqa: BLE001 - answered as on Litestar's path: problem+json
            await send_problem(scope, receive, send, exc)
            return
        await answer(scope, receive, send)

    return lane


def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return fn(**kwargs)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return whole_number(value.strip())
            except NotAWholeNumber:
                return None  # Litestar's path answers it
    return None
