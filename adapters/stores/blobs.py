"""The blob store of uploaded files (``application.ports.BlobStore``, ADR 0056).

* SQLite deployments: a directory next to the database file (``opsledger.sqlite3.blobs/``,
  or ``OPSLEDGER_BLOB_DIR``), one file per blob under a two-hex-digit fan-out directory. A
  blob is written to a temporary file, flushed to disk, then *linked* to its name: a link
  never replaces an existing file, so two writers of one name cannot leave a torn file and
  the first one's bytes stay.
* PostgreSQL: a table ``attachment_blobs`` (``bytea``) in the events' schema, so one
  ``pg_dump`` and one replica carry events and files alike. ``INSERT ... ON CONFLICT DO
  NOTHING`` keeps the first writer's bytes. (``SqlBlobStore`` also runs on SQLite.)
* ``memory://``: a dict, as long-lived as the in-memory events.

The bytes handed in are already sealed by ``application.attachments`` (AES-256-GCM with the
owner customer's key); the store never sees a key or a plain file.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from projections.sql import PostgresStore, SqlStore, blob_type, create_beside_events

TABLE = "attachment_blobs"
NAME = re.compile(r"[0-9a-f]{64}\.[A-Za-z0-9_-]{1,80}\.[0-9]{1,9}")


def check_name(name: str) -> str:
    """The name itself when it is a blob name (no path separators, no dots but two)."""
    if not NAME.fullmatch(name):
        raise ValueError(f"not a blob name: {name!r}")
    return name


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, name: str, data: bytes) -> bool:
        check_name(name)
        with self._lock:
            if name in self._blobs:
                return False
            self._blobs[name] = bytes(data)
            return True

    def get(self, name: str) -> bytes | None:
        return self._blobs.get(check_name(name))

    def has(self, name: str) -> bool:
        return check_name(name) in self._blobs

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._blobs)

    def close(self) -> None:
        pass


class DirectoryBlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        check_name(name)
        return self.root / name[:2] / name

    def put(self, name: str, data: bytes) -> bool:
        final = self.path(name)
        if final.exists():
            return False
        final.parent.mkdir(exist_ok=True)
        tmp = final.parent / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, final)  # never replaces: the first writer's bytes stay
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)  # the new directory entry is durable before the event is saved
        finally:
            os.close(fd)
        return True

    def get(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None

    def has(self, name: str) -> bool:
        return self.path(name).is_file()

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("??/*") if NAME.fullmatch(p.name))

    def close(self) -> None:
        pass


class SqlBlobStore:
    """Blobs in a table of the events' database (PostgreSQL ``bytea``, SQLite ``BLOB``)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        create_beside_events(store, f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, "
                             f"data {blob_type(store)} NOT NULL, size BIGINT NOT NULL, "
                             "created_at TEXT NOT NULL)")

    def _sql(self, text: str) -> str:
        return text.replace("?", self.store.param)

    def put(self, name: str, data: bytes) -> bool:
        check_name(name)
        with self.store.transaction() as cur:
            cur.execute(self._sql(f"INSERT INTO {TABLE} (name, data, size, created_at) VALUES "
                                  "(?, ?, ?, ?) ON CONFLICT (name) DO NOTHING"),
                        (name, bytes(data), len(data), datetime.now(UTC).isoformat()))
            return bool(cur.rowcount)

    def get(self, name: str) -> bytes | None:
        with self.store.read() as cur:
            cur.execute(self._sql(f"SELECT data FROM {TABLE} WHERE name=?"), (check_name(name),))
            row = cur.fetchone()
        return bytes(row[0]) if row else None

    def has(self, name: str) -> bool:
        with self.store.read() as cur:
            cur.execute(self._sql(f"SELECT 1 FROM {TABLE} WHERE name=?"), (check_name(name),))
            return cur.fetchone() is not None

    def names(self) -> list[str]:
        with self.store.read() as cur:
            cur.execute(f"SELECT name FROM {TABLE} ORDER BY name")
            return [str(row[0]) for row in cur.fetchall()]

    def close(self) -> None:
        self.store.close()


def blob_dir(database_path: str, configured: str = "") -> Path:
    """Where a SQLite deployment keeps its files: ``OPSLEDGER_BLOB_DIR``, else a directory
    beside the database file named after it (``opsledger.sqlite3`` → ``opsledger.sqlite3.blobs``)."""
    if configured:
        return Path(configured)
    db = Path(database_path)
    return db.with_name(db.name + ".blobs")


def blob_store(db: Any, configured_dir: str = "", write_lock: Any | None = None) -> Any:
    """The blob store of the database ``db`` (an ``adapters.settings.Database``)."""
    if db.kind == "memory":
        return MemoryBlobStore()
    if db.kind == "sqlite":
        return DirectoryBlobStore(blob_dir(db.path, configured_dir))
    return SqlBlobStore(PostgresStore.shared(db.conninfo, db.schema))

