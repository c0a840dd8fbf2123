"""SQLite: the read models in a file of their own beside the events (ADR 0073).

A SQLite file has one writer at a time. With the read models in the events' file, every pass
of the projections worker held that file's writers' lock (ADR 0038) for the whole of its
transaction, and the commands of the HTTP workers queued behind it. In a file of their own,
``<events file>-views`` with its own writers' lock, the views are written while commands
commit: at 8 clients, 1.38-1.44x the lifecycles per second and 0.53-0.58x the command p99 of
one shared file, in the same run (ADR 0073).

What stays with the events, because commands write it in their own transactions or it is not
derived from the log: the events, their hash chain (ADR 0030), the data keys (ADR 0034) and
the mail quarantine (ADR 0057). Everything else -- the views, their tracking positions, the
notice outbox and the process managers' positions, plug-ins' tables -- is in the views file.

Two things follow from two files, and are handled here:

* ``move_views_out``: a store made before ADR 0073 keeps its read models in the events' file.
  On its first start they are copied into the views file (SQLite's online backup of the file,
  then the event side dropped from the copy), so that the outbox and the process managers go
  on from where they were and nothing is decided or sent twice; then dropped from the events'
  file.
* ``rewind_ahead``: with ``synchronous=NORMAL`` (the default, ADR 0012) an operating-system
  crash or power cut may lose the last commits of a file, and the two files are synced
  independently, so the views may have applied events the events' file no longer has. A
  view found ahead of the log is emptied and rebuilt; a follower that acts (the notice
  decider, the routine ticket opener) is moved back to the log's head, so it takes the new
  events written at those positions.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import structlog

from adapters.settings import Database
from adapters.stores.sqlite import writer_lock

SUFFIX = "-views"
# The tables that stay in the events' file (the recorder's, the chain's, the data keys', the
# quarantine's); every other table of a store made before ADR 0073 is a read model's.
EVENT_SIDE = ("stored_events", "event_chain", "personal_data_keys", "mail_quarantine",
              "sqlite_sequence", "sqlite_stat1", "sqlite_stat4")
TRACKING = "projection_tracking"

log = structlog.get_logger("opsledger.views")


def split(db: Database) -> bool:
    """True where the read models have a file of their own: SQLite files, not ``:memory:``."""
    return db.kind == "sqlite" and not (db.path == ":memory:" or db.path.startswith("file::memory:"))


def views_database(db: Database) -> Database:
    """Where the read models of ``db`` are kept: ``<file>-views`` for a SQLite file, else
    ``db`` itself (PostgreSQL: the same schema; memory)."""
    return replace(db, path=db.path + SUFFIX) if split(db) else db


def views_lock(db: Database, events_lock: Any) -> Any:
    """The writers' lock of the views' database: the views file's own (ADR 0038's, on that
    file), else the events' (the same database)."""
    return writer_lock(db.path + SUFFIX) if split(db) else events_lock


def _tables(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(type, name) of the tables and virtual tables, virtual ones first (dropping one drops
    its shadow tables)."""
    rows = conn.execute(
        "SELECT CASE WHEN sql LIKE 'CREATE VIRTUAL TABLE%' THEN 'virtual' ELSE 'table' END, name "
        "FROM sqlite_master WHERE type='table' ORDER BY 1 DESC, name").fetchall()
    return [(kind, name) for kind, name in rows]


def _drop(conn: sqlite3.Connection, keep: Callable[[str], bool]) -> list[str]:
    dropped = []
    for _kind, name in _tables(conn):
        if keep(name):
            continue
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                              (name,)).fetchone()
        if exists:  # a virtual table's shadow tables went with it
            conn.execute(f'DROP TABLE "{name}"')
            dropped.append(name)
    return dropped


def move_views_out(db: Database, events_lock: Any) -> bool:
    """Once, for a SQLite store made before ADR 0073: its read models, positions and outbox
    into the views file, then out of the events' file; True if it moved anything.

    Under the events' writers' lock, so that processes starting together move them once and no
    command writes meanwhile. The views file appears whole or not at all (written beside, then
    renamed); a crash after the rename leaves only stale tables in the events' file, dropped on
    the next start."""
    if not split(db) or not Path(db.path).exists():
        return False
    target = Path(db.path + SUFFIX)
    with events_lock, contextlib.closing(sqlite3.connect(db.path, isolation_level=None)) as events:
        names = {name for _kind, name in _tables(events)}
        if TRACKING not in names:
            return False
        moved = False
        if not target.exists():
            part = Path(str(target) + ".part")
            part.unlink(missing_ok=True)
            with contextlib.closing(sqlite3.connect(part, isolation_level=None)) as copy:
                events.backup(copy)
                copy.execute("BEGIN")
                _drop(copy, lambda name: name not in EVENT_SIDE or name.startswith("sqlite_"))
                copy.execute("COMMIT")
                copy.execute("VACUUM")
                copy.execute("PRAGMA journal_mode=WAL")
            with open(part, "rb") as f:
                os.fsync(f.fileno())
            os.replace(part, target)
            moved = True
        events.execute("BEGIN IMMEDIATE")
        dropped = _drop(events, lambda name: name in EVENT_SIDE or name.startswith("sqlite_"))
        events.execute("COMMIT")
    log.warning("views.moved_out", events=db.path, views=str(target), tables=len(dropped),
                copied=moved)
    return True


Follower = tuple[str, Callable[[], int], Callable[[int, int], None]]  # name, position, move


def rewind_ahead(head: Callable[[], int], views: Iterable[Any],
                 followers: Iterable[Follower]) -> list[str]:
    """Views ahead of the log (``head()``, read after their positions) are reset, to be
    rebuilt by the runner; followers that act, given as (name, position, move(start, end)),
    are moved back to the head. The names it changed."""
    seen = [(view.name, view.position(), view.reset) for view in views]
    moved = [(name, position(), move) for name, position, move in followers]
    top = head()  # after the positions: a view that moved meanwhile is not ahead of this
    changed = []
    for name, position, reset in seen:
        if position > top:
            log.warning("views.ahead_of_log", view=name, position=position, head=top, action="rebuilt")
            reset()
            changed.append(name)
    for name, position, move in moved:
        if position > top:
            log.warning("views.ahead_of_log", view=name, position=position, head=top, action="rewound")
            move(position, top)
            changed.append(name)
    return changed
