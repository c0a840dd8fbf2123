"""The SLA due index (ADR 0016): one row per ticket clock, with the earliest instant at which
the watcher has something to record for it (``next_check_at``).

The instants come from the recorded deadlines (``SlaDeadlinesSet`` carries the due and the
instant of each warning threshold), so this projection does no calendar arithmetic. A row
has no ``next_check_at`` (NULL) while its clock is stopped (responded, resolved, closed,
invalid) or paused (waiting for the customer), or when its warnings and breach for the
current due are all recorded. The watcher queries ``next_check_at <= now`` in order; the
ticket itself stays the judge of what is really due (this is only an index).

Milestone clocks (ADR 0062) have one more row per ticket, clock ``milestones``: its
``thresholds`` column holds the milestones recorded with the deadlines and their warning
thresholds, ``instants`` the ticket's trail of (event class, instant), ``done`` the marks
recorded. Its ``next_check_at`` is the earliest instant a mark of an open run can be due
*without the calendar*: the share of the target counted as plain time, which working time
never reaches sooner; on a business calendar the watcher may so look at a ticket before
anything is due (it records nothing then and looks again on the next tick).

Times are stored as fixed-width UTC text (``2026-01-05T01:00:00.000000Z``), which sorts
chronologically on every store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypedDict

from eventsourcing.domain import Aggregate

from domain.milestone import runs
from domain.ticket import SLA_CLOCKS, Ticket

NAME = "sla_due"
VERSION = 2  # 2: the milestones row (ADR 0062)
MILESTONES = "milestones"


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
# Every ticket event moves the milestones row's trail (a milestone starts and stops on any).
TRAIL_TOPICS = frozenset(
    cls.TOPIC for cls in vars(Ticket).values()
    if isinstance(cls, type) and issubclass(cls, Aggregate.Event)
    and isinstance(getattr(cls, "TOPIC", None), str) and not cls.TOPIC.endswith(".Event")
)
TOPICS = TOPICS | TRAIL_TOPICS
FIELDS: dict[str, frozenset[str]] = {
    topic: frozenset({"timestamp", "occurred_at"}) for topic in TRAIL_TOPICS} | {
    Ticket.Registered.TOPIC: frozenset({"timestamp", "reported_at"}),
    Ticket.MilestoneWarningRaised.TOPIC: frozenset(
        {"timestamp", "milestone", "threshold", "started_at", "occurred_at"}),
    Ticket.MilestoneBreached.TOPIC: frozenset(
        {"timestamp", "milestone", "started_at", "occurred_at"}),
} | {
    Ticket.SlaDeadlinesSet.TOPIC: frozenset({"timestamp", "deadlines"}),
    Ticket.SlaWarningRaised.TOPIC: frozenset({"timestamp", "clock", "threshold", "occurred_at"}),
    Ticket.SlaBreached.TOPIC: frozenset({"timestamp", "clock", "due"}),
}


def stamp(value: datetime | str) -> str:
    """Fixed-width UTC text: sorts like the instants it stands for. ``isoformat`` (as
    ``projections.base.stamp``) where it writes what ``strftime`` does -- a year of four
    digits -- at a third of its cost (a bulk rebuild stamps once an event; ADR 0082)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.year >= 1000:
        return value.isoformat(timespec="microseconds")[:26] + "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_ids(ticket_id: str) -> list[str]:
    return [f"{ticket_id}:{c}" for c in (*SLA_CLOCKS, MILESTONES)]


class _Spec(NamedTuple):
    name: str
    starts_on: str
    stops_on: tuple[str, ...]
    seconds: int  # the target's length at least, in plain seconds


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def milestones_next_check(row: SlaDueRow) -> str | None:
    """The earliest instant a warning or breach of an open milestone run may be due."""
    state = _decoded(row, "thresholds")
    if not state.get("specs") or state.get("start") is None or state.get("closed"):
        return None
    start = _parse(state["start"])
    trail = [(name, _parse(at)) for name, at in _decoded(row, "instants")]
    done = {tuple(k) for k in _decoded(row, "done")}
    pending: list[str] = []
    for spec in (_Spec(n, s, tuple(st), sec) for n, s, st, sec in state["specs"]):
        found = runs(spec, trail, start)  # type: ignore[arg-type]
        if not found or found[-1].stopped_at is not None:
            continue
        began = found[-1].started_at
        for th in (*state["ths"], 1.0):
            kind = "breach" if th >= 1.0 else "warning"
            if (kind, spec.name, stamp(began), float(th)) in done:
                continue
            pending.append(stamp(began + timedelta(seconds=int(th * spec.seconds))))
    return min(pending) if pending else None


def _json(row: SlaDueRow, column: str) -> Any:
    """The value of a JSON column of ``row``: decoded once, then changed in place until
    ``finish`` encodes it again (a row fed many events in a batch, or a bulk rebuild's fold of
    the whole log, ADR 0068, decodes and encodes each column once, not once per event)."""
    value = row[column]  # type: ignore[literal-required]
    if isinstance(value, str):
        value = row[column] = json.loads(value)  # type: ignore[literal-required]
    return value


def _decoded(row: SlaDueRow, column: str) -> Any:
    """The value of a JSON column of ``row``, as stored (text) or still decoded (``_json``),
    without changing the row."""
    value = row[column]  # type: ignore[literal-required]
    return json.loads(value) if isinstance(value, str) else value


def _apply_milestones(row: SlaDueRow, event: Any) -> None:
    """One ticket event on the ticket's milestones row (changed in place)."""
    kind = type(event)
    state = _json(row, "thresholds")
    if kind is Ticket.SlaDeadlinesSet:
        d = event.deadlines
        state["specs"] = [
            [ms.name, ms.starts_on, list(ms.stops_on),
             ms.target.seconds + (ms.target.days * 86_400 if ms.calendar == "24x7" else 0)]
            for ms in getattr(d, "milestones", ())]
        state["ths"] = sorted(float(t) for t in d.warning_thresholds)
        state.setdefault("start", stamp(d.response_started_at))
    elif kind is Ticket.MilestoneWarningRaised or kind is Ticket.MilestoneBreached:
        th = float(event.threshold) if kind is Ticket.MilestoneWarningRaised else 1.0
        mark = ["warning" if th < 1.0 else "breach", event.milestone, stamp(event.started_at), th]
        _json(row, "done").append(mark)
    elif kind is Ticket.AcceptanceConfirmed or kind is Ticket.Invalidated:
        state["closed"] = True
    elif kind is Ticket.Reopened:
        state["closed"] = False
    if kind is Ticket.Registered:
        at = event.reported_at
    else:
        at = getattr(event, "occurred_at", None) or event.timestamp
    _json(row, "instants").append([kind.__name__, stamp(at)])


def finish(row: SlaDueRow) -> SlaDueRow:
    """``row`` as stored after the events of a batch: its JSON columns encoded, its
    ``next_check_at`` computed (a function of the row alone, so once per batch is enough),
    from the decoded columns before they are encoded (not decoded again from the text)."""
    row["next_check_at"] = (milestones_next_check(row) if row["clock"] == MILESTONES
                            else next_check_at(row))
    for column in ("thresholds", "instants", "done"):
        value = row[column]  # type: ignore[literal-required]
        if not isinstance(value, str):
            row[column] = json.dumps(value)  # type: ignore[literal-required]
    return row


def next_check_at(row: SlaDueRow) -> str | None:
    if not row["running"] or row["paused"]:
        return None
    done = {(float(th), at) for th, at in _decoded(row, "done")}
    due = row["due"]
    pending = [
        at for th, at in zip(_decoded(row, "thresholds"), _decoded(row, "instants"),
                             strict=False)
        if (float(th), at) not in done and at < due
    ]
    if (1.0, due) not in done:
        pending.append(due)
    return min(pending) if pending else None


def apply(rows: dict[str, SlaDueRow], ticket_id: str, event: Any) -> set[str]:
    """Applies one ticket event to the ticket's rows (``rows`` by clock, updated in place);
    returns the clocks whose rows changed. A changed row is stored once ``finish``ed."""
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

    if kind.TOPIC in TRAIL_TOPICS:
        row = rows.get(MILESTONES)
        if row is None:
            row = rows[MILESTONES] = SlaDueRow(
                id=f"{ticket_id}:{MILESTONES}", ticket_id=ticket_id, clock=MILESTONES, due="",
                thresholds="{}", instants="[]", done="[]", running=0, paused=0,
                next_check_at=None, version=0)
        if version > row["version"]:
            _apply_milestones(row, event)
            row["version"] = version
            changed.add(MILESTONES)
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
            row["thresholds"] = [float(t) for t in d.warning_thresholds]  # type: ignore[typeddict-item]
            row["instants"] = [stamp(i) for i in getattr(d, f"{clock}_warnings", ())]  # type: ignore[typeddict-item]
            row["version"] = version
            changed.add(clock)
    elif kind is Ticket.SlaWarningRaised or kind is Ticket.SlaBreached:
        clock = event.clock
        row = rows.get(clock)
        if row is not None and version > row["version"]:
            mark = ([float(event.threshold), stamp(event.occurred_at)]
                    if kind is Ticket.SlaWarningRaised else [1.0, stamp(event.due)])
            _json(row, "done").append(mark)
            touch(clock)
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
    return changed
