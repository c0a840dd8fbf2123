"""Users and their API tokens (API.md "Identities", issue 7, ADR 0035).

A user is managed by its user id, the text commands record as the actor (``eng-wang``,
``li.si@acme``). The aggregate id derives from that text (uuid5, like customers), so a token
that carries the aggregate id finds its user with one read, and two registrations of one id
meet on one stream where the store's optimistic concurrency settles them.

A user has roles: ``requester`` (a customer's person: belongs to exactly one customer
organisation, never combined with a staff role) or any of the staff roles. API tokens live in
the user's stream: only a digest of each token is recorded, never the token itself; the
application makes the secret and its digest, this module only keeps the rules (expiry within
bounds, revocation, no tokens for an inactive user).

``UserDirectory`` lists the user ids that exist (one aggregate with a fixed id, saved in the
same transaction as a registration), so listing users and "are there any?" are one read.

Pure: standard library and ``eventsourcing.domain`` only; time, ids and actor come in as
arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.checks import collapsed, refuse_fields
from domain.customer import normalise_customer_id
from domain.errors import FieldError, InvalidCommand, TransitionNotAllowed
from domain.privacy import ERASED_TEXT
from domain.records import RecordEvent, directory

MAX_ID = 200
MAX_NAME = 200
MAX_TAG = 100  # one skill or group
MAX_TAGS = 50
MAX_LABEL = 100
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
MAX_TOKEN_LIFETIME = timedelta(days=730)  # two years
_DIGEST = re.compile(r"^[0-9a-f]{64}$")  # a SHA-256, hex
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MAX_EMAIL = 254
# Console passwords (ADR 0049): the stream keeps an argon2id hash (``$argon2id$...``), never
# the password; after ``MAX_LOGIN_FAILURES`` failed logins in a row, the next login is refused
# until ``LOCKOUT`` has passed since the last failure.
MAX_LOGIN_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MAX_PASSWORD_HASH = 512


class Role(StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"
    DISPATCHER = "dispatcher"
    ENGINEER = "engineer"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLES = frozenset(r.value for r in Role)
STAFF_ROLES = ROLES - {Role.REQUESTER.value}


def normalise_user_id(text: str) -> str:
    """The user id as kept: surrounding white space removed."""
    return text.strip() if isinstance(text, str) else ""


def user_id(text: str) -> UUID:
    """The aggregate id of the user ``text``."""
    return uuid5(NAMESPACE_URL, f"opsledger:user:{normalise_user_id(text)}")


@dataclass(frozen=True)
class Profile:
    """What a registration or an update sets, checked and normalised (``Profile.of``)."""

    name: str
    roles: tuple[str, ...]  # sorted, unique
    customer: str | None  # requesters only
    skills: tuple[str, ...]
    groups: tuple[str, ...]
    # Where notices are mailed (ADR 0059); "" for none. Personal data: a requester's is sealed
    # with the customer's key and erased with the customer's personal data.
    email: str = ""

    @classmethod
    def of(cls, name: str, roles: Iterable[str], customer: str | None = None,
           skills: Iterable[str] = (), groups: Iterable[str] = (), email: str = "") -> Profile:
        """Checks every field and raises one ``InvalidCommand`` naming all that are wrong."""
        errors: list[FieldError] = []
        name = collapsed(name)
        if not name:
            errors.append(FieldError("name", "must not be empty"))
        elif len(name) > MAX_NAME or not name.isprintable():
            errors.append(FieldError("name", f"at most {MAX_NAME} printable characters"))
        wanted = tuple(dict.fromkeys(roles))
        unknown = [r for r in wanted if r not in ROLES]
        if not wanted:
            errors.append(FieldError("roles", "at least one role"))
        elif unknown:
            errors.append(FieldError("roles", f"unknown role(s) {', '.join(map(str, unknown))}; "
                                              f"roles: {', '.join(r.value for r in Role)}"))
        requester = Role.REQUESTER.value in wanted
        if requester and len(wanted) > 1:
            errors.append(FieldError("roles", "a requester (a customer's person) has no staff "
                                              "role; register staff as separate users"))
        customer = normalise_customer_id(customer) if customer is not None else None
        if requester and not customer:
            errors.append(FieldError("customer", "required for a requester: the customer "
                                                 "organisation they belong to"))
        elif not requester and customer is not None:
            errors.append(FieldError("customer", "only a requester belongs to a customer"))
        elif customer and (len(customer) > MAX_ID or not customer.isprintable()):
            errors.append(FieldError("customer", f"at most {MAX_ID} printable characters"))
        tags = {f: _tags(values, f, errors) for f, values in (("skills", skills),
                                                               ("groups", groups))}
        email = (email or "").strip()
        if email and (len(email) > MAX_EMAIL or not _EMAIL.match(email)):
            errors.append(FieldError("email", "an e-mail address (name@domain)"))
        refuse_fields(errors)
        return cls(name=name, roles=tuple(sorted(wanted)), customer=customer,
                   skills=tags["skills"], groups=tags["groups"], email=email)


def _tags(values: Iterable[str], field: str, errors: list[FieldError]) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(collapsed(v) for v in values))
    if len(items) > MAX_TAGS:
        errors.append(FieldError(field, f"at most {MAX_TAGS}"))
    elif any(not v or len(v) > MAX_TAG or not v.isprintable() for v in items):
        errors.append(FieldError(field, f"each 1 to {MAX_TAG} printable characters"))
    return items


def _check_id(text: str) -> None:
    if not text:
        raise InvalidCommand.field("id", "must not be empty")
    if len(text) > MAX_ID or not text.isprintable():
        raise InvalidCommand.field("id", f"at most {MAX_ID} printable characters")


@dataclass(frozen=True)
class ApiToken:
    """One issued token as the user's stream knows it: its digest, never the token."""

    token_id: str
    digest: str  # SHA-256 (hex) of the whole token string
    label: str
    issued_at: datetime
    issued_by: str
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def valid_at(self, now: datetime) -> bool:
        return not self.revoked and now < self.expires_at


class User(Aggregate):
    """A person (or a script) that calls the API, with roles and API tokens."""

    TOPIC = "opsledger.identity:User"

    class Event(RecordEvent):
        TOPIC = "opsledger.identity:User.Event"

    class Registered(Aggregate.Created):
        TOPIC = "opsledger.identity:User.Registered"
        user: str
        name: str
        roles: tuple[str, ...]
        customer: str | None
        skills: tuple[str, ...]
        groups: tuple[str, ...]
        actor: str
        email: str = ""  # ADR 0059; absent in older events

    class Updated(Event):
        """The whole profile after the change (every field, so each event reads alone)."""

        TOPIC = "opsledger.identity:User.Updated"
        name: str
        roles: tuple[str, ...]
        customer: str | None
        skills: tuple[str, ...]
        groups: tuple[str, ...]
        email: str = ""  # ADR 0059; absent in older events

        def apply(self, user: User) -> None:
            user._set(Profile(self.name, self.roles, self.customer, self.skills, self.groups,
                              self.email))

    class Deactivated(Event):
        TOPIC = "opsledger.identity:User.Deactivated"
        reason: str

        def apply(self, user: User) -> None:
            user.active = False

    class Reactivated(Event):
        TOPIC = "opsledger.identity:User.Reactivated"

        def apply(self, user: User) -> None:
            user.active = True

    class TokenIssued(Event):
        TOPIC = "opsledger.identity:User.TokenIssued"
        token_id: str
        digest: str
        expires_at: datetime
        label: str

        def apply(self, user: User) -> None:
            user.tokens = (*user.tokens, ApiToken(
                token_id=self.token_id, digest=self.digest, label=self.label,
                issued_at=self.timestamp, issued_by=self.actor, expires_at=self.expires_at))
            user.login_failures = ()  # a session is a token: a login ends the failures

    class TokenRevoked(Event):
        TOPIC = "opsledger.identity:User.TokenRevoked"
        token_id: str

        def apply(self, user: User) -> None:
            user.tokens = tuple(
                replace(t, revoked_at=self.timestamp, revoked_by=self.actor)
                if t.token_id == self.token_id else t for t in user.tokens)

    class PasswordSet(Event):
        """A console password was set (by the user or an admin): its argon2id hash, which
        history and audit reads show as hidden (``SECRET_FIELDS``). Clears failed logins."""

        TOPIC = "opsledger.identity:User.PasswordSet"
        SECRET_FIELDS = ("password_hash",)
        password_hash: str

        def apply(self, user: User) -> None:
            user.password_hash = self.password_hash
            user.login_failures = ()

    class LoginFailed(Event):
        """A console login with a wrong password (ADR 0049): counted for the lock-out."""

        TOPIC = "opsledger.identity:User.LoginFailed"

        def apply(self, user: User) -> None:
            user.login_failures = (*user.login_failures, self.timestamp)[-MAX_LOGIN_FAILURES:]

    class PersonalDataErased(Event):
        """The personal data of the requester's customer was erased (ADR 0034, 0043): the
        name, sealed with the customer's key, reads as ``[erased]``; this event clears it
        from every process's cached user too. Carries no personal data."""

        TOPIC = "opsledger.identity:User.PersonalDataErased"
        reason: str
        erasure_id: str

        def apply(self, user: User) -> None:
            user.name = ERASED_TEXT
            user.email = ""

    def __init__(self, user: str, name: str, roles: tuple[str, ...], customer: str | None,
                 skills: tuple[str, ...], groups: tuple[str, ...], actor: str,
                 email: str = "") -> None:
        self.user = user
        self._set(Profile(name, roles, customer, skills, groups, email))
        self.registered_by = actor
        self.active = True
        self.tokens: tuple[ApiToken, ...] = ()
        self.password_hash: str | None = None
        self.login_failures: tuple[datetime, ...] = ()

    def _set(self, profile: Profile) -> None:
        self.name = profile.name
        self.roles = profile.roles
        self.customer = profile.customer
        self.skills = profile.skills
        self.groups = profile.groups
        self.email = profile.email

    @property
    def profile(self) -> Profile:
        return Profile(self.name, self.roles, self.customer, self.skills, self.groups,
                       getattr(self, "email", ""))

    @property
    def number(self) -> str:
        """The user's human reference, as a ticket's number is its (logs name records by it)."""
        return self.user

    @staticmethod
    def id_for(user: str) -> UUID:
        return user_id(user)

    @classmethod
    def register(cls, user: str, profile: Profile, *, actor: str, at: datetime) -> User:
        user = normalise_user_id(user)
        _check_id(user)
        return cls._create(cls.Registered, id=cls.id_for(user), timestamp=at, user=user,
                           name=profile.name, roles=profile.roles, customer=profile.customer,
                           skills=profile.skills, groups=profile.groups, actor=actor,
                           email=profile.email)

    def same_as(self, profile: Profile) -> bool:
        """Whether a registration with this profile repeats this one (an idempotent repeat)."""
        return profile == self.profile

    # ------------------------------------------------------------ commands

    def update(self, profile: Profile, *, actor: str, at: datetime) -> bool:
        """Records the new profile; ``False`` (nothing recorded) when nothing changes."""
        if profile == self.profile:
            return False
        self.trigger_event(self.Updated, timestamp=at, actor=actor, name=profile.name,
                           roles=profile.roles, customer=profile.customer,
                           skills=profile.skills, groups=profile.groups, email=profile.email)
        return True

    def deactivate(self, *, reason: str = "", actor: str, at: datetime) -> None:
        """An inactive user's tokens stop working (they are kept: reactivation restores the
        ones that have not expired or been revoked)."""
        self._require_active("deactivate", ("reactivate", "update"))
        self.trigger_event(self.Deactivated, timestamp=at, actor=actor, reason=reason)

    def reactivate(self, *, actor: str, at: datetime) -> None:
        if self.active:
            raise TransitionNotAllowed("active", "reactivate", _ACTIVE_COMMANDS, record="user")
        self.trigger_event(self.Reactivated, timestamp=at, actor=actor)

    def erase_personal_data(self, *, reason: str, erasure_id: str, actor: str,
                            at: datetime) -> bool:
        """Records that the name of this requester was erased with their customer's personal
        data; ``False`` (nothing recorded) for a staff user or a name already erased."""
        if self.customer is None or self.name == ERASED_TEXT:
            return False
        self.trigger_event(self.PersonalDataErased, timestamp=at, actor=actor, reason=reason,
                           erasure_id=erasure_id)
        return True

    def issue_token(self, token_id: str, digest: str, expires_at: datetime | None, *,
                    label: str = "", actor: str, at: datetime) -> ApiToken:
        """Records a token by its digest; ``expires_at`` defaults to 90 days after ``at`` and
        must lie after ``at`` and at most two years ahead."""
        self._require_active("issue_token", ("reactivate", "update"))
        expires_at = at + DEFAULT_TOKEN_LIFETIME if expires_at is None else expires_at
        errors: list[FieldError] = []
        if expires_at.tzinfo is None:
            errors.append(FieldError("expires_at", "needs a UTC offset"))
        elif expires_at <= at:
            errors.append(FieldError("expires_at", "must be in the future"))
        elif expires_at > at + MAX_TOKEN_LIFETIME:
            errors.append(FieldError("expires_at", "at most two years ahead"))
        label = collapsed(label)
        if len(label) > MAX_LABEL or not label.isprintable():
            errors.append(FieldError("label", f"at most {MAX_LABEL} printable characters"))
        if not token_id or self.token(token_id) is not None:
            errors.append(FieldError("token_id", "must be new"))
        if not _DIGEST.match(digest):
            errors.append(FieldError("digest", "a SHA-256 in hex"))
        refuse_fields(errors)
        self.trigger_event(self.TokenIssued, timestamp=at, actor=actor, token_id=token_id,
                           digest=digest, expires_at=expires_at, label=label)
        token = self.token(token_id)
        assert token is not None
        return token

    def set_password(self, password_hash: str, *, actor: str, at: datetime) -> None:
        """Records a console password by its hash (made by the application: argon2id)."""
        self._require_active("set_password", ("reactivate", "update"))
        if not password_hash.startswith("$argon2") or len(password_hash) > MAX_PASSWORD_HASH:
            raise InvalidCommand.field("password_hash", "an argon2 hash")
        self.trigger_event(self.PasswordSet, timestamp=at, actor=actor,
                           password_hash=password_hash)

    def login_failed(self, *, actor: str, at: datetime) -> None:
        """Records a failed console login (a wrong password)."""
        self.trigger_event(self.LoginFailed, timestamp=at, actor=actor)

    def locked_until(self, now: datetime) -> datetime | None:
        """When the console lets this user try again, or ``None`` when it does now: after
        ``MAX_LOGIN_FAILURES`` failures in a row, ``LOCKOUT`` after the last of them."""
        failures = getattr(self, "login_failures", ())
        if len(failures) < MAX_LOGIN_FAILURES:
            return None
        until: datetime = failures[-1] + LOCKOUT
        return until if now < until else None

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> None:
        token = self.token(token_id)
        if token is None:
            raise InvalidCommand.field("token_id", f"no token {token_id!r} of this user")
        if token.revoked:
            raise TransitionNotAllowed("revoked", "revoke", (), record="token")
        self.trigger_event(self.TokenRevoked, timestamp=at, actor=actor, token_id=token_id)

    # --------------------------------------------------------------- reads

    def token(self, token_id: str) -> ApiToken | None:
        return next((t for t in self.tokens if t.token_id == token_id), None)

    def _require_active(self, command: str, allowed: tuple[str, ...]) -> None:
        if not self.active:
            raise TransitionNotAllowed("inactive", command, allowed, record="user",
                                       reason="the user is deactivated")


_ACTIVE_COMMANDS = ("update", "deactivate", "issue_token", "revoke_token")


UserDirectory = directory(
    "opsledger.identity:UserDirectory", "opsledger:user-directory",
    key="user", items="users", module=__name__,
    doc="""The ids of every registered user, in order of registration (for listing).""")
