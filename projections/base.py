"""What every read model offers the projection engine (``adapters/runners/projections.py``).

A view stores its rows *and* its tracking position in one transaction: ``apply`` is given a
batch of events and the position of the last notification read, and commits both, or
neither. ``apply`` also checks that the stored position is still the one it started from
(compare-and-set), so a batch delivered twice — by a restarted runner, or by two runners —
is refused instead of applied twice, and a crash mid-batch leaves the previous position and
rows as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol


class TrackingConflict(Exception):
    """The view's position moved while a batch was being applied (someone else did it)."""

    def __init__(self, name: str, expected: int, actual: int):
        super().__init__(f"projection {name!r} is at {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


class Positioned(NamedTuple):
    """A domain event with its position in the application's log."""

    position: int
    event: Any


class View(Protocol):
    name: str
    topics: frozenset[str]
    # Optional: per topic, the only event fields the view reads (the runner decodes just
    # those). A view without ``fields`` gets whole events.
    fields: dict[str, frozenset[str]]

    def position(self) -> int:
        """The position of the last notification this view has taken into account."""
        ...

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        """Apply ``events`` (all with start < position <= end) and move to ``end``, atomically.

        Raises ``TrackingConflict`` when the stored position is not ``start``.
        """
        ...

    def reset(self) -> None:
        """Drop every row and the tracking position (before a rebuild)."""
        ...

    def close(self) -> None: ...


def stamp(value: datetime | str) -> str:
    """Fixed-width UTC text (``2026-01-05T01:00:00.000000Z``): sorts like the instants. The
    time format of every read model's stored times and of the queries' ``now``."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")[:26] + "Z"  # faster than strftime
