"""The notice outbox (ADR 0059): a table beside the read models (the SQLite read-model
database, the PostgreSQL schema) or a dict for ``memory://``.

The process manager (``application.notices.NoticeDecider``) stores notices and moves its
tracked position in one transaction (``store``); the sender (``adapters.channels.sender``)
takes due rows (``due``), claims each (``claim``: a compare-and-set that moves its next
attempt a lease ahead, so two senders never send one row at once, and a sender killed mid-send
leaves it due again after the lease), and marks it ``sent``, ``failed`` (after the last
attempt), ``dropped`` (nobody to send it to: an erased contact) or due again later.

A row holds references, not personal data: the recipient is a role (``contact``,
``user:<id>``, ``group:<name>``, ``address:<mail>`` from the rules file), never a contact's
address; the text is rendered when it is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from application.notices import NAME, Notice
from projections.base import TrackingConflict, stamp
from projections.follower import MemoryPosition, SqlPosition
from adapters.settings import Database
from adapters.stores.persistence import sql_store
from projections.sql import SqlStore, Tracking

TABLE = "notice_outbox"
COLUMNS = ("id", "position", "rule", "recipient", "channel", "record_id", "number", "language",
           "status", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at")
STATUSES = ("pending", "sent", "failed", "dropped")


@dataclass(frozen=True)
class Row:
    """A stored notice and how far it got."""

    notice: Notice
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: str = ""
    last_error: str | None = None
    created_at: str = ""
    sent_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        n = self.notice
        return {"id": n.id, "rule": n.rule, "recipient": n.recipient, "channel": n.channel,
                "number": n.number, "language": n.language, "status": self.status,
                "attempts": self.attempts,
                "next_attempt_at": (self.next_attempt_at or None) if self.status == "pending"
                else None,
                "last_error": self.last_error, "created_at": self.created_at,
                "sent_at": self.sent_at}


def _row(values: Sequence[Any]) -> Row:
    (id_, position, rule, recipient, channel, record_id, number, language, status, attempts,
     next_at, error, created, sent) = values
    return Row(Notice(id=id_, position=int(position), rule=rule, recipient=recipient,
                      channel=channel, record_id=record_id, number=number, language=language),
               status=status, attempts=int(attempts), next_attempt_at=next_at, last_error=error,
               created_at=created, sent_at=sent)


class SqlOutbox:
    """The outbox table and the process manager's position in one SQL database."""

    def __init__(self, store: SqlStore, head: Callable[[], int],
                 now: Callable[[], datetime]) -> None:
        self.db = store
        self.head = head
        self.now = now
        p = store.param
        with store.transaction() as cur:
            tracking = Tracking(store, NAME, SqlPosition.VERSION)
            tracking.create(cur)
            fresh = cur.rowcount == 1
            big = "BIGINT" if store.dialect == "postgres" else "INTEGER"
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, position {big} NOT NULL, "
                "rule TEXT NOT NULL, recipient TEXT NOT NULL, channel TEXT NOT NULL, "
                "record_id TEXT NOT NULL, number TEXT NOT NULL, language TEXT NOT NULL, "
                "status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TEXT NOT NULL, "
                "last_error TEXT, created_at TEXT NOT NULL, sent_at TEXT)")
            cur.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (status, next_attempt_at)")
            cur.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_record ON {TABLE} (record_id, position)")
            if fresh:
                # A new outbox on a store with a history: notices from now on, not for every
                # event ever recorded (ADR 0059).
                cur.execute(f"UPDATE {Tracking.TABLE} SET position={p} WHERE name={p}",
                            (head(), NAME))
        self.tracking = SqlPosition(store, NAME)
        cols = ", ".join(COLUMNS)
        self._insert = (f"INSERT INTO {TABLE} ({cols}) VALUES ({', '.join([p] * len(COLUMNS))}) "
                        "ON CONFLICT (id) DO NOTHING")
        self._select = f"SELECT {cols} FROM {TABLE}"

    # ---------------------------------------------------- the process manager's side

    def position(self) -> int:
        return self.tracking.position()

    def store_in(self, cur: Any, notices: Sequence[Notice], start: int, end: int) -> None:
        self.tracking.tracking.move(cur, start, end)
        at = stamp(self.now())
        for n in notices:
            cur.execute(self._insert, (n.id, n.position, n.rule, n.recipient, n.channel,
                                       n.record_id, n.number, n.language, "pending", 0, at,
                                       None, at, None))

    def store(self, notices: Sequence[Notice], start: int, end: int) -> None:
        with self.db.transaction() as cur:
            self.store_in(cur, notices, start, end)

    def store_transaction(self) -> Any:
        return self.db.transaction()

    def reset(self) -> None:
        """A rebuild: the position to the log's head (history is not notified again; rows
        are kept, so nothing is sent twice)."""
        p = self.db.param
        with self.db.transaction() as cur:
            cur.execute(f"UPDATE {Tracking.TABLE} SET position={p} WHERE name={p}",
                        (self.head(), NAME))

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------ the sender's side

    def due(self, now: datetime, limit: int = 50) -> list[Row]:
        p = self.db.param
        with self.db.read() as cur:
            cur.execute(f"{self._select} WHERE status='pending' AND next_attempt_at <= {p} "
                        f"ORDER BY next_attempt_at, position LIMIT {int(limit)}", (stamp(now),))
            return [_row(r) for r in cur.fetchall()]

    def claim(self, row: Row, until: datetime) -> bool:
        p = self.db.param
        with self.db.transaction() as cur:
            cur.execute(f"UPDATE {TABLE} SET next_attempt_at={p} WHERE id={p} AND "
                        f"status='pending' AND next_attempt_at={p}",
                        (stamp(until), row.notice.id, row.next_attempt_at))
            return bool(cur.rowcount == 1)

    def finish(self, notice_id: str, *, status: str, attempts: int, error: str | None,
               next_at: datetime | None = None, sent_at: datetime | None = None) -> None:
        p = self.db.param
        with self.db.transaction() as cur:
            if next_at is None:
                cur.execute(f"UPDATE {TABLE} SET status={p}, attempts={p}, last_error={p}, "
                            f"sent_at={p} WHERE id={p}",
                            (status, attempts, error, sent_at and stamp(sent_at), notice_id))
            else:
                cur.execute(f"UPDATE {TABLE} SET status={p}, attempts={p}, last_error={p}, "
                            f"next_attempt_at={p} WHERE id={p}",
                            (status, attempts, error, stamp(next_at), notice_id))

    def of_record(self, record_id: str) -> list[Row]:
        p = self.db.param
        with self.db.read() as cur:
            cur.execute(f"{self._select} WHERE record_id={p} ORDER BY position, id", (record_id,))
            return [_row(r) for r in cur.fetchall()]

    def first_mail(self, record_id: str) -> str | None:
        """The id of the record's first e-mail notice (the thread's root, ADR 0059)."""
        p = self.db.param
        with self.db.read() as cur:
            cur.execute(f"SELECT id FROM {TABLE} WHERE record_id={p} AND channel='email' "
                        "ORDER BY position, id LIMIT 1", (record_id,))
            row = cur.fetchone()
            return str(row[0]) if row else None

    def counts(self) -> dict[str, Any]:
        with self.db.read() as cur:
            cur.execute(f"SELECT status, COUNT(*) FROM {TABLE} GROUP BY status")
            counts = {s: 0 for s in STATUSES} | {str(s): int(n) for s, n in cur.fetchall()}
            cur.execute(f"SELECT MIN(created_at) FROM {TABLE} WHERE status='pending'")
            row = cur.fetchone()
        return {**counts, "oldest_pending": row[0] if row else None}


class MemoryOutbox:
    """The outbox of ``memory://`` (tests, demos): the same rules, in a dict."""

    def __init__(self, head: Callable[[], int], now: Callable[[], datetime]) -> None:
        self.head = head
        self.now = now
        self.tracking = MemoryPosition(NAME)
        self.rows: dict[str, Row] = {}
        self._lock = threading.Lock()

    def position(self) -> int:
        return self.tracking.position()

    def store(self, notices: Sequence[Notice], start: int, end: int) -> None:
        at = stamp(self.now())
        with self._lock:
            if self.tracking.position() != start:
                raise TrackingConflict(NAME, start, self.tracking.position())
            for n in notices:
                self.rows.setdefault(n.id, Row(n, next_attempt_at=at, created_at=at))
            self.tracking.move(start, end)

    def reset(self) -> None:
        with self._lock:
            self.tracking.reset()
            self.tracking.move(0, self.head())

    def close(self) -> None:
        pass

    def due(self, now: datetime, limit: int = 50) -> list[Row]:
        at = stamp(now)
        with self._lock:
            rows = [r for r in self.rows.values()
                    if r.status == "pending" and r.next_attempt_at <= at]
        return sorted(rows, key=lambda r: (r.next_attempt_at, r.notice.position))[:limit]

    def claim(self, row: Row, until: datetime) -> bool:
        with self._lock:
            now = self.rows.get(row.notice.id)
            if now is None or now.status != "pending" or now.next_attempt_at != row.next_attempt_at:
                return False
            self.rows[row.notice.id] = replace(now, next_attempt_at=stamp(until))
            return True

    def finish(self, notice_id: str, *, status: str, attempts: int, error: str | None,
               next_at: datetime | None = None, sent_at: datetime | None = None) -> None:
        with self._lock:
            row = self.rows[notice_id]
            self.rows[notice_id] = replace(
                row, status=status, attempts=attempts, last_error=error,
                next_attempt_at=stamp(next_at) if next_at else row.next_attempt_at,
                sent_at=stamp(sent_at) if sent_at else row.sent_at)

    def of_record(self, record_id: str) -> list[Row]:
        with self._lock:
            rows = [r for r in self.rows.values() if r.notice.record_id == record_id]
        return sorted(rows, key=lambda r: (r.notice.position, r.notice.id))

    def first_mail(self, record_id: str) -> str | None:
        mails = [r for r in self.of_record(record_id) if r.notice.channel == "email"]
        return mails[0].notice.id if mails else None

    def counts(self) -> dict[str, Any]:
        with self._lock:
            rows = list(self.rows.values())
        counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
        pending = [r.created_at for r in rows if r.status == "pending"]
        return {**counts, "oldest_pending": min(pending) if pending else None}


def backoff(attempts: int, base: float, ceiling: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2 base, 4 base, … ≤ ceiling."""
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


def outbox_for(db: Database, write_lock: Any, head: Callable[[], int],
               now: Callable[[], datetime]) -> SqlOutbox | MemoryOutbox:
    """The outbox of the store ``db``: its read-model database (SQLite: the same file, under
    the writers' lock; PostgreSQL: the same schema), a dict for ``memory://``."""
    if db.kind == "memory":
        return MemoryOutbox(head, now)
    return SqlOutbox(sql_store(db, write_lock), head, now)
