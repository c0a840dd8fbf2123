"""HTTP for users and API tokens: ``/api/v1/users``, ``/api/v1/me`` (API.md "Identities",
ADR 0035).

``POST /users`` registers a user (``201`` + ``Location``; the same data again: ``200``, other
data: ``409``); ``GET /users`` (``?role=&customer=``), ``GET /users/{id}`` (``?as_of=``),
``/history``; ``POST /users/{id}/update``, ``/deactivate``, ``/reactivate``. Tokens:
``POST /users/{id}/tokens`` answers the token once (``201``), ``GET /users/{id}/tokens`` and
``/tokens/{token_id}`` show them without secret or digest, ``POST .../revoke`` revokes.
Commands answer the user's view (a token's, for token commands) with ``ETag`` = the user's
version and honour ``If-Match`` and ``Idempotency-Key``. Who may call which route is the
access matrix's business (``adapters/http/access.py``), not this module's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from msgspec.structs import asdict
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException, ValidationException

from adapters.http.schemas import users as ids
from adapters.http.access import principal_of
from adapters.http.schemas import common as s
from adapters.http import kit
from adapters.http.params import AsOf, choice
from application import identities as uc
from application.commands.base import Command
from application.commands.users import (
    DeactivateUser,
    IssueToken,
    ReactivateUser,
    RegisterUser,
    RevokeToken,
    SetPassword,
    UpdateUser,
)
from application.desk import CommandResult, ServiceDesk
from application.errors import RecordNotFound
from application.identities import UserExists
from domain.identity import ROLES, Role

TAG = "users"
RoleFilter = choice([r.value for r in Role], "Users with this role")
USERS = f"{kit.API}/users"
USER = f"{USERS}/{{user:str}}"
TOKEN = f"{USER}/tokens/{{token_id:str}}"


def _location(user: str, *rest: str) -> str:
    return "/".join((USERS, quote(user, safe=""), *rest))


def _run(request: Request[Any, Any, Any], state: State, data: Any, command: Command,
         ref: str | None,
         respond: Callable[[CommandResult, ServiceDesk], Response[Any]]) -> Response[Any]:
    """``kit.run_command`` for users (``Idempotency-Key``, ``If-Match`` when ``ref`` names the
    user, the ``user.<verb>`` log line: never a token, the answer is not logged)."""
    return kit.run_command(request, state, data, command, ref, respond=respond)


def _answer(result: CommandResult, body: Any, status: int = 200,
            location: str | None = None) -> Response[Any]:
    headers = {"ETag": f'"{result.aggregate.version}"'}
    if location is not None:
        headers["Location"] = location
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body, status_code=status, headers=headers)


def _user_answer(result: CommandResult, _: Any = None) -> Response[ids.UserView]:
    user = result.aggregate
    return _answer(result, ids.user_view(user), 201 if result.created else 200,
                   _location(user.user) if result.created else None)


# ---------------------------------------------------------------- users


@post(USERS, summary="Register a user (roles, a requester's customer, skills, groups)",
      tags=[TAG], status_code=201, name="user-register",
      opt={kit.COMMAND_CLASS_OPT: RegisterUser})
@kit.threaded
def register_user(request: Request[Any, Any, Any], state: State,
                  data: ids.RegisterUser) -> Response[ids.UserView]:
    try:
        return _run(request, state, data, RegisterUser(**asdict(data)), None, _user_answer)
    except UserExists as e:
        raise ClientException(str(e), status_code=409) from None


@get(USERS, summary="Every user (optionally with a role, or of a customer)", tags=[TAG],
     name="user-list")
@kit.threaded
def list_users(state: State, role: RoleFilter = None,
               customer: str | None = None) -> ids.UserList:
    if role is not None and role not in ROLES:
        raise ValidationException("unknown role", extra=[{
            "key": "role", "message": f"roles: {', '.join(r.value for r in Role)}"}])
    users = uc.list_users(kit.services_of(state).desk, role=role, customer=customer)
    return ids.UserList(items=[ids.user_view(u) for u in users], count=len(users))


@get(USER, summary="A user (optionally as of a past time)", tags=[TAG], name="user-get")
@kit.threaded
def get_user(state: State, user: str, as_of: AsOf = None) -> Response[ids.UserView]:
    u = uc.get_user(kit.services_of(state).desk, user, kit.parse_as_of(as_of))
    return kit.versioned(ids.user_view(u), u.version)


@get(f"{USER}/history", summary="Every event of a user, oldest first", tags=[TAG],
     name="user-history")
@kit.threaded
def user_history(state: State, user: str) -> list[s.HistoryItem]:
    return kit.history_items(uc.user_history(kit.services_of(state).desk, user))


@post(f"{USER}/update", summary="Change a user's name, roles, customer, skills or groups",
      tags=[TAG], status_code=200, name="user-update", opt={kit.COMMAND_CLASS_OPT: UpdateUser})
@kit.threaded
def update_user(request: Request[Any, Any, Any], state: State, user: str,
                data: ids.UpdateUser) -> Response[ids.UserView]:
    return _run(request, state, data, UpdateUser(user=user, **asdict(data)), user,
                _user_answer)


@post(f"{USER}/deactivate", summary="Deactivate a user (their tokens stop working)",
      tags=[TAG], status_code=200, name="user-deactivate",
      opt={kit.COMMAND_CLASS_OPT: DeactivateUser})
@kit.threaded
def deactivate_user(request: Request[Any, Any, Any], state: State, user: str,
                    data: ids.Deactivate | None = None) -> Response[ids.UserView]:
    body = data or ids.Deactivate()
    return _run(request, state, body, DeactivateUser(user=user, **asdict(body)), user,
                _user_answer)


@post(f"{USER}/reactivate", summary="Reactivate a user", tags=[TAG], status_code=200,
      name="user-reactivate",
      opt={kit.COMMAND_CLASS_OPT: ReactivateUser})
@kit.threaded
def reactivate_user(request: Request[Any, Any, Any], state: State, user: str,
                    data: s.Empty | None = None) -> Response[ids.UserView]:
    return _run(request, state, data or s.Empty(), ReactivateUser(user=user), user,
                _user_answer)


# --------------------------------------------------------------- tokens


@post(f"{USER}/tokens", summary="Issue an API token (the token is shown this once)",
      tags=[TAG], status_code=201, name="user-token-issue",
      opt={kit.COMMAND_CLASS_OPT: IssueToken})
@kit.threaded
def issue_token(request: Request[Any, Any, Any], state: State, user: str,
                data: ids.IssueToken | None = None) -> Response[ids.IssuedTokenView]:
    body = data or ids.IssueToken()
    command = IssueToken(user=user, **asdict(body))  # the token is made with the command

    def respond(result: CommandResult, _: ServiceDesk) -> Response[Any]:
        issued = uc.issued_token(command, result)
        return _answer(result, ids.issued_view(issued), 201,
                       _location(result.aggregate.user, "tokens", issued.issued.token_id))

    return _run(request, state, body, command, user, respond)


@get(f"{USER}/tokens", summary="A user's API tokens (never their secrets)", tags=[TAG],
     name="user-token-list")
@kit.threaded
def list_tokens(state: State, user: str) -> ids.TokenList:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    items = [ids.token_view(t, now) for t in uc.list_tokens(desk, user)]
    return ids.TokenList(items=items, count=len(items))


@get(TOKEN, summary="One API token of a user (never its secret)", tags=[TAG],
     name="user-token-get")
@kit.threaded
def get_token(state: State, user: str, token_id: str) -> ids.TokenView:
    desk = kit.services_of(state).desk
    return ids.token_view(uc.get_token(desk, user, token_id), desk.clock.now())


@post(f"{TOKEN}/revoke", summary="Revoke an API token (refused from now on)", tags=[TAG],
      status_code=200, name="user-token-revoke",
      opt={kit.COMMAND_CLASS_OPT: RevokeToken})
@kit.threaded
def revoke_token(request: Request[Any, Any, Any], state: State, user: str, token_id: str,
                 data: s.Empty | None = None) -> Response[ids.TokenView]:
    def respond(result: CommandResult, desk: ServiceDesk) -> Response[Any]:
        return _answer(result, ids.token_view(result.aggregate.token(token_id), desk.clock.now()))

    return _run(request, state, data or s.Empty(), RevokeToken(user=user, token_id=token_id),
                user, respond)


# ------------------------------------------------------------- password


@post(f"{USER}/password", summary="Set a user's console password (admin, or the user)",
      tags=[TAG], status_code=204, name="user-password",
      opt={kit.COMMAND_CLASS_OPT: SetPassword})
@kit.threaded
def set_password(request: Request[Any, Any, Any], state: State, user: str,
                 data: ids.SetPassword) -> Response[None]:
    def respond(result: CommandResult, _: ServiceDesk) -> Response[None]:
        return Response(None, status_code=204,
                        headers={"ETag": f'"{result.aggregate.version}"'})

    return _run(request, state, data, SetPassword(user=user, password=data.password), user,
                respond)


# ------------------------------------------------------------------- me


@get(f"{kit.API}/me", summary="The caller: their user and roles", tags=[TAG], name="me")
@kit.threaded
def me(request: Request[Any, Any, Any], state: State) -> ids.MeView:
    p = principal_of(request)
    try:
        user = uc.get_user(kit.services_of(state).desk, p.user_id)
    except RecordNotFound:  # the bootstrap admin, or a caller named in open mode
        user = None
    return ids.me_view(p, user)


HANDLERS = [
    register_user, list_users, get_user, user_history, update_user, deactivate_user,
    reactivate_user, issue_token, list_tokens, get_token, revoke_token, set_password, me,
]
