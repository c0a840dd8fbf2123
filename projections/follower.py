"""Tracking positions for followers of the event log that keep no rows of their own (process
managers, e.g. ``application.routine_tickets``): the same ``projection_tracking`` row and
compare-and-set as the read models (``projections/sql.py``), so ``projections status`` and
``rebuild`` see them like any view; and the thread that keeps a follower going
(``FollowerThread``: the projection runner, the notice sender)."""

from __future__ import annotations

import threading

from projections.base import TrackingConflict
from projections.sql import SqlStore, Tracking


class FollowerThread:
    """The daemon thread of a follower of the log: ``start``; ``stop``, which wakes it to see
    the stop and waits for it; ``_wake`` set to run a pass at once. A follower names its
    thread (``thread_name``), calls ``_thread_init`` when it is made and writes ``_loop``."""

    thread_name = "follower"

    def _thread_init(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()  # a follower stopped before (e.g. an app's shutdown) starts again
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        raise NotImplementedError


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
