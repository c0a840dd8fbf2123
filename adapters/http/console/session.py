"""Logging in and out of the console (ADR 0049): ``/ui/login``, ``/ui/logout``, and ``/``.

``POST /ui/login`` (``user``, ``password``, the CSRF token) runs ``OpenSession``: the right
password issues a 12-hour session token, set as the ``HttpOnly`` cookie ``opsledger_session``,
and answers ``303`` into the desk (``/ui/``) for staff or the portal (``/portal/``) for a
requester, or back to ``?next=`` when that is a console page. A wrong password (or an unknown
user, which costs the same argon2 check) re-shows the form with ``401``; after five failures in a
row the account is locked for 15 minutes (``423``). ``POST /ui/logout`` revokes the session's
token and clears the cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from adapters.http import kit
from adapters.http.access import ADMIN, OPERATION_OPT, REQUESTER, open_store, principal_of
from adapters.http.console.render import page, words
from adapters.http.edge.browser import LOGIN_PATH, SESSION_COOKIE, is_console
from application.commands.users import SESSION_LIFETIME, LoginLocked, OpenSession, RevokeToken
from application.errors import RecordNotFound
from application.identities import parse_token
from domain.errors import InvalidCommand, TransitionNotAllowed

PUBLIC = {"exclude_from_auth": True}
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def home_of(request: Request[Any, Any, Any]) -> str:
    """Where a caller starts: the portal for a requester, else the desk."""
    principal = principal_of(request)
    return "/portal/" if REQUESTER in principal.roles and ADMIN not in principal.roles else "/ui/"


def _next(target: str | None) -> str | None:
    """``?next=`` only when it is a page of this console (never another site)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target if is_console(parts.path) and parts.path != LOGIN_PATH else None


@get("/", name="console-root", include_in_schema=False, opt=PUBLIC)
async def root(request: Request[Any, Any, Any]) -> Redirect:
    """``/``: the desk or the portal for a logged-in caller (and for everyone on an open
    development store, where nobody logs in), else the login form."""
    if request.cookies.get(SESSION_COOKIE) or await open_store(request.app.state.services,
                                                               request.app.state.run_blocking):
        return Redirect("/ui/", status_code=303)  # the desk sends requesters on to the portal
    return Redirect(LOGIN_PATH, status_code=303)


@get(LOGIN_PATH, name="console-login-form", include_in_schema=False, opt=PUBLIC)
async def login_form(request: Request[Any, Any, Any], next: str | None = None,
                     expired: str | None = None, out: str | None = None) -> Template:
    w = words(request)
    notice = w.t("login.expired") if expired else w.t("login.logged_out") if out else None
    if notice is None and await open_store(request.app.state.services,
                                           request.app.state.run_blocking):
        notice = w.t("app.dev_mode")  # nobody logs in yet: say so, and where to go
    return page(request, "login.html", error=None, notice=notice, user="",
                next=_next(next) or "")


@post(LOGIN_PATH, name="console-login", include_in_schema=False, opt=PUBLIC, status_code=303)
@kit.threaded
def login(request: Request[Any, Any, Any], state: State,
          data: dict[str, str] = Form) -> Response[Any]:
    user = (data.get("user") or "").strip()[:200]
    password = data.get("password") or ""
    target = _next(data.get("next"))
    desk = kit.services_of(state).desk
    w = words(request)
    command = OpenSession(user=user or "-", password=password)
    try:
        result = desk.handle(command, actor=user or "-")
        opened = command.opened(result)
        roles = result.aggregate.roles
    except LoginLocked as e:
        return page(request, "login.html", status_code=423, error=w.t(
            "login.locked", until=w.when(e.until)), notice=None, user=user, next=target or "")
    except (RecordNotFound, InvalidCommand, TransitionNotAllowed):
        desk.passwords.verify(None, password)  # as long as a wrong password takes
        opened, roles = False, ()
    if not opened:
        return page(request, "login.html", status_code=401, error=w.t("login.failed"),
                    notice=None, user=user, next=target or "")
    requester = "requester" in roles and "admin" not in roles
    home = "/portal/" if requester else "/ui/"
    if target is not None and target.startswith("/portal") != requester:
        target = None  # a page of the other side would only send them on
    response = Redirect(target or home, status_code=303)
    response.set_cookie(Cookie(
        key=SESSION_COOKIE, value=command.token, path="/", httponly=True, samesite="lax",
        max_age=int(SESSION_LIFETIME.total_seconds()),
        secure=state.services.settings.secure_cookies))
    return response


@post("/ui/logout", name="console-logout", include_in_schema=False, status_code=303,
      opt={OPERATION_OPT: f"GET {kit.API}/me"})  # anyone signed in
@kit.threaded
def logout(request: Request[Any, Any, Any], state: State) -> Redirect:
    token = request.cookies.get(SESSION_COOKIE)
    parsed = parse_token(token) if token else None
    principal = principal_of(request)
    if parsed is not None and principal.token_id:
        desk = kit.services_of(state).desk
        try:
            desk.handle(RevokeToken(user=principal.user_id, token_id=principal.token_id),
                        actor=principal.user_id)
        except (RecordNotFound, TransitionNotAllowed):
            pass  # already revoked
    response = Redirect(f"{LOGIN_PATH}?out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


HANDLERS = [root, login_form, login, logout]
