"""The manager's dashboard (issue 18): open tickets by priority and by assignee, the clocks
breached today, and the daily flow with the backlog, from the ticket list view. No aggregate is
loaded: each figure is one indexed aggregate query of the view (``open_counts``, ``breached``,
``flow``).

Rules:

* **open**: a ticket in one of ``OPEN_STATUSES`` (the queues' "open": registered to resolved,
  that is, including a resolution that waits for the customer's acceptance);
* **load**: an assignee's open tickets; **unassigned**: the unassigned queue's tickets
  (registered or classified, neither an assignee nor a group; one assigned to a group alone
  is in neither);
* **unresolved**: open and not resolved (its resolution clock runs or is paused);
* **breached today**: a response or resolution clock whose due fell between today's local
  midnight (the service's zone) and now and that has breached at now (it stopped late, or still
  runs past its due; ``projection.breached_clocks``); invalid tickets breach nothing;
* **flow**: per local day, tickets reported (``reported_at``), resolved and invalidated (the
  resolution clock's stop, as the rows stand now: a reopened ticket's earlier resolution no
  longer counts);
* **backlog** at a day's end: tickets reported by then and not resolved or invalidated by
  then. It follows from the unresolved count now and the flow after that day
  (``backlog(end of d) = unresolved now − Σ reported after d + Σ resolved and invalidated
  after d``), so it needs no query per day; today's point is now.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from application import queues
from projections.base import stamp
from projections.ticket_list.view import TicketListView, breached_clocks

PRIORITIES = ("P1", "P2", "P3", "P4")
TREND_DAYS = (14, 30)
RESOLVED = "resolved"
#: The statuses of the unassigned queue (``application.queues``: registered or classified,
#: neither an assignee nor a group named yet).
UNASSIGNED = queues.base_query(queues.UNASSIGNED, user="").statuses  # type: ignore[union-attr]


@dataclass(frozen=True)
class PriorityCount:
    priority: str | None  # None: not classified yet
    open: int
    awaiting_acceptance: int  # of ``open``: resolved, waiting for the customer


@dataclass(frozen=True)
class Load:
    """One assignee's open tickets, per priority (``None``: unclassified)."""

    assignee: str
    open: int
    by_priority: dict[str | None, int]


@dataclass(frozen=True)
class Breach:
    number: str
    title: str
    priority: str | None
    customer: str
    assignee: str | None
    status: str
    clocks: tuple[str, ...]  # response, resolution
    dues: dict[str, str]  # clock -> its due (a stamp)


@dataclass(frozen=True)
class Day:
    day: date
    opened: int
    resolved: int
    invalidated: int
    backlog: int  # unresolved at the day's end (today: now)


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    today: date
    open: int
    unresolved: int
    by_priority: list[PriorityCount]
    load: list[Load]  # most open tickets first
    unassigned: int  # the unassigned queue: registered or classified, no assignee, no group
    breaches: list[Breach]  # the first ``breach_limit``
    breach_count: int
    trend: list[Day]  # oldest first, today last


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def dashboard(source: Any, now: datetime, zone: ZoneInfo, *, days: int = 14,
              breach_limit: int = 50) -> Dashboard:
    """The dashboard at ``now``, days in ``zone``; ``source`` is a ``TicketListView`` or
    anything with one as ``.tickets`` (the composition root's ``Services``)."""
    view: TicketListView = getattr(source, "tickets", source)
    today = now.astimezone(zone).date()

    counts = view.open_counts()
    open_total: Counter[str | None] = Counter()
    waiting: Counter[str | None] = Counter()
    loads: dict[str, Counter[str | None]] = defaultdict(Counter)
    unassigned = 0
    for c in counts:
        open_total[c.priority] += c.tickets
        if c.status == RESOLVED:
            waiting[c.priority] += c.tickets
        if c.assignee is not None:
            loads[c.assignee][c.priority] += c.tickets
        elif c.group is None and c.status in UNASSIGNED:
            unassigned += c.tickets
    shown = [*PRIORITIES, *sorted(k for k in open_total if k is not None and k not in PRIORITIES)]
    if open_total[None]:
        shown.append(None)  # type: ignore[arg-type]
    by_priority = [PriorityCount(k, open_total[k], waiting[k]) for k in shown]
    load = sorted((Load(a, sum(c.values()), dict(c)) for a, c in loads.items()),
                  key=lambda x: (-x.open, x.assignee))
    opened = sum(open_total.values())
    unresolved = opened - sum(waiting.values())

    since = day_start(today, zone)
    breach_count, rows = view.breached(since, now, breach_limit)
    since_stamp, now_stamp = stamp(since), stamp(now)
    breaches = []
    for r in rows:
        clocks = breached_clocks(r, since_stamp, now_stamp)
        breaches.append(Breach(
            number=r["number"], title=r["title"], priority=r["priority"],
            customer=r["customer"], assignee=r["assignee"], status=r["status"], clocks=clocks,
            dues={c: r[f"{c}_due"] for c in clocks}))  # type: ignore[literal-required]

    return Dashboard(now=now, today=today, open=opened, unresolved=unresolved,
                     by_priority=by_priority, load=load, unassigned=unassigned,
                     breaches=breaches, breach_count=breach_count,
                     trend=trend(view, today, zone, days, unresolved))


def trend(view: TicketListView, today: date, zone: ZoneInfo, days: int,
          unresolved_now: int) -> list[Day]:
    """The last ``days`` local days up to today: reported, resolved, invalidated, and the
    backlog at each day's end (see the module's docstring)."""
    first = today - timedelta(days=days - 1)
    bounds = [day_start(first + timedelta(days=i), zone) for i in range(days + 1)]
    counts = view.flow(bounds)
    out: list[Day] = []
    backlog = unresolved_now
    for i in range(len(counts) - 1, -1, -1):  # from today back
        c = counts[i]
        out.append(Day(first + timedelta(days=i), c.opened, c.resolved, c.invalidated, backlog))
        backlog -= c.opened - c.resolved - c.invalidated  # the day before's end
    return out[::-1]
