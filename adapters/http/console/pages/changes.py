"""The changes' pages (变更管理, issue 18): ``/ui/changes`` (the change list read model, its
filters in the URL), ``/ui/changes/calendar?month=2026-12`` (a month of scheduled changes
with their conflicts, from the same read model as ``GET /api/v1/changes/calendar``) and
``/ui/changes/{ref}``: header, risk, schedule, the gates as a checklist (what is passed and
what is missing before implementation, or before closing: ``Change.gate_checklist``, the
domain's own decision), plan, reviews, the timeline, and the commands the state and the
caller's roles allow (forms posting to ``/ui/changes/{ref}/<verb>``: ``console.records``).

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.response import Template

from adapters.http import kit
from adapters.http.console.records import command_forms, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import changes as cs
from application import changes as uc
from domain.change import PRE_START, ChangeKind, ConsentChannel, Risk, Status
from projections.change_list.projection import stamp
from projections.change_list.view import ChangeQuery

COLLECTION, LABEL = "changes", "change"
#: The commands the change page has a form for, in the order of the lifecycle.
VERBS = ("assess", "plan", "review", "customer_review", "consent", "approve_emergency", "start",
         "complete", "roll_back", "start_trial", "evaluate", "raise_improvement", "close",
         "cancel")
STATUSES = tuple(s.value for s in Status)
KINDS = tuple(k.value for k in ChangeKind)
PAGE_SIZE = 50
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@page_route("/ui/changes", "console-changes")
def change_list(request: Request[Any, Any, Any], state: State, status: str | None = None,
                kind: str | None = None, system: str | None = None,
                cursor: str | None = None) -> Template:
    services = kit.services_of(state)
    q = ChangeQuery(statuses=kit.split_values(status, "status", set(STATUSES)),
                    kinds=kit.split_values(kind, "kind", set(KINDS)),
                    system=system.strip() if system and system.strip() else None,
                    limit=PAGE_SIZE, after=kit.parse_cursor(cursor))
    kit.read_your_writes(services)
    found = services.changes.query(q)
    filters = {"status": status or "", "kind": kind or "", "system": system or ""}
    return page(request, "changes/list.html", items=[cs.change_item(dict(r)) for r in found.rows],
                next_cursor=found.next_cursor, filters=filters, statuses=STATUSES, kinds=KINDS)


def _month(value: str | None, today: date) -> date:
    """The first day of ``?month=`` (``2026-12``), default this month; 400 naming ``month``."""
    if value is None or not value.strip():
        return today.replace(day=1)
    found = MONTH.match(value.strip())
    if found is None:
        raise ValidationException("bad month", extra=[
            {"key": "month", "message": "a month as YYYY-MM (e.g. 2026-12)"}])
    return date(int(found.group(1)), int(found.group(2)), 1)


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def month_grid(first: date) -> list[list[date]]:
    """The weeks (Monday first) that show the month starting on ``first``."""
    start = first - timedelta(days=first.weekday())
    last = _next_month(first) - timedelta(days=1)
    end = last + timedelta(days=6 - last.weekday())
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return [days[i:i + 7] for i in range(0, len(days), 7)]


def _local(value: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(zone)


@page_route("/ui/changes/calendar", "console-change-calendar")
def change_calendar(request: Request[Any, Any, Any], state: State, month: str | None = None,
                    system: str | None = None) -> Template:
    services = kit.services_of(state)
    zone = ZoneInfo(services.settings.timezone)
    first = _month(month, services.desk.clock.now().astimezone(zone).date())
    weeks = month_grid(first)
    start = datetime.combine(weeks[0][0], time(), tzinfo=zone)
    end = datetime.combine(weeks[-1][-1] + timedelta(days=1), time(), tzinfo=zone)
    system = system.strip() if system and system.strip() else None
    kit.read_your_writes(services)
    items = [cs.calendar_item(e)
             for e in services.changes.calendar(stamp(start), stamp(end), system)]
    by_day: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        begins, ends = _local(item.start, zone), _local(item.end, zone)
        day = max(begins.date(), weeks[0][0])
        while day <= min((ends - timedelta(microseconds=1)).date(), weeks[-1][-1]):
            by_day.setdefault(day.isoformat(), []).append(
                {"number": item.number, "title": item.title, "status": item.status,
                 "kind": item.kind, "system": item.affected_system,
                 "start": begins.strftime("%H:%M") if begins.date() == day else "",
                 "conflicts": [c.number for c in item.conflicts]})
            day += timedelta(days=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return page(request, "changes/calendar.html", month=first.strftime("%Y-%m"),
                month_number=first.month, year=first.year,
                previous=previous.strftime("%Y-%m"), next=_next_month(first).strftime("%Y-%m"),
                weeks=[[{"date": d.isoformat(), "day": d.day, "in_month": d.month == first.month,
                         "changes": by_day.get(d.isoformat(), [])} for d in week]
                       for week in weeks],
                today=services.desk.clock.now().astimezone(zone).date().isoformat(),
                system=system or "", count=len(items),
                conflicts=sum(1 for i in items if i.conflicts))


@page_route("/ui/changes/{ref:str}", "console-change")
def change_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    desk = kit.services_of(state).desk
    change = uc.get_change(desk, ref)
    return page(request, "changes/page.html", change=cs.change_view(change),
                checklist=[{"gate": g, "state": s} for g, s in change.gate_checklist()],
                before_start=change.status in PRE_START,
                commands=offered(request, change, LABEL, COLLECTION, VERBS),
                risks=[r.value for r in Risk], channels=[c.value for c in ConsentChannel],
                timeline=timeline(uc.change_history(desk, change.id), words(request).when))


HANDLERS = [change_list, change_calendar, change_page, *command_forms(COLLECTION, LABEL, VERBS)]
