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
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter

from adapters.http import kit
from adapters.http.access import scoped_customer
from adapters.http.params import AsOf, Cursor, limit, listed
from adapters.http.schemas import announcements as ans
from adapters.http.schemas import common as s
from application import announcements as uc
from application.commands.announcements import PublishAnnouncement, WithdrawAnnouncement
from application.desk import CommandResult, ServiceDesk
from domain.numbering import RecordKind, record_id_for

TAG = "announcements"


def _present(result: CommandResult, desk: ServiceDesk) -> ans.AnnouncementView:
    return ans.announcement_view(result.aggregate, desk.clock.now())


ANNOUNCEMENTS = kit.Records("announcements", ans.AnnouncementView, _present)


@post(f"{kit.API}/announcements", status_code=201, tags=[TAG],
      summary="Announce planned maintenance (at least 48 hours ahead) to the customers in scope",
      opt={kit.COMMAND_CLASS_OPT: PublishAnnouncement})
@kit.threaded
def publish(request: Request[Any, Any, Any], state: State,
            data: ans.PublishAnnouncement) -> Response[ans.AnnouncementView]:
    lead = kit.services_of(state).settings.announcement_lead_hours
    return ANNOUNCEMENTS.create(request, state, data, ans.publish_command(data, lead))


withdraw = ANNOUNCEMENTS.command(WithdrawAnnouncement, ans.WithdrawAnnouncement,
                                 "Withdraw an announcement (the maintenance is called off)")


@get(f"{kit.API}/announcements/{{ref:str}}", tags=[TAG],
     summary="An announcement (optionally as of a past time)")
@kit.threaded
def get_announcement(request: Request[Any, Any, Any], state: State, ref: str,
                     as_of: AsOf = None) -> Response[ans.AnnouncementView]:
    desk = kit.services_of(state).desk
    a = uc.readable(uc.get_announcement(desk, ref, as_of=kit.parse_as_of(as_of)),
                    scoped_customer(request, None))  # a requester's own
    return kit.versioned(ans.announcement_view(a, desk.clock.now()), a.version)


@get(f"{kit.API}/announcements/{{ref:str}}/history", tags=[TAG],
     summary="Every event of an announcement, oldest first")
@kit.threaded
def announcement_history(state: State, ref: str) -> list[s.HistoryItem]:
    return kit.history_items(uc.announcement_history(kit.services_of(state).desk, ref))


PhaseFilter = listed(uc.PHASES, "Where the window stands now")
ChangeFilter = Annotated[str | None, QueryParameter(
    description="Announcements of this change: its id or its CHG-… number", max_length=100)]
Limit = limit(50)


def _change_filter(ref: str | None) -> str | None:
    """The change id a ``change`` filter names (an id or a ``CHG-`` number); any other text
    names no change, and the list is empty."""
    if ref is None or not ref.strip():
        return None
    text = ref.strip()
    if text.upper().startswith(f"{RecordKind.CHANGE.value}-"):
        return str(record_id_for(text))
    try:
        return str(UUID(text))
    except ValueError:
        return text


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
        change=_change_filter(change), limit=kit.parse_limit(limit),
        offset=kit.parse_cursor(cursor) or 0))
    items = [ans.announcement_view(a, now) for a in page.items]
    return ans.AnnouncementPage(items=items, count=len(items), next_cursor=None
                                if page.next_offset is None else str(page.next_offset))


HANDLERS = [publish, withdraw, get_announcement, announcement_history, list_announcements]
