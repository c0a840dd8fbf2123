"""The ticket search in an SQLite file (the event store's file by default)."""

from __future__ import annotations

from typing import Any

from projections.sql import SQLiteStore
from projections.ticket_search.sql import SqlTicketSearchView


def sqlite_ticket_search(path: str, write_lock: Any | None = None) -> SqlTicketSearchView:
    return SqlTicketSearchView(SQLiteStore(path, write_lock=write_lock))
