"""Tracking positions for followers of the event log that keep no rows of their own (process
managers, e.g. ``application.routine_tickets``): the same ``projection_tracking`` row and
compare-and-set as the read models (``projections/sql.py``), so ``projections status`` and
``rebuild`` see them like any view."""

from __future__ import annotations

import threading

from projections.base import TrackingConflict
from projections.sql import SqlStore, Tracking


class MemoryPosition:
    def __init__(self, name: str) -> None:
        self.name = name
        self._position = 0
        self._lock = threading.Lock()

    def position(self) -> int:
        return self._position

    def move(self, start: int, end: int) -> None:
        with self._lock:
            if self._position != start:
                raise TrackingConflict(self.name, start, self._position)
            self._position = end

    def reset(self) -> None:
        self._position = 0

    def close(self) -> None:
        pass


class SqlPosition:
    """The position in the read-model database (SQLite file or PostgreSQL schema)."""

    VERSION = 1

    def __init__(self, store: SqlStore, name: str) -> None:
        self.name = name
        self.store = store
        self.tracking = Tracking(store, name, self.VERSION)
        with store.transaction() as cur:
            self.tracking.create(cur)

    def position(self) -> int:
        with self.store.read() as cur:
            return self.tracking.stored(cur)[0]

    def move(self, start: int, end: int) -> None:
        with self.store.transaction() as cur:
            self.tracking.move(cur, start, end)

    def reset(self) -> None:
        with self.store.transaction() as cur:
            self.tracking.reset(cur)

    def close(self) -> None:
        self.store.close()
