"""The configuration items index (ADR 0063): an in-memory read model of every CI, its
relations both ways, the tickets, problems and changes that name it, and when each
customer's configuration library last changed -- fed by the projection engine (ADR 0005)
like every view, rebuilt from the log when a process starts (its position starts at 0).

Why in memory: ``GET /cis/{id}/impact`` walks the relations transitively, and a walk is a
few dictionary look-ups per CI visited; at 100k CIs and 300k relations it answers in
milliseconds (``bench/ci_impact.py``), where a SQL recursive query per request would not.
The rows are small (a CI's describing fields, its relation ids), so 100k CIs take tens of
megabytes.

A batch is applied under the index's lock after the compare-and-set of its position;
each event's change is a handful of dictionary assignments, and the readers take the same
lock, so they never see half a batch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.ci import ConfigurationItem as CI
from domain.ci import SYSTEM_CLASSES
from projections.base import Positioned, TrackingConflict

#: The most an impact walk goes (relations followed) and returns, whatever is asked.
MAX_DEPTH = 20
MAX_AFFECTED = 10_000


@dataclass(frozen=True, slots=True)
class Affected:
    """A CI an impact walk reached: how far from the start, over which relation type and
    from which CI (the one it depends on, one step nearer the start)."""

    id: str
    depth: int
    via: str
    parent: str


@dataclass(frozen=True, slots=True)
class Impact:
    affected: list[Affected]
    truncated: bool  # stopped at ``limit`` (or ``depth`` left some unvisited)
    depth: int


@dataclass(frozen=True, slots=True)
class CiQuery:
    customer: str | None = None
    classes: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    text: str = ""
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class NamedBy:
    """A ticket, problem or change that names the CI (``kind``: ticket|problem|change)."""

    kind: str
    id: str
    at: datetime


@dataclass
class Library:
    """A customer's configuration library: how many CIs, when it last changed."""

    customer: str
    count: int = 0
    updated_at: datetime | None = None


def _record_kind(topic: str) -> str:
    return topic.split(":", 1)[1].split(".", 1)[0].lower()


@dataclass
class _State:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    # target id -> source id -> {relation id: type}: the CIs that depend on the target
    dependents: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    # What the impact walk reads, by small whole numbers (each CI id gets one, in order of
    # first sight: hashing and comparing ints is what keeps a walk fast at 100k CIs):
    # walk[target] = {source: one relation type between them}.
    seq: dict[str, int] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    walk: list[dict[int, str]] = field(default_factory=list)

    def number(self, ci_id: str) -> int:
        n = self.seq.get(ci_id)
        if n is None:
            n = self.seq[ci_id] = len(self.ids)
            self.ids.append(ci_id)
            self.walk.append({})
        return n
    # relation id -> (source, type, target); source -> relation id -> (type, target)
    outgoing: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    relations: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    named_by: dict[str, dict[str, NamedBy]] = field(default_factory=dict)
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "kind:id" -> CI ids
    # verification round -> CI id -> (verdict, note, at, actor): its latest verdict there
    rounds: dict[str, dict[str, tuple[str, str, datetime, str]]] = field(default_factory=dict)
    libraries: dict[str, Library] = field(default_factory=dict)


class CiIndex:
    name = "ci_index"
    # Kept in the memory of each process that reads it: a process whose views another
    # process keeps (HTTP workers, ``serve --no-projections``) feeds it itself before a read
    # (``ProjectionRunner._poll_for`` / ``status``), since no other process can.
    process_local = True
    CI_TOPICS = (CI.Registered.TOPIC, CI.Updated.TOPIC, CI.StatusChanged.TOPIC,
                 CI.Related.TOPIC, CI.Unrelated.TOPIC, CI.Verified.TOPIC)
    NAMING_TOPICS = ("opsledger.ticket:Ticket.CisAffected", "opsledger.problem:Problem.CisAffected",
                     "opsledger.change:Change.CisAffected")
    topics = frozenset((*CI_TOPICS, *NAMING_TOPICS))

    def __init__(self) -> None:
        self._s = _State()
        self._position = 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------- the view

    def position(self) -> int:
        return self._position

    def reset(self) -> None:
        with self._lock:
            self._s, self._position = _State(), 0

    def close(self) -> None:
        pass

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        with self._lock:
            if self._position != start:
                raise TrackingConflict(self.name, start, self._position)
            for pe in events:
                self._apply(pe.event)
            self._position = end

    def _apply(self, e: Any) -> None:
        s = self._s
        topic = getattr(type(e), "TOPIC", "")
        oid = str(e.originator_id)
        if topic in self.NAMING_TOPICS:
            self._rename(_record_kind(topic), oid, tuple(e.cis), e.timestamp)
            return
        row = s.rows.get(oid)
        if topic == CI.Registered.TOPIC:
            row = {"id": oid, "number": e.number, "name": e.name, "ci_class": e.ci_class,
                   "customer": e.customer, "location": e.location, "asset_tag": e.asset_tag,
                   "serial": e.serial, "model": e.model, "vendor": e.vendor,
                   "warranty_end": e.warranty_end, "status": e.status,
                   "registered_at": e.timestamp, "updated_at": e.timestamp,
                   "verified": None, "version": 1}
            s.rows[oid] = row
            self._library(e.customer, e.timestamp, +1)
            return
        if row is None:
            return
        row["updated_at"] = e.timestamp
        if topic == CI.Updated.TOPIC:
            for name, value in e.changes.items():
                if name == "customer":
                    self._library(row["customer"], e.timestamp, -1)
                    self._library(value, e.timestamp, +1)
                if name in row:
                    row[name] = value
        elif topic == CI.StatusChanged.TOPIC:
            row["status"] = e.status
        elif topic == CI.Related.TOPIC:
            s.relations[e.relation_id] = (oid, e.relation_type, e.target)
            s.outgoing.setdefault(oid, {})[e.relation_id] = (e.relation_type, e.target)
            s.dependents.setdefault(e.target, {}).setdefault(oid, {})[e.relation_id] = (
                e.relation_type)
            s.walk[s.number(e.target)].setdefault(s.number(oid), e.relation_type)
        elif topic == CI.Unrelated.TOPIC:
            gone = s.relations.pop(e.relation_id, None)
            s.outgoing.get(oid, {}).pop(e.relation_id, None)
            if gone is not None:
                sources = s.dependents.get(gone[2], {})
                types = sources.get(oid, {})
                types.pop(e.relation_id, None)
                if not types:
                    sources.pop(oid, None)
                    s.walk[s.number(gone[2])].pop(s.number(oid), None)
                else:
                    s.walk[s.number(gone[2])][s.number(oid)] = next(iter(types.values()))
        elif topic == CI.Verified.TOPIC:
            row["verified"] = (e.round, e.verdict, e.timestamp)
            s.rounds.setdefault(e.round, {})[oid] = (e.verdict, e.note, e.timestamp, e.actor)
        self._library(row["customer"], e.timestamp, 0)

    def _rename(self, kind: str, record_id: str, cis: tuple[str, ...], at: datetime) -> None:
        """The CIs a record names, replaced by ``cis`` (the event carries the whole set)."""
        key = f"{kind}:{record_id}"
        named = self._s.named_by
        for ci in self._s.names.get(key, ()):
            if ci not in cis:
                named.get(ci, {}).pop(key, None)
        self._s.names[key] = cis
        for ci in cis:
            entry = named.setdefault(ci, {})
            first = entry.get(key)
            entry[key] = NamedBy(kind, record_id, first.at if first else at)

    def _library(self, customer: str, at: datetime, delta: int) -> None:
        lib = self._s.libraries.setdefault(customer, Library(customer))
        lib.count += delta
        if lib.updated_at is None or at > lib.updated_at:
            lib.updated_at = at

    # ------------------------------------------------------------- reads

    def get(self, ci_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._s.rows.get(ci_id)
            return dict(row) if row is not None else None

    def count(self) -> int:
        return len(self._s.rows)

    def query(self, q: CiQuery) -> tuple[list[dict[str, Any]], int | None]:
        """One page of CIs (newest number first) and the next offset (``None``: no more)."""
        text = q.text.strip().lower()

        def keep(r: dict[str, Any]) -> bool:
            return ((q.customer is None or r["customer"] == q.customer)
                    and (not q.classes or r["ci_class"] in q.classes)
                    and (not q.statuses or r["status"] in q.statuses)
                    and (not text or any(text in str(r[f]).lower() for f in (
                        "number", "name", "asset_tag", "serial", "location", "model"))))

        with self._lock:
            rows = sorted(filter(keep, self._s.rows.values()), key=lambda r: r["number"],
                          reverse=True)
        page = rows[q.offset:q.offset + q.limit]
        more = q.offset + q.limit < len(rows)
        return [dict(r) for r in page], (q.offset + q.limit if more else None)

    def relations_of(self, ci_id: str) -> tuple[list[tuple[str, str, str]],
                                                list[tuple[str, str, str]]]:
        """``(outgoing, incoming)``: ``(relation id, type, other CI id)`` each."""
        with self._lock:
            out = [(rid, t, target)
                   for rid, (t, target) in self._s.outgoing.get(ci_id, {}).items()]
            incoming = [(rid, t, src) for src, types in self._s.dependents.get(ci_id, {}).items()
                        for rid, t in types.items()]
        return out, incoming

    def impact(self, ci_id: str, *, depth: int = 10, limit: int = 1000,
               customer: str | None = None) -> Impact:
        """Every CI that depends on ``ci_id`` transitively (breadth first: the nearest first),
        at most ``depth`` relations away and ``limit`` CIs; a cycle leads back to a CI already
        visited and stops there. ``customer``: only that customer's CIs are listed (a
        requester's), though the walk goes through every CI."""
        depth = max(1, min(depth, MAX_DEPTH))
        limit = max(1, min(limit, MAX_AFFECTED))
        found: list[tuple[int, int, str, int]] = []
        truncated = False
        with self._lock:  # breadth first, one level at a time: the lean loop is the cost
            walk, ids, rows = self._s.walk, self._s.ids, self._s.rows
            start = self._s.seq.get(ci_id)
            if start is None:
                return Impact([], False, depth)
            seen = {start}
            frontier = [start]
            level = 0
            while frontier and level < depth:
                level += 1
                following: list[int] = []
                for node in frontier:
                    for source, via in walk[node].items():
                        if source in seen:
                            continue
                        seen.add(source)
                        following.append(source)
                        if customer is None or rows[ids[source]]["customer"] == customer:
                            found.append((source, level, via, node))
                            if len(found) >= limit:
                                return Impact(self._affected(found), True, depth)
                frontier = following
            if frontier and level >= depth:  # more beyond the bound?
                truncated = any(s not in seen for n in frontier for s in walk[n])
            return Impact(self._affected(found), truncated, depth)

    def _affected(self, found: list[tuple[int, int, str, int]]) -> list[Affected]:
        ids = self._s.ids
        return [Affected(ids[s], d, via, ids[p]) for s, d, via, p in found]

    def rows_of(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {i: self._s.rows[i] for i in ids if i in self._s.rows}

    def named_by(self, ci_id: str) -> list[NamedBy]:
        """The tickets, problems and changes that name the CI, the latest first."""
        with self._lock:
            return sorted(self._s.named_by.get(ci_id, {}).values(), key=lambda n: n.at,
                          reverse=True)

    def verification(self, round: str, customer: str | None
                     ) -> tuple[list[tuple[dict[str, Any], tuple[str, str, datetime, str]]],
                                list[dict[str, Any]]]:
        """A verification round (核查) over ``customer``'s library (``None``: every CI):
        ``(verified, pending)`` -- each verified CI's row with its verdict, and the CIs in
        use, spare or in repair that the round has no verdict on yet."""
        with self._lock:
            verdicts = self._s.rounds.get(round, {})
            rows = [r for r in self._s.rows.values()
                    if customer is None or r["customer"] == customer]
            done = [(dict(r), verdicts[r["id"]]) for r in rows if r["id"] in verdicts]
            pending = [dict(r) for r in rows
                       if r["id"] not in verdicts and r["status"] != "retired"]
        key = (lambda r: r["number"])
        return sorted(done, key=lambda x: key(x[0])), sorted(pending, key=key)

    def rounds(self) -> list[str]:
        with self._lock:
            return sorted(self._s.rounds)

    def libraries(self) -> list[Library]:
        with self._lock:
            return sorted((Library(x.customer, x.count, x.updated_at)
                           for x in self._s.libraries.values() if x.count > 0),
                          key=lambda x: x.customer)

    @staticmethod
    def system_classes() -> frozenset[str]:
        return SYSTEM_CLASSES

