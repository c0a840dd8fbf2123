"""The problem list in PostgreSQL (the event store's database and schema by default)."""

from __future__ import annotations

from projections.problem_list.sql import SqlProblemListView
from projections.sql import PostgresStore


def postgres_problem_list(conninfo: str, schema: str = "") -> SqlProblemListView:
    return SqlProblemListView(PostgresStore.shared(conninfo, schema))
