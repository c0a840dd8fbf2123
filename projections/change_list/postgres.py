"""The change list in PostgreSQL (the event store's database and schema by default)."""

from __future__ import annotations

from projections.change_list.sql import SqlChangeListView
from projections.sql import PostgresStore


def postgres_change_list(conninfo: str, schema: str = "") -> SqlChangeListView:
    return SqlChangeListView(PostgresStore.shared(conninfo, schema))
