"""The ticket list in PostgreSQL (the event store's database and schema by default)."""

from __future__ import annotations

from projections.sql import PostgresStore
from projections.ticket_list.sql import SqlTicketListView


def postgres_ticket_list(conninfo: str, schema: str = "") -> SqlTicketListView:
    return SqlTicketListView(PostgresStore.shared(conninfo, schema))
