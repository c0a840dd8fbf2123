"""The SLA due index in PostgreSQL (the event store's database and schema by default)."""

from __future__ import annotations

from projections.sla_due.sql import SqlSlaDueView
from projections.sql import PostgresStore


def postgres_sla_due(conninfo: str, schema: str = "") -> SqlSlaDueView:
    return SqlSlaDueView(PostgresStore.shared(conninfo, schema))
