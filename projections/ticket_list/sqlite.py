"""The ticket list in an SQLite file (the event store's file by default)."""

from __future__ import annotations

from typing import Any

from projections.sql import SQLiteStore
from projections.ticket_list.sql import SqlTicketListView


def sqlite_ticket_list(path: str, write_lock: Any | None = None) -> SqlTicketListView:
    return SqlTicketListView(SQLiteStore(path, write_lock=write_lock))
