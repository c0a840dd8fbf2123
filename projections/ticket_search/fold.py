"""The ticket search's bulk fold from raw log rows (ADR 0082).

The hot topics of a ticket's life after its registration -- classified, assigned, started,
work logged, resolved, confirmed, resumed -- are decoded into small msgspec structs of just
the fields the row needs (``msgspec`` ignores the others, the assignment's sealed interface
person among them), the status moved as ``ticket_list.projection.status_after`` moves it
(the list's raw fold's table of statuses, ADR 0068), their times kept as the stored text and
parsed once a row, when stored. Every other topic -- the registration first, whose contact is
sealed (ADR 0034) -- is decoded by the mapper and applied by ``projection.apply``, as on the
incremental path. The rows are those of ``projection.apply``
(``tests/adapters/runners/test_bulk_rebuild.py`` compares them row for row).

Used when the stored states are plain msgspec JSON (no cipher, no compressor: ``bulk._raw``)
and the hot topics' classes are at ``class_version`` 1; otherwise ``RowsFold.feed`` is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from domain.ticket import Status, Ticket
from projections.sql import RowsFold
from projections.ticket_list.sql import _Assigned, _Classified, _Stamp, _uuid
from projections.ticket_search import projection as p


class _Entry(msgspec.Struct):
    action: str
    workaround: str = ""


class _WorkLogged(msgspec.Struct):
    timestamp: str
    entry: _Entry


class _Resolution(msgspec.Struct):
    resolution: str
    root_cause: str


class _Resolved(msgspec.Struct):
    timestamp: str
    resolution: _Resolution


_T = Ticket
_CLASSIFIED, _TO, _WORKED, _RESOLVED = range(4)
# Topic class -> (what it does, its struct, the status it sets: the list's handlers')
_FAST: dict[type, tuple[int, Any, str]] = {
    _T.Classified: (_CLASSIFIED, _Classified, Status.CLASSIFIED.value),
    _T.Assigned: (_TO, _Assigned, Status.ASSIGNED.value),
    _T.Started: (_TO, _Stamp, Status.IN_PROGRESS.value),
    _T.Resumed: (_TO, _Stamp, Status.IN_PROGRESS.value),
    _T.AcceptanceConfirmed: (_TO, _Stamp, Status.CLOSED.value),
    _T.WorkLogged: (_WORKED, _WorkLogged, Status.IN_PROGRESS.value),
    _T.Resolved: (_RESOLVED, _Resolved, Status.RESOLVED.value),
}
_REGISTERED = Status.REGISTERED.value


class TicketSearchFold(RowsFold):
    """``RowsFold`` of the ticket search, and ``feed_raw`` (module docstring)."""

    # Raw rows only when no other fold of the pass has the events decoded by the mapper (the
    # SLA due index in one pass): then decoding them again into structs costs more than the
    # mapper's events save (ADR 0082).
    raw_alone = True

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        self._kinds: dict[str, tuple[int, Callable[[bytes], Any], str]] = {
            cls.TOPIC: (kind, msgspec.json.Decoder(struct).decode, status)
            for cls, (kind, struct, status) in _FAST.items()
            if getattr(cls, "class_version", 1) == 1}
        self._keys: dict[Any, str] = {}  # originator id as stored -> row key

    def feed_raw(self, rows: Sequence[tuple[int, Any, int, str, bytes]],
                 event: Callable[[Any], Any]) -> None:
        """``rows``: (position, originator id as stored, version, topic, state) in log order;
        ``event(row)``: the row's domain event by the mapper (for the topics not read here)."""
        kinds, keys, mine, touched = self._kinds, self._keys, self.rows, self.touched
        apply = self.view.apply_event
        for raw in rows:
            position, oid, version, topic, state = raw
            key = keys.get(oid)
            if key is None:
                key = keys[oid] = p.row_key(_uuid(oid))
            row = mine.get(key)
            found = kinds.get(topic)
            if found is None:  # the mapper's event and the projection's code
                new = apply(row, event(raw), position)
                if new is not None:
                    mine[key] = new
                    touched.add(key)
                continue
            if row is None or version <= row["version"]:
                continue  # no row before its registration; an event applied already
            kind, decode, status = found
            e = decode(state)
            if kind == _CLASSIFIED:
                if row["status"] == _REGISTERED:
                    row["status"] = status
            else:
                row["status"] = status
                if kind == _WORKED:
                    texts = [t for t in (e.entry.action, e.entry.workaround) if t]
                    row["work_log"] = json.dumps([*p.work_log(row), *texts], ensure_ascii=False)
                elif kind == _RESOLVED:
                    r = e.resolution
                    row["resolution"] = "\n".join(t for t in (r.resolution, r.root_cause) if t)
            row["updated_at"] = e.timestamp  # the stored text: parsed when stored
            row["version"] = version
            touched.add(key)

    def stored(self, keys: Any = None) -> dict[str, list[tuple[Any, ...]]]:
        # ``updated_at`` of a row last changed by ``feed_raw`` is still the stored text: as a
        # time, for ``finish`` (``projection.stamped``).
        for row in (self.rows.values() if keys is None else
                    [self.rows[k] for k in keys if k in self.rows]):
            if isinstance(row["updated_at"], str):
                row["updated_at"] = datetime.fromisoformat(row["updated_at"])
        return super().stored(keys)
