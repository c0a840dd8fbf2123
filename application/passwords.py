"""Console passwords (ADR 0049): argon2id hashes made and checked with ``argon2-cffi``.

The parameters are OWASP's second recommended set for argon2id (19 MiB, 2 passes, 1 lane):
about 20 ms a check on the reference machine, so a login costs little and a guess costs the
same. A hash made with older parameters is still accepted; ``needs_rehash`` tells when to
record a new one. An unknown user is checked against ``DUMMY_HASH`` so that its answer takes
as long as a wrong password's (no user enumeration by timing).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.errors import InvalidCommand

MIN_LENGTH = 8
MAX_LENGTH = 1024

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
DUMMY_HASH = _HASHER.hash("opsledger: no such user")


def check_new(password: str) -> None:
    """Refuses a password too short, too long or with control characters (422 ``password``)."""
    if not (MIN_LENGTH <= len(password) <= MAX_LENGTH):
        raise InvalidCommand.field("password", f"{MIN_LENGTH} to {MAX_LENGTH} characters")
    if not password.isprintable():
        raise InvalidCommand.field("password", "printable characters only")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (``None``: no password set, checked
    against the dummy hash all the same)."""
    try:
        return _HASHER.verify(password_hash or DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
