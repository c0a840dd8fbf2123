"""The ticket search in PostgreSQL (the event store's database and schema by default)."""

from __future__ import annotations

from projections.sql import PostgresStore
from projections.ticket_search.sql import SqlTicketSearchView


def postgres_ticket_search(conninfo: str, schema: str = "") -> SqlTicketSearchView:
    return SqlTicketSearchView(PostgresStore.shared(conninfo, schema))
