"""HTTP for announcements of planned maintenance (维护通知): ``/api/v1/announcements``
(issue 19 item 5, ADR 0060).

``POST /announcements {scope: {customers, systems}, starts, ends, title?, body, change_id?}``
publishes one (``201`` + ``Location``): ``starts`` at least ``OPSLEDGER_ANNOUNCEMENT_LEAD_HOURS``
(48) hours ahead, else a ``422`` naming ``starts``; with ``change_id`` it covers the change's
planned window and the change records the link. ``POST /announcements/{ref}/withdraw
{reason}`` calls the maintenance off. Both honour ``If-Match`` and ``Idempotency-Key`` like
every command.

Reads: ``GET /announcements?phase=upcoming,current&customer=&change=&limit=&cursor=`` (the
latest window first) and ``GET /announcements/{ref}`` (``?as_of=``), ``/history`` (staff). A
requester reads only the announcements whose scope names their organisation: the list is
filtered to it, and another customer's announcement answers ``404`` like an unknown number.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import QueryParameter

from adapters.http import kit
from adapters.http.access import scoped_customer
from adapters.http.params import Cursor, limit, listed
from adapters.http.schemas import announcements as ans
from application import announcements as uc
from application.commands.announcements import PublishAnnouncement, WithdrawAnnouncement
from application.desk import CommandResult, ServiceDesk
from application.records import filter_id
from domain.numbering import RecordKind

TAG = "announcements"


def _present(result: CommandResult, desk: ServiceDesk) -> ans.AnnouncementView:
    return ans.announcement_view(result.aggregate, desk.clock.now())


ANNOUNCEMENTS = kit.Records("announcements", ans.AnnouncementView, _present)


def _publish_command(request: Request[Any, Any, Any], state: State,
                     data: ans.PublishAnnouncement) -> PublishAnnouncement:
    lead = kit.services_of(state).settings.announcement_lead_hours
    return ans.publish_command(data, lead)


publish = ANNOUNCEMENTS.creates(
    "publish", PublishAnnouncement, ans.PublishAnnouncement,
    "Announce planned maintenance (at least 48 hours ahead) to the customers in scope",
    _publish_command)


withdraw = ANNOUNCEMENTS.command(WithdrawAnnouncement, ans.WithdrawAnnouncement,
                                 "Withdraw an announcement (the maintenance is called off)")


get_announcement = ANNOUNCEMENTS.read(
    "get_announcement", "An announcement (optionally as of a past time)",
    uc.get_announcement, ans.announcement_view, readable=uc.readable)  # a requester's own


announcement_history = ANNOUNCEMENTS.history(
    "announcement_history", "Every event of an announcement, oldest first",
    uc.announcement_history)


PhaseFilter = listed(uc.PHASES, "Where the window stands now")
ChangeFilter = Annotated[str | None, QueryParameter(
    description="Announcements of this change: its id or its CHG-… number", max_length=100)]
Limit = limit(50)


@get(f"{kit.API}/announcements", tags=[TAG],
     summary="List announcements (requesters: those of their organisation)")
@kit.threaded
def list_announcements(request: Request[Any, Any, Any], state: State,
                       phase: PhaseFilter = None, customer: str | None = None,
                       change: ChangeFilter = None, limit: Limit = 50,
                       cursor: Cursor = None) -> ans.AnnouncementPage:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    wanted = scoped_customer(request, customer or None)  # a requester: their own, always
    page = uc.list_announcements(desk, uc.AnnouncementQuery(
        now=now, phases=kit.split_values(phase, "phase", set(uc.PHASES)), customer=wanted,
        change=filter_id(change, RecordKind.CHANGE), limit=kit.parse_limit(limit),
        offset=kit.parse_cursor(cursor) or 0))
    return kit.page_body(ans.AnnouncementPage, [ans.announcement_view(a, now) for a in page.items],
                         page.next_offset)


HANDLERS = [publish, withdraw, get_announcement, announcement_history, list_announcements]
