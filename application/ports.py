"""Ports of the application layer: what it needs from the outside, as Protocols."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime: the time a command is recorded."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests and replays: returns what it was set to, moved by ``advance``."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


class PositionIndex(Protocol):
    """Where each event of one aggregate stands in the global log (its notification id)."""

    def positions(self, originator_id: UUID) -> dict[int, int]:
        """Maps originator version to notification id."""
        ...


class VersionIndex(Protocol):
    """The current version of one aggregate, straight from the event store (ADR 0038)."""

    def latest_version(self, originator_id: UUID) -> int:
        """The highest recorded version of ``originator_id``; 0 when it has no events."""
        ...


class HolidaySource(Protocol):
    """China's public holidays and make-up workdays (调休) from a maintained data package."""

    @property
    def source(self) -> str:
        """The package and version, e.g. ``chinese-calendar 1.11.0`` (recorded with deadlines)."""
        ...

    def china_days(self) -> tuple[frozenset[date], frozenset[date]]:
        """Every holiday and every make-up workday the installed data knows."""
        ...


class TicketClocks(Protocol):
    """The SLA clocks the desk keeps on tickets (``application.sla_clocks.SlaClocks``)."""

    def check_policy(self, slug: str) -> None:
        """Raises ``InvalidCommand`` naming ``sla_policy`` when no such policy exists."""
        ...

    def update(self, ticket: Any, at: datetime) -> None:
        """Records new deadlines on ``ticket`` when its priority or pauses changed them."""
        ...

    def refresh(self, ticket: Any, at: datetime) -> bool:
        """Records new deadlines when the ticket's running clocks cite an older policy or
        calendar version (ADR 0018); ``True`` when it recorded."""
        ...

    def status(self, ticket: Any, now: datetime) -> Any:
        """The clocks of ``ticket`` at ``now`` for the read side (``None``: no deadlines yet)."""
        ...

    def reached(self, ticket: Any, now: datetime) -> list[Any]:
        """Warnings and breaches of running clocks reached by ``now``, not yet recorded."""
        ...

    def escalation_contacts(self, ticket: Any) -> tuple[str, str]:
        """The pre-set (manager, expert) of the ticket's SLA policy."""
        ...


@dataclass(frozen=True)
class Notice:
    """A message to a person about a ticket (an escalation: to its manager and expert)."""

    kind: str  # "escalation"
    recipient: str
    role: str  # "manager" | "expert"
    ticket_id: str
    number: str
    level: int
    reason: str
    priority_from: str | None
    priority_to: str | None
    occurred_at: datetime
    by: str

    def as_json(self) -> dict[str, Any]:
        out = dict(vars(self))
        out["occurred_at"] = self.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return out


class Notifier(Protocol):
    """Sends notices. ``notify`` must not block the caller for long: adapters queue and
    deliver in the background with retries (``adapters/channels/notify.py``)."""

    def notify(self, notice: Notice) -> None: ...


class KeyStore(Protocol):
    """Per-customer data keys for crypto-shredding (ADR 0034), kept apart from the events (a
    table of the same database). A destroyed key is gone: no read brings it back."""

    def current(self, key_id: str) -> tuple[int, bytes]:
        """The live (version, 32-byte key) of ``key_id``, creating the next version when none
        is live (the first use, or the first after an erasure)."""
        ...

    def get(self, key_id: str, version: int) -> bytes | None:
        """That version's key, ``None`` when it was destroyed (or never existed)."""
        ...

    def destroy(self, key_id: str) -> tuple[int, ...]:
        """Destroys every live version of ``key_id`` and returns their numbers; leaves a
        destroyed version even when there was no key, so ``erased`` is true afterwards."""
        ...

    def erased(self, key_id: str) -> bool:
        """Whether any version of ``key_id`` was destroyed (the customer had an erasure)."""
        ...


class BlobStore(Protocol):
    """The bytes of uploaded files, beside the event store (ADR 0056): a directory next to a
    SQLite file, a table on PostgreSQL, a dict for ``memory://``. A blob is named by the
    caller (``application.attachments.blob_name``: the SHA-256 of the plain bytes, the key
    that seals them and its version) and never changes once stored: ``put`` of a name that
    exists keeps the stored bytes (two uploads of one file race harmlessly)."""

    def put(self, name: str, data: bytes) -> bool:
        """Stores ``data`` as ``name`` unless that name exists; ``True`` when it stored."""
        ...

    def get(self, name: str) -> bytes | None:
        """The stored bytes of ``name``; ``None`` when there is no such blob."""
        ...

    def has(self, name: str) -> bool: ...

    def names(self) -> list[str]:
        """Every stored name, sorted (backups, audit)."""
        ...

    def close(self) -> None: ...
