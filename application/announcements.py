"""Announcements of planned maintenance (维护通知, issue 19 item 5, ADR 0060): reads, and the
lookups the commands make (the customers in scope, the change whose window is announced).

The commands are values in ``application.commands.announcements`` (``PublishAnnouncement``,
``WithdrawAnnouncement``), run by ``ServiceDesk.handle``. Announcements are few (a handful a
month), so the lists read the records named by ``AnnouncementDirectory`` from the aggregate
cache instead of keeping a read model; whether one is upcoming, current or past is decided at
the reader's time (``Announcement.phase``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.customers import find_customer
from application.desk import HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from application.records import Page, page_of, directory_records
from domain.announcement import Announcement, AnnouncementDirectory, Phase
from domain.change import FINAL, Change
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.numbering import NUMBERED_RECORDS, record_id_for

LABEL = "announcement"
PHASES = tuple(p.value for p in Phase)
#: What the portal's banner shows: the windows still to come or going on now.
ACTIVE = (Phase.UPCOMING.value, Phase.CURRENT.value)


def unknown_customers(desk: ServiceDesk, customers: Sequence[str]) -> list[str]:
    """The customers of a scope that are not registered (a 422 naming ``scope.customers``:
    a misspelt customer would be told nothing)."""
    return [c for c in customers
            if normalise_customer_id(c) and find_customer(desk, c) is None]


def announced_change(desk: ServiceDesk, ref: str | None) -> Change | None:
    """The change an announcement is about (its id or ``CHG-`` number), with a planned window
    and not closed or cancelled; a 422 naming ``change_id`` otherwise."""
    text = ref.strip() if isinstance(ref, str) else ""
    if not text:
        return None
    prefix = text.split("-", 1)[0].upper()
    try:
        change_id = record_id_for(text) if prefix in NUMBERED_RECORDS else UUID(text)
    except ValueError:
        change_id = None
    found = desk.load(change_id) if change_id is not None else None
    if not isinstance(found, Change):
        raise InvalidCommand.field("change_id", f"no change {text!r}")
    if found.plan is None:
        raise InvalidCommand.field("change_id", f"change {found.number} has no planned window "
                                                "yet: record its plan first")
    if found.status in FINAL:
        raise InvalidCommand.field("change_id", f"change {found.number} is "
                                                f"{found.status.value}")
    return found


# --------------------------------------------------------------------- reads


def get_announcement(desk: ServiceDesk, ref: str | UUID,
                     as_of: datetime | None = None) -> Announcement:
    return desk.get_record(ref, Announcement, LABEL, as_of)  # type: ignore[no-any-return]


def readable(a: Announcement, customer: str | None) -> Announcement:
    """``a`` for a requester of ``customer`` (``None``: staff, who read every one): another
    customer's announcement is not found, exactly like an unknown number."""
    if customer is not None and not a.concerns(customer):
        raise RecordNotFound(a.number, LABEL)
    return a


def announcement_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Announcement, LABEL)


@dataclass(frozen=True)
class AnnouncementQuery:
    """``phases``: upcoming, current, past, withdrawn (none: all); ``customer``: only those
    whose scope names it (a requester's own organisation, always); ``change``: only those of
    the change (its id)."""

    now: datetime
    phases: tuple[str, ...] = ()
    customer: str | None = None
    change: str | None = None
    limit: int = 50
    offset: int = 0


def all_announcements(desk: ServiceDesk) -> list[Announcement]:
    return directory_records(desk, AnnouncementDirectory, "announcements", Announcement)


def list_announcements(desk: ServiceDesk, q: AnnouncementQuery) -> Page[Announcement]:
    """The announcements ``q`` asks for, the latest window first."""
    wanted = normalise_customer_id(q.customer) if q.customer is not None else None
    rows = [a for a in all_announcements(desk)
            if (not q.phases or a.phase(q.now).value in q.phases)
            and (wanted is None or wanted in a.customers)
            and (q.change is None or a.change_id == q.change)]
    rows.sort(key=lambda a: (a.starts, a.number), reverse=True)
    return page_of(rows, q.offset, q.limit)


def active_for(desk: ServiceDesk, customer: str, now: datetime) -> list[Announcement]:
    """The portal's banner: the customer's windows going on now or still to come, soonest
    first."""
    rows = list_announcements(desk, AnnouncementQuery(now=now, phases=ACTIVE,
                                                      customer=customer, limit=500)).items
    return sorted(rows, key=lambda a: (a.starts, a.number))
