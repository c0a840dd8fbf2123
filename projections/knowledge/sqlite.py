"""The knowledge view in an SQLite file (the event store's file by default)."""

from __future__ import annotations

from typing import Any

from projections.knowledge.sql import SqlKnowledgeView
from projections.sql import SQLiteStore


def sqlite_knowledge(path: str, write_lock: Any | None = None) -> SqlKnowledgeView:
    return SqlKnowledgeView(SQLiteStore(path, write_lock=write_lock))
