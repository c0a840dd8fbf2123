"""What the edge does for browsers (ADR 0049): the console's session cookie stands for a
bearer token on the console's pages and on reads, and a browser without a session is sent to
the login form instead of being answered 401.

A console session *is* an API token (issued at login, ``application.commands.users
.OpenSession``), carried in the ``HttpOnly`` cookie ``opsledger_session``: authentication,
expiry, revocation (logout) and the role matrix are the tokens' own. The cookie is taken

- on the console's paths (``/``, ``/ui``, ``/portal``), whose forms the CSRF middleware
  guards (``adapters/http/console``), and
- on ``GET``/``HEAD`` anywhere, so that a report or an export opens in the browser,

never on an API command: a JSON command needs its ``Authorization`` header, so another site
cannot make a logged-in browser send one. ``Authorization``, when given, always wins.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote

from litestar.types import Receive, Scope, Send

SESSION_COOKIE = "opsledger_session"
LOGIN_PATH = "/ui/login"
_CONSOLE = ("/ui", "/portal")


def is_console(path: str) -> bool:
    """Whether ``path`` is one of the console's pages (``/``, ``/ui...``, ``/portal...``)."""
    return path == "/" or any(path == p or path.startswith(p + "/") for p in _CONSOLE)


def session_token(scope: Scope, headers: dict[bytes, bytes]) -> str | None:
    """The session cookie's token, when this request may use it (see the module's
    docstring)."""
    raw = headers.get(b"cookie")
    if not raw or not (is_console(scope["path"]) or scope["method"] in ("GET", "HEAD")):
        return None
    try:
        jar = SimpleCookie(raw.decode("latin-1"))
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value.strip() or None if morsel is not None else None


def open_store_caller(scope: Scope) -> bool:
    """Whether the caller came in without a token on an open (development) store."""
    return scope.get("auth") is None and scope.get("user") is not None


async def send_to_login(scope: Scope, receive: Receive, send: Send, *, expired: bool) -> None:
    """A 303 to the login form, coming back here after (``?next=``); a stale session cookie
    is cleared. htmx requests get ``HX-Redirect`` instead, which htmx follows itself."""
    target = scope["path"] + (("?" + scope["query_string"].decode("latin-1"))
                              if scope.get("query_string") else "")
    location = f"{LOGIN_PATH}?next={quote(target, safe='/')}" + ("&expired=1" if expired else "")
    headers: list[tuple[bytes, bytes]] = [(b"location", location.encode()),
                                          (b"content-length", b"0"),
                                          (b"cache-control", b"no-store")]
    if expired:
        headers.append((b"set-cookie", f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; "
                                       "SameSite=Lax".encode()))
    htmx = any(k == b"hx-request" for k, _ in scope["headers"])
    if htmx:
        headers.append((b"hx-redirect", location.encode()))
    await send({"type": "http.response.start", "status": 204 if htmx else 303,
                "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
