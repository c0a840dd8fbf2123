"""Announcements of planned maintenance on the console (维护通知, issue 19 item 5, ADR 0060).

- ``GET /ui/announcements?phase=``: every announcement, the latest window first, as ``GET
  /api/v1/announcements`` lists them for staff, and (for the roles that may publish) the form
  that publishes one, as ``POST /api/v1/announcements`` does (``POST /ui/announcements``: the
  API's body from the form, ``scope.customers`` and ``scope.systems`` one a line or
  comma-separated, the times read in the calendar's zone).
- ``GET /ui/announcements/{ref}``: one announcement, its timeline and the ``withdraw`` form
  (``POST /ui/announcements/{ref}/withdraw``, ``console.records``).
- ``GET /portal/announcements``: a requester's organisation's announcements (the API's list,
  scoped the same way: ``access.scoped_customer``); the portal's home shows the ones still to
  come or going on now as a banner (``templates/announcements/_banner.html``).

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import State
from litestar.response import Template

from adapters.http import kit
from adapters.http.access import PORTAL, scoped_customer
from adapters.http.console.forms import form_body
from adapters.http.console.records import command_forms, create_form, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import announcements as ans
from application import announcements as uc
from application.customers import list_customers
from domain.change import FINAL, Change

COLLECTION, LABEL = "announcements", "announcement"
VERBS = ("withdraw",)
PAGE_SIZE = 50


def _phases(phase: str | None) -> tuple[str, ...]:
    return kit.split_values(phase, "phase", set(uc.PHASES))


@page_route("/ui/announcements", "console-announcements")
def announcement_list(request: Request[Any, Any, Any], state: State, phase: str | None = None,
                      change: str | None = None, cursor: str | None = None) -> Template:
    """``change``: a change's number (its page links here): its announcements, and the form
    filled in for it."""
    services = kit.services_of(state)
    desk, now = services.desk, services.desk.clock.now()
    announced = (desk.get_record(change.strip(), Change, "change") if change and change.strip()
                 else None)
    found = uc.list_announcements(desk, uc.AnnouncementQuery(
        now=now, phases=_phases(phase), limit=PAGE_SIZE, offset=kit.parse_cursor(cursor) or 0,
        change=str(announced.id) if announced else None))
    return page(request, "announcements/list.html",
                items=[ans.announcement_view(a, now) for a in found.items],
                next_cursor=found.next_offset,
                filters={"phase": phase or "", "change": announced.number if announced else ""},
                phases=uc.PHASES, lead_hours=services.settings.announcement_lead_hours,
                change=_prefill(announced), customers=[c.customer for c in list_customers(desk)])


def _prefill(change: Change | None) -> dict[str, str]:
    """The publish form's fields for ``change``'s window (times as ``datetime-local`` reads
    them, in the page's zone, filled in by the template)."""
    if change is None or change.plan is None or change.status in FINAL:
        return dict.fromkeys(("number", "title", "system", "starts", "ends"), "")
    return {"number": change.number, "title": change.title, "system": change.affected_system,
            "starts": change.plan.schedule_start.isoformat(),
            "ends": change.plan.schedule_end.isoformat()}


def _publish(request: Request[Any, Any, Any], state: State, form: Any) -> Any:
    """Publishes as ``POST /api/v1/announcements`` does (its body, its command)."""
    settings = kit.services_of(state).settings
    body = form_body(form, ans.PublishAnnouncement, ZoneInfo(settings.timezone))
    return ans.publish_command(body, settings.announcement_lead_hours)


publish = create_form("/ui/announcements", "console-announcements-publish", _publish)


@page_route("/ui/announcements/{ref:str}", "console-announcement")
def announcement_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    desk = kit.services_of(state).desk
    a = uc.get_announcement(desk, ref)
    view = ans.announcement_view(a, desk.clock.now())
    commands = offered(request, a, LABEL, COLLECTION, VERBS) if view.phase != "past" else []
    events = timeline(uc.announcement_history(desk, a.id), words(request).when,
                      shown="Published")
    return page(request, "announcements/page.html", a=view, commands=commands, timeline=events)


@page_route("/portal/announcements", "console-portal-announcements", audience=PORTAL)
def portal_announcements(request: Request[Any, Any, Any], state: State) -> Template:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    found = uc.list_announcements(desk, uc.AnnouncementQuery(
        now=now, customer=scoped_customer(request, None), limit=PAGE_SIZE))
    return page(request, "announcements/portal.html",
                items=[ans.announcement_view(a, now) for a in found.items])


HANDLERS = [announcement_list, publish, announcement_page, portal_announcements,
            *command_forms(COLLECTION, LABEL, VERBS)]
