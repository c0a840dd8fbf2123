"""Use cases of users and API tokens, and the token check every request makes (issue 7,
ADR 0035).

The commands are values in ``application.commands.users`` (``RegisterUser``, ``IssueToken``,
...), run by ``ServiceDesk.handle`` like every other record's commands; this module holds
the tokens, their check and cache, and the reads.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


from application.desk import CommandResult, HistoryEntry, ServiceDesk
from application.errors import ApplicationError, RecordNotFound
from domain.errors import InvalidCommand
from domain.identity import ApiToken, User, UserDirectory, normalise_user_id

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
        self.known_users: set[str] = set()  # ids seen registered (``require_known_user``)
        self.no_users_seen_at = float("-inf")  # ``ticks()`` of the last read that found none
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
    found = desk.load(aggregate_id)
    return found if isinstance(found, User) else None


def has_identities(desk: ServiceDesk) -> bool:
    """Whether any user is registered (a store without users and without an admin token runs
    open). One small read while there are none, none at all once there are."""
    cache = token_cache(desk)
    if not cache.any_users:
        directory: UserDirectory | None = desk.load(UserDirectory.ID)
        if directory is None:
            return False
        cache.any_users = bool(directory.users)
    return cache.any_users


#: How long "the store has no users" is trusted by ``require_known_user`` (as the open
#: development store's own recheck, ``adapters.http.access``).
USERS_RECHECK_SECONDS = 1.0


def require_known_user(desk: ServiceDesk, user: str, field: str = "assignee") -> None:
    """``user`` is a registered user once the store has users (issue 16): an
    ``InvalidCommand`` naming ``field`` (a 422) otherwise. A store without users (a fresh
    development store) takes any name. Users are never deleted, so one found is remembered
    and later checks read nothing; one not found is looked up again next time (it may have
    been registered by another process since). While the store has no users, that is read
    at most once a second (``USERS_RECHECK_SECONDS``), not on every assignment."""
    cache = token_cache(desk)
    if not cache.any_users:
        if cache.ticks() - cache.no_users_seen_at < USERS_RECHECK_SECONDS:
            return
        if not has_identities(desk):
            cache.no_users_seen_at = cache.ticks()
            return
    text = normalise_user_id(user)
    if text in cache.known_users:
        return
    if _load(desk, User.id_for(text)) is None:
        raise InvalidCommand.field(
            field, f"no user {text!r} is registered (assign to a registered user)")
    cache.known_users.add(text)


# ------------------------------------------------------------------ tokens issued


def issued_token(command: Any, result: CommandResult) -> IssuedToken:
    """The answer to an ``IssueToken``: the token string this once, or ``None`` on an
    ``Idempotency-Key`` replay (the token issued then, by the same request: its secret is
    gone)."""
    if result.replayed:
        return IssuedToken(token=None, issued=result.aggregate.tokens[-1], result=result)
    return IssuedToken(token=command.token, issued=result.aggregate.token(command.token_id),
                       result=result)


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
    directory: UserDirectory | None = desk.load(UserDirectory.ID)
    if directory is None:
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
