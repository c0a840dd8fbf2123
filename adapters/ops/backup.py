"""Online, consistent backups and restores of a store (ADR 0023).

* SQLite: the backup is an SQLite file made with SQLite's online backup API (events, read
  models and tracking positions of one instant); it is itself a store.
* PostgreSQL: the backup is an *event-log export* (the format below) written from one
  ``REPEATABLE READ`` snapshot; the read models are rebuilt on restore.

``restore`` takes either kind of file into an empty store of either kind (so it also moves
a store from SQLite to PostgreSQL and back), keeping every event's position, originator,
version, topic and payload bytes; then it brings the read models up to date and checks the
restored log's digest against the backup's.

Event-log export, version 1 (all integers big-endian)::

    b"OPSLEDGER-EVENTS 1\\n"
    one JSON line: {"source": "postgres", "head": <max position>, "created_at": <ISO time>}
    frames: u32 length, then msgpack [position, originator id (32 hex), version, topic, state]
    u32 0 (the end), then one JSON line: {"count": <events>, "sha256": <log digest>}

The *log digest* is SHA-256 over every event in position order of
``u64 position, 16-byte originator id, u64 version, u32 len + topic UTF-8, u32 len + state``;
``opsledger backup`` prints it, and a restore must end with the same.
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

from adapters.stores.persistence import LogReader, recorder_kind
from adapters.settings import Database, Settings

EXPORT_MAGIC = b"OPSLEDGER-EVENTS 1\n"
SQLITE_MAGIC = b"SQLite format 3\x00"
BATCH = 5000
SQLITE_STEP_PAGES = 2048

Row = tuple[int, Any, int, str, bytes]
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

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("path", "kind", "count", "head", "sha256", "seconds")}


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
            kind = "sqlite"
        elif db.kind == "postgres":
            digest = _export_postgres(db, partial, progress)
            kind = "events"
        else:
            raise BackupError("an in-memory store has nothing to back up")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Summary(str(target), kind, digest.count, digest.head, digest.hexdigest(),
                   round(time.perf_counter() - began, 3))


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


def _digest_rows(batches: Iterator[list[Row]], progress: Progress, phase: str, total: int = 0) -> LogDigest:
    digest = LogDigest()
    for batch in batches:
        for row in batch:
            digest.add(row)
        progress(phase, digest.head, max(total, digest.head))
    return digest


def _export_postgres(db: Database, path: Path, progress: Progress) -> LogDigest:
    import psycopg
    from psycopg import IsolationLevel, sql

    table = _postgres_events_table(db)
    digest = LogDigest()
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
        out.write(struct.pack(">I", 0) + json.dumps({"count": digest.count, "sha256": digest.hexdigest()}).encode() + b"\n")
        out.flush()
        os.fsync(out.fileno())
    return digest


def _postgres_events_table(db: Database) -> Any:
    from psycopg import sql

    from application.desk import ServiceDesk

    return sql.Identifier(db.schema or "public", f"{ServiceDesk.name.lower()}_events")


# ------------------------------------------------------------------- restore


def read_export(path: Path) -> tuple[dict[str, Any], Iterator[list[Row]], dict[str, Any]]:
    """(header, batches of rows, trailer) of an event-log export; the trailer dict is
    filled once the batches have been read to the end."""
    f = open(path, "rb")  # noqa: SIM115 - closed by the generator
    if f.readline() != EXPORT_MAGIC:
        f.close()
        raise BackupError(f"{path} is not an opsledger event-log export")
    header = json.loads(f.readline())
    trailer: dict[str, Any] = {}

    def batches(stream: BinaryIO) -> Iterator[list[Row]]:
        decode = msgspec.msgpack.decode
        with stream:
            batch: list[Row] = []
            while True:
                size_bytes = stream.read(4)
                if len(size_bytes) < 4:
                    raise BackupError(f"{path} is truncated (no end mark)")
                (size,) = struct.unpack(">I", size_bytes)
                if size == 0:
                    trailer.update(json.loads(stream.readline()))
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
    if start == EXPORT_MAGIC:
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
    if copy_file:  # the file as it is, read models included
        _refuse_unless_empty_sqlite(Path(db.path))
        expected = _digest_rows(_sqlite_rows(source), progress, "read backup").hexdigest()
        _sqlite_restore_file(source, Path(db.path), progress)
    services = build(replace(settings, sla_watch_seconds=0))
    try:
        if not copy_file:
            expected = _import_backup(services.desk, source, kind, progress)
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
                   round(time.perf_counter() - began, 3))


def _import_backup(desk: Any, source: Path, kind: str, progress: Progress) -> str:
    """Write the events of ``source`` into the empty store of ``desk``; the expected digest."""
    if desk.max_position():
        raise BackupError("the target store is not empty; restore into a fresh store")
    if kind == "events":
        header, batches, trailer = read_export(source)
        total = int(header.get("head") or 0)
        _verify_export(batches, trailer, progress, total)  # whole and intact, before writing
        _, batches, _ = read_export(source)
        _import(desk.recorder, batches, progress, total)
        return str(trailer["sha256"])
    written = _import(desk.recorder, _sqlite_rows(source), progress, 0)
    return written.hexdigest()


def _verify_export(batches: Iterator[list[Row]], trailer: dict[str, Any], progress: Progress,
                   total: int) -> None:
    digest = _digest_rows(batches, progress, "check backup", total)
    if (trailer.get("count"), trailer.get("sha256")) != (digest.count, digest.hexdigest()):
        raise BackupError("the export's digest does not match its events: the file is damaged")


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


def _import(recorder: Any, batches: Iterator[list[Row]], progress: Progress, total: int) -> LogDigest:
    """Insert the rows with their own positions, in one transaction (the target is empty and
    no one else writes to it during a restore)."""
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
    return digest
