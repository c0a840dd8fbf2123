"""The library's SQLite infrastructure with our durability setting (ADR 0012).

``PRAGMA synchronous`` is per connection, and the library opens its own connections, so this
factory swaps the pool for one that sets it on every new connection. In WAL mode ``NORMAL``
keeps every committed transaction through a crash or kill of the process (the WAL is in the
file system); only an operating-system crash or power cut can lose the last commits, never
corrupting the database. ``FULL`` fsyncs each commit.
"""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")


class _Pool(SQLiteConnectionPool):
    synchronous = "NORMAL"

    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        conn._sqlite_conn.execute(f"PRAGMA synchronous={self.synchronous}")
        return conn


class SQLiteStoreFactory(SQLiteFactory):
    SQLITE_SYNCHRONOUS = "SQLITE_SYNCHRONOUS"

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        mode = (self.env.get(self.SQLITE_SYNCHRONOUS) or "NORMAL").upper()
        if mode not in SYNCHRONOUS_MODES:
            raise OSError(f"SQLITE_SYNCHRONOUS must be one of {', '.join(SYNCHRONOUS_MODES)}")
        pool = self.datastore.pool
        pool.__class__ = type("SQLitePool" + mode.title(), (_Pool,), {"synchronous": mode})


class ProcessWriteLock:
    """The SQLite writers' lock of ADR 0012, extended across processes (ADR 0038): a
    re-entrant thread lock plus an exclusive ``flock`` on ``<database>-writer.lock`` while
    held. ``serve`` and its projections worker process write one file; without it a writer of
    one would meet the other's transaction in SQLite's busy handler, which sleeps 1, 2, 5 …
    100 ms between tries; with it the waiter blocks in the kernel and runs as soon as the
    lock is free. Processes that do not take it (an older server, the ``sqlite3`` shell) are
    still kept apart by SQLite's own locking, as before."""

    def __init__(self, database_path: str) -> None:
        self.path = database_path + "-writer.lock"
        self._lock = threading.RLock()
        self._depth = 0  # only changed by the thread holding ``_lock``
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._lock.acquire(blocking, timeout):
            return False
        if self._depth == 0:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # releases the GIL while it waits
            except BaseException:
                self._lock.release()
                raise
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def close(self) -> None:
        os.close(self._fd)


def writer_lock(database_path: str) -> ProcessWriteLock | threading.RLock:
    """The writers' lock for a SQLite file; an in-memory database has no other processes."""
    if database_path == ":memory:" or database_path.startswith("file::memory:"):
        return threading.RLock()
    return ProcessWriteLock(database_path)
