"""Tickets per engineer per week: an opsledger projection plug-in (docs/write-a-projection.md).

For each engineer and ISO week (``2026-W47``, in the service's time zone):

* ``assigned``: tickets assigned to them (recorded that week),
* ``resolved``: tickets resolved while assigned to them (by the resolution's time),
* ``hours``:    hours of work they logged (by the time the work was performed).

Two tables in the service's own database: ``weekly_load`` (the figures) and
``weekly_load_tickets`` (each ticket's current assignee, so that a resolution is credited to
the engineer who had the ticket). Both are written in the transaction that moves the view's
tracking position, so a crash or a batch delivered twice changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.ticket import Ticket
from projections.base import Positioned
from projections.sql import SqlStore, SqlView, select_rows

NAME = "weekly_load"
VERSION = 1  # bump when the rows change shape: the view then drops its tables and rebuilds
TABLE = "weekly_load"
TICKETS = "weekly_load_tickets"
COLUMNS = ("assignee", "week", "assigned", "resolved", "hours")

ASSIGNED, RESOLVED, WORKED = Ticket.Assigned.TOPIC, Ticket.Resolved.TOPIC, Ticket.WorkLogged.TOPIC


def create(context: Any) -> WeeklyLoadView:
    """The entry point (``opsledger.projections``): ``context`` is opsledger's
    ``adapters.runners.plugins.PluginContext``."""
    return WeeklyLoadView(context.store(), ZoneInfo(context.settings.timezone))


def iso_week(moment: datetime, zone: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


class WeeklyLoadView(SqlView):
    name = NAME
    table = TABLE
    topics = frozenset({ASSIGNED, RESOLVED, WORKED})
    # Only these fields are decoded (a work-log entry or a resolution is small; a ticket's
    # registration, which we do not read, is not decoded at all).
    fields = {ASSIGNED: frozenset({"assignee", "timestamp"}),
              RESOLVED: frozenset({"resolution"}),
              WORKED: frozenset({"entry"})}

    def __init__(self, store: SqlStore, zone: ZoneInfo) -> None:
        super().__init__(store, NAME, VERSION)
        self.zone = zone
        with store.transaction() as cur:
            self.tracking.create(cur)
            if self.tracking.stored(cur)[1] != VERSION:
                cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
                cur.execute(f"DROP TABLE IF EXISTS {TICKETS}")
                self.tracking.reset(cur)
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (assignee TEXT NOT NULL, week TEXT NOT NULL, "
                "assigned INTEGER NOT NULL, resolved INTEGER NOT NULL, "
                "hours DOUBLE PRECISION NOT NULL, PRIMARY KEY (assignee, week))")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {TICKETS} (id TEXT PRIMARY KEY, assignee TEXT)")
        p = store.param
        self._add = (
            f"INSERT INTO {TABLE} (assignee, week, assigned, resolved, hours) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (assignee, week) DO UPDATE SET "
            f"assigned={TABLE}.assigned+excluded.assigned, "
            f"resolved={TABLE}.resolved+excluded.resolved, hours={TABLE}.hours+excluded.hours")
        self._assign = (f"INSERT INTO {TICKETS} (id, assignee) VALUES ({p}, {p}) "
                        "ON CONFLICT (id) DO UPDATE SET assignee=excluded.assignee")

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        with self.store.transaction() as cur:
            self.tracking.move(cur, start, end)  # compare-and-set first: a replay changes nothing
            if not events:
                return
            ids = sorted({str(pe.event.originator_id) for pe in events})
            holders: dict[str, str | None] = {
                r["id"]: r["assignee"]
                for r in select_rows(cur, TICKETS, ("id", "assignee"), self.store.param, ids)}
            moved: set[str] = set()
            added: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])
            for pe in events:
                e, ticket = pe.event, str(pe.event.originator_id)
                topic = type(e).TOPIC
                if topic == ASSIGNED:
                    holders[ticket] = e.assignee
                    moved.add(ticket)
                    if e.assignee:
                        added[e.assignee, iso_week(e.timestamp, self.zone)][0] += 1
                elif topic == RESOLVED and holders.get(ticket):
                    added[holders[ticket], iso_week(e.resolution.resolved_at, self.zone)][1] += 1
                elif topic == WORKED:
                    entry = e.entry
                    added[entry.actor, iso_week(entry.performed_at, self.zone)][2] += entry.hours
            cur.executemany(self._assign, [(t, holders[t]) for t in sorted(moved)])
            cur.executemany(self._add, [(a, w, int(n[0]), int(n[1]), float(n[2]))
                                        for (a, w), n in sorted(added.items())])

    def _reset(self, cur: Any) -> None:
        cur.execute(f"DELETE FROM {TICKETS}")
        super()._reset(cur)

    def rows(self, assignee: str | None = None) -> list[dict[str, Any]]:
        """The figures, by week then engineer (one engineer's with ``assignee``)."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"
        params: list[Any] = []
        if assignee is not None:
            sql += f" WHERE assignee={self.store.param}"
            params.append(assignee)
        with self.store.read() as cur:
            cur.execute(sql + " ORDER BY week, assignee", params)
            return [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]
