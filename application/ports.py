"""Ports of the application layer: what it needs from the outside, as Protocols."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
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
