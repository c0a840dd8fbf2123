"""Tamper evidence: the hash chain over the stored event log (ADR 0030).

Each stored event is bound to the one before it:

    hash(n) = SHA-256( hash(n-1)
                       || u64be(position) || u64be(originator_version)
                       || u32be(len(originator_id)) || originator_id   (UTF-8, UUID as 32 hex)
                       || u32be(len(topic)) || topic                   (UTF-8)
                       || u64be(len(state)) || state )                 (the stored bytes)

with ``hash(before the first event) = 32 zero bytes``. Every field is length-prefixed, so no
two different events encode alike; the position is inside the hash, so moving a row breaks it.
The recorders (``adapters/audit/store.py``) compute it inside the insert transaction; this
module recomputes it from rows alone, streaming, and names the first position that fails.
It is pure (stdlib only) so a bundle can be checked with nothing but this file.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

GENESIS = bytes(32)
_HEAD = struct.Struct(">QQI")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")

# (position, originator id as stored, originator version, topic, state bytes)
EventRow = tuple[int, Any, int, str, bytes]
# (position, hash as 64 lowercase hex digits)
ChainRow = tuple[int, str]


def originator_text(value: Any) -> str:
    """The originator id as hashed: a ``UUID`` as its 32 hex digits (how SQLite stores it)."""
    return value.hex if isinstance(value, UUID) else str(value)


def link(prev: bytes, position: int, originator_id: Any, version: int, topic: str,
         state: bytes) -> bytes:
    """The chain hash of one event given the hash before it."""
    oid = originator_text(originator_id).encode()
    top = topic.encode()
    return hashlib.sha256(b"".join((
        prev, _HEAD.pack(position, version, len(oid)), oid, _U32.pack(len(top)), top,
        _U64.pack(len(state)), state))).digest()


def extend(prev: bytes, rows: Iterable[EventRow]) -> list[ChainRow]:
    """Chain rows for ``rows`` (ascending positions) after ``prev``: what a recorder stores."""
    out: list[ChainRow] = []
    for position, oid, version, topic, state in rows:
        prev = link(prev, position, oid, version, topic, bytes(state))
        out.append((position, prev.hex()))
    return out


@dataclass
class Verdict:
    """The outcome of a verification: ``as_dict`` is the HTTP/CLI answer."""

    ok: bool
    events: int
    head: str
    position: int
    first_bad_position: int | None = None
    reason: str | None = None
    expected: str | None = None
    found: str | None = None
    anchor: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "events": self.events, "head": self.head,
                               "position": self.position}
        if self.anchor:
            out["anchor"] = self.anchor
        if not self.ok:
            out.update(first_bad_position=self.first_bad_position, reason=self.reason,
                       expected=self.expected, found=self.found)
        return out


def merge(events: Iterable[EventRow],
          chain: Iterable[ChainRow]) -> Iterator[tuple[int, EventRow | None, str | None]]:
    """Walks two position-ordered streams together: (position, event or None, hash or None)."""
    ev_it, ch_it = iter(events), iter(chain)
    ev, ch = next(ev_it, None), next(ch_it, None)
    while ev is not None or ch is not None:
        if ch is None or (ev is not None and ev[0] < ch[0]):
            assert ev is not None
            yield ev[0], ev, None
            ev = next(ev_it, None)
        elif ev is None or ch[0] < ev[0]:
            yield ch[0], None, ch[1]
            ch = next(ch_it, None)
        else:
            yield ev[0], ev, ch[1]
            ev, ch = next(ev_it, None), next(ch_it, None)


def verify(pairs: Iterable[tuple[int, EventRow | None, str | None]], *,
           anchor: bytes = GENESIS, anchor_position: int = 0,
           progress: Callable[[int, int], None] | None = None,
           every: int = 5000) -> Verdict:
    """Recomputes the chain over ``pairs`` (from ``merge``) and stops at the first position
    where an event has no chain row, a chain row has no event, or the hashes differ.

    ``progress(events_checked, position)`` is called every ``every`` events."""
    prev, count, position = anchor, 0, anchor_position
    anchor_info = {"position": anchor_position, "hash": anchor.hex()} if anchor_position else {}

    def bad(at: int, reason: str, expected: str | None = None,
            found: str | None = None) -> Verdict:
        return Verdict(False, count, prev.hex(), position, at, reason, expected, found,
                       anchor_info)

    for at, event, stored in pairs:
        if at <= position:
            return bad(at, "positions out of order")
        if event is None:
            return bad(at, "a chain row without its event (an event was deleted or moved)",
                       found=stored)
        if stored is None:
            return bad(at, "an event without a chain row (inserted or never sealed)")
        _, oid, version, topic, state = event
        computed = link(prev, at, oid, version, topic, bytes(state))
        if computed.hex() != stored:
            return bad(at, "hash mismatch (stored bytes, order or chain row changed)",
                       expected=computed.hex(), found=stored)
        prev, position, count = computed, at, count + 1
        if progress is not None and count % every == 0:
            progress(count, position)
    if progress is not None:
        progress(count, position)
    return Verdict(True, count, prev.hex(), position, anchor=anchor_info)
