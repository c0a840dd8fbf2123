"""The problem list in an SQLite file (the event store's file by default)."""

from __future__ import annotations

from typing import Any

from projections.problem_list.sql import SqlProblemListView
from projections.sql import SQLiteStore


def sqlite_problem_list(path: str, write_lock: Any | None = None) -> SqlProblemListView:
    return SqlProblemListView(SQLiteStore(path, write_lock=write_lock))
