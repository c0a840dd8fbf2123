"""The SLA due index (ADR 0016): one row per ticket clock, with the earliest instant at which
the watcher has something to record for it (``next_check_at``).

The instants come from the recorded deadlines (``SlaDeadlinesSet`` carries the due and the
instant of each warning threshold), so this projection does no calendar arithmetic. A row
has no ``next_check_at`` (NULL) while its clock is stopped (responded, resolved, closed,
invalid) or paused (waiting for the customer), or when its warnings and breach for the
current due are all recorded. The watcher queries ``next_check_at <= now`` in order; the
ticket itself stays the judge of what is really due (this is only an index).

Times are stored as fixed-width UTC text (``2026-01-05T01:00:00.000000Z``), which sorts
chronologically on every store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypedDict

from domain.ticket import SLA_CLOCKS, Ticket

NAME = "sla_due"
VERSION = 1


class SlaDueRow(TypedDict):
    id: str  # "<ticket id>:<clock>"
    ticket_id: str
    clock: str  # response | resolution
    due: str
    thresholds: str  # JSON list of floats
    instants: str  # JSON list of times (the warning instants, same order)
    done: str  # JSON list of [threshold, time] recorded (a breach is [1.0, due])
    running: int
    paused: int
    next_check_at: str | None
    version: int


COLUMNS: tuple[str, ...] = tuple(SlaDueRow.__annotations__)

_RESPONDED = (Ticket.Assigned, Ticket.Started, Ticket.WorkLogged)
TOPICS = frozenset(
    cls.TOPIC
    for cls in (
        Ticket.SlaDeadlinesSet, Ticket.SlaWarningRaised, Ticket.SlaBreached,
        *_RESPONDED, Ticket.CustomerAwaited, Ticket.Resumed, Ticket.Resolved,
        Ticket.AcceptanceRejected, Ticket.Reopened, Ticket.AcceptanceConfirmed,
        Ticket.Invalidated,
    )
)
FIELDS: dict[str, frozenset[str]] = {topic: frozenset({"timestamp"}) for topic in TOPICS} | {
    Ticket.SlaDeadlinesSet.TOPIC: frozenset({"timestamp", "deadlines"}),
    Ticket.SlaWarningRaised.TOPIC: frozenset({"timestamp", "clock", "threshold", "occurred_at"}),
    Ticket.SlaBreached.TOPIC: frozenset({"timestamp", "clock", "due"}),
}


def stamp(value: datetime | str) -> str:
    """Fixed-width UTC text: sorts like the instants it stands for."""
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_ids(ticket_id: str) -> list[str]:
    return [f"{ticket_id}:{c}" for c in SLA_CLOCKS]


def next_check_at(row: SlaDueRow) -> str | None:
    if not row["running"] or row["paused"]:
        return None
    done = {(float(th), at) for th, at in json.loads(row["done"])}
    due = row["due"]
    pending = [
        at for th, at in zip(json.loads(row["thresholds"]), json.loads(row["instants"]),
                             strict=False)
        if (float(th), at) not in done and at < due
    ]
    if (1.0, due) not in done:
        pending.append(due)
    return min(pending) if pending else None


def apply(rows: dict[str, SlaDueRow], ticket_id: str, event: Any) -> set[str]:
    """Applies one ticket event to the ticket's rows (``rows`` by clock, updated in place);
    returns the clocks whose rows changed."""
    version = event.originator_version
    kind = type(event)
    changed: set[str] = set()

    def touch(clock: str, **values: Any) -> None:
        row = rows.get(clock)
        if row is None or version <= row["version"]:
            return
        row.update(values)  # type: ignore[typeddict-item]
        row["version"] = version
        changed.add(clock)

    if kind is Ticket.SlaDeadlinesSet:
        d = event.deadlines
        for clock in SLA_CLOCKS:
            row = rows.get(clock)
            if row is not None and version <= row["version"]:
                continue
            if row is None:
                row = rows[clock] = SlaDueRow(
                    id=f"{ticket_id}:{clock}", ticket_id=ticket_id, clock=clock, due="",
                    thresholds="[]", instants="[]", done="[]", running=1, paused=0,
                    next_check_at=None, version=0)
            row["due"] = stamp(getattr(d, f"{clock}_due"))
            row["thresholds"] = json.dumps([float(t) for t in d.warning_thresholds])
            row["instants"] = json.dumps([stamp(i) for i in getattr(d, f"{clock}_warnings", ())])
            row["version"] = version
            changed.add(clock)
    elif kind is Ticket.SlaWarningRaised or kind is Ticket.SlaBreached:
        clock = event.clock
        row = rows.get(clock)
        if row is not None and version > row["version"]:
            mark = ([float(event.threshold), stamp(event.occurred_at)]
                    if kind is Ticket.SlaWarningRaised else [1.0, stamp(event.due)])
            touch(clock, done=json.dumps([*json.loads(row["done"]), mark]))
    elif kind in _RESPONDED:
        touch("response", running=0)
    elif kind is Ticket.CustomerAwaited:
        for clock in SLA_CLOCKS:
            touch(clock, paused=1)
    elif kind is Ticket.Resumed:
        for clock in SLA_CLOCKS:
            touch(clock, paused=0)
    elif kind is Ticket.Resolved:
        touch("resolution", running=0)
    elif kind is Ticket.AcceptanceRejected or kind is Ticket.Reopened:
        touch("resolution", running=1)
    elif kind is Ticket.AcceptanceConfirmed or kind is Ticket.Invalidated:
        for clock in SLA_CLOCKS:
            touch(clock, running=0)
    for clock in changed:
        rows[clock]["next_check_at"] = next_check_at(rows[clock])
    return changed
