"""Online, consistent backups and restores of a store (ADR 0023).

* SQLite: the backup is an SQLite file made with SQLite's online backup API (events, read
  models, tracking positions and the data-key table of one instant); it is itself a store.
  The uploaded files' blobs (a directory beside the store, ADR 0056) are copied into its
  table ``backup_blobs`` (name, data) after that instant: a blob is written before the event
  that names it, so every file the backup's events name is in it.
* PostgreSQL: the backup is an *event-log export* (the format below) of the events, the
  rows of the data-key table (``personal_data_keys``, ADR 0034) and the uploaded files'
  blobs (``attachment_blobs``, ADR 0056), written from one ``REPEATABLE READ`` snapshot; the
  read models are rebuilt on restore.

``restore`` takes either kind of file into an empty store of either kind (so it also moves
a store from SQLite to PostgreSQL and back), keeping every event's position, originator,
version, topic and payload bytes, and every row of the data-key table (live keys and the
destroyed ones' markers, so an erased customer stays erased), written before the read models
are brought up to date (they open sealed contacts); then it checks the restored log's digest
against the backup's. Without the keys a restored store would read every contact as erased.

Event-log export, version 3 (all integers big-endian)::

    b"OPSLEDGER-EVENTS 3\\n"
    one JSON line: {"source": "postgres", "head": <max position>, "created_at": <ISO time>}
    frames: u32 length, then msgpack [position, originator id (32 hex), version, topic, state]
    u32 0 (the end of the events)
    key frames: u32 length, then a msgpack map {column: value} of one row of the data-key
      table (key_id, version, key: bytes or nil once destroyed, created_at, destroyed_at, and
      any other column it has), in (key_id, version) order
    u32 0 (the end of the keys)
    blob frames: u32 length, then msgpack [name, bytes] of one stored file (sealed as it is
      stored, ADR 0056), in name order
    u32 0 (the end of the blobs), then one JSON line: {"count": <events>, "sha256": <log
      digest>, "keys": <key rows>, "keys_sha256": <SHA-256 over the key frames' bytes>,
      "blobs": <blobs>, "blobs_sha256": <SHA-256 over the blob frames' bytes>}

Version 2 (``b"OPSLEDGER-EVENTS 2\\n"``) is the same without the blob frames and their end
mark (it restores no files); version 1 also without the key frames and their end mark, and
without ``keys`` in the trailer (it restores no keys). Both are still read.

The *log digest* is SHA-256 over every event in position order of
``u64 position, 16-byte originator id, u64 version, u32 len + topic UTF-8, u32 len + state``;
``opsledger backup`` prints it, and a restore must end with the same. The summary also
counts the key rows (``keys``); key material is never printed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

import msgspec

from adapters.stores.keystore import TABLE as KEY_TABLE
from adapters.stores.persistence import LogReader, recorder_kind
from adapters.settings import Database, Settings

EXPORT_MAGIC = b"OPSLEDGER-EVENTS 3\n"
EXPORT_MAGIC_V2 = b"OPSLEDGER-EVENTS 2\n"
EXPORT_MAGIC_V1 = b"OPSLEDGER-EVENTS 1\n"
#: The table of an SQLite backup file that carries the uploaded files' blobs (ADR 0056).
BACKUP_BLOBS = "backup_blobs"
SQLITE_MAGIC = b"SQLite format 3\x00"
BATCH = 5000
SQLITE_STEP_PAGES = 2048

Row = tuple[int, Any, int, str, bytes]
KeyRow = dict[str, Any]  # one row of the data-key table, by column name
Progress = Callable[[str, int, int], None]  # (phase, done, total)


class BackupError(RuntimeError):
    """The backup or restore cannot be done (the message says why); nothing was changed."""


@dataclass(frozen=True)
class Summary:
    path: str
    kind: str  # "sqlite" (an SQLite file) | "events" (an event-log export)
    count: int
    head: int
    sha256: str
    seconds: float
    keys: int = 0  # rows of the data-key table (live and destroyed), never their bytes
    blobs: int = 0  # uploaded files' blobs (ADR 0056)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("path", "kind", "count", "head", "sha256", "keys",
                                              "blobs", "seconds")}


def _quiet(_phase: str, _done: int, _total: int) -> None:
    pass


class LogDigest:
    """The running log digest (see the module docstring)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.count = 0
        self.head = 0

    def add(self, row: Row) -> None:
        position, oid, version, topic, state = row
        t = topic.encode()
        self._h.update(struct.pack(">Q", position) + _uuid(oid).bytes + struct.pack(">QI", version, len(t)))
        self._h.update(t)
        self._h.update(struct.pack(">I", len(state)))
        self._h.update(state)
        self.count += 1
        self.head = position

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


# -------------------------------------------------------------------- backup


def backup(settings: Settings, path: str | Path, progress: Progress = _quiet) -> Summary:
    """Write a backup of the store of ``settings`` to ``path`` while it keeps serving."""
    db = settings.database
    target = Path(path)
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if db.kind == "sqlite":
            _sqlite_copy(Path(db.path), partial, progress)
            digest = _digest_rows(_sqlite_rows(partial), progress, "verify")
            keys = len(_sqlite_key_rows(partial))
            blobs = _sqlite_add_blobs(settings, partial, progress)
            kind = "sqlite"
        elif db.kind == "postgres":
            digest, keys, blobs = _export_postgres(db, partial, progress)
            kind = "events"
        else:
            raise BackupError("an in-memory store has nothing to back up")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Summary(str(target), kind, digest.count, digest.head, digest.hexdigest(),
                   round(time.perf_counter() - began, 3), keys, blobs)


def _sqlite_add_blobs(settings: Settings, backup_file: Path, progress: Progress) -> int:
    """Copies the store's blobs (its directory, ADR 0056) into the backup file's
    ``backup_blobs``, after the copy of the database: every blob its events name was written
    before that event, so it is there; a later one is a harmless extra."""
    from adapters.stores.blobs import blob_store

    blobs = blob_store(settings.database, settings.blob_dir)
    names = blobs.names()
    with contextlib.closing(sqlite3.connect(backup_file)) as conn:
        conn.execute(f"CREATE TABLE {BACKUP_BLOBS} (name TEXT PRIMARY KEY, data BLOB NOT NULL)")
        for n, name in enumerate(names, 1):
            data = blobs.get(name)
            if data is not None:
                conn.execute(f"INSERT INTO {BACKUP_BLOBS} (name, data) VALUES (?, ?)", (name, data))
            progress("copy files", n, len(names))
        conn.commit()
    blobs.close()
    return len(names)


def _sqlite_blobs(path: Path) -> Iterator[tuple[str, bytes]]:
    """The (name, bytes) of the files of an SQLite backup (none in one made before ADR 0056)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                            (BACKUP_BLOBS,)).fetchone():
            return
        names = [r[0] for r in conn.execute(f"SELECT name FROM {BACKUP_BLOBS} ORDER BY name")]
        for name in names:
            row = conn.execute(f"SELECT data FROM {BACKUP_BLOBS} WHERE name=?", (name,)).fetchone()
            yield name, bytes(row[0])


class _Restarted(Exception):
    pass


def _sqlite_copy(source: Path, target: Path, progress: Progress) -> None:
    """SQLite's online backup: page steps with progress; a step that finds the source
    changed restarts the copy, so under steady writes we copy in one step instead (one read
    transaction: a consistent instant, while writers go on in WAL mode)."""
    if not source.exists():
        raise BackupError(f"no SQLite store at {source}")
    src = sqlite3.connect(source)
    try:
        for pages in (SQLITE_STEP_PAGES, -1):
            dst = sqlite3.connect(target)
            seen = [0]

            def step(_status: int, remaining: int, total: int) -> None:
                done = total - remaining
                if done < seen[0]:
                    raise _Restarted
                seen[0] = done
                progress("copy pages", done, total)

            try:
                src.backup(dst, pages=pages, progress=step, sleep=0)
                return
            except _Restarted:
                continue
            finally:
                dst.close()
    finally:
        src.close()


def _sqlite_rows(path: Path, table: str = "stored_events") -> Iterator[list[Row]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = conn.execute(
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} ORDER BY rowid")
        while batch := cur.fetchmany(BATCH):
            yield [tuple(r) for r in batch]  # type: ignore[misc]
    finally:
        conn.close()


def _sqlite_key_rows(path: Path) -> list[KeyRow]:
    """The rows of the data-key table of an SQLite store or backup (none if it has no table)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                            (KEY_TABLE,)).fetchone():
            return []
        cur = conn.execute(f"SELECT * FROM {KEY_TABLE} ORDER BY key_id, version")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, (_plain(v) for v in r), strict=True)) for r in cur.fetchall()]


def _first(row: Any) -> Any:
    """The first column of a row, which a recorder's cursor may give as a tuple or a dict."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview | bytearray) else value


def _digest_rows(batches: Iterator[list[Row]], progress: Progress, phase: str, total: int = 0) -> LogDigest:
    digest = LogDigest()
    for batch in batches:
        for row in batch:
            digest.add(row)
        progress(phase, digest.head, max(total, digest.head))
    return digest


def _export_postgres(db: Database, path: Path, progress: Progress) -> tuple[LogDigest, int, int]:
    import psycopg
    from psycopg import IsolationLevel, sql

    table = _postgres_events_table(db)
    digest = LogDigest()
    keys = hashlib.sha256()
    key_count = 0
    files = hashlib.sha256()
    file_count = 0
    with psycopg.connect(db.conninfo) as conn, open(path, "wb") as out:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            # One snapshot for all: the library appends under a table lock, so a snapshot
            # holds a gap-free prefix of the log (ADR 0004).
            head = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(table)).fetchone()[0]  # type: ignore[index]
            header = {"source": "postgres", "head": head, "created_at": datetime.now(UTC).isoformat()}
            out.write(EXPORT_MAGIC + json.dumps(header).encode() + b"\n")
            with conn.cursor(name="opsledger_export") as cur:
                cur.itersize = BATCH
                cur.execute(sql.SQL(
                    "SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {} ORDER BY notification_id").format(table))
                encode = msgspec.msgpack.encode
                for n, (position, oid, version, topic, state) in enumerate(cur, 1):
                    row = (position, oid, version, topic, bytes(state))
                    digest.add(row)
                    frame = encode([position, _uuid(oid).hex, version, topic, row[4]])
                    out.write(struct.pack(">I", len(frame)) + frame)
                    if n % BATCH == 0:
                        progress("export events", position, head)
            progress("export events", digest.head, head)
            out.write(struct.pack(">I", 0))
            # The data keys of the same snapshot: without them no contact could be unsealed.
            for row in _postgres_key_rows(conn, db):
                frame = msgspec.msgpack.encode(row)
                keys.update(frame)
                key_count += 1
                out.write(struct.pack(">I", len(frame)) + frame)
            out.write(struct.pack(">I", 0))
            # The uploaded files of the same snapshot (ADR 0056), one at a time.
            names = _postgres_blob_names(conn, db)
            for n, name in enumerate(names, 1):
                frame = msgspec.msgpack.encode([name, _postgres_blob(conn, db, name)])
                files.update(frame)
                file_count += 1
                out.write(struct.pack(">I", len(frame)) + frame)
                progress("export files", n, len(names))
        out.write(struct.pack(">I", 0) + json.dumps({
            "count": digest.count, "sha256": digest.hexdigest(),
            "keys": key_count, "keys_sha256": keys.hexdigest(),
            "blobs": file_count, "blobs_sha256": files.hexdigest()}).encode() + b"\n")
        out.flush()
        os.fsync(out.fileno())
    return digest, key_count, file_count


def _postgres_blob_names(conn: Any, db: Database) -> list[str]:
    from psycopg import sql

    from adapters.stores.blobs import TABLE as BLOB_TABLE

    schema = db.schema or "public"
    if conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{BLOB_TABLE}"',)).fetchone()[0] is None:
        return []
    return [r[0] for r in conn.execute(sql.SQL("SELECT name FROM {} ORDER BY name").format(
        sql.Identifier(schema, BLOB_TABLE))).fetchall()]


def _postgres_blob(conn: Any, db: Database, name: str) -> bytes:
    from psycopg import sql

    from adapters.stores.blobs import TABLE as BLOB_TABLE

    row = conn.execute(sql.SQL("SELECT data FROM {} WHERE name=%s").format(
        sql.Identifier(db.schema or "public", BLOB_TABLE)), (name,)).fetchone()
    return bytes(row[0])


def _postgres_key_rows(conn: Any, db: Database) -> list[KeyRow]:
    from psycopg import sql

    schema = db.schema or "public"
    if conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{KEY_TABLE}"',)).fetchone()[0] is None:
        return []  # a store that never sealed anything
    cur = conn.execute(sql.SQL("SELECT * FROM {} ORDER BY key_id, version").format(
        sql.Identifier(schema, KEY_TABLE)))
    names = [d.name for d in cur.description]
    return [dict(zip(names, (_plain(v) for v in r), strict=True)) for r in cur.fetchall()]


def _postgres_events_table(db: Database) -> Any:
    from psycopg import sql

    from application.desk import ServiceDesk

    return sql.Identifier(db.schema or "public", f"{ServiceDesk.name.lower()}_events")


# ------------------------------------------------------------------- restore


def read_export(path: Path) -> tuple[dict[str, Any], Iterator[list[Row]], dict[str, Any]]:
    """(header, batches of rows, trailer) of an event-log export (version 1, 2 or 3); the
    trailer dict is filled once the batches have been read to the end, and then holds the key
    rows under ``"key_rows"`` (none in version 1) and the digest of their frames under
    ``"key_frames_sha256"``; the (offset, size) of each blob frame under ``"blob_frames"``
    (none before version 3) and their digest under ``"blob_frames_sha256"``."""
    f = open(path, "rb")  # noqa: SIM115 - closed by the generator
    magic = f.readline()
    if magic not in (EXPORT_MAGIC, EXPORT_MAGIC_V2, EXPORT_MAGIC_V1):
        f.close()
        raise BackupError(f"{path} is not an opsledger event-log export")
    with_keys = magic != EXPORT_MAGIC_V1
    with_blobs = magic == EXPORT_MAGIC
    header = json.loads(f.readline())
    trailer: dict[str, Any] = {}

    def frame_size(stream: BinaryIO, what: str) -> int:
        """The length of the next frame (0: the end mark of ``what``)."""
        size_bytes = stream.read(4)
        if len(size_bytes) < 4:
            raise BackupError(f"{path} is truncated (no end mark{what})")
        return int(struct.unpack(">I", size_bytes)[0])

    def key_rows(stream: BinaryIO) -> tuple[list[KeyRow], str]:
        decode = msgspec.msgpack.decode
        digest = hashlib.sha256()
        found: list[KeyRow] = []
        while True:
            size = frame_size(stream, " of the keys")
            if size == 0:
                return found, digest.hexdigest()
            frame = stream.read(size)
            digest.update(frame)
            found.append(decode(frame))

    def blob_frames(stream: BinaryIO) -> tuple[list[tuple[int, int]], str]:
        """The (offset, size) of each blob frame, read in pieces (files may be large)."""
        digest = hashlib.sha256()
        found: list[tuple[int, int]] = []
        while True:
            size = frame_size(stream, " of the files")
            if size == 0:
                return found, digest.hexdigest()
            found.append((stream.tell(), size))
            left = size
            while left:
                piece = stream.read(min(left, 1 << 20))
                if not piece:
                    raise BackupError(f"{path} is truncated (in a file)")
                digest.update(piece)
                left -= len(piece)

    def batches(stream: BinaryIO) -> Iterator[list[Row]]:
        decode = msgspec.msgpack.decode
        with stream:
            batch: list[Row] = []
            while True:
                size = frame_size(stream, "")
                if size == 0:
                    rows, frames = key_rows(stream) if with_keys else ([], hashlib.sha256().hexdigest())
                    files, files_sha = blob_frames(stream) if with_blobs else (
                        [], hashlib.sha256().hexdigest())
                    trailer.update(json.loads(stream.readline()))
                    trailer["key_rows"], trailer["key_frames_sha256"] = rows, frames
                    trailer["blob_frames"], trailer["blob_frames_sha256"] = files, files_sha
                    break
                position, oid, version, topic, state = decode(stream.read(size))
                batch.append((position, oid, version, topic, state))
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
            if batch:
                yield batch

    return header, batches(f), trailer


def backup_kind(path: Path) -> str:
    with open(path, "rb") as f:
        start = f.read(len(EXPORT_MAGIC))
    if start.startswith(SQLITE_MAGIC):
        return "sqlite"
    if start in (EXPORT_MAGIC, EXPORT_MAGIC_V2, EXPORT_MAGIC_V1):
        return "events"
    raise BackupError(f"{path} is neither an SQLite backup nor an opsledger event-log export")


def restore(settings: Settings, path: str | Path, progress: Progress = _quiet) -> Summary:
    """Restore the backup at ``path`` into the (empty) store of ``settings``, which no server
    may use meanwhile; the read models are brought up to date and the restored log's digest
    checked against the backup's. A restore that fails leaves the store empty."""
    from adapters.container import build

    source = Path(path)
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    kind = backup_kind(source)
    db = settings.database
    if db.kind == "memory":
        raise BackupError("restore into a kept store (sqlite:// or postgresql://), not memory://")
    began = time.perf_counter()
    copy_file = kind == "sqlite" and db.kind == "sqlite"
    keys = files = 0
    if copy_file:  # the file as it is, read models and data keys included
        _refuse_unless_empty_sqlite(Path(db.path))
        expected = _digest_rows(_sqlite_rows(source), progress, "read backup").hexdigest()
        keys = len(_sqlite_key_rows(source))
        _sqlite_restore_file(source, Path(db.path), progress)
    # Building the services makes the (empty) key table with the key store's own schema.
    services = build(replace(settings, sla_watch_seconds=0))
    try:
        # The uploaded files into the target's blob store (ADR 0056), before the events
        # that name them.
        files = _restore_blobs(services.blobs, source, kind, progress)
        if copy_file:
            with contextlib.closing(sqlite3.connect(db.path)) as conn:
                conn.execute(f"DROP TABLE IF EXISTS {BACKUP_BLOBS}")  # now in the directory
                conn.commit()
        if not copy_file:
            # The events and the data keys, in one transaction, before any read model opens
            # a sealed contact.
            expected, keys = _import_backup(services.desk, source, kind, progress)
            # The hash chain (ADR 0030) covers only what the rows keep (positions, ids,
            # versions, topics, bytes), so sealing the imported log gives back the source's
            # very chain: its published heads still check out.
            from adapters.audit.store import seal

            seal(services.desk.recorder)
        # The read models (tables); not the process managers the runner also feeds: they act
        # (save commands), and a restore writes nothing but the backup's events. A server on
        # the restored store catches them up; they act exactly once, so nothing is repeated.
        for name, view in services.runner.views.items():
            if hasattr(view, "table"):
                services.runner.catch_up(view, lambda done, total, n=name: progress(f"view {n}", done, total))
        digest = _digest_rows(_log_batches(services.desk.recorder), progress, "verify")
    finally:
        services.close()
    if digest.hexdigest() != expected:
        raise BackupError(f"restored log digest {digest.hexdigest()} differs from the backup's {expected}")
    return Summary(str(source), kind, digest.count, digest.head, digest.hexdigest(),
                   round(time.perf_counter() - began, 3), keys, files)


def _restore_blobs(blobs: Any, source: Path, kind: str, progress: Progress) -> int:
    """Puts the backup's files into ``blobs``; how many. An export is checked whole first."""
    count = 0
    if kind == "sqlite":
        for name, data in _sqlite_blobs(source):
            blobs.put(name, data)
            count += 1
            progress("restore files", count, 0)
        return count
    _, batches, trailer = read_export(source)
    _verify_export(batches, trailer, progress, 0)
    frames: list[tuple[int, int]] = trailer["blob_frames"]
    with open(source, "rb") as f:
        for offset, size in frames:
            f.seek(offset)
            name, data = msgspec.msgpack.decode(f.read(size))
            blobs.put(name, data)
            count += 1
            progress("restore files", count, len(frames))
    return count


def _import_backup(desk: Any, source: Path, kind: str, progress: Progress) -> tuple[str, int]:
    """Write the events and data keys of ``source`` into the empty store of ``desk``; the
    expected digest and the number of key rows written."""
    if desk.max_position():
        raise BackupError("the target store is not empty; restore into a fresh store")
    if kind == "events":
        header, batches, trailer = read_export(source)
        total = int(header.get("head") or 0)
        _verify_export(batches, trailer, progress, total)  # whole and intact, before writing
        _, batches, _ = read_export(source)
        key_rows: list[KeyRow] = trailer["key_rows"]
        _import(desk.recorder, batches, progress, total, key_rows)
        return str(trailer["sha256"]), len(key_rows)
    key_rows = _sqlite_key_rows(source)
    written = _import(desk.recorder, _sqlite_rows(source), progress, 0, key_rows)
    return written.hexdigest(), len(key_rows)


def _verify_export(batches: Iterator[list[Row]], trailer: dict[str, Any], progress: Progress,
                   total: int) -> None:
    digest = _digest_rows(batches, progress, "check backup", total)
    if (trailer.get("count"), trailer.get("sha256")) != (digest.count, digest.hexdigest()):
        raise BackupError("the export's digest does not match its events: the file is damaged")
    if "keys" in trailer and (trailer["keys"], trailer.get("keys_sha256")) != (
            len(trailer["key_rows"]), trailer["key_frames_sha256"]):
        raise BackupError("the export's key digest does not match its keys: the file is damaged")
    if "blobs" in trailer and (trailer["blobs"], trailer.get("blobs_sha256")) != (
            len(trailer["blob_frames"]), trailer["blob_frames_sha256"]):
        raise BackupError("the export's file digest does not match its files: the file is damaged")


def _log_batches(recorder: Any) -> Iterator[list[Row]]:
    reader = LogReader(recorder)
    after = 0
    while batch := reader.read(after, BATCH):
        yield batch
        after = batch[-1][0]


def store_digest(settings: Settings, upto: int | None = None) -> LogDigest:
    """The log digest of a store as it is now, of the events up to position ``upto`` if
    given (to check that a backup taken earlier is a prefix of the log)."""
    from adapters.container import build

    services = build(replace(settings, sla_watch_seconds=0))
    try:
        batches = _log_batches(services.desk.recorder)
        if upto is not None:
            batches = ([r for r in b if r[0] <= upto] for b in batches)
        return _digest_rows(batches, _quiet, "")
    finally:
        services.close()


def _refuse_unless_empty_sqlite(path: Path) -> None:
    if not path.exists():
        return
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "stored_events" in tables and conn.execute("SELECT 1 FROM stored_events LIMIT 1").fetchone():
            raise BackupError("the target store is not empty; restore into a fresh store")


def _sqlite_restore_file(source: Path, target: Path, progress: Progress) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst, pages=SQLITE_STEP_PAGES,
                   progress=lambda _s, remaining, total: progress("copy pages", total - remaining, total))


def _import(recorder: Any, batches: Iterator[list[Row]], progress: Progress, total: int,
            key_rows: list[KeyRow] | None = None) -> LogDigest:
    """Insert the rows with their own positions, and the data-key rows, in one transaction
    (the target is empty and no one else writes to it during a restore)."""
    digest = LogDigest()
    kind = recorder_kind(recorder)
    table = recorder.events_table_name
    if kind == "sqlite":
        insert: Any = (f"INSERT INTO {table} (rowid, originator_id, originator_version, topic, state) "
                       "VALUES (?, ?, ?, ?, ?)")

        def convert(row: Row) -> tuple[Any, ...]:
            return (row[0], _uuid(row[1]).hex, row[2], row[3], row[4])
    elif kind == "postgres":
        from psycopg import sql

        qualified = sql.Identifier(recorder.datastore.schema or "public", table)
        insert = sql.SQL("INSERT INTO {} (notification_id, originator_id, originator_version, topic, state) "
                         "VALUES (%s, %s, %s, %s, %s)").format(qualified)

        def convert(row: Row) -> tuple[Any, ...]:
            return (row[0], _uuid(row[1]), row[2], row[3], row[4])
    else:
        raise BackupError(f"cannot restore into {type(recorder).__name__}")
    with recorder.datastore.transaction(commit=True) as c:  # all or nothing
        for batch in batches:
            c.executemany(insert, [convert(r) for r in batch])
            for row in batch:
                digest.add(row)
            progress("import events", digest.head, max(total, digest.head))
        if kind == "postgres" and digest.head:
            from psycopg import sql

            c.execute(sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)"),
                      (f'"{recorder.datastore.schema or "public"}"."{table}"', digest.head))
        if key_rows:
            _import_keys(c, kind, recorder, key_rows)
            progress("import keys", len(key_rows), len(key_rows))
    return digest


def _import_keys(c: Any, kind: str, recorder: Any, key_rows: list[KeyRow]) -> None:
    """Write the backup's data-key rows into the target's key table (made by the key store
    when the services were built). A row of the same (key_id, version) already there (a key
    made before the restore, say the console's) takes the backup's values."""
    if kind == "sqlite":
        table, param = KEY_TABLE, "?"
        c.execute(f"SELECT name FROM pragma_table_info('{KEY_TABLE}') ORDER BY cid")
        have = [_first(r) for r in c.fetchall()]
    else:
        schema = recorder.datastore.schema or "public"
        table, param = f'"{schema}"."{KEY_TABLE}"', "%s"
        c.execute("SELECT column_name FROM information_schema.columns WHERE table_schema=%s "
                  "AND table_name=%s ORDER BY ordinal_position", (schema, KEY_TABLE))
        have = [_first(r) for r in c.fetchall()]
    if not have:
        raise BackupError(f"the target store has no {KEY_TABLE} table")
    given = {name for row in key_rows for name in row}
    missing = given - set(have)
    if missing:
        raise BackupError(f"the target's {KEY_TABLE} lacks the backup's columns {sorted(missing)}")
    columns = [name for name in have if name in given]
    updates = ", ".join(f"{n}=excluded.{n}" for n in columns if n not in ("key_id", "version"))
    insert = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([param] * len(columns))}) "
              f"ON CONFLICT (key_id, version) DO UPDATE SET {updates}")
    c.executemany(insert, [tuple(row.get(n) for n in columns) for row in key_rows])
