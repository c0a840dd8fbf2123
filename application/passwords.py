"""Console passwords (ADR 0049): argon2id hashes made and checked with ``argon2-cffi``.

New hashes are made at the desk's cost (``Passwords``, ADR 0078: ``OPSLEDGER_PASSWORD_COST``):

* ``owasp`` (the default): OWASP's second recommended set for argon2id (19 MiB, 2 passes,
  1 lane): about 20 ms a check on the reference machine, so a login costs little and a guess
  costs the same.
* ``test``: argon2id with 1 MiB and 1 pass (about 1 ms): for test deployments and the test
  suite, whose fixtures set hundreds of passwords; never for real accounts.

argon2 writes the parameters into each hash (``$argon2id$v=19$m=19456,t=2,p=1$…``) and a check
uses those, not the desk's: a hash made at either cost keeps verifying after the cost changes;
``needs_rehash`` tells when to record a new one. An unknown user is checked against a dummy
hash of the desk's cost so that its answer takes as long as a wrong password's (no user
enumeration by timing).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.errors import InvalidCommand

MIN_LENGTH = 8
MAX_LENGTH = 1024


@dataclass(frozen=True)
class Cost:
    """argon2id's parameters: passes, memory in KiB, lanes."""

    time_cost: int
    memory_kib: int
    parallelism: int = 1


#: The named costs of ``OPSLEDGER_PASSWORD_COST`` (ADR 0078).
COSTS: dict[str, Cost] = {
    "owasp": Cost(time_cost=2, memory_kib=19 * 1024),
    "test": Cost(time_cost=1, memory_kib=1024),
}
DEFAULT_COST = "owasp"


@functools.cache
def _hasher(cost: Cost) -> tuple[PasswordHasher, str]:
    """The hasher of ``cost`` and its dummy hash (made once per process and cost)."""
    hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                            parallelism=cost.parallelism)
    return hasher, hasher.hash("opsledger: no such user")


class Passwords:
    """Makes and checks console password hashes at one of ``COSTS`` (``ServiceDesk.passwords``)."""

    def __init__(self, cost: str = DEFAULT_COST) -> None:
        if cost not in COSTS:
            raise ValueError(f"password cost must be one of {', '.join(COSTS)}, not {cost!r}")
        self.cost = cost
        self._hasher, self._dummy = _hasher(COSTS[cost])

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash`` (``None``: no password set, checked
        against the dummy hash all the same). The hash's own parameters are used."""
        try:
            return (self._hasher.verify(password_hash or self._dummy, password)
                    and password_hash is not None)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether ``password_hash`` was made at another cost than this one."""
        return self._hasher.check_needs_rehash(password_hash)


def check_new(password: str) -> None:
    """Refuses a password too short, too long or with control characters (422 ``password``)."""
    if not (MIN_LENGTH <= len(password) <= MAX_LENGTH):
        raise InvalidCommand.field("password", f"{MIN_LENGTH} to {MAX_LENGTH} characters")
    if not password.isprintable():
        raise InvalidCommand.field("password", "printable characters only")
