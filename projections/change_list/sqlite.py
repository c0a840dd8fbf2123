"""The change list in an SQLite file (the event store's file by default)."""

from __future__ import annotations

from typing import Any

from projections.change_list.sql import SqlChangeListView
from projections.sql import SQLiteStore


def sqlite_change_list(path: str, write_lock: Any | None = None) -> SqlChangeListView:
    return SqlChangeListView(SQLiteStore(path, write_lock=write_lock))
