"""Errors on the console's pages: the same exception handlers as the API
(``problem_details.exception_handlers``) decide the status and the words, and a browser gets
them as a page in its language instead of problem+json (ADR 0048).

A requester who opens the staff desk is sent to the portal, and staff who open the portal to
the desk. Inside a page, an htmx request gets the error as a fragment (``error_inline.html``),
which the base template's htmx config swaps in where the answer was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.response import Redirect

from adapters.http.access import ADMIN, REQUESTER, principal_of
from adapters.http.console.render import page
from adapters.http.edge.browser import is_console

Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


def for_browsers(handlers: dict[Any, Handler]) -> dict[Any, Handler]:
    """``handlers`` answering console paths with HTML (see the module's docstring)."""
    return {cls: _html_on_console(handler) for cls, handler in handlers.items()}


def _html_on_console(handler: Handler) -> Handler:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        answer = handler(request, exc)
        path = request.url.path
        if not is_console(path):
            return answer
        status = answer.status_code
        principal = principal_of(request)
        requester = REQUESTER in principal.roles and ADMIN not in principal.roles
        if status == 403 and request.method == "GET" and principal.roles:
            if requester and path.startswith("/ui"):
                return Redirect("/portal/", status_code=303)
            if not requester and path.startswith("/portal"):
                return Redirect("/ui/", status_code=303)
        body = answer.content if isinstance(answer.content, dict) else {}
        htmx = request.headers.get("hx-request") == "true"
        return page(request, "error_inline.html" if htmx else "error.html",
                    status_code=status, status=status, detail=str(body.get("detail") or ""),
                    errors=list(body.get("errors") or []),
                    headers={k: v for k, v in answer.headers.items()
                             if k.lower() in ("retry-after", "x-request-id")})

    return handle
