"""Use cases of users and API tokens, and the token check every request makes (issue 7,
ADR 0035).

Functions over the ``ServiceDesk`` (like ``application.customers``); the commands go through
``desk._run`` / ``desk._change``, so they retry on concurrent saves and honour ``If-Match``
and ``Idempotency-Key`` like every other record's commands.

Tokens: ``olt_<user aggregate id, hex>_<token id>_<secret>``. The secret is 256 random bits
(``secrets.token_urlsafe(32)``); the user's stream records only the SHA-256 of the whole token
string. ``authenticate`` reads the user named in the token (one aggregate read, no scan),
compares digests in constant time and checks expiry, revocation and that the user is active.
Valid principals are cached in this process for ``CACHE_TTL`` seconds (keyed by the token's
digest); a revocation, deactivation or update made in this process drops the user's entries
at once, one made by another process is seen within the TTL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.desk import CommandResult, HistoryEntry, ServiceDesk
from application.errors import ApplicationError, RecordNotFound
from application.idempotency import IdempotencyKey
from application.customers import customer_on_first_use
from domain.identity import ApiToken, Profile, Role, User, UserDirectory, normalise_user_id

LABEL = "user"
TOKEN_PREFIX = "olt"
MAX_TOKEN_CHARS = 200  # longer Authorization values are not ours: refused before hashing
CACHE_TTL = 2.0  # seconds a valid principal is trusted without reading the user again
CACHE_MAX = 10_000  # cached tokens per process (then the stale ones go, or all of them)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller; commands record ``user_id`` as the actor."""

    user_id: str
    name: str
    roles: frozenset[str]
    customer: str | None  # requesters only
    groups: frozenset[str]
    skills: tuple[str, ...]
    token_id: str | None


@dataclass(frozen=True)
class IssuedToken:
    token: str | None  # the secret token, this once (``None`` on an idempotent replay)
    issued: ApiToken  # as recorded (digest, expiry, label)
    result: CommandResult


class UserExists(ApplicationError):
    """A registration of an existing user id with other data (a 409)."""

    def __init__(self, user: str):
        self.user = user
        super().__init__(f"user {user!r} is already registered with other data; "
                         "use POST /users/{id}/update to change it")


class _AlreadyRegistered(Exception):
    """Raised inside the registration to leave ``desk._run`` without saving."""

    def __init__(self, user: User):
        self.user = user


# ------------------------------------------------------------------ tokens


def token_digest(token: str) -> str:
    """SHA-256 (hex) of the whole token string: what the stream keeps and the cache's key."""
    return hashlib.sha256(token.encode()).hexdigest()


def make_token(user: UUID) -> tuple[str, str]:
    """A new ``(token_id, token)`` for the user with aggregate id ``user``."""
    token_id = secrets.token_hex(8)
    return token_id, f"{TOKEN_PREFIX}_{user.hex}_{token_id}_{secrets.token_urlsafe(32)}"


def parse_token(token: str) -> tuple[UUID, str] | None:
    """The user's aggregate id and the token id a token names; ``None`` when malformed."""
    parts = token.split("_", 3)
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX or not parts[3]:
        return None
    user_hex, token_id = parts[1], parts[2]
    if len(user_hex) != 32 or len(token_id) != 16 or not _hex(user_hex + token_id):
        return None
    return UUID(hex=user_hex), token_id


def _hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    expires_at: datetime
    version: int
    cached_at: float


class TokenCache:
    """Valid principals by token digest, trusted for ``ttl`` seconds of ``ticks`` (a monotonic
    clock, replaceable in tests). Thread-safe.

    ``invalidate(user, version)`` drops the user's entries and refuses to cache a principal
    read from an older version of the user afterwards (a check that raced with a revocation
    must not put the revoked token back)."""

    def __init__(self, ttl: float = CACHE_TTL, ticks: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.ticks = ticks
        self.any_users = False  # once a user exists, one always does (users are never deleted)
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._floors: dict[str, int] = {}

    def get(self, digest: str, now: datetime) -> Principal | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if self.ticks() - entry.cached_at >= self.ttl or now >= entry.expires_at:
                del self._entries[digest]
                return None
            return entry.principal

    def put(self, digest: str, principal: Principal, expires_at: datetime, version: int) -> None:
        with self._lock:
            if version < self._floors.get(principal.user_id, 0):
                return
            ticks = self.ticks()
            if len(self._entries) >= CACHE_MAX:
                self._entries = {k: e for k, e in self._entries.items()
                                 if ticks - e.cached_at < self.ttl}
                if len(self._entries) >= CACHE_MAX:
                    self._entries.clear()
            self._entries[digest] = _Entry(principal, expires_at, version, ticks)

    def invalidate(self, user: str, version: int) -> None:
        with self._lock:
            self._floors[user] = max(self._floors.get(user, 0), version)
            for digest in [d for d, e in self._entries.items() if e.principal.user_id == user]:
                del self._entries[digest]

    def __len__(self) -> int:
        return len(self._entries)


_caches: weakref.WeakKeyDictionary[ServiceDesk, TokenCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def token_cache(desk: ServiceDesk) -> TokenCache:
    """The token cache of ``desk`` (one per desk, i.e. per process in production)."""
    with _caches_lock:
        cache = _caches.get(desk)
        if cache is None:
            cache = _caches[desk] = TokenCache()
        return cache


def principal_of(user: User, token_id: str | None = None) -> Principal:
    return Principal(user_id=user.user, name=user.name, roles=frozenset(user.roles),
                     customer=user.customer, groups=frozenset(user.groups),
                     skills=user.skills, token_id=token_id)


def authenticate(desk: ServiceDesk, token: str) -> Principal | None:
    """The principal a bearer token stands for; ``None`` when the token is malformed,
    unknown, expired or revoked, or its user is unknown or deactivated."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        return None
    digest = token_digest(token)
    now = desk.clock.now()
    cache = token_cache(desk)
    cached = cache.get(digest, now)
    if cached is not None:
        return cached
    parsed = parse_token(token)
    if parsed is None:
        return None
    user = _load(desk, parsed[0])
    issued = user.token(parsed[1]) if user is not None and user.active else None
    if user is None or issued is None or not issued.valid_at(now):
        return None
    if not hmac.compare_digest(issued.digest, digest):
        return None
    principal = principal_of(user, issued.token_id)
    cache.put(digest, principal, issued.expires_at, user.version)
    return principal


def _load(desk: ServiceDesk, aggregate_id: UUID) -> User | None:
    try:
        found = desk._get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, User) else None


def has_identities(desk: ServiceDesk) -> bool:
    """Whether any user is registered (a store without users and without an admin token runs
    open). One small read while there are none, none at all once there are."""
    cache = token_cache(desk)
    if not cache.any_users:
        try:
            directory: UserDirectory = desk._get(UserDirectory.ID)
        except AggregateNotFoundError:
            return False
        cache.any_users = bool(directory.users)
    return cache.any_users


# ---------------------------------------------------------------- commands


def _first_use_of(desk: ServiceDesk, customer: str | None, actor: str,
                  at: datetime) -> tuple[Any, ...]:
    """A requester's customer, registered now (named by its id, with the customer directory)
    when the store does not know it yet: saved with the user."""
    return () if customer is None else customer_on_first_use(desk, customer, at, actor)


def register_user(desk: ServiceDesk, user: str, name: str, roles: Iterable[str], *,
                  customer: str | None = None, skills: Iterable[str] = (),
                  groups: Iterable[str] = (), actor: str,
                  idempotency: IdempotencyKey | None = None) -> CommandResult:
    """Registers a user (``created``); a repeat with the same data answers the user as it is
    (not ``created``), the same id with other data is a ``UserExists``."""
    profile = Profile.of(name, roles, customer, skills, groups)
    text = normalise_user_id(user)

    def mutate(_: None, at: datetime, __: Any) -> Any:
        record = User.register(text, profile, actor=actor, at=at)
        existing = _load(desk, record.id)
        if existing is not None:
            if existing.same_as(profile):
                raise _AlreadyRegistered(existing)
            raise UserExists(existing.user)
        try:
            directory = desk._get(UserDirectory.ID)
        except AggregateNotFoundError:
            directory = UserDirectory.open(at)
        directory.add(record.user, at)
        return (record, directory, *_first_use_of(desk, profile.customer, actor, at))

    try:
        result = desk._run(None, mutate, actor=actor, expected_version=None,
                           idempotency=idempotency, kind=User, label=LABEL)
    except _AlreadyRegistered as repeat:
        return CommandResult(aggregate=repeat.user)
    token_cache(desk).any_users = True
    return result


def _on_user(desk: ServiceDesk, ref: str, command: Callable[[User, datetime], Any], *,
             actor: str, invalidate: bool = True, **opts: Any) -> CommandResult:
    """Runs ``command(user, at)`` on the user ``ref``; afterwards (``invalidate``) this
    process's cached principals of the user are dropped."""
    text = normalise_user_id(ref)
    try:
        result = desk._change(User.id_for(text), lambda u, at, _: command(u, at), actor=actor,
                              kind=User, label=LABEL, **opts)
    except RecordNotFound:
        raise RecordNotFound(text, LABEL) from None
    if invalidate:
        token_cache(desk).invalidate(result.aggregate.user, result.aggregate.version)
    return result


def update_user(desk: ServiceDesk, ref: str, *, actor: str, name: str | None = None,
                roles: Sequence[str] | None = None, customer: str | None = None,
                skills: Sequence[str] | None = None, groups: Sequence[str] | None = None,
                **opts: Any) -> CommandResult:
    """Changes the fields given (the others stay). A user that stops being a requester
    leaves its customer; one that stays a requester keeps it unless another is given."""

    def command(u: User, at: datetime) -> None:
        new_roles = u.roles if roles is None else roles
        kept = u.customer if Role.REQUESTER.value in new_roles else None
        profile = Profile.of(u.name if name is None else name, new_roles,
                             kept if customer is None else customer,
                             u.skills if skills is None else skills,
                             u.groups if groups is None else groups)
        if u.update(profile, actor=actor, at=at):
            return _first_use_of(desk, profile.customer, actor, at) or None
        return None

    return _on_user(desk, ref, command, actor=actor, **opts)


def deactivate_user(desk: ServiceDesk, ref: str, *, actor: str, reason: str = "",
                    **opts: Any) -> CommandResult:
    return _on_user(desk, ref, lambda u, at: u.deactivate(reason=reason, actor=actor, at=at),
                    actor=actor, **opts)


def reactivate_user(desk: ServiceDesk, ref: str, *, actor: str, **opts: Any) -> CommandResult:
    return _on_user(desk, ref, lambda u, at: u.reactivate(actor=actor, at=at), actor=actor,
                    **opts)


def issue_token(desk: ServiceDesk, ref: str, expires_at: datetime | None = None, *,
                actor: str, label: str = "", **opts: Any) -> IssuedToken:
    """Issues a token (default expiry: 90 days); the token string is in the answer only.
    An ``Idempotency-Key`` repeat answers the token issued then, without its secret."""
    token_id, token = make_token(User.id_for(normalise_user_id(ref)))

    def command(u: User, at: datetime) -> None:
        u.issue_token(token_id, token_digest(token), expires_at, label=label, actor=actor, at=at)

    result = _on_user(desk, ref, command, actor=actor, invalidate=False, **opts)
    if result.replayed:  # the token issued then, by the same request: its secret is gone
        return IssuedToken(token=None, issued=result.aggregate.tokens[-1], result=result)
    return IssuedToken(token=token, issued=result.aggregate.token(token_id), result=result)


def revoke_token(desk: ServiceDesk, ref: str, token_id: str, *, actor: str,
                 **opts: Any) -> CommandResult:
    """Revokes the token: refused at once in this process, within ``CACHE_TTL`` elsewhere."""
    get_token(desk, ref, token_id)  # an unknown token: 404
    return _on_user(desk, ref, lambda u, at: u.revoke_token(token_id, actor=actor, at=at),
                    actor=actor, **opts)


# ------------------------------------------------------------------- reads


def get_user(desk: ServiceDesk, ref: str, as_of: datetime | None = None) -> User:
    text = normalise_user_id(ref)
    try:
        return desk.get_record(User.id_for(text), User, LABEL, as_of)  # type: ignore[no-any-return]
    except RecordNotFound:
        raise RecordNotFound(text, LABEL) from None


def user_history(desk: ServiceDesk, ref: str) -> list[HistoryEntry]:
    text = normalise_user_id(ref)
    try:
        return desk.history(User.id_for(text), User, LABEL)
    except RecordNotFound:
        raise RecordNotFound(text, LABEL) from None


def list_users(desk: ServiceDesk, *, role: str | None = None,
               customer: str | None = None) -> list[User]:
    """Every user by id, optionally only those with ``role`` or of ``customer``."""
    try:
        directory: UserDirectory = desk._get(UserDirectory.ID)
    except AggregateNotFoundError:
        return []
    found = (_load(desk, User.id_for(u)) for u in sorted(directory.users))
    return [u for u in found if u is not None
            and (role is None or role in u.roles)
            and (customer is None or u.customer == customer)]


def list_tokens(desk: ServiceDesk, ref: str) -> tuple[ApiToken, ...]:
    """The user's tokens, oldest first (digests are the caller's to leave out)."""
    return get_user(desk, ref).tokens


def get_token(desk: ServiceDesk, ref: str, token_id: str) -> ApiToken:
    found = get_user(desk, ref).token(token_id)
    if found is None:
        raise RecordNotFound(token_id, "token")
    return found
