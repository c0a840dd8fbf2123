"""The ticket list in memory, for tests and the in-memory store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from projections.base import stamp
from projections.memory import MemoryRows, newest_page
from projections.ticket_list import projection as p
from projections.ticket_list.projection import TicketRow
from projections.ticket_list.sql import TicketRows, cursor_after, open_order
from projections.ticket_list.view import (ComplianceCount, DayCount, OpenCount, Page,
                                          TicketQuery)

_OPEN = frozenset(s.value for s in p.OPEN_STATUSES)


class MemoryTicketListView(TicketRows, MemoryRows[TicketRow]):
    def query(self, q: TicketQuery) -> Page:
        def keep(r: TicketRow) -> bool:
            return (
                (not q.statuses or r["status"] in q.statuses)
                and (not q.priorities or r["priority"] in q.priorities)
                and (q.assignee is None or r["assignee"] == q.assignee)
                and (not q.unassigned or (r["assignee"] is None and r["group"] is None))
                and (q.customer is None or r["customer"] == q.customer)
                and (q.group is None or r["group"] == q.group)
                and (not q.groups or r["group"] in q.groups)
                and (q.category is None or r["category"] == q.category)
                and (q.order != "breaching" or r["sla_next_due"] is not None)
                and (q.affected_system is None or r["affected_system"] == q.affected_system)
                and (not q.sla_states or p.sla_state_at(r, q.now or "") in q.sla_states)
            )

        rows = [r for r in self._rows.values() if keep(r)]
        if q.order in ("queue", "breaching"):
            def key(r: TicketRow) -> int:
                return int(cursor_after(r, q.order))
            rows.sort(key=key)
            if q.after is not None:
                rows = [r for r in rows if key(r) > q.after]
            page = rows[: q.limit]
            more = len(rows) > q.limit
            return Page(rows=page, next_cursor=cursor_after(page[-1], q.order) if more else None)
        newest, cursor = newest_page(rows, q.after, q.limit)
        return Page(rows=newest, next_cursor=cursor)

    def compliance(self, start: str, end: str, now: str) -> list[ComplianceCount]:
        groups: dict[tuple[str, str | None], list[int]] = {}
        for r in self._rows.values():
            if r["response_due"] is None or r["status"] == "invalid":
                continue
            if not start <= r["reported_at"] < end:
                continue
            at = r["paused_since"] if r["status"] == "waiting_customer" and r["paused_since"] else now
            counts = [1]
            for due, stop in ((r["response_due"], r["responded_at"]),
                              (r["resolution_due"], r["resolved_at"])):
                met = stop is not None and stop <= due  # type: ignore[operator]
                missed = (stop is not None and stop > due) or (stop is None and at >= due)  # type: ignore[operator]
                counts += [int(met), int(missed)]
            for key in (("priority", r["priority"]), ("customer", r["customer"])):
                g = groups.setdefault(key, [0] * 5)
                for i, n in enumerate(counts):
                    g[i] += n
        return [ComplianceCount(d, k, *g)
                for (d, k), g in sorted(groups.items(), key=lambda kv: (kv[0][0] != "priority", kv[0][0], kv[0][1] or ""))]

    def open_counts(self) -> list[OpenCount]:
        counts = Counter((r["status"], r["priority"], r["assignee"], r["group"])
                         for r in self._rows.values() if r["status"] in _OPEN)
        return sorted((OpenCount(*k, n) for k, n in counts.items()), key=open_order)

    def flow(self, bounds: Sequence[datetime]) -> list[DayCount]:
        rows = list(self._rows.values())
        out = []
        for lo, hi in zip(bounds, bounds[1:]):
            opened_lo, opened_hi = p.reported_bound(lo), p.reported_bound(hi)
            done_lo, done_hi = stamp(lo), stamp(hi)
            opened = sum(1 for r in rows if opened_lo <= r["reported_at"] < opened_hi)
            done = [r["status"] for r in rows
                    if r["resolved_at"] is not None and done_lo <= r["resolved_at"] < done_hi]
            invalid = done.count("invalid")
            out.append(DayCount(lo, hi, opened, len(done) - invalid, invalid))
        return out

    def breached(self, start: datetime, now: datetime,
                 limit: int = 50) -> tuple[int, list[TicketRow]]:
        since, until = stamp(start), stamp(now)
        found = [r for r in self._rows.values() if p.breached_clocks(r, since, until)]
        found.sort(key=lambda r: (r["priority"] or "P9", r["seq"]))
        return len(found), found[:limit]
