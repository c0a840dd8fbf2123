"""Milestone clocks on tickets (OLA, issue 20 item 3, ADR 0062): their state at a time, what
the SLA watcher records, and compliance per milestone.

The milestones are those of the policy version the ticket's deadlines cite (recorded in
``SlaDeadlines.milestones``), on the calendar version they cite (``business``) or around the
clock (``24x7``); the runs come from the ticket's own trail of events
(``domain.milestone.runs``). Nothing here reads a policy: a ticket whose deadlines were
recorded before ADR 0062, or whose policy has no milestones, has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from application.sla_compliance import met_pct
from domain import milestone as m
from domain.calendar import BusinessCalendar
from domain.sla_clock import BREACHED, MET
from domain.ticket import Status, Ticket
from projections.ticket_list.view import TicketQuery


class Calendars(Protocol):
    """``SlaClocks.calendar``: a calendar record version (+ its holiday data source)."""

    def calendar(self, slug: str, version: int) -> tuple[BusinessCalendar, str | None]: ...


def clocks_start(t: Ticket) -> datetime:
    """When the ticket's SLA clocks started: its report, or a catalogue request's approval
    (ADR 0061, ``Ticket.sla_start`` where it exists)."""
    return getattr(t, "sla_start", None) or t.reported_at


def ended_at(t: Ticket) -> datetime | None:
    return t.closed_at if t.status in (Status.CLOSED, Status.INVALID) else None


def readings(sla: Calendars, t: Ticket, now: datetime) -> list[m.RunReading]:
    """Every run of every milestone of the ticket at ``now``, by milestone (policy order),
    then oldest first; ``[]`` without deadlines or milestones."""
    d = t.sla_deadlines
    if d is None or not d.milestones:
        return []
    calendar, _ = sla.calendar(d.calendar, d.calendar_version)
    start, end = clocks_start(t), ended_at(t)
    trail = [(name, at) for name, at in t.trail if at <= now]
    return [m.read_run(ms, calendar, run, now, d.warning_thresholds, end)
            for ms in d.milestones for run in m.runs(ms, trail, start)]


def reached(sla: Calendars, t: Ticket, now: datetime) -> list[m.MilestoneMark]:
    """The warnings and breaches of the ticket's open milestone runs reached by ``now`` and
    not yet recorded, oldest first."""
    d = t.sla_deadlines
    if d is None or not d.milestones or t.status in (Status.CLOSED, Status.INVALID):
        return []
    calendar, _ = sla.calendar(d.calendar, d.calendar_version)
    start = clocks_start(t)
    out: list[m.MilestoneMark] = []
    for ms in d.milestones:
        for run in m.runs(ms, t.trail, start):
            out += m.reached(ms, calendar, run, now, d.warning_thresholds, t.milestone_marks)
    return sorted(out)


def record(t: Ticket, marks: list[m.MilestoneMark], *, actor: str, at: datetime) -> None:
    """Records each mark on the ticket (each once: the ticket refuses a second)."""
    for mark in marks:
        if mark.breach:
            t.record_milestone_breach(milestone=mark.milestone, started_at=mark.started_at,
                                      due=mark.due, actor=actor, at=at)
        else:
            t.raise_milestone_warning(milestone=mark.milestone, threshold=mark.threshold,
                                      started_at=mark.started_at, due=mark.due,
                                      occurred_at=mark.occurred_at, actor=actor, at=at)


def view(sla: Calendars, t: Ticket, now: datetime) -> list[dict[str, Any]]:
    """The ``milestones`` of the ticket view's ``sla`` block: per milestone its latest run
    (``runs``: how many), with the target and calendar it is measured on."""
    d = t.sla_deadlines
    if d is None or not d.milestones:
        return []
    by_name: dict[str, list[m.RunReading]] = {}
    for r in readings(sla, t, now):
        by_name.setdefault(r.milestone, []).append(r)
    out = []
    for ms in d.milestones:
        runs = by_name.get(ms.name, [])
        last = runs[-1] if runs else None
        out.append({
            "name": ms.name,
            "starts_on": ms.starts_on,
            "stops_on": list(ms.stops_on),
            "target": ms.target.text,
            "calendar": ms.calendar,
            "state": last.state if last else "not_started",
            "started_at": last.started_at if last else None,
            "due": last.due if last else None,
            "stopped_at": last.stopped_at if last else None,
            "stopped_by": last.stopped_by if last else None,
            "remaining_seconds": last.remaining_seconds if last else None,
            "runs": len(runs),
            "breaches": sum(1 for r in runs if r.state == BREACHED),
        })
    return out


# ----------------------------------------------------------------- compliance

PAGE = 500


@dataclass
class MilestoneFigures:
    """One milestone's runs on the tickets of a period, by their state at a time: ``met``
    (stopped in time), ``missed`` (stopped late, or running past the due), ``pending``
    (running within it); a run cancelled by the ticket's end counts in none. ``met_pct`` is
    met / (met + missed) in percent, ``None`` when none is decided, as for the clocks."""

    milestone: str
    met: int = 0
    missed: int = 0
    pending: int = 0

    @property
    def met_pct(self) -> float | None:
        return met_pct(self.met, self.missed)

    def as_dict(self) -> dict[str, Any]:
        return {"milestone": self.milestone, "met": self.met, "missed": self.missed,
                "pending": self.pending, "met_pct": self.met_pct}


def figures(sla: Calendars, tickets: Any, now: datetime) -> list[MilestoneFigures]:
    """Per milestone (by name, in order of the first ticket naming it): the runs of
    ``tickets`` (invalid ones left out) at ``now``."""
    out: dict[str, MilestoneFigures] = {}
    for t in tickets:
        if t.status is Status.INVALID:
            continue
        for r in readings(sla, t, now):
            f = out.setdefault(r.milestone, MilestoneFigures(r.milestone))
            if r.state == MET:
                f.met += 1
            elif r.state == BREACHED:
                f.missed += 1
            elif r.running:
                f.pending += 1
    return list(out.values())


# The list is read newest registration first; a ticket is reported before it is recorded, so
# the reading stops at the first row recorded this long before the period (processes' clocks
# may differ a little, and their registrations interleave in the log).
SKEW = timedelta(hours=1)


def _instant(text: Any) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def reported_in(desk: Any, view: Any, start: datetime, end: datetime,
                now: datetime) -> list[Ticket]:
    """The tickets with SLA deadlines reported in ``[start, end)`` (from the ticket list,
    newest first; loaded as now)."""
    out: list[Ticket] = []
    after: int | None = None
    while True:
        page = view.query(TicketQuery(limit=PAGE, after=after))
        for row in page.rows:
            if _instant(row["recorded_at"]) < start - SKEW:
                return out
            if row.get("response_due") is None:
                continue  # no deadlines: no milestone clocks
            reported = _instant(row["reported_at"])
            if start <= reported < end:
                try:
                    out.append(desk.get_ticket(str(row["id"])))
                except Exception:  # noqa: BLE001 - a row without its ticket: not counted
                    continue
        if page.next_cursor is None:
            return out
        after = int(page.next_cursor)

