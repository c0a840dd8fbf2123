"""What the in-memory views share: rows by key, the position, compare-and-set, and batches
applied all or nothing (``projections/base.py``). A view subclasses ``MemoryRows`` and says
how one event changes one row (``apply_event``) and, if not by the originator id, which
row an event belongs to (``key``)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from projections.base import Positioned, TrackingConflict

Row = TypeVar("Row")


class MemoryRows(Generic[Row]):
    name: str

    def __init__(self) -> None:
        self._rows: dict[str, Row] = {}
        self._position = 0
        self._lock = threading.Lock()

    def position(self) -> int:
        return self._position

    def reset(self) -> None:
        with self._lock:
            self._rows, self._position = {}, 0

    def close(self) -> None:
        pass

    def key(self, event: Any) -> str:
        return str(event.originator_id)

    def apply_event(self, row: Row | None, event: Any, position: int) -> Row | None:
        """The row after ``event`` (``row`` is this batch's own copy, or ``None``)."""
        raise NotImplementedError

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        with self._lock:
            if self._position != start:
                raise TrackingConflict(self.name, start, self._position)
            # All or nothing: work on copies of the touched rows, swap in when all applied.
            touched: dict[str, Row | None] = {}
            for pe in events:
                key = self.key(pe.event)
                if key not in touched:
                    old = self._rows.get(key)
                    copy = dict(old) if old is not None else None  # type: ignore[call-overload]
                    touched[key] = copy
                touched[key] = self.apply_event(touched[key], pe.event, pe.position)
            rows = dict(self._rows)
            rows.update({k: r for k, r in touched.items() if r is not None})
            self._rows, self._position = rows, end
