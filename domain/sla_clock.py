"""SLA clock arithmetic of one ticket: deadlines, pauses and the state at a time (ADR 0015).

Pure functions over a :class:`~domain.calendar.BusinessCalendar`; no clock, no lookups. The
application chooses the policy, calendar and start and records the result on the ticket
(``Ticket.SlaDeadlinesSet``); the read side evaluates a recorded deadline at "now".

Rules:

* A target is ``days`` whole working days (``add_working_days``) and then ``seconds`` of
  working time (``add_working``) from the clock's start.
* A pause (waiting for the customer; the time between a resolution and its rejection or the
  reopening) that begins while the clock runs and before its due moves the due later by the
  pause's **working** time on the calendar, which is the same as giving back, at the end of
  the pause, the working time that was left when it began. A pause that begins after the due
  (the clock has already breached) or after the clock stopped moves nothing.
* A clock is ``met`` when it stopped at or before its due, ``breached`` when it stopped after
  it or is still running at or after it, ``warning`` when it runs and the working time used is
  at least the first (lowest) warning threshold of its target, else ``ok``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.calendar import BusinessCalendar

OK, WARNING, BREACHED, MET = "ok", "warning", "breached", "met"


def target_due(calendar: BusinessCalendar, start: datetime, days: int, seconds: int) -> datetime:
    """The due of a target of ``days`` working days and ``seconds`` working seconds."""
    due = start
    if days:
        due = calendar.add_working_days(due, days)
    if seconds:
        due = calendar.add_working(due, seconds)
    return due


def extend_by_pauses(
    calendar: BusinessCalendar,
    start: datetime,
    due: datetime,
    pauses: Iterable[tuple[datetime, datetime]],
    stopped_at: datetime | None = None,
) -> tuple[datetime, int]:
    """``due`` moved later by the working time of the pauses that count; and that time.

    Pauses are taken in order of their start; one counts when it begins before the due
    reached so far (and before ``stopped_at`` when the clock has stopped). A part of a pause
    before ``start`` does not count.
    """
    paused = 0
    for p_start, p_end in sorted(pauses):
        p_start = max(p_start, start)
        if p_end <= p_start:
            continue
        if p_start >= due or (stopped_at is not None and p_start >= stopped_at):
            continue
        seconds = calendar.working_seconds(p_start, p_end)
        if seconds:
            due = calendar.add_working(due, seconds)
            paused += seconds
    return due, paused


@dataclass(frozen=True)
class ClockReading:
    state: str  # ok | warning | breached | met
    remaining_seconds: int  # working seconds to the due (negative: overdue) at stop or now
    running: bool


def read_clock(
    calendar: BusinessCalendar,
    due: datetime,
    target_seconds: int,
    now: datetime,
    stopped_at: datetime | None,
    thresholds: Iterable[float] = (),
) -> ClockReading:
    """The clock at ``now`` (for a paused clock pass the pause's start as ``now``)."""
    at = stopped_at if stopped_at is not None else now
    if at < due:
        remaining = calendar.working_seconds(at, due)
    else:
        remaining = -calendar.working_seconds(due, at)
    if stopped_at is not None:
        return ClockReading(MET if stopped_at <= due else BREACHED, remaining, False)
    if now >= due:
        return ClockReading(BREACHED, remaining, True)
    firsts = sorted(thresholds)
    if firsts and target_seconds > 0 and target_seconds - remaining >= firsts[0] * target_seconds:
        return ClockReading(WARNING, remaining, True)
    return ClockReading(OK, remaining, True)


def overall_state(response: ClockReading, resolution: ClockReading) -> str:
    """breached if either clock is; warning if a running clock is; met when both stopped in
    time; else ok."""
    states = (response.state, resolution.state)
    if BREACHED in states:
        return BREACHED
    if WARNING in states:
        return WARNING
    if not response.running and not resolution.running:
        return MET
    return OK


# ------------------------------------------------------- time-driven events (ADR 0016)


def threshold_instant(
    calendar: BusinessCalendar,
    start: datetime,
    target_seconds: int,
    threshold: float,
    pauses: Iterable[tuple[datetime, datetime]],
    stopped_at: datetime | None = None,
) -> datetime:
    """When ``threshold`` of the target is used: ``threshold × target`` working seconds
    after ``start``, moved later by the pauses that begin before it (the same rule as the
    due, so the instant of a warning reached before a pause does not move)."""
    base = calendar.add_working(start, round(threshold * target_seconds)) if target_seconds else start
    return extend_by_pauses(calendar, start, base, pauses, stopped_at)[0]


@dataclass(frozen=True, order=True)
class Mark:
    """A warning (``threshold`` < 1) or breach (``threshold`` == 1) that has been reached:
    a clock's (``DueMark``) or a milestone run's (``milestone.MilestoneMark``); marks sort by
    when they occurred."""

    occurred_at: datetime
    threshold: float

    @property
    def breach(self) -> bool:
        return self.threshold >= 1.0


@dataclass(frozen=True, order=True)
class DueMark(Mark):
    """A clock's warning or breach."""

    clock: str
    due: datetime


def reached_marks(
    clock: str,
    due: datetime,
    thresholds: Iterable[float],
    instants: Iterable[datetime],
    now: datetime,
    paused_since: datetime | None,
    stopped_at: datetime | None,
) -> list[DueMark]:
    """Every warning and the breach of one running clock reached by ``now``, oldest first.

    A stopped clock reaches nothing more (``[]``). A paused clock stands still where the
    pause began: only what was reached before it counts until the pause ends.
    """
    if stopped_at is not None:
        return []
    limit = now if paused_since is None else min(now, paused_since)
    out = [
        DueMark(instant, float(th), clock, due)
        for th, instant in zip(thresholds, instants, strict=False)
        if instant <= limit and instant < due
    ]
    if due <= limit:
        out.append(DueMark(due, 1.0, clock, due))
    return sorted(out)


def next_check(
    due: datetime, thresholds: Iterable[float], instants: Iterable[datetime],
    recorded: Iterable[tuple[float, datetime]],
) -> datetime | None:
    """The earliest instant of an unrecorded warning or of an unrecorded breach (``None``:
    everything recorded). ``recorded`` holds (threshold, instant) pairs, breach = (1.0, due)."""
    done = set(recorded)
    pending = [i for th, i in zip(thresholds, instants, strict=False)
               if (float(th), i) not in done and i < due]
    if (1.0, due) not in done:
        pending.append(due)
    return min(pending) if pending else None
