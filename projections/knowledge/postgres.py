"""The knowledge view in PostgreSQL (the event store's database and schema by default)."""

from __future__ import annotations

from projections.knowledge.sql import SqlKnowledgeView
from projections.sql import PostgresStore


def postgres_knowledge(conninfo: str, schema: str = "") -> SqlKnowledgeView:
    return SqlKnowledgeView(PostgresStore.shared(conninfo, schema))
