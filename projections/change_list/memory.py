"""The change list in memory, for tests and the in-memory store."""

from __future__ import annotations

from typing import Any

from projections.change_list import projection as p
from projections.change_list.projection import CalendarEntry, ChangeRow
from projections.change_list.view import ChangePage, ChangeQuery
from projections.memory import MemoryRows, newest_page
from projections.ticket_search.search import parse


def matches(row: ChangeRow, q: ChangeQuery) -> bool:
    """Whether ``row`` passes the filters of ``q`` (the SQL views say the same in SQL)."""
    terms = parse(q.text).all if q.text else ()
    return (
        (not q.text or bool(terms) and all(t in p.search_text(row) for t in terms))
        and (not q.statuses or row["status"] in q.statuses)
        and (not q.kinds or row["kind"] in q.kinds)
        and (q.system is None or p.system_key(row["affected_system"]) == p.system_key(q.system))
        and (q.origin is None or q.origin in (row["origin_id"], row["origin_number"]))
    )


def scheduled_in(row: ChangeRow, start: str, end: str, system: str | None) -> bool:
    return (
        row["schedule_start"] is not None and row["schedule_end"] is not None
        and row["status"] not in p.CALENDAR_EXCLUDED
        and row["schedule_end"] > start and row["schedule_start"] < end
        and (system is None or p.system_key(row["affected_system"]) == p.system_key(system))
    )


class MemoryChangeListView(MemoryRows[ChangeRow]):
    name = p.NAME
    topics = p.TOPICS

    def apply_event(self, row: ChangeRow | None, event: Any, position: int) -> ChangeRow | None:
        return p.apply(row, event, position) or row

    def query(self, q: ChangeQuery) -> ChangePage:
        rows, cursor = newest_page((r for r in self._rows.values() if matches(r, q)),
                                   q.after, q.limit)
        return ChangePage(rows=rows, next_cursor=cursor)

    def calendar(self, start: str, end: str, system: str | None = None) -> list[CalendarEntry]:
        window = [r for r in self._rows.values() if scheduled_in(r, start, end, system)]
        if not window:
            return []
        lo = min(r["schedule_start"] or "" for r in window)
        hi = max(r["schedule_end"] or "" for r in window)
        systems = {p.system_key(r["affected_system"]) for r in window}
        neighbours = [r for r in self._rows.values() if scheduled_in(r, lo, hi, None)
                      and p.system_key(r["affected_system"]) in systems]
        return p.calendar(window, neighbours)
