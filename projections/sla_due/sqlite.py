"""The SLA due index in an SQLite file (the event store's file by default)."""

from __future__ import annotations

from typing import Any

from projections.sla_due.sql import SqlSlaDueView
from projections.sql import SQLiteStore


def sqlite_sla_due(path: str, write_lock: Any | None = None) -> SqlSlaDueView:
    return SqlSlaDueView(SQLiteStore(path, write_lock=write_lock))
