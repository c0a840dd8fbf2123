"""The library's SQLite infrastructure with our durability setting (ADR 0012).

``PRAGMA synchronous`` is per connection, and the library opens its own connections, so this
factory swaps the pool for one that sets it on every new connection. In WAL mode ``NORMAL``
keeps every committed transaction through a crash or kill of the process (the WAL is in the
file system); only an operating-system crash or power cut can lose the last commits, never
corrupting the database. ``FULL`` fsyncs each commit.
"""

from __future__ import annotations

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
