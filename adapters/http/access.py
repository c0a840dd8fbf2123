"""Who may call what: authentication, the route × role matrix, customer scoping and the
masking of personal data (issue 7, ADR 0036; the matrix is docs/authorization.md).

- ``authenticate_caller`` (called by the edge middleware, ``adapters/http/edge/middleware.py``) turns
  ``Authorization: Bearer <token>`` into a ``Principal``: the operator's
  ``OPSLEDGER_ADMIN_TOKEN`` is the admin, any other token is looked up by
  ``application.identities.authenticate`` (hash only, cached). No or a bad token is a ``401``. A store with no users and no admin token configured is a development
  store and stays open: the caller is an admin named by ``X-Opsledger-Actor``.
- ``RULES`` maps every operation (``METHOD /path/{template}``, as in the OpenAPI document)
  to the roles that may call it and how the rows are scoped. ``authorize`` is the app-wide
  guard: an operation without a rule is refused (fail closed) and a test walks the OpenAPI
  document so that a new route without a rule fails the suite.
- Scoping: a requester reaches only records of their own customer organisation; another
  customer's record answers ``404`` exactly as an unknown id does, so existence does not leak.
  An engineer works (start, log work, wait, resume, resolve) only tickets assigned to them or
  to one of their groups (``403`` otherwise). Lists are filtered by ``scoped_customer``.
- Masking: roles that do not need contact data (auditor, requester) get contact names,
  phones, e-mails and signers masked (``李*``, ``138****5678``) in every JSON answer (views,
  lists, searches, history, the audit log), by one wrapper over the encoded answer
  (``masking_send``, put in by the edge middleware), so a new endpoint cannot forget it.
"""

from __future__ import annotations

import hmac
import weakref
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import (NotAuthorizedException, NotFoundException, PermissionDeniedException,
                                 ValidationException)
from litestar.handlers.base import BaseRouteHandler
from litestar.datastructures import State
from litestar.types import Send

from adapters.container import Services
from application.errors import RecordNotFound
from application.search import Scope
from application.identities import (Principal, authenticate, has_identities, token_cache,
                                   token_digest)
from domain.customer import normalise_customer_id

API = "/api/v1"

REQUESTER, AGENT, DISPATCHER, ENGINEER = "requester", "agent", "dispatcher", "engineer"
MANAGER, AUDITOR, ADMIN = "manager", "auditor", "admin"
ROLES = (REQUESTER, AGENT, DISPATCHER, ENGINEER, MANAGER, AUDITOR, ADMIN)

#: Roles that see contact data in clear; everyone else sees it masked.
UNMASKED = frozenset({AGENT, DISPATCHER, ENGINEER, MANAGER, ADMIN})

BOOTSTRAP_ADMIN = Principal(user_id="admin", name="bootstrap admin", roles=frozenset({ADMIN}),
                            customer=None, groups=frozenset(), skills=(), token_id=None)

# How often an open (development) store re-checks whether users have been registered since.
_OPEN_RECHECK_SECONDS = 1.0


# --------------------------------------------------------------- authentication


async def authenticate_caller(state: State, authorization: str | None,
                              actor: str | None) -> tuple[Principal, str | None]:
    """``Authorization: Bearer <token>`` → the ``Principal`` that goes into ``request.user``
    and what goes into ``request.auth`` (the token's id, ``"bootstrap"`` or None). The edge
    middleware (``adapters/http/edge/middleware.py``) calls this; ``actor`` is ``X-Opsledger-Actor``,
    the caller's name on an open development store. ``state``: the app's (its ``services``
    and ``run_blocking``, the way off the event loop)."""
    services: Services = state.services
    run_blocking = state.run_blocking
    if authorization is None:
        if await open_store(services, run_blocking):
            return _open_principal((actor or "").strip()[:200] or "anonymous"), None
        raise NotAuthorizedException("send Authorization: Bearer <token>")
    scheme, _, given = authorization.partition(" ")
    token = given.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException("send Authorization: Bearer <token>")
    admin = services.settings.admin_token
    if admin is not None and hmac.compare_digest(token.encode(), admin.encode()):
        return BOOTSTRAP_ADMIN, "bootstrap"
    desk = services.desk
    principal = token_cache(desk).get(token_digest(token), desk.clock.now())  # no hop
    if principal is None:
        principal = await run_blocking(authenticate, desk, token)
    if principal is None:
        raise NotAuthorizedException("the token is not valid (unknown, expired or revoked)")
    return principal, principal.token_id


@dataclass
class _OpenState:
    owner: weakref.ref[Services]
    open: bool = True
    checked: float = float("-inf")


_open_states: dict[int, _OpenState] = {}


async def open_store(services: Services, run_blocking: Any) -> bool:
    """True while the store has no users and no admin token is configured (development)."""
    if services.settings.admin_token is not None:
        return False
    state = _open_states.get(id(services))
    if state is None or state.owner() is not services:
        # New services, or new ones where old ones were (an ``id`` is reused once its object
        # is gone): the old state must not be inherited -- it said "closed" to a fresh store.
        state = _open_states[id(services)] = _OpenState(weakref.ref(services))
    if state.open and token_cache(services.desk).any_users:  # registered in this process
        state.open = False
    if state.open and time.monotonic() - state.checked > _OPEN_RECHECK_SECONDS:
        state.open = not await run_blocking(has_identities, services.desk)
        state.checked = time.monotonic()
    return state.open


def _open_principal(actor: str) -> Principal:
    return Principal(user_id=actor, name=actor, roles=frozenset({ADMIN}), customer=None,
                     groups=frozenset(), skills=(), token_id=None)


NOBODY = Principal(user_id="anonymous", name="anonymous", roles=frozenset(), customer=None,
                   groups=frozenset(), skills=(), token_id=None)

#: Paths anyone may read without a token: health, the OpenAPI document, the docs page.
_PUBLIC = ("/healthz", "/schema", "/docs")


def principal_of(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller (nobody, with no roles, on the public paths)."""
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else NOBODY


# ----------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Rule:
    """Who may call one operation. ``scope`` says which rows a scoped role reaches:
    ``customer`` (requesters: their organisation's records, the record named by the
    path's first parameter of kind ``kind``), ``assigned`` (engineers: tickets assigned to
    them or their groups), ``self`` (a user's own identity)."""

    roles: frozenset[str]
    kind: str | None = None  # the record in the path: ticket, project, customer, user
    engineer_assigned: bool = False
    note: str = ""


def _r(*roles: str, kind: str | None = None, assigned: bool = False, note: str = "") -> Rule:
    return Rule(frozenset({*roles, ADMIN}), kind, assigned, note)


EVERYONE = (REQUESTER, AGENT, DISPATCHER, ENGINEER, MANAGER, AUDITOR)
STAFF_ROLES = (AGENT, DISPATCHER, ENGINEER, MANAGER, AUDITOR)
DESK = (AGENT, DISPATCHER, MANAGER)  # the service desk's front line
WORK = (ENGINEER, MANAGER)  # those who work tickets (engineers: their own)
TECH = (ENGINEER, DISPATCHER, MANAGER)  # problem and knowledge workers

_T = f"{API}/tickets/{{ref}}"
_P = f"{API}/projects/{{ref}}"
_C = f"{API}/changes/{{ref}}"
_PRB = f"{API}/problems/{{ref}}"
_U = f"{API}/users/{{user}}"
_AGR, _CMP = f"{API}/agreements/{{ref}}", f"{API}/complaints/{{ref}}"  # ADR 0066
_RSK, _MI = f"{API}/risks/{{ref}}", f"{API}/major-incidents/{{ref}}"  # ADR 0067

RULES: dict[str, Rule] = {
    # tickets
    f"POST {API}/tickets": _r(REQUESTER, AGENT, DISPATCHER, ENGINEER, MANAGER,
                              note="requesters: for their own organisation only"),
    f"GET {API}/tickets": _r(*EVERYONE, note="requesters: their organisation's tickets only"),
    f"GET {_T}": _r(*EVERYONE, kind="ticket"),
    f"GET {_T}/history": _r(*EVERYONE, kind="ticket"),
    f"GET {_T}/notices": _r(*STAFF_ROLES, kind="ticket",
                            note="the notices' delivery status; addresses masked as contacts "
                                 "(ADR 0059)"),
    f"POST {_T}/invalidate": _r(*DESK, kind="ticket"),
    f"POST {_T}/classify": _r(DISPATCHER, MANAGER, kind="ticket"),
    f"POST {_T}/assign": _r(DISPATCHER, MANAGER, kind="ticket"),
    f"POST {_T}/escalate": _r(DISPATCHER, MANAGER, kind="ticket"),
    f"POST {_T}/start": _r(*WORK, kind="ticket", assigned=True),
    f"POST {_T}/log_work": _r(*WORK, kind="ticket", assigned=True),
    f"POST {_T}/await_customer": _r(*WORK, kind="ticket", assigned=True),
    f"POST {_T}/resume": _r(*WORK, kind="ticket", assigned=True),
    f"POST {_T}/resolve": _r(*WORK, kind="ticket", assigned=True),
    f"POST {_T}/confirm": _r(REQUESTER, AGENT, MANAGER, kind="ticket"),
    f"POST {_T}/close": _r(REQUESTER, AGENT, MANAGER, kind="ticket"),
    f"POST {_T}/reopen": _r(REQUESTER, AGENT, MANAGER, kind="ticket"),
    f"POST {_T}/feedback": _r(REQUESTER, AGENT, MANAGER, kind="ticket"),
    f"POST {_T}/add_information": _r(REQUESTER, AGENT, DISPATCHER, MANAGER, kind="ticket",
                                     note="the customer's words (ADR 0052)"),
    f"POST {_T}/link_problem": _r(*TECH, kind="ticket"),
    f"POST {_T}/comment": _r(REQUESTER, AGENT, DISPATCHER, ENGINEER, MANAGER, kind="ticket",
                             assigned=True, note="a note, public or internal; requesters: "
                             "always the customer's public message; internal notes are read "
                             "by staff only, not by requesters or auditors (ADR 0055)"),
    # queues and SLA figures (staff)
    f"GET {API}/queues/{{name}}": _r(*STAFF_ROLES, note="mine: the caller's own open tickets"),
    f"GET {API}/queues/by-assignee/{{assignee}}": _r(*STAFF_ROLES),
    f"GET {API}/sla/compliance": _r(DISPATCHER, MANAGER, AUDITOR),
    # calendars, SLA policies, standard change models: everyone reads, admins manage
    f"GET {API}/calendars": _r(*EVERYONE),
    f"GET {API}/calendars/{{slug}}": _r(*EVERYONE),
    f"PUT {API}/calendars/{{slug}}": _r(),
    f"GET {API}/sla-policies": _r(*EVERYONE),
    f"GET {API}/sla-policies/{{slug}}": _r(*EVERYONE),
    f"PUT {API}/sla-policies/{{slug}}": _r(),
    f"GET {API}/standard-changes": _r(*STAFF_ROLES),
    f"GET {API}/standard-changes/{{slug}}": _r(*STAFF_ROLES),
    f"PUT {API}/standard-changes/{{slug}}": _r(MANAGER),
    # customers and their personal data
    f"GET {API}/customers": _r(*STAFF_ROLES),
    f"POST {API}/customers": _r(AGENT, MANAGER),
    f"GET {API}/customers/{{customer}}": _r(*EVERYONE, kind="customer"),
    f"POST {API}/customers/{{customer}}/assign_sla_policy": _r(MANAGER),
    f"POST {API}/customers/{{customer}}/erase_personal_data": _r(),
    f"GET {API}/customers/{{customer}}/erasures": _r(MANAGER, AUDITOR),
    # problems and the knowledge base (staff)
    f"GET {API}/problems": _r(*STAFF_ROLES),
    f"POST {API}/problems": _r(*TECH),
    f"GET {_PRB}": _r(*STAFF_ROLES),
    f"GET {_PRB}/history": _r(*STAFF_ROLES),
    **{f"POST {_PRB}/{c}": _r(*TECH) for c in (
        "classify", "link_ticket", "link_tickets", "record_root_cause", "record_workaround",
        "mark_known_error", "resolve", "close")},
    f"GET {API}/knowledge": _r(*EVERYONE, note="requesters: published public articles only"),
    f"POST {API}/knowledge": _r(*TECH),
    f"GET {API}/knowledge/{{ref}}": _r(*EVERYONE,
                                      note="requesters: published public articles only"),
    f"GET {API}/knowledge/{{ref}}/history": _r(*STAFF_ROLES),
    f"POST {API}/knowledge/{{ref}}/revise": _r(*TECH),
    f"POST {API}/knowledge/{{ref}}/retire": _r(*TECH),
    # changes (staff; managers approve)
    f"GET {API}/changes": _r(*STAFF_ROLES),
    f"GET {API}/changes/calendar": _r(*STAFF_ROLES),
    f"POST {API}/changes": _r(*TECH, AGENT),
    f"GET {_C}": _r(*STAFF_ROLES),
    f"GET {_C}/history": _r(*STAFF_ROLES),
    **{f"POST {_C}/{c}": _r(ENGINEER, MANAGER) for c in (
        "assess", "plan", "start", "complete", "roll_back", "start_trial", "evaluate",
        "raise_improvement", "cancel")},
    f"POST {_C}/review": _r(MANAGER),
    f"POST {_C}/approve_emergency": _r(MANAGER),
    f"POST {_C}/close": _r(MANAGER),
    f"POST {_C}/customer_review": _r(AGENT, MANAGER, note="recorded by staff with the customer's evidence"),
    f"POST {_C}/consent": _r(AGENT, MANAGER, note="recorded by staff with the customer's evidence"),
    # delivery projects (requesters: their organisation's projects and reports)
    f"GET {API}/projects": _r(*EVERYONE, note="requesters: their organisation's projects only"),
    f"POST {API}/projects": _r(MANAGER),
    f"GET {_P}": _r(*EVERYONE, kind="project"),
    f"GET {_P}/history": _r(*EVERYONE, kind="project"),
    f"GET {_P}/routines": _r(*EVERYONE, kind="project"),
    f"GET {_P}/reports/{{period}}": _r(*EVERYONE, kind="project",
                                      note="requesters: problems and changes without titles"),
    **{f"POST {_P}/{c}": _r(MANAGER, kind="project") for c in (
        "approve", "plan", "schedule_routine", "submit_report", "raise_improvement", "accept",
        "close")},
    f"POST {_P}/record_routine": _r(ENGINEER, MANAGER, kind="project"),
    f"POST {_P}/record_check": _r(ENGINEER, MANAGER, kind="project"),
    f"POST {_P}/record_survey": _r(REQUESTER, AGENT, MANAGER, kind="project"),
    # announcements of planned maintenance (ADR 0060): the desk publishes, customers read
    f"GET {API}/announcements": _r(*EVERYONE, note="requesters: those whose scope names "
                                   "their organisation"),
    f"POST {API}/announcements": _r(DISPATCHER, MANAGER),
    f"GET {API}/announcements/{{ref}}": _r(*EVERYONE, note="requesters: only when its scope "
                                          "names their organisation (else 404)"),
    f"GET {API}/announcements/{{ref}}/history": _r(*STAFF_ROLES),
    f"POST {API}/announcements/{{ref}}/withdraw": _r(DISPATCHER, MANAGER),
    # configuration items (配置项, ADR 0063): the desk and engineers keep the library;
    # requesters read their organisation's CIs and what depends on them
    f"GET {API}/cis": _r(*EVERYONE, note="requesters: their organisation's CIs only"),
    f"POST {API}/cis": _r(DISPATCHER, ENGINEER, MANAGER),
    f"POST {API}/cis/import": _r(DISPATCHER, MANAGER, note="apply: false previews"),
    f"GET {API}/cis/libraries": _r(*STAFF_ROLES),
    f"GET {API}/cis/verification": _r(*STAFF_ROLES),
    f"POST {API}/cis/verification": _r(DISPATCHER, ENGINEER, MANAGER),
    f"GET {API}/cis/{{ref}}": _r(*EVERYONE, kind="ci"),
    f"GET {API}/cis/{{ref}}/history": _r(*STAFF_ROLES),
    f"GET {API}/cis/{{ref}}/impact": _r(*EVERYONE, kind="ci",
                                        note="requesters: only their organisation's CIs listed"),
    f"GET {API}/cis/{{ref}}/records": _r(*STAFF_ROLES),
    **{f"POST {API}/cis/{{ref}}/{c}": _r(DISPATCHER, ENGINEER, MANAGER) for c in (
        "update", "change_status", "relate", "unrelate", "verify")},
    f"POST {_T}/name_cis": _r(AGENT, DISPATCHER, ENGINEER, MANAGER, kind="ticket",
                              note="any customer's CIs (shared infrastructure)"),
    # hidden risks (隐患, ADR 0067): engineers and the desk record and follow them; the
    # customer (a requester, or a manager on their behalf) accepts one
    f"GET {API}/risks": _r(*EVERYONE, note="requesters: their organisation's risks only"),
    f"POST {API}/risks": _r(DISPATCHER, ENGINEER, MANAGER),
    f"GET {_RSK}": _r(*EVERYONE, kind="risk"),
    f"GET {_RSK}/history": _r(*EVERYONE, kind="risk"),
    f"POST {_RSK}/follow_up": _r(DISPATCHER, ENGINEER, MANAGER, kind="risk"),
    f"POST {_RSK}/remove": _r(ENGINEER, MANAGER, kind="risk"),
    f"POST {_RSK}/accept": _r(REQUESTER, MANAGER, kind="risk",
                              note="requesters: their organisation's; managers: on the "
                                   "customer's behalf"),
    # major incidents (重大事件, ADR 0067): staff only; customers are told by the notices
    # of the communication plan and the public notes on their ticket
    f"GET {API}/major-incidents": _r(*STAFF_ROLES),
    f"POST {API}/major-incidents": _r(DISPATCHER, ENGINEER, MANAGER,
                                      note="on a P1 ticket; managers: on any open ticket"),
    f"GET {_MI}": _r(*STAFF_ROLES),
    f"GET {_MI}/history": _r(*STAFF_ROLES),
    **{f"POST {_MI}/{c}": _r(DISPATCHER, ENGINEER, MANAGER) for c in (
        "post_update", "record_review", "open_problem")},
    **{f"POST {_MI}/{c}": _r(DISPATCHER, MANAGER) for c in ("assign_commander", "close")},
    # the service catalogue (ADR 0061): everyone reads it, managers define services; a
    # request awaiting approval is decided by a manager, or by its customer's requester when
    # the service asks for the customer's approval
    f"GET {API}/catalogue": _r(*EVERYONE),
    f"GET {API}/catalogue/{{service_id}}": _r(*EVERYONE),
    f"PUT {API}/catalogue/{{service_id}}": _r(MANAGER),
    f"POST {_T}/approve": _r(REQUESTER, MANAGER, kind="ticket",
                             note="requesters: a request of their organisation whose service "
                                  "asks for the customer's approval"),
    f"POST {_T}/reject": _r(REQUESTER, MANAGER, kind="ticket",
                            note="as approve; with the reason"),
    # repair orders (设备送修单, ADR 0065): the desk and engineers send and follow them; the
    # customer (a requester, or a manager for them) decides the quote
    f"GET {API}/repairs": _r(*EVERYONE, note="requesters: their organisation's orders only"),
    f"POST {API}/repairs": _r(AGENT, DISPATCHER, ENGINEER, MANAGER),
    f"GET {API}/repairs/{{ref}}": _r(*EVERYONE, kind="repair"),
    f"GET {API}/repairs/{{ref}}/history": _r(*STAFF_ROLES),
    **{f"POST {API}/repairs/{{ref}}/{c}": _r(AGENT, DISPATCHER, ENGINEER, MANAGER) for c in (
        "report_progress", "quote", "replace_part", "return", "close")},
    **{f"POST {API}/repairs/{{ref}}/{c}": _r(
        REQUESTER, MANAGER, kind="repair", note="requesters: their organisation's; managers: "
        "for the customer, naming the written approval") for c in ("approve_quote",
                                                                   "reject_quote")},
    f"GET {API}/reports/{{period}}": _r(*EVERYONE, note="kind=repair: the monthly repair "
                                        "summary; requesters: their organisation's orders"),
    f"POST {API}/reports/{{period}}/submit": _r(MANAGER),
    # spare parts (ADR 0064): the desk's internal stock; staff read, the desk and engineers
    # change it (managers define warehouses)
    f"GET {API}/warehouses": _r(*STAFF_ROLES),
    f"PUT {API}/warehouses/{{slug}}": _r(MANAGER),
    f"GET {API}/warehouses/{{slug}}": _r(*STAFF_ROLES),
    f"GET {API}/warehouses/{{slug}}/stock": _r(*STAFF_ROLES),
    f"POST {API}/warehouses/{{slug}}/receive": _r(DISPATCHER, MANAGER),
    f"GET {API}/requisitions": _r(*STAFF_ROLES),
    f"POST {API}/requisitions": _r(*TECH),
    f"GET {API}/requisitions/{{ref}}": _r(*STAFF_ROLES),
    f"GET {API}/requisitions/{{ref}}/history": _r(*STAFF_ROLES),
    **{f"POST {API}/requisitions/{{ref}}/{c}": _r(*TECH) for c in (
        "dispatch", "arrive", "install", "return_faulty")},
    # field visits (ADR 0064): dispatchers plan, engineers go; customers read their own
    f"POST {_T}/visits": _r(DISPATCHER, MANAGER, kind="ticket"),
    f"GET {_T}/visits": _r(*EVERYONE, kind="ticket",
                           note="requesters: without the desk's internal notes"),
    f"POST {_T}/visits/{{visit}}/reschedule": _r(DISPATCHER, MANAGER, kind="ticket"),
    **{f"POST {_T}/visits/{{visit}}/{c}": _r(ENGINEER, MANAGER, kind="ticket",
                                             note="engineers: their own visits")
       for c in ("depart", "arrive", "leave")},
    f"GET {API}/visits": _r(*EVERYONE, note="the out-of-office register; requesters: their "
                            "organisation's visits without internal notes"),
    f"GET {API}/visits/{{number}}": _r(*EVERYONE, note="requesters: their organisation's "
                                       "(else 404), without internal notes"),
    # agreements (SLA / OLA / UC, ADR 0066): managers conclude and maintain them; staff read
    # them; a requester reads their organisation's SLAs
    f"GET {API}/agreements": _r(*EVERYONE, note="requesters: their organisation's SLAs only"),
    f"POST {API}/agreements": _r(MANAGER),
    f"GET {_AGR}": _r(*EVERYONE, kind="agreement", note="requesters: their organisation's "
                      "SLAs only (else 404)"),
    f"GET {_AGR}/history": _r(*STAFF_ROLES),
    f"GET {_AGR}/compliance": _r(*EVERYONE, kind="agreement",
                                 note="requesters: their organisation's SLAs"),
    f"POST {_AGR}/revise": _r(MANAGER),
    f"POST {_AGR}/terminate": _r(MANAGER),
    f"GET {_T}/agreements": _r(*EVERYONE, kind="ticket", note="requesters: the SLAs only"),
    f"GET {API}/repairs/{{ref}}/agreements": _r(*STAFF_ROLES, note="the vendor's UC clocks"),
    # complaints (投诉, ADR 0066): the customer (or the desk for them) files; a manager who is
    # not the engineer concerned handles; the customer confirms before a manager closes
    f"GET {API}/complaints": _r(*EVERYONE, note="requesters: their organisation's only"),
    f"POST {API}/complaints": _r(REQUESTER, AGENT, DISPATCHER, MANAGER,
                                 note="requesters: for their own organisation only"),
    f"GET {API}/complaints/figures": _r(REQUESTER, DISPATCHER, MANAGER, AUDITOR,
                                        note="requesters: their organisation's"),
    f"GET {_CMP}": _r(*EVERYONE, kind="complaint"),
    f"GET {_CMP}/history": _r(*STAFF_ROLES),
    **{f"POST {_CMP}/{c}": _r(MANAGER) for c in (
        "assign_handler", "respond", "resolve", "close")},
    **{f"POST {_CMP}/{c}": _r(REQUESTER, AGENT, MANAGER, kind="complaint",
                              note="requesters: their organisation's; staff: for the "
                                   "customer") for c in ("confirm", "reject")},
    # the desk's search (ADR 0050): each kind as the caller may read it
    f"GET {API}/search": _r(*EVERYONE, note="what the caller may read of each kind: requesters "
                            "their organisation's tickets and public articles; contacts "
                            "searched only for roles that see them"),
    # the mail intake's quarantine (ADR 0057): whole messages, personal data; managers
    f"GET {API}/mail/quarantine": _r(MANAGER),
    f"GET {API}/mail/quarantine/{{id}}": _r(MANAGER, note="the message itself, message/rfc822"),
    f"POST {API}/mail/quarantine/{{id}}/release": _r(MANAGER, note="runs the intake again"),
    # uploaded files (ADR 0056): read by the records they are attached to
    f"POST {API}/attachments": _r(REQUESTER, AGENT, DISPATCHER, ENGINEER, MANAGER,
                                  note="requesters: for their own organisation"),
    f"GET {API}/attachments/{{ref}}": _r(*EVERYONE, note="the uploader, and whoever may read a "
                                         "record it is attached to (requesters: public files of "
                                         "their organisation's records; auditors: public files)"),
    f"GET {API}/attachments/{{ref}}/meta": _r(*EVERYONE, note="as the download"),
    f"POST {_C}/attach": _r(*TECH, AGENT),
    # audit (auditors and managers read; nobody changes anything)
    f"GET {API}/audit/events": _r(AUDITOR, MANAGER),
    f"GET {API}/audit/verify": _r(AUDITOR, MANAGER),
    # identities (admins manage users and tokens; everyone reads themselves)
    f"GET {API}/me": _r(*EVERYONE),
    f"GET {API}/users": _r(MANAGER, AUDITOR),
    f"POST {API}/users": _r(),
    f"GET {_U}": _r(MANAGER, AUDITOR, kind="user", note="everyone: themselves"),
    f"POST {_U}/update": _r(),
    f"POST {_U}/deactivate": _r(),
    f"POST {_U}/reactivate": _r(),
    f"GET {_U}/history": _r(MANAGER, AUDITOR, kind="user", note="everyone: themselves"),
    f"GET {_U}/tokens": _r(kind="user", note="everyone: their own tokens"),
    f"GET {_U}/tokens/{{token_id}}": _r(kind="user", note="everyone: their own tokens"),
    f"POST {_U}/tokens": _r(),
    f"POST {_U}/tokens/{{token_id}}/revoke": _r(kind="user", note="everyone: their own tokens"),
    f"POST {_U}/password": _r(kind="user", note="everyone: their own password"),
}

#: Rules whose ``user`` path parameter may also be the caller themselves.
_SELF_SERVICE = {f"GET {_U}", f"GET {_U}/history", f"GET {_U}/tokens",
                 f"GET {_U}/tokens/{{token_id}}", f"POST {_U}/tokens/{{token_id}}/revoke",
                 f"POST {_U}/password"}


#: A console page or form names the API operation whose rule governs it (ADR 0048): the
#: same matrix, the same scoping (the page's first path parameter is the record).
OPERATION_OPT = "api_operation"
#: Who a console page is for: ``STAFF`` (the desk, ``/ui``) or ``PORTAL`` (requesters).
AUDIENCE_OPT = "audience"
STAFF, PORTAL = "staff", "portal"


def operation(method: str, path_template: str) -> str:
    return f"{method.upper()} {path_template}"


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The app-wide guard: the caller's roles against the operation's rule, then scoping."""
    if handler.opt.get("exclude_from_auth") or connection.scope.get(
            "path_template", "").startswith(_PUBLIC):
        return
    principal = principal_of(connection)
    if ADMIN in principal.roles:
        return
    await _by_the_rule(connection, handler, principal)
    # A page's audience after the rule and its scoping: another organisation's ticket is a
    # 404 on the desk's page too (existence does not leak), the requester's own one a 403,
    # which the console answers by sending them to the portal (console/errors.py).
    audience = handler.opt.get(AUDIENCE_OPT)
    if audience is not None and (audience == PORTAL) != (REQUESTER in principal.roles):
        raise PermissionDeniedException(
            "the desk (/ui) is for staff, the portal (/portal) for customers' requesters")


async def _by_the_rule(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler,
                       principal: Principal) -> None:
    """The operation's rule: the caller's roles, then the rows a scoped role reaches."""
    key = handler.opt.get(OPERATION_OPT) or operation(
        connection.scope["method"], connection.scope.get("path_template", ""))
    rule = RULES.get(key)
    if rule is None:
        raise PermissionDeniedException(f"no access rule for {key}")
    params = connection.path_params
    if key in _SELF_SERVICE and params.get("user") == principal.user_id:
        return
    allowed = rule.roles & principal.roles
    if not allowed:
        raise PermissionDeniedException(
            f"{key} needs one of the roles {', '.join(sorted(rule.roles))}")
    if rule.kind is None:
        return
    services: Services = connection.app.state.services
    ref = str(next(iter(params.values()), ""))
    if REQUESTER in principal.roles:
        owner = await connection.app.state.run_blocking(_owner, services, rule.kind, ref)
        if (owner is None or not principal.customer
                or normalise_customer_id(owner) != normalise_customer_id(principal.customer)):
            raise NotFoundException(f"no {rule.kind} {ref!r}")
    if only_assigned(principal, rule):
        ticket = await connection.app.state.run_blocking(services.desk.get_ticket, ref)
        if not works_on(principal, ticket):
            raise PermissionDeniedException(
                "engineers work only tickets assigned to them or to one of their groups")


def may_call(principal: Principal, key: str) -> bool:
    """Whether ``principal``'s roles allow the operation ``key`` (``GET /api/v1/problems/{ref}``)
    at all, before any scoping: what answers that derive from other records (reports) use to
    leave out what the caller could not read through the record's own route."""
    rule = RULES.get(key)
    return ADMIN in principal.roles or (rule is not None and bool(rule.roles & principal.roles))


def only_assigned(principal: Principal, rule: Rule) -> bool:
    """Whether ``rule`` lets ``principal`` in only on tickets they work (an engineer with no
    other role the rule names)."""
    return rule.engineer_assigned and not (rule.roles & principal.roles) - {ENGINEER}


def works_on(principal: Principal, ticket: Any) -> bool:
    """Whether ``ticket`` is assigned to ``principal`` or to one of their groups."""
    return ticket.assignee == principal.user_id or ticket.group in principal.groups


def may_command(principal: Principal, key: str, ticket: Any) -> bool:
    """Whether ``principal`` may call the ticket command ``key`` on ``ticket``: its roles
    (``may_call``) and, for an engineer, the ticket assigned to them or their group (as
    ``authorize`` decides the call itself)."""
    if not may_call(principal, key):
        return False
    if ADMIN in principal.roles:
        return True
    return not only_assigned(principal, RULES[key]) or works_on(principal, ticket)


def _owner(services: Services, kind: str, ref: str) -> str | None:
    """The customer organisation a record belongs to (``None``: not a customer's record)."""
    try:
        if kind == "ticket":
            return str(services.desk.get_ticket(ref).customer)
        if kind == "project":
            from application.projects import get_project
            return str(get_project(services.desk, ref).customer)
        if kind == "customer":
            return normalise_customer_id(ref)
        if kind == "agreement":  # ADR 0066: an SLA's customer (no other is a customer's)
            from application.agreements import sla_customer
            return sla_customer(services.desk, ref)
        if kind == "complaint":  # ADR 0066
            from application.complaints import get_complaint
            return str(get_complaint(services.desk, ref).customer)
        if kind == "ci":  # ADR 0063
            from application.cis import get_ci
            return str(get_ci(services.desk, ref).customer)
        if kind == "risk":  # ADR 0067
            from application.risks import get_risk
            return str(get_risk(services.desk, ref).customer)
        if kind == "repair":  # ADR 0065
            from application.repairs import get_repair
            return str(get_repair(services.desk, ref).customer)
    except RecordNotFound:
        return None
    return None


def customer_side(request: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the caller is a customer's requester (and no admin): what the portal shows,
    the rows of their organisation and the public articles only (ADR 0052)."""
    principal = principal_of(request)
    return REQUESTER in principal.roles and ADMIN not in principal.roles


#: The read of each kind that the desk's search shows (ADR 0050): a caller finds the records
#: they may read through the kind's own route, no others.
SEARCH_READS = {"ticket": f"GET {_T}", "problem": f"GET {_PRB}", "change": f"GET {_C}",
                "knowledge": f"GET {API}/knowledge/{{ref}}"}


def search_scope(principal: Principal) -> Scope:
    """What ``principal`` may search (``application.search.Scope``): the kinds whose records
    their roles may read; a requester only their organisation's tickets and the public
    articles (``403`` for a requester of no organisation, as the lists); the contact's name,
    phone and e-mail only for the roles that see contacts in clear (``UNMASKED``) -- for the
    others those fields are not searched at all, not merely masked in the answer."""
    kinds = frozenset(kind for kind, key in SEARCH_READS.items() if may_call(principal, key))
    if REQUESTER in principal.roles and ADMIN not in principal.roles:
        if not principal.customer:
            raise PermissionDeniedException("this requester belongs to no customer organisation")
        return Scope(kinds=kinds, customer=principal.customer, contacts=False,
                     knowledge={"audience": "public"})
    return Scope(kinds=kinds, contacts=not needs_masking(principal))


def scoped_customer(request: Request[Any, Any, Any], customer: str | None) -> str | None:
    """A list's customer filter: a requester's own organisation, whatever they asked for."""
    principal = principal_of(request)
    if REQUESTER in principal.roles and ADMIN not in principal.roles:
        if not principal.customer:  # never "no filter" for a requester
            raise PermissionDeniedException("this requester belongs to no customer organisation")
        return principal.customer
    return customer


def own_customer(request: Request[Any, Any, Any], customer: str | None) -> str:
    """The customer a new record is for: a requester's own organisation (``403`` for any
    other; left out, theirs), else the one given (``422`` naming ``customer`` when none)."""
    principal = principal_of(request)
    if REQUESTER in principal.roles and ADMIN not in principal.roles:
        if customer is None and principal.customer:
            return principal.customer
        if customer is None or normalise_customer_id(customer) != principal.customer:
            raise PermissionDeniedException(
                "requesters register tickets for their own organisation only")
    if customer is None:
        raise ValidationException("customer is required", extra=[
            {"key": "customer", "message": "required (the customer id)"}])
    return customer


# -------------------------------------------------------------------- masking


def mask_name(name: str) -> str:
    """``李四`` → ``李*``; ``Alice Smith`` → ``A**********``."""
    if not name or name.startswith("["):  # "[erased]" stays as it is
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    """``13800005678`` → ``138****5678``: a mobile number keeps its first three and last four
    digits, shorter numbers at most their last four and never more than half their digits;
    separators stay."""
    at = [i for i, c in enumerate(phone) if c.isdigit()]
    n = len(at)
    shown = set(at[:3] + at[-4:]) if n >= 11 else set(at[n - min(4, n // 2):]) if n >= 4 else set()
    return "".join("*" if c.isdigit() and i not in shown else c for i, c in enumerate(phone))


def mask_email(email: str) -> str:
    """``li@example.com`` → ``l***@example.com``."""
    local, at, domain = email.partition("@")
    if not at:
        return mask_name(email)
    return (local[:1] + "***") + "@" + domain


_MASKS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone, "email": mask_email, "signer": mask_name,
    # the customer's people named outside ``contact`` (ADR 0043's personal fields): the
    # ticket's interface person, who gave a change's consent, who confirmed its close
    "interface_person": mask_name, "given_by": mask_name, "confirmed_by": mask_name,
    "sender": lambda v: mask_sender(v),  # a mail's From (ADR 0055)
}


def mask_sender(sender: str) -> str:
    """``李四 <li@example.com>`` → ``李* <l***@example.com>`` (a mail's ``From``)."""
    name, _, address = sender.partition("<")
    if not address:
        return mask_email(sender.strip())
    shown = f"{mask_name(name.strip())} " if name.strip() else ""
    return f"{shown}<{mask_email(address.rstrip('>').strip())}>"


def mask(value: Any) -> Any:
    """``value`` (JSON-like) with every contact (``contact.name/phone/email``), phone, e-mail,
    signer and the other customer people's names of ``_MASKS`` masked, wherever nested."""
    if isinstance(value, list):
        return [mask(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, v in value.items():
        if key == "contact" and isinstance(v, dict):
            out[key] = {k: (_MASKS.get(k, mask_name)(x) if isinstance(x, str) else mask(x))
                        for k, x in v.items()}
        elif key in _MASKS and isinstance(v, str):
            out[key] = _MASKS[key](v)
        else:
            out[key] = mask(v)
    return out


def needs_masking(principal: Principal) -> bool:
    return not (principal.roles & UNMASKED)


def masking_send(send: Send) -> Send:
    """``send`` with every JSON answer masked, for a caller that does not need contact data
    (``needs_masking``; the edge middleware wraps the answer of such callers only, after
    authentication). The whole body is rewritten, so views, lists, searches, history and the
    audit log are all covered, and a new endpoint cannot forget it; callers who see data in
    clear pay nothing."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def masked_send(message: Any) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        headers = list(start.get("headers", []))
        body = b"".join(chunks)
        media = dict(headers).get(b"content-type", b"").decode("latin-1")
        # A downloaded file (ADR 0056) goes out as it was uploaded, whatever its type.
        download = any(k.lower() == b"content-disposition" for k, _ in headers)
        if "json" in media and body and not download:
            body = msgspec.json.encode(mask(msgspec.json.decode(body)))
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return masked_send


# ------------------------------------------------------------------ the document


def render_matrix() -> str:
    """docs/authorization.md, generated from ``RULES`` (a test keeps the file equal to this:
    regenerate with ``python -m adapters.http.access > docs/authorization.md``)."""
    marks = {True: "✓", False: "·"}
    lines = [
        "# Authorization matrix",
        "",
        "Generated from `adapters/http/access.py` (`RULES`) by",
        "`python -m adapters.http.access > docs/authorization.md`; `tests/adapters/http/test_access_matrix.py`",
        "fails when this file, the code and the OpenAPI document disagree (ADR 0036).",
        "",
        "- ✓ allowed · refused with `403`.",
        "- **own org**: a requester reaches only their own customer organisation's records; another",
        "  customer's record answers `404`, exactly like an unknown id. Lists are filtered to the",
        "  requester's organisation.",
        "- **assigned**: an engineer only on tickets assigned to them or to one of their groups.",
        "- **self**: every user may read their own identity and list and revoke their own tokens.",
        "- Contact names, phones, e-mails, signers and the customer's other people (a ticket's",
        "  interface person, who gave a change's consent, who confirmed its close) are shown",
        "  masked (`李*`, `138****5678`) to",
        "  " + ", ".join(f"`{r}`" for r in ROLES if r not in UNMASKED)
        + "; in clear to " + ", ".join(f"`{r}`" for r in ROLES if r in UNMASKED) + ".",
        "- `admin` may call everything. `/healthz`, `/schema` and `/docs` need no token;",
        "  `/healthz` then says only up or down (store, event count, projections and notices",
        "  for staff: any role but `requester`, ADR 0045).",
        "- What a role cannot read through a record's own route it cannot read through a report,",
        "  export, search or history either. A service report lists the problems linked to the",
        "  customer's tickets and the changes raised for them; a problem may have been recorded",
        "  from another customer's ticket, a change raised from it. A role that may not call",
        "  `GET /api/v1/problems/{ref}` (`GET /api/v1/changes/{ref}`) gets them counted as",
        "  everyone does and listed by number, status (kind, outcome, origin number) and its own",
        "  ticket numbers, with `title` `null` (`–` in Markdown and HTML): requesters. Not even",
        "  a problem whose tickets are all their own shows its title: the problem routes are",
        "  closed to requesters whatever the links, and a later link would change what an",
        "  earlier report had shown. The audit log (`/api/v1/audit/*`) is staff-only; audit",
        "  bundles are exported by the operator's CLI, not over HTTP.",
        "",
        "| operation | " + " | ".join(ROLES) + " | note |",
        "|---|" + "---|" * len(ROLES) + "---|",
    ]
    for key, rule in RULES.items():
        cells = []
        for role in ROLES:
            cell = marks[role in rule.roles]
            if role in rule.roles and role == REQUESTER and rule.kind in ("ticket", "project", "customer"):
                cell = "own org"
            elif role in rule.roles and role == ENGINEER and rule.engineer_assigned:
                cell = "assigned"
            elif role != ADMIN and key in _SELF_SERVICE and role not in rule.roles:
                cell = "self"
            cells.append(cell)
        lines.append(f"| `{key}` | " + " | ".join(cells) + f" | {rule.note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_matrix(), end="")
