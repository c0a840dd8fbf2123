"""User and API-token commands (issue 7, ADR 0035), keyed by the user id; fields as
``POST /api/v1/users`` and ``POST /api/v1/users/{user}/<verb>`` name them
(``adapters/http/identity_schemas``).

After a command that changes a user, this process's cached principals of the user are
dropped (``after``), so a revocation or deactivation is refused here at once (elsewhere
within ``application.identities.CACHE_TTL``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.commands.base import NOTHING, Command, command
from application.customers import customer_on_first_use
from application.errors import RecordNotFound
from application import passwords
from application.identities import LABEL, UserExists, make_token, token_cache, token_digest
from domain.identity import Profile, Role, User, UserDirectory, normalise_user_id

if TYPE_CHECKING:
    from application.desk import CommandResult, Context, ServiceDesk


def _first_use_of(ctx: Context, customer: str | None) -> tuple[Any, ...]:
    """A requester's customer, registered now (named by its id, with the customer directory)
    when the store does not know it yet: saved with the user."""
    return () if customer is None else customer_on_first_use(ctx.desk, customer, ctx.at,
                                                             ctx.actor)


@command
class RegisterUser(Command):
    """``User.register`` → ``User.Registered``, listed (``UserDirectory.Listed``; a new
    requester's customer registered with it) in the same save. A repeat with the same data
    records nothing (not ``created``); the same id with other data is a ``UserExists``.
    HTTP: ``RegisterUser``."""

    record_class = User
    record_label = LABEL
    verb = "register"
    missing_ok = True

    id: str
    name: str
    roles: Sequence[str]
    customer: str | None = None
    skills: Sequence[str] = ()
    groups: Sequence[str] = ()
    email: str = ""  # where notices are mailed (ADR 0059)

    def target(self) -> UUID | None:
        return User.id_for(normalise_user_id(self.id))

    def decide(self, existing: User | None, ctx: Context) -> Any:
        profile = Profile.of(self.name, self.roles, self.customer, self.skills, self.groups,
                             self.email)
        record = User.register(normalise_user_id(self.id), profile, actor=ctx.actor, at=ctx.at)
        if existing is not None:
            if existing.same_as(profile):
                return NOTHING
            raise UserExists(existing.user)
        directory = ctx.desk.load(UserDirectory.ID) or UserDirectory.open(ctx.at)
        directory.add(record.user, ctx.at)
        return (record, directory, *_first_use_of(ctx, profile.customer))

    def after(self, result: CommandResult, desk: ServiceDesk) -> None:
        token_cache(desk).any_users = True


@command
class _OnUser(Command):
    """A command on the existing user ``user`` (its id); an unknown one is a 404."""

    record_class = User
    record_label = LABEL

    user: str

    def target(self) -> UUID | None:
        return User.id_for(normalise_user_id(self.user))

    def missing(self, record_id: UUID) -> Exception:
        return RecordNotFound(normalise_user_id(self.user), LABEL)

    def after(self, result: CommandResult, desk: ServiceDesk) -> None:
        token_cache(desk).invalidate(result.aggregate.user, result.aggregate.version)


@command
class UpdateUser(_OnUser):
    """``User.update`` → ``User.Updated`` with the fields given (the others stay). A user that
    stops being a requester leaves its customer; one that stays a requester keeps it unless
    another is given (a new one registered with it). HTTP: ``UpdateUser``."""

    verb = "update"
    name: str | None = None
    roles: Sequence[str] | None = None
    customer: str | None = None
    skills: Sequence[str] | None = None
    groups: Sequence[str] | None = None
    email: str | None = None

    def decide(self, u: User, ctx: Context) -> Any:
        roles = u.roles if self.roles is None else self.roles
        kept = u.customer if Role.REQUESTER.value in roles else None
        profile = Profile.of(u.name if self.name is None else self.name, roles,
                             kept if self.customer is None else self.customer,
                             u.skills if self.skills is None else self.skills,
                             u.groups if self.groups is None else self.groups,
                             u.profile.email if self.email is None else self.email)
        if u.update(profile, actor=ctx.actor, at=ctx.at):
            return _first_use_of(ctx, profile.customer) or None
        return None


@command
class DeactivateUser(_OnUser):
    """``User.deactivate`` → ``User.Deactivated`` (its tokens stop working).
    HTTP: ``Deactivate``."""

    verb = "deactivate"
    reason: str = ""

    def decide(self, u: User, ctx: Context) -> None:
        u.deactivate(reason=self.reason, actor=ctx.actor, at=ctx.at)


@command
class ReactivateUser(_OnUser):
    """``User.reactivate`` → ``User.Reactivated``. HTTP: ``Empty`` (or no body)."""

    verb = "reactivate"

    def decide(self, u: User, ctx: Context) -> None:
        u.reactivate(actor=ctx.actor, at=ctx.at)


def _mint_token(command: IssueToken | OpenSession) -> None:
    """A new token for ``command`` (its ``token_id`` and ``token``) unless it names one."""
    if not command.token:
        token_id, token = make_token(User.id_for(normalise_user_id(command.user)))
        object.__setattr__(command, "token_id", token_id)
        object.__setattr__(command, "token", token)


@command
class IssueToken(_OnUser):
    """``User.issue_token`` → ``User.TokenIssued`` (default expiry: 90 days). The token is
    made with the command (``token_id``, ``token``: the secret, to show once); the stream
    keeps only its digest. An ``Idempotency-Key`` replay answers the token issued then,
    whose secret is gone. HTTP: ``IssueToken``."""

    verb = "issue_token"
    expires_at: datetime | None = None
    label: str = ""
    token_id: str = ""
    token: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        _mint_token(self)

    def decide(self, u: User, ctx: Context) -> None:
        u.issue_token(self.token_id, token_digest(self.token), self.expires_at,
                      label=self.label, actor=ctx.actor, at=ctx.at)

    def after(self, result: CommandResult, desk: ServiceDesk) -> None:
        """A new token changes no cached principal."""


@command
class RevokeToken(_OnUser):
    """``User.revoke_token`` → ``User.TokenRevoked``: refused at once in this process, within
    ``CACHE_TTL`` elsewhere; an unknown token is a 404. HTTP: ``Empty`` (or no body), the
    token named in the path."""

    verb = "revoke_token"
    token_id: str

    def decide(self, u: User, ctx: Context) -> None:
        if u.token(self.token_id) is None:
            raise RecordNotFound(self.token_id, "token")
        u.revoke_token(self.token_id, actor=ctx.actor, at=ctx.at)


@command
class SetPassword(_OnUser):
    """``User.set_password`` → ``User.PasswordSet``: the console password's argon2id hash
    (ADR 0049); the password itself is never recorded, logged or shown (``repr=False``).
    Ends a lock-out. HTTP: ``SetPassword`` (``POST /api/v1/users/{user}/password``)."""

    verb = "set_password"
    password: str = field(repr=False)

    def decide(self, u: User, ctx: Context) -> None:
        passwords.check_new(self.password)
        u.set_password(ctx.desk.passwords.hash(self.password), actor=ctx.actor, at=ctx.at)


#: How long a console session (a token issued at login) lasts.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_LABEL = "console session"


class LoginLocked(Exception):
    """Too many failed logins in a row: refused until ``until`` (ADR 0049)."""

    def __init__(self, until: datetime):
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


@command
class OpenSession(_OnUser):
    """A console login (ADR 0049): ``User.issue_token`` → ``User.TokenIssued`` or
    ``User.login_failed`` → ``User.LoginFailed``. The right password of an active user issues
    a session token (12 hours, label ``console session``): the token is the
    session cookie, so a session is authenticated, revoked and audited as a token is. A wrong
    one records ``User.LoginFailed`` (counted for the lock-out) and issues nothing: whether
    the login worked is ``opened(result)``. A locked user: ``LoginLocked``, nothing
    recorded."""

    verb = "open_session"
    password: str = field(repr=False)
    token_id: str = ""
    token: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        _mint_token(self)

    def decide(self, u: User, ctx: Context) -> None:
        until = u.locked_until(ctx.at)
        if until is not None:
            raise LoginLocked(until)
        if u.active and ctx.desk.passwords.verify(getattr(u, "password_hash", None),
                                                  self.password):
            u.issue_token(self.token_id, token_digest(self.token), ctx.at + SESSION_LIFETIME,
                          label=SESSION_LABEL, actor=u.user, at=ctx.at)
        else:
            u.login_failed(actor=u.user, at=ctx.at)

    def opened(self, result: CommandResult) -> bool:
        return result.aggregate.token(self.token_id) is not None

    def after(self, result: CommandResult, desk: ServiceDesk) -> None:
        """A session changes no cached principal."""
