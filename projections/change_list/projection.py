"""The change list and calendar (ADR 0022): one row per change with its status, origin,
system and scheduled window, for filters and for the change calendar's conflict warnings.

The status before implementation depends on the gates (a planned change becomes ``approved``
when every gate for ``start`` is passed); the row keeps the change's ``Gates`` value (JSON)
and uses the domain's own ``Gates`` methods, so the list and the aggregate cannot disagree.

Times are fixed-width UTC text (``2026-01-05T01:00:00.000000Z``), which sorts chronologically
on every store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypedDict

from domain.change import PRE_START, Change, Gates, Status
from projections.knowledge.search import fold

NAME = "change_list"
VERSION = 2  # 2: the folded search text of the SQL views (ADR 0050)


class ChangeRow(TypedDict):
    id: str
    seq: int  # log position of the request: a stable ordering key (newest first)
    number: str
    kind: str
    status: str
    origin_kind: str
    origin_id: str
    origin_number: str
    title: str
    affected_system: str
    risk: str | None
    schedule_start: str | None
    schedule_end: str | None
    gates: str  # JSON of domain.change.Gates
    missing_gates: str  # comma-separated, what the next gated step needs
    requested_at: str
    updated_at: str
    version: int


COLUMNS: tuple[str, ...] = tuple(ChangeRow.__annotations__)

# Events that move the status to a fixed value.
_STATUS_OF: dict[type, Status] = {
    Change.Started: Status.IN_PROGRESS,
    Change.Completed: Status.COMPLETED,
    Change.RolledBack: Status.ROLLED_BACK,
    Change.TrialStarted: Status.IN_TRIAL,
    Change.Evaluated: Status.EVALUATED,
    Change.Closed: Status.CLOSED,
    Change.Cancelled: Status.CANCELLED,
}
_GATE_EVENTS = (Change.Assessed, Change.Planned, Change.Reviewed, Change.CustomerReviewed,
                Change.ConsentRecorded, Change.EmergencyApproved)
TOPICS = frozenset(
    cls.TOPIC for cls in (Change.Requested, *_GATE_EVENTS, *_STATUS_OF, Change.ImprovementRaised)
)


def stamp(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def search_text(row: ChangeRow) -> str:
    """What the desk's search looks in (ADR 0050): the number, title, affected system and
    the origin's number, folded (``knowledge.search.fold``), one a line."""
    return fold("\n".join((row["number"], row["title"], row["affected_system"],
                           row["origin_number"])))


def _gates(row: ChangeRow) -> Gates:
    return Gates(**json.loads(row["gates"]))


def _next_gates(gates: Gates, event: Any) -> Gates:
    kind = type(event)
    if kind is Change.Assessed:
        return gates.assessed(event.assessment.risk)
    if kind is Change.Planned:
        return gates.planned_()
    if kind is Change.Reviewed:
        return gates.reviewed("internal_review", event.review.decision)
    if kind is Change.CustomerReviewed:
        return gates.reviewed("customer_review", event.review.decision)
    if kind is Change.ConsentRecorded:
        return gates.consented()
    return gates.emergency_approved()


def _missing(status: Status, gates: Gates) -> tuple[str, ...]:
    """The list's ``missing_gates``: before implementation, what ``start`` needs; after, the
    review gates still owed (the aggregate's view also names a missing improvement)."""
    if status in PRE_START:
        return gates.missing_for_start()
    if status in (Status.CLOSED, Status.CANCELLED):
        return ()
    return gates.owed()


def apply(row: ChangeRow | None, event: Any, position: int) -> ChangeRow | None:
    """The row after ``event`` (a new dict; ``None`` when there is no row for it)."""
    kind = type(event)
    if kind is Change.Requested:
        model = event.standard_model
        gates = Gates(kind=str(event.kind), covered=bool(
            model and model.covers(event.affected_system)))
        new = ChangeRow(
            id=str(event.originator_id), seq=position, number=event.number,
            kind=str(event.kind), status=Status.REQUESTED.value,
            origin_kind=str(event.origin.kind), origin_id=event.origin.id,
            origin_number=event.origin.number, title=event.title,
            affected_system=event.affected_system, risk=None, schedule_start=None,
            schedule_end=None, gates=json.dumps(asdict(gates)), missing_gates="",
            requested_at=stamp(event.timestamp), updated_at=stamp(event.timestamp),
            version=event.originator_version)
    elif row is None or event.originator_version <= row["version"]:
        return None
    else:
        new = ChangeRow(**row)  # type: ignore[typeddict-item]
        new["version"] = event.originator_version
        new["updated_at"] = stamp(event.timestamp)
        gates = _gates(row)
        status = Status(row["status"])
        if kind in _STATUS_OF:
            status = _STATUS_OF[kind]
        elif kind in _GATE_EVENTS:
            gates = _next_gates(gates, event)
            if kind is Change.Assessed:
                new["risk"] = str(event.assessment.risk)
            if kind is Change.Planned:
                new["schedule_start"] = stamp(event.plan.schedule_start)
                new["schedule_end"] = stamp(event.plan.schedule_end)
                if status is Status.ROLLED_BACK:
                    status = Status.PLANNED
            if status in PRE_START:
                status = gates.status_before_start()
        new["status"] = status.value
        new["gates"] = json.dumps(asdict(gates))
    new["missing_gates"] = ",".join(_missing(Status(new["status"]), _gates(new)))
    return new


# ------------------------------------------------------------------ calendar

# Changes whose windows count on the calendar (a cancelled change never ran).
CALENDAR_EXCLUDED = frozenset({Status.CANCELLED.value})


class CalendarEntry(TypedDict):
    row: ChangeRow
    conflicts: list[ChangeRow]


def overlaps(a: ChangeRow, b: ChangeRow) -> bool:
    """Two windows overlap when each starts before the other ends (touching ends do not)."""
    assert a["schedule_start"] and a["schedule_end"] and b["schedule_start"] and b["schedule_end"]
    return a["schedule_start"] < b["schedule_end"] and b["schedule_start"] < a["schedule_end"]


def system_key(system: str) -> str:
    return system.strip().casefold()


def calendar(window: Sequence[ChangeRow], neighbours: Iterable[ChangeRow]) -> list[CalendarEntry]:
    """The changes scheduled in the window, earliest first, each with the other changes on the
    same system whose windows overlap its own (``neighbours``: candidates, any window)."""
    by_system: dict[str, list[ChangeRow]] = {}
    for other in neighbours:
        if other["affected_system"].strip():
            by_system.setdefault(system_key(other["affected_system"]), []).append(other)
    out: list[CalendarEntry] = []
    for row in sorted(window, key=lambda r: (r["schedule_start"] or "", r["number"])):
        same = by_system.get(system_key(row["affected_system"]), []) if row[
            "affected_system"].strip() else []
        clashes = sorted((o for o in same if o["id"] != row["id"] and overlaps(row, o)),
                         key=lambda r: (r["schedule_start"] or "", r["number"]))
        out.append(CalendarEntry(row=row, conflicts=clashes))
    return out
