"""Wire types of announcements of planned maintenance (ADR 0060).

Bodies are strict (unknown fields refused). ``starts`` and ``ends`` are optional on the wire
so that the domain answers one 422 naming every field refused (``starts`` too short a notice,
``ends`` before ``starts``, ``scope.customers`` empty). Responses give times in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from application.announcements import active_for
from application.commands.announcements import PublishAnnouncement as Publish
from application.commands.announcements import Scope as PublishScope
from domain.announcement import Announcement

Names = Annotated[list[s.Short], Meta(max_length=200)]


class Scope(s.Input):
    """Whom the maintenance concerns: the customers whose contacts are told and whose
    requesters see it in the portal, and the systems it touches."""

    customers: Names = []
    systems: Names = []


class PublishAnnouncement(s.Input):
    scope: Scope
    starts: s.AwareTime | None = None
    ends: s.AwareTime | None = None
    title: s.Short = ""
    body: s.Text = ""
    change_id: s.Short | None = None  # the change (id or CHG- number) whose window this is


class WithdrawAnnouncement(s.Input):
    reason: s.Line


class ScopeView(Struct):
    customers: list[str]
    systems: list[str]


class AnnouncementView(Struct):
    id: str
    number: str
    title: str
    body: str
    scope: ScopeView
    starts: datetime
    ends: datetime
    phase: str  # upcoming | current | past | withdrawn, at the time of the answer
    status: str  # published | withdrawn
    change: s.LinkedRecord | None
    published_by: str
    published_at: datetime
    notice_hours: float  # how long before the window it was published
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdraw_reason: str | None
    version: int


class AnnouncementPage(Struct):
    items: list[AnnouncementView]
    next_cursor: str | None
    count: int


def announcement_view(a: Announcement, now: datetime) -> AnnouncementView:
    return s.copied(
        AnnouncementView, a,
        id=str(a.id),
        scope=ScopeView(list(a.customers), list(a.systems)), starts=s.utc(a.starts),
        ends=s.utc(a.ends), phase=a.phase(now).value, status=a.status.value,
        change=s.LinkedRecord(a.change_id, a.change_number) if a.change_id else None,
        published_at=s.utc(a.published_at),
        notice_hours=round(a.notice.total_seconds() / 3600, 2),
        withdrawn_at=s.utc_opt(a.withdrawn_at))


def publish_command(body: PublishAnnouncement, lead_hours: float) -> Publish:
    """The command of a publishing body (the API's and the console's form); ``lead_hours``:
    ``OPSLEDGER_ANNOUNCEMENT_LEAD_HOURS``."""
    return Publish(
        body=body.body, scope=PublishScope(tuple(body.scope.customers),
                                           tuple(body.scope.systems)),
        starts=body.starts, ends=body.ends, title=body.title, change_id=body.change_id,
        lead=timedelta(hours=lead_hours))


def portal_banner(desk: Any, customer: str | None) -> list[AnnouncementView]:
    """The portal home's banner (``console/templates/announcements/_banner.html``): the
    announcements of the requester's organisation ``customer`` still to come or going on
    now, soonest first (none without an organisation)."""
    if not customer:
        return []
    now = desk.clock.now()
    return [announcement_view(a, now) for a in active_for(desk, customer, now)]
