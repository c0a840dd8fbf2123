"""The mail quarantine (ADR 0057): every message the intake would not (or could not) turn into
a ticket or a reply, kept whole with the reason, the time and where it came from, so that
nothing sent to the fault mailbox is lost and an administrator can read it and release it.

One table, ``mail_quarantine``, in the events' database (SQLite file or PostgreSQL schema;
a list in memory for ``memory://``). A message is kept once: ``key`` (the intake's
idempotency key, ``mail:<Message-ID>`` or the sha256 of the bytes) is unique, so a
redelivered auto-reply adds no second row.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from adapters.stores.persistence import sql_store
from projections.sql import SqlStore, blob_type, create_beside_events

TABLE = "mail_quarantine"
_COLUMNS = ("id, key, received_at, source, reason, sender, subject, size, released_at, "
            "released_outcome, released_ticket")


@dataclass(frozen=True)
class QuarantinedMail:
    id: str
    key: str
    received_at: datetime
    source: str
    reason: str
    sender: str
    subject: str
    size: int
    released_at: datetime | None = None
    released_outcome: str = ""
    released_ticket: str = ""
    raw: bytes | None = None  # only from ``get``


class Quarantine(Protocol):
    def add(self, raw: bytes, *, key: str, reason: str, source: str, sender: str,
            subject: str, at: datetime) -> tuple[QuarantinedMail, bool]:
        """Keeps ``raw``; (the row, True), or (the row kept before under ``key``, False)."""
        ...

    def list(self, *, limit: int = 100, released: bool = False) -> list[QuarantinedMail]:
        """Newest first, without the bytes; ``released``: the released ones too."""
        ...

    def get(self, id: str) -> QuarantinedMail | None:
        """The row with its bytes (``None``: no such id)."""
        ...

    def released(self, id: str, *, outcome: str, ticket: str, at: datetime) -> None: ...

    def close(self) -> None: ...


class MemoryQuarantine:
    def __init__(self) -> None:
        self._rows: dict[str, QuarantinedMail] = {}
        self._lock = threading.Lock()

    def add(self, raw: bytes, *, key: str, reason: str, source: str, sender: str,
            subject: str, at: datetime) -> tuple[QuarantinedMail, bool]:
        with self._lock:
            for row in self._rows.values():
                if row.key == key:
                    return replace(row, raw=None), False
            row = QuarantinedMail(id=str(uuid.uuid4()), key=key, received_at=at, source=source,
                                  reason=reason, sender=sender, subject=subject, size=len(raw),
                                  raw=bytes(raw))
            self._rows[row.id] = row
            return replace(row, raw=None), True

    def list(self, *, limit: int = 100, released: bool = False) -> list[QuarantinedMail]:
        with self._lock:
            rows = [replace(r, raw=None) for r in self._rows.values()
                    if released or r.released_at is None]
        return sorted(rows, key=lambda r: (r.received_at, r.id), reverse=True)[:limit]

    def get(self, id: str) -> QuarantinedMail | None:
        with self._lock:
            return self._rows.get(id)

    def released(self, id: str, *, outcome: str, ticket: str, at: datetime) -> None:
        with self._lock:
            row = self._rows.get(id)
            if row is not None:
                self._rows[id] = replace(row, released_at=at, released_outcome=outcome,
                                         released_ticket=ticket)

    def close(self) -> None:
        pass


class SqlQuarantine:
    """``Quarantine`` on SQLite or PostgreSQL."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        create_beside_events(
            store,
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, key TEXT NOT NULL "
            "UNIQUE, received_at TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL, "
            "sender TEXT NOT NULL, subject TEXT NOT NULL, size INTEGER NOT NULL, "
            f"raw {blob_type(store)} NOT NULL, released_at TEXT, released_outcome TEXT NOT NULL "
            "DEFAULT '', released_ticket TEXT NOT NULL DEFAULT '')",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_received ON {TABLE} (received_at)")

    def _sql(self, text: str) -> str:
        return text.replace("?", self.store.param)

    def add(self, raw: bytes, *, key: str, reason: str, source: str, sender: str,
            subject: str, at: datetime) -> tuple[QuarantinedMail, bool]:
        row = QuarantinedMail(id=str(uuid.uuid4()), key=key, received_at=at, source=source,
                              reason=reason, sender=sender, subject=subject, size=len(raw))
        with self.store.transaction() as cur:
            cur.execute(self._sql(
                f"INSERT INTO {TABLE} (id, key, received_at, source, reason, sender, subject, "
                "size, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING "
                "RETURNING id"),
                (row.id, key, at.isoformat(), source, reason, sender, subject, len(raw),
                 bytes(raw)))
            created = cur.fetchone() is not None
            if not created:
                cur.execute(self._sql(f"SELECT {_COLUMNS} FROM {TABLE} WHERE key=?"), (key,))
                row = _row(cur.fetchone())
        return row, created

    def list(self, *, limit: int = 100, released: bool = False) -> list[QuarantinedMail]:
        where = "" if released else "WHERE released_at IS NULL "
        with self.store.read() as cur:
            cur.execute(self._sql(f"SELECT {_COLUMNS} FROM {TABLE} {where}"
                                  "ORDER BY received_at DESC, id DESC LIMIT ?"), (limit,))
            return [_row(r) for r in cur.fetchall()]

    def get(self, id: str) -> QuarantinedMail | None:
        with self.store.read() as cur:
            cur.execute(self._sql(f"SELECT {_COLUMNS}, raw FROM {TABLE} WHERE id=?"), (id,))
            found = cur.fetchone()
        return None if found is None else replace(_row(found), raw=bytes(found[11]))

    def released(self, id: str, *, outcome: str, ticket: str, at: datetime) -> None:
        with self.store.transaction() as cur:
            cur.execute(self._sql(f"UPDATE {TABLE} SET released_at=?, released_outcome=?, "
                                  "released_ticket=? WHERE id=?"),
                        (at.isoformat(), outcome, ticket, id))

    def close(self) -> None:
        self.store.close()


def _row(r: Any) -> QuarantinedMail:
    return QuarantinedMail(
        id=str(r[0]), key=str(r[1]), received_at=datetime.fromisoformat(str(r[2])),
        source=str(r[3]), reason=str(r[4]), sender=str(r[5]), subject=str(r[6]), size=int(r[7]),
        released_at=datetime.fromisoformat(str(r[8])) if r[8] else None,
        released_outcome=str(r[9] or ""), released_ticket=str(r[10] or ""))


def quarantine_store(db: Any, write_lock: Any | None = None) -> Quarantine:
    """The quarantine of the store ``db`` (``adapters.settings.Database``)."""
    if db.kind == "memory":
        return MemoryQuarantine()
    return SqlQuarantine(sql_store(db, write_lock))
