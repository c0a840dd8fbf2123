"""Wire types of users and API tokens (``adapters/http/routes/users.py``, ADR 0035).

Bodies are strict (``s.Input``); the rules of roles and customers are the domain's (a ``422``
naming ``roles`` or ``customer``), so a role here is any short string. Token views never carry
the token or its digest: the secret is in the issue answer only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from application.identities import IssuedToken, Principal
from domain.identity import MAX_LABEL, MAX_TAG, MAX_TAGS, ApiToken, User

UserId = s.CustomerId  # the same rule: 1 to 200 characters, no control characters
RoleName = Annotated[str, Meta(min_length=1, max_length=40, pattern=s.LINE)]
Roles = Annotated[list[RoleName], Meta(max_length=10)]
Tag = Annotated[str, Meta(min_length=1, max_length=MAX_TAG, pattern=s.LINE)]
Tags = Annotated[list[Tag], Meta(max_length=MAX_TAGS)]
Label = Annotated[str, Meta(max_length=MAX_LABEL, pattern=s.LINE)]
Email = Annotated[str, Meta(max_length=254, pattern=s.LINE)]  # checked by ``Profile.of``


class RegisterUser(s.Input):
    id: UserId
    name: s.Name
    roles: Roles
    customer: UserId | None = None  # required for a requester, refused otherwise
    skills: Tags = []
    groups: Tags = []
    email: Email = ""  # where notices are mailed (ADR 0059)


class UpdateUser(s.Input):
    """The fields given change; a user that stops being a requester leaves its customer."""

    name: s.Name | None = None
    roles: Roles | None = None
    customer: UserId | None = None
    skills: Tags | None = None
    groups: Tags | None = None
    email: Email | None = None


class Deactivate(s.Input):
    reason: s.Line = ""


class IssueToken(s.Input):
    expires_at: s.AwareTime | None = None  # default: 90 days; at most two years ahead
    label: Label = ""


class SetPassword(s.Input):
    password: Annotated[str, Meta(min_length=1, max_length=1024)]  # 8..1024 (ADR 0049)


class _Identity(Struct, frozen=True):
    id: str
    name: str
    roles: list[str]
    customer: str | None
    skills: list[str]
    groups: list[str]


class UserView(_Identity, frozen=True):
    active: bool
    version: int
    registered_at: datetime
    registered_by: str
    modified_at: datetime
    email: str = ""  # masked like a contact's for the roles that see contacts masked


class UserList(Struct, frozen=True):
    items: list[UserView]
    count: int


class TokenView(Struct, frozen=True):
    token_id: str
    label: str
    issued_at: datetime
    issued_by: str
    expires_at: datetime
    expired: bool
    revoked: bool
    revoked_at: datetime | None
    revoked_by: str | None
    active: bool  # neither expired nor revoked (the user must be active too)


class TokenList(Struct, frozen=True):
    items: list[TokenView]
    count: int


class IssuedTokenView(Struct, frozen=True):
    token_id: str
    token: str | None  # shown this once; ``null`` on an Idempotency-Key replay
    expires_at: datetime
    user: str
    label: str


class MeView(_Identity, frozen=True):
    token_id: str | None
    user: UserView | None  # ``null`` for the bootstrap admin and in open mode


def user_view(u: User) -> UserView:
    return s.copied(
        UserView, u,
        id=u.user, roles=list(u.roles),
        skills=list(u.skills), groups=list(u.groups),
        registered_at=s.utc(u.created_on),
        modified_at=s.utc(u.modified_on), email=getattr(u, "email", ""))


def token_view(t: ApiToken, now: datetime) -> TokenView:
    expired = now >= t.expires_at
    return s.copied(
        TokenView, t,
        issued_at=s.utc(t.issued_at),
        expires_at=s.utc(t.expires_at), expired=expired,
        revoked_at=s.utc_opt(t.revoked_at),
        active=not expired and not t.revoked)


def issued_view(issued: IssuedToken) -> IssuedTokenView:
    t = issued.issued
    return IssuedTokenView(token_id=t.token_id, token=issued.token, expires_at=s.utc(t.expires_at),
                           user=issued.result.aggregate.user, label=t.label)


def me_view(p: Principal, user: User | None) -> MeView:
    return MeView(id=p.user_id, name=p.name, roles=sorted(p.roles), customer=p.customer,
                  skills=list(p.skills), groups=sorted(p.groups), token_id=p.token_id,
                  user=user_view(user) if user is not None else None)
