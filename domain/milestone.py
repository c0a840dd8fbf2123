"""Milestone clocks of one ticket (OLA, issue 20 item 3, ADR 0062): pure arithmetic.

A policy's :class:`~domain.sla.Milestone` starts when the ticket records an event whose class
is named ``starts_on`` and stops at the first later event whose class is one of ``stops_on``.
A ticket's *trail* is the (class name, instant) of each of its events in order; from it and a
milestone, :func:`runs` gives the milestone's runs: a start while a run is open changes
nothing, a stop without an open run changes nothing, so a milestone can run again after it
stopped (e.g. ``rescheduling`` for each reschedule).

Rules:

* A run starts at its start event's instant, but never before the ticket's SLA clocks started
  (``clocks_start``: a request awaiting approval has no clocks, ADR 0061; a start event
  recorded before them starts the run when they start).
* A run's due is ``target`` after its start: working time on the ticket's calendar
  (``business``) or plain time (``24x7``). Milestone clocks do not pause: they measure the
  desk's own steps (a milestone that should not run while the customer is awaited names
  ``CustomerAwaited`` among its stops).
* A run is ``met`` when it stopped at or before its due, ``breached`` when it stopped after it
  or still runs at or after it, ``warning`` when it runs and the first warning threshold of
  the policy is used, else ``ok``. A run still open when the ticket closed (or was
  invalidated) is ``breached`` if its due came first, else ``cancelled`` (neither met nor
  breached: the ticket ended without the milestone's step).
* Each warning and the breach of a run is recorded once, identified by (kind, milestone,
  run start, threshold) — a policy redefinition that moves the due does not record it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.calendar import BusinessCalendar, seven_by_twenty_four
from domain.sla import Milestone
from domain.sla_clock import BREACHED, MET, OK, WARNING, Mark, target_due

CANCELLED = "cancelled"
ALWAYS = seven_by_twenty_four(timezone="UTC")

Trail = Iterable[tuple[str, datetime]]
MarkKey = tuple[str, str, datetime, float]  # (kind, milestone, run start, threshold)


def milestone_mark(kind: str, milestone: str, started_at: datetime,
                   threshold: float) -> MarkKey:
    return (kind, milestone, started_at, float(threshold))


@dataclass(frozen=True)
class Run:
    milestone: str
    started_at: datetime
    stopped_at: datetime | None = None
    stopped_by: str | None = None


def runs(milestone: Milestone, trail: Trail, clocks_start: datetime) -> list[Run]:
    """The milestone's runs over the ticket's trail, oldest first."""
    out: list[Run] = []
    open_at: datetime | None = None
    for name, at in trail:
        if open_at is not None and name in milestone.stops_on:
            out.append(Run(milestone.name, open_at, max(at, open_at), name))
            open_at = None
        elif open_at is None and name == milestone.starts_on:
            open_at = max(at, clocks_start)
    if open_at is not None:
        out.append(Run(milestone.name, open_at))
    return out


def calendar_for(milestone: Milestone, ticket_calendar: BusinessCalendar) -> BusinessCalendar:
    return ticket_calendar if milestone.calendar == "business" else ALWAYS


def due_of(milestone: Milestone, calendar: BusinessCalendar, started_at: datetime) -> datetime:
    return target_due(calendar_for(milestone, calendar), started_at,
                      milestone.target.days, milestone.target.seconds)


def warning_instants(milestone: Milestone, calendar: BusinessCalendar, started_at: datetime,
                     thresholds: Iterable[float]) -> tuple[datetime, ...]:
    """When each warning threshold of the run is reached (a fraction of its working length)."""
    cal = calendar_for(milestone, calendar)
    due = due_of(milestone, calendar, started_at)
    length = cal.working_seconds(started_at, due)
    return tuple(cal.add_working(started_at, round(th * length)) if length else started_at
                 for th in thresholds)


@dataclass(frozen=True)
class RunReading:
    milestone: str
    started_at: datetime
    due: datetime
    stopped_at: datetime | None
    stopped_by: str | None
    state: str  # ok | warning | breached | met | cancelled
    remaining_seconds: int  # working seconds to the due at the stop (or now); negative: late
    running: bool


def read_run(milestone: Milestone, calendar: BusinessCalendar, run: Run, now: datetime,
             thresholds: Iterable[float] = (), ended_at: datetime | None = None) -> RunReading:
    """The run at ``now``; ``ended_at``: when the ticket closed or was invalidated."""
    cal = calendar_for(milestone, calendar)
    due = due_of(milestone, calendar, run.started_at)
    stopped = run.stopped_at
    if stopped is None and ended_at is not None and ended_at <= now:
        at = max(ended_at, run.started_at)
        state = BREACHED if at >= due else CANCELLED
        return RunReading(run.milestone, run.started_at, due, None, None, state,
                          _remaining(cal, at, due), False)
    at = stopped if stopped is not None else now
    remaining = _remaining(cal, at, due)
    if stopped is not None:
        state = MET if stopped <= due else BREACHED
    elif now >= due:
        state = BREACHED
    else:
        firsts = sorted(thresholds)
        instants = warning_instants(milestone, calendar, run.started_at, firsts[:1])
        state = WARNING if instants and now >= instants[0] else OK
    return RunReading(run.milestone, run.started_at, due, stopped, run.stopped_by, state,
                      remaining, stopped is None)


def _remaining(cal: BusinessCalendar, at: datetime, due: datetime) -> int:
    return cal.working_seconds(at, due) if at < due else -cal.working_seconds(due, at)


@dataclass(frozen=True, order=True)
class MilestoneMark(Mark):
    """A warning (``threshold`` < 1) or the breach (1.0) of a run, reached by now."""

    milestone: str
    started_at: datetime
    due: datetime

    @property
    def key(self) -> MarkKey:
        return milestone_mark("breach" if self.breach else "warning", self.milestone,
                              self.started_at, self.threshold)


def reached(milestone: Milestone, calendar: BusinessCalendar, run: Run, now: datetime,
            thresholds: Iterable[float], recorded: Iterable[MarkKey] = ()) -> list[MilestoneMark]:
    """The warnings and the breach of an open run reached by ``now`` and not ``recorded``,
    oldest first. A stopped run reaches nothing more."""
    if run.stopped_at is not None:
        return []
    done = set(recorded)
    ths = sorted(float(t) for t in thresholds)
    due = due_of(milestone, calendar, run.started_at)
    out = [MilestoneMark(i, th, run.milestone, run.started_at, due)
           for th, i in zip(ths, warning_instants(milestone, calendar, run.started_at, ths),
                            strict=True)
           if i <= now and i < due]
    if due <= now:
        out.append(MilestoneMark(due, 1.0, run.milestone, run.started_at, due))
    return sorted(m for m in out if m.key not in done)


def earliest_check(milestone: Milestone, started_at: datetime,
                   thresholds: Iterable[float]) -> datetime:
    """The earliest instant anything of a run can be due, without its calendar (for the
    watcher's index): the first threshold of the target's length counted as plain time,
    which working time never reaches sooner. Whole working days count as nothing."""
    ths = sorted(float(t) for t in thresholds)
    seconds = milestone.target.seconds + (milestone.target.days * 86_400
                                          if milestone.calendar == "24x7" else 0)
    first = ths[0] if ths else 1.0
    return started_at + timedelta(seconds=int(first * seconds))
