"""What the in-memory views share: rows by key, the position, compare-and-set, and batches
applied all or nothing (``projections/base.py``).

``MemoryView`` is the frame: a view says which rows a batch changes (``_applied``, working on
its own copies) and the frame swaps them in with the new position, or raises and keeps both.
Most views keep one row per record: they subclass ``MemoryRows`` and say how one event changes
one row (``apply_event``), which row an event belongs to if not by the originator id
(``key``), and how a row is made ready for reading after a batch (``finish``)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from projections.base import Positioned, TrackingConflict

Row = TypeVar("Row")
Seq = TypeVar("Seq", bound=Mapping[str, Any])


class MemoryView(Generic[Row]):
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

    def _applied(self, events: Sequence[Positioned]) -> dict[str, Row]:
        """The rows ``events`` change, by key: copies, never the stored rows themselves."""
        raise NotImplementedError

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        with self._lock:
            if self._position != start:
                raise TrackingConflict(self.name, start, self._position)
            # All or nothing: work on copies of the touched rows, swap in when all applied.
            changed = self._applied(events)
            rows = dict(self._rows)
            rows.update(changed)
            self._rows, self._position = rows, end


class MemoryRows(MemoryView[Row]):
    def get(self, key: str) -> Row | None:
        """The row with id ``key``, or ``None``."""
        return self._rows.get(key)

    def key(self, event: Any) -> str:
        return str(event.originator_id)

    def apply_event(self, row: Row | None, event: Any, position: int) -> Row | None:
        """The row after ``event`` (``row`` is this batch's own copy, or ``None``)."""
        raise NotImplementedError

    def finish(self, row: Row) -> Row:
        """The row as stored once the batch is applied (default: as it is)."""
        return row

    def _applied(self, events: Sequence[Positioned]) -> dict[str, Row]:
        touched: dict[str, Row | None] = {}
        for pe in events:
            key = self.key(pe.event)
            if key not in touched:
                old = self._rows.get(key)
                copy = dict(old) if old is not None else None  # type: ignore[call-overload]
                touched[key] = copy
            touched[key] = self.apply_event(touched[key], pe.event, pe.position)
        return {k: self.finish(r) for k, r in touched.items() if r is not None}


def newest_page(rows: Iterable[Seq], after: int | None, limit: int) -> tuple[list[Seq], str | None]:
    """One page of ``rows`` newest first (``seq`` descending) after the cursor ``after`` (a
    ``seq``), and the next cursor: the memory twin of ``projections.sql.newest_page``."""
    found = sorted((r for r in rows if after is None or r["seq"] < after),
                   key=lambda r: r["seq"], reverse=True)
    page = found[:limit]
    return page, str(page[-1]["seq"]) if len(found) > limit else None
