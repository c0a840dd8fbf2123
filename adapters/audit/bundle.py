"""Audit bundles: the event log with its chain as JSON lines (docs/audit-bundle.md, ADR 0031).

``export`` writes a header line, one line per event (its stored bytes in base64 and its stored
chain hash) and a trailer with the head (signed when a key is set). ``verify_bundle`` checks a
bundle alone: no server, no database. ``bulk_load`` puts a bundle's rows into a new SQLite
file with their positions and chain rows, so the read models and reports can be rebuilt from
it (``adapters/audit/replay.py``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
import msgspec
from eventsourcing.persistence import ApplicationRecorder

from adapters.audit.chain import AuditError, Progress, check_signature, head_document
from adapters.audit.scan import PAGE, Outcome, Row, hash_pages, store_pages
from adapters.audit.store import CHAIN_TABLE, ChainStore
from adapters.runners.child import Child
from application.audit import GENESIS, EventRow, Verdict, merge, originator_text


class _EventLine(msgspec.Struct):
    """An event line as exported (docs/audit-bundle.md): ``state`` is base64 in the JSON."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    hash: str | None = None
    trailer: Any = None


_EVENT_LINE = msgspec.json.Decoder(_EventLine)

FORMAT = "opsledger-audit-bundle"
VERSION = 1


def _line(out: IO[str], obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")


def export(recorder: ApplicationRecorder, out: IO[str], *, since: int = 0,
           key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """Writes the events from position ``since`` on (all by default) up to the head as it is
    when the export begins; returns the trailer. Hashes are the STORED chain rows (null when
    missing): the bundle is evidence of what the store holds, checked by ``verify_bundle``."""
    store = ChainStore(recorder)
    last_event, last_chain = store.bounds()
    stop = max(last_event, last_chain)
    anchor_position, anchor_hash = store.hash_before(since) if since > 1 else (0, GENESIS.hex())
    first = next(store.events(anchor_position, stop), None)
    head_position, head = store.hash_before(stop + 1) if stop else (0, GENESIS.hex())
    _line(out, {"format": FORMAT, "version": VERSION, "store": store.kind, "hash": "sha256-chain/1",
                "first_position": first[0] if first else None,
                "last_position": head_position,
                "anchor": {"position": anchor_position, "hash": anchor_hash}})
    count = 0
    with store_pages(recorder, store.kind, anchor_position, stop) as pages:
        if pages is None:  # the in-memory store
            pairs = merge(store.events(anchor_position, stop), store.chain(anchor_position, stop))
            pages = iter([[(p, *e[1:], h) for p, e, h in pairs if e is not None]])
        # A chain row without its event is not in the pages: the bundle's chain breaks there.
        # Lines by msgspec (ADR 0069): the same compact JSON as ``_line``, a quarter the time.
        encode = msgspec.json.encode
        b64 = base64.b64encode
        write = out.write
        for page in pages:
            for position, oid, version, topic, state, stored in page:
                write(encode({"position": position, "originator_id": originator_text(oid),
                              "originator_version": version, "topic": topic,
                              "state": b64(bytes(state)).decode(), "hash": stored}).decode()
                      + "\n")
            count += len(page)
    trailer = {"trailer": True, "events": count,
               **head_document(head_position, head, store.kind, key)}
    _line(out, trailer)
    return trailer


class Lines:
    """Event lines read into pages, up to the trailer (kept in ``trailer``). ``number`` gives
    line ``n`` of these lines its number in the file (for messages), ``last``: whether the
    lines must end with the trailer (a part of a file checked by a worker need not)."""

    def __init__(self, lines: Iterable[Any], number: Callable[[int], int] = lambda n: n + 1,
                 last: bool = True) -> None:
        self.lines = lines
        self.number = number
        self.last = last
        self.trailer: dict[str, Any] | None = None

    @staticmethod
    def _json(line: str | bytes, number: int) -> dict[str, Any]:
        try:
            value = json.loads(line)
        except ValueError:
            raise AuditError(f"line {number}: not JSON") from None
        if not isinstance(value, dict):
            raise AuditError(f"line {number}: not a JSON object")
        return value

    def rows(self) -> Iterator[tuple[int, EventRow, str | None]]:
        for page in self.pages():
            for position, oid, version, topic, state, stored in page:
                yield position, (position, oid, version, topic, state), stored

    def pages(self, size: int = PAGE) -> Iterator[list[Row]]:
        """The event lines as ``(position, id, version, topic, state, hash)`` in pages. Each
        line is decoded by msgspec into a typed struct (base64 decoded on the way, ADR 0069);
        a line it refuses -- the trailer, or anything not exactly typed -- goes through the
        plain reader, which reads it as before or names what is wrong with it. A page ends
        before a bad line, so a chain broken earlier is reported first, as line by line."""
        decode = _EVENT_LINE.decode
        page: list[Row] = []
        for n, line in enumerate(self.lines, start=1):
            try:
                e = decode(line)
                if e.trailer:
                    raise msgspec.ValidationError("a trailer")
                page.append((e.position, e.originator_id, e.originator_version, e.topic,
                             e.state, e.hash))
            except msgspec.DecodeError:
                try:
                    row = self._plain(line, n)
                except AuditError:
                    if page:
                        yield page
                    raise
                if row is None:
                    if page:
                        yield page
                    return
                page.append(row)
            if len(page) >= size:
                yield page
                page = []
        if page:
            yield page
        if self.last:
            raise AuditError("the bundle has no trailer (truncated?)")

    def _plain(self, line: str | bytes, n: int) -> Row | None:
        """One line read with the standard library: an event row, or None for the trailer."""
        obj = self._json(line, self.number(n))
        if obj.get("trailer"):
            self.trailer = obj
            return None
        try:
            return (int(obj["position"]), str(obj["originator_id"]),
                    int(obj["originator_version"]), str(obj["topic"]),
                    base64.b64decode(obj["state"], validate=True), obj.get("hash"))
        except (KeyError, TypeError, ValueError) as e:
            raise AuditError(f"line {self.number(n)}: not an event line ({e})") from None


class Bundle(Lines):
    """A bundle file read line by line: ``header``, then ``rows()``, then ``trailer``."""

    def __init__(self, lines: IO[Any]) -> None:
        super().__init__(lines)
        self.header = self._json(next(lines, ""), 1)
        if self.header.get("format") != FORMAT or self.header.get("version") != VERSION:
            raise AuditError(f"line 1: not an {FORMAT} version {VERSION} header")
        anchor = self.header.get("anchor") or {}
        self.anchor_position = int(anchor.get("position", 0))
        self.anchor = bytes.fromhex(str(anchor.get("hash", GENESIS.hex())))


def verify_bundle(lines: IO[Any], trusted: Ed25519PublicKey | None = None,
                  progress: Progress | None = None) -> tuple[Verdict, str]:
    """Recomputes a bundle's chain from its anchor; checks its count, head and signature."""
    bundle = Bundle(lines)
    outcome = hash_pages(bundle.pages(), bundle.anchor, bundle.anchor_position, progress)
    return _concluded(bundle.header, [(outcome, bundle.trailer)], trusted, progress)


def _concluded(header: dict[str, Any], parts: list[tuple[Outcome, dict[str, Any] | None]],
               trusted: Ed25519PublicKey | None, progress: Progress | None
               ) -> tuple[Verdict, str]:
    """The verdict of a bundle checked in ``parts`` (in order; one for a single pass): the
    first part that failed, else the trailer's checks (count, head, last position, signature)
    against the last part's head and the sum of the counts."""
    anchor = header.get("anchor") or {}
    anchor_position = int(anchor.get("position", 0))
    anchor_info = ({"position": anchor_position, "hash": str(anchor.get("hash"))}
                   if anchor_position else {})
    total = 0
    outcome, trailer = parts[0]
    for outcome, trailer in parts:
        total += outcome.count
        if not outcome.ok or trailer is not None:
            break
    verdict = Verdict(outcome.ok, total, outcome.head.hex(), outcome.position, outcome.bad_at,
                      outcome.reason, outcome.expected, outcome.found, anchor_info)
    if progress is not None:
        progress(verdict.events, verdict.position)
    if not verdict.ok:
        return verdict, "the chain is broken"
    trailer = trailer or {}
    problems = []
    if trailer.get("events") != verdict.events:
        problems.append(f"trailer says {trailer.get('events')} events, "
                        f"the bundle has {verdict.events}")
    if trailer.get("head") != verdict.head or trailer.get("position") != verdict.position:
        problems.append(f"trailer head {trailer.get('position')}:{trailer.get('head')} is not "
                        f"the recomputed {verdict.position}:{verdict.head} (events cut off?)")
    if header.get("last_position") != verdict.position:
        problems.append("header last_position differs from the last event")
    if problems:
        return Verdict(False, verdict.events, verdict.head, verdict.position,
                       verdict.position + 1, "; ".join(problems),
                       anchor=verdict.anchor), problems[0]
    return verdict, check_signature(trailer, trusted)


# ------------------------------------------------------------------ in parts, in processes

#: Below this size a bundle is checked in one process (~200k events at ~700 bytes each).
PARALLEL_BYTES = 150 * 2**20
_LONGEST_LINE = 64 * 2**20  # a line before a cut longer than this: check in one process


def verify_bundle_file(path: Path, trusted: Ed25519PublicKey | None = None,
                       progress: Progress | None = None,
                       processes: int = 1) -> tuple[Verdict, str]:
    """``verify_bundle`` of the file ``path``; with ``processes`` > 1 and a big file, cut into
    that many parts at line ends, each checked at once by a process of its own (the first by
    this one) from the STORED hash of the line before it -- as the store's segments (ADR 0069,
    ``scan.py``): if every part passes, every line's hash is the recomputed one, so each
    part's start is the previous part's recomputed head; the first part that fails gives the
    one pass's verdict, its count added to the counts before it. A part that meets the trailer
    ends the bundle there (what follows is not read, as in one pass). When the file cannot be
    cut so (a line before a cut that is not a plain event line), one process checks it all."""
    cuts = _cuts(path, processes) if processes > 1 and path.stat().st_size >= PARALLEL_BYTES \
        else None
    if cuts is None:
        with path.open("rb") as lines:
            return verify_bundle(lines, trusted, progress)
    header, parts = cuts
    workers = [Child(_check_part, path, *part, i == len(parts) - 1)
               for i, part in enumerate(parts) if i > 0]
    try:
        start, end, anchor_position, anchor = parts[0]
        with path.open("rb") as f:
            f.seek(start)
            first = Lines(_between(f, start, end), last=len(parts) == 1)

            def seen(count: int, position: int) -> None:
                if progress is not None:
                    progress(count + sum(w.counter.value for w in workers), position)

            outcome = hash_pages(first.pages(), anchor, anchor_position, seen)
        results: list[tuple[Outcome, dict[str, Any] | None]] = [(outcome, first.trailer)]
        if outcome.ok and first.trailer is None:
            for worker in workers:
                result, trailer, error = worker.result()
                if error is not None:
                    raise error
                results.append((result, trailer))
                if not result.ok or trailer is not None:
                    break
    finally:
        for worker in workers:
            worker.stop()
    return _concluded(header, results, trusted, progress)


def _cuts(path: Path, n: int) -> tuple[dict[str, Any], list[tuple[int, int, int, bytes]]] | None:
    """The header and ``n`` parts ``(start, end, anchor position, anchor hash)`` of the event
    lines, cut at line ends; None when a part's anchor is not a plain event line's."""
    size = path.stat().st_size
    with path.open("rb") as f:
        bundle = Bundle(f)
        header_end = f.tell()  # binary files tell where the header line ended
        header = bundle.header
        bounds = [header_end]
        for k in range(1, n):
            f.seek(max(size * k // n, header_end))
            f.readline()
            if f.tell() <= bounds[-1] or f.tell() >= size:
                return None
            bounds.append(f.tell())
        bounds.append(size)
        parts = [(bounds[0], bounds[1], bundle.anchor_position, bundle.anchor)]
        for start, end in zip(bounds[1:], bounds[2:], strict=False):
            before = _line_before(f, start, header_end)
            if before is None:
                return None
            parts.append((start, end, *before))
    return header, parts


def _line_before(f: Any, at: int, header_end: int) -> tuple[int, bytes] | None:
    """The position and stored hash of the event line that ends at ``at``."""
    begin = max(at - _LONGEST_LINE, header_end)
    f.seek(begin)
    data = f.read(at - begin)
    cut = data.rfind(b"\n", 0, len(data) - 1)
    if cut < 0 and begin > header_end:
        return None
    try:
        line = _EVENT_LINE.decode(data[cut + 1:])
        if line.trailer or line.hash is None:
            return None
        return line.position, bytes.fromhex(line.hash)
    except (msgspec.DecodeError, ValueError):
        return None


def _between(f: Any, start: int, end: int) -> Iterator[bytes]:
    """The lines of ``f`` (positioned at ``start``) that begin before ``end``."""
    at = start
    for line in f:
        yield line
        at += len(line)
        if at >= end:
            return


def _check_part(path: Path, start: int, end: int, anchor_position: int, anchor: bytes,
                last: bool, counter: Any = None
                ) -> tuple[Outcome, dict[str, Any] | None, AuditError | None]:
    """One part of a bundle, in a worker process: its outcome, the trailer if it met one, or
    the ``AuditError`` its lines raised (reported only if every part before it passed)."""

    def number(n: int) -> int:  # counted only for a message
        with path.open("rb") as g:
            before, left = 0, start
            while left > 0:
                chunk = g.read(min(left, 2**24))
                if not chunk:
                    break
                before += chunk.count(b"\n")
                left -= len(chunk)
        return before + n

    def seen(count: int, _position: int) -> None:
        if counter is not None:
            counter.value = count

    with path.open("rb") as f:
        f.seek(start)
        lines = Lines(_between(f, start, end), number=number, last=last)
        try:
            outcome = hash_pages(lines.pages(), anchor, anchor_position, seen)
        except AuditError as e:
            return Outcome(True, 0, anchor, anchor_position), None, e
    return outcome, lines.trailer, None


EVENTS_TABLE = "stored_events"  # the SQLite recorder's table (eventsourcing's default name)


def bulk_load(bundle: Path, database: Path, counter: Any = None) -> int:
    """Copies a whole bundle's events and stored chain rows into a NEW SQLite file, positions
    kept, for ``replay`` (ADR 0069); returns the number of events. The file is made here,
    before the application opens it: the events table as the library's recorder has it but
    for its primary key, which is built after the rows as the same unique index on
    ``(originator_id, originator_version)`` (an index built once from sorted keys instead of
    grown by 7.5M random inserts); 64 KiB pages, no journal and no syncs while loading (a
    crash leaves a temporary file to throw away), then WAL as the library expects.
    ``counter`` (a shared value), when given, follows the rows loaded."""
    import sqlite3

    con = sqlite3.connect(database, isolation_level=None)
    try:
        for pragma in ("page_size=65536", "journal_mode=OFF", "synchronous=OFF",
                       "cache_size=-262144"):
            con.execute(f"PRAGMA {pragma}")
        con.execute(f"CREATE TABLE {EVENTS_TABLE} (originator_id TEXT, "
                    "originator_version INTEGER, topic TEXT, state BLOB)")
        con.execute(f"CREATE TABLE {CHAIN_TABLE} "
                    "(position INTEGER PRIMARY KEY, hash TEXT NOT NULL)")
        insert_event = (f"INSERT INTO {EVENTS_TABLE} (rowid, originator_id, originator_version, "
                        "topic, state) VALUES (?, ?, ?, ?, ?)")
        insert_link = f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?)"
        count = 0
        con.execute("BEGIN")
        with bundle.open("rb") as lines:
            read = Bundle(lines)
            if read.anchor_position != 0:
                raise AuditError("replay needs the whole history: export without --since")
            for page in read.pages():
                con.executemany(insert_event, [row[:5] for row in page])
                con.executemany(insert_link, [(row[0], row[5]) for row in page])
                count += len(page)
                if counter is not None:
                    counter.value = count
        con.execute(f"CREATE UNIQUE INDEX {EVENTS_TABLE}_originator ON {EVENTS_TABLE} "
                    "(originator_id, originator_version)")
        con.execute("COMMIT")
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()
    return count
