"""The per-customer data keys of crypto-shredding in their own table (ADR 0034).

``personal_data_keys`` lives in the same database as the events (SQLite file or PostgreSQL
schema) but never in an event: destroying a key is an ``UPDATE`` of this table only, so the
event rows (and the hash chain over them) never change. A destroyed key leaves a row with
``key`` null and ``destroyed_at`` set, which is how ``erased`` knows the customer had an
erasure.

Destroyed bytes must not linger in the file: SQLite runs with ``secure_delete`` (freed cell
space is zeroed) and checkpoints the WAL after a destroy; PostgreSQL rewrites the small table
(``VACUUM FULL``) so the old tuple's file is dropped. WAL archives and backups taken before the
erasure still hold the key until they expire (ADR 0034, "Consequences").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from projections.sql import SqlStore, blob_type, create_beside_events, scrub

TABLE = "personal_data_keys"


class SqlKeyStore:
    """``application.ports.KeyStore`` on SQLite or PostgreSQL."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        create_beside_events(store, (
            f"CREATE TABLE IF NOT EXISTS {TABLE} (key_id TEXT NOT NULL, version INTEGER NOT "
            f"NULL, key {blob_type(store)}, created_at TEXT NOT NULL, destroyed_at TEXT, "
            "PRIMARY KEY (key_id, version))"))

    def _sql(self, text: str) -> str:
        return text.replace("?", self.store.param)

    def _live(self, cur: Any, key_id: str) -> tuple[int, bytes] | None:
        cur.execute(self._sql(f"SELECT version, key FROM {TABLE} WHERE key_id=? AND key IS NOT "
                              "NULL ORDER BY version DESC LIMIT 1"), (key_id,))
        row = cur.fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def current(self, key_id: str) -> tuple[int, bytes]:
        with self.store.read() as cur:
            live = self._live(cur, key_id)
        if live is not None:
            return live
        with self.store.transaction() as cur:
            if self.store.dialect == "postgres":
                # Creators of one key queue here (SQLite's writers queue anyway): without it,
                # one that checked before another committed its version 1 would add a version 2.
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"opsledger-key:{key_id}",))
            live = self._live(cur, key_id)  # made by another process since the read above
            if live is not None:
                return live
            cur.execute(self._sql(f"SELECT COALESCE(MAX(version), 0) FROM {TABLE} WHERE key_id=?"),
                        (key_id,))
            version = int(cur.fetchone()[0]) + 1
            # Two creators racing: the second insert does nothing and both read the winner.
            cur.execute(self._sql(
                f"INSERT INTO {TABLE} (key_id, version, key, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key_id, version) DO NOTHING"),
                (key_id, version, AESGCM.generate_key(bit_length=256), _now()))
            live = self._live(cur, key_id)
        if live is None:  # destroyed between the insert and the read: make the next one
            return self.current(key_id)
        return live

    def get(self, key_id: str, version: int) -> bytes | None:
        with self.store.read() as cur:
            cur.execute(self._sql(f"SELECT key FROM {TABLE} WHERE key_id=? AND version=?"),
                        (key_id, version))
            row = cur.fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def erased(self, key_id: str) -> bool:
        with self.store.read() as cur:
            cur.execute(self._sql(f"SELECT 1 FROM {TABLE} WHERE key_id=? AND key IS NULL"),
                        (key_id,))
            return cur.fetchone() is not None

    def destroy(self, key_id: str) -> tuple[int, ...]:
        with self.store.transaction() as cur:
            if self.store.dialect == "sqlite":
                cur.execute("PRAGMA secure_delete=ON")
            cur.execute(self._sql(f"UPDATE {TABLE} SET key=NULL, destroyed_at=? WHERE key_id=? "
                                  "AND key IS NOT NULL RETURNING version"), (_now(), key_id))
            versions = tuple(sorted(int(row[0]) for row in cur.fetchall()))
            # A tombstone when there was no key at all: ``erased`` must hold afterwards.
            cur.execute(self._sql(
                f"INSERT INTO {TABLE} (key_id, version, key, created_at, destroyed_at) "
                "SELECT ?, 1, NULL, ?, ? WHERE NOT EXISTS "
                f"(SELECT 1 FROM {TABLE} WHERE key_id=?)"), (key_id, _now(), _now(), key_id))
        if versions:
            self._purge()
        return versions

    def _purge(self) -> None:
        """Overwrites what the destroyed key left in the database files."""
        scrub(self.store, TABLE, "VACUUM FULL")

    def close(self) -> None:
        self.store.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()
