"""What a PostgreSQL store holds, read back for the privacy and erasure checks."""

from __future__ import annotations

from typing import Any


def schema_rows(conn: Any, events_table: str) -> list[str]:
    """Every row of every table of the connection's schema as text (bytea as hex), once the
    events and personal-data-key tables are seen to be among those tables."""
    tables = [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
    assert events_table in tables and "personal_data_keys" in tables, tables
    return [row for table in tables for (row,) in conn.execute(f'SELECT t::text FROM "{table}" t')]
