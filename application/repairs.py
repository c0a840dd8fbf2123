"""Repair orders (设备送修单, issue 20 item 5, ADR 0065): the reads, the lookups the commands
make (the ticket, the CIs, the ticket's calendar), the watcher's progress alarm and the monthly
repair summary (月度维修总结).

The commands are values in ``application.commands.repairs``. Repair orders are few (a handful
a week), so the lists and the summary read the records named by ``RepairDirectory`` from the
aggregate cache instead of keeping a read model (like announcements, ADR 0060); the watcher
looks only at the orders still at the vendor (``RepairDirectory.open``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from application.commands.base import resolve_ref
from application.commands.catalog import DEFAULT_CALENDAR
from application.desk import HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from application.feedback import ticket_calendar
from application.projects import project_calendar
from application.records import Page, page_of
from application.report_period import Period, parse_period
from domain.calendar import BusinessCalendar
from domain.ci import ConfigurationItem
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.repair import (PROGRESS_WORKING_DAYS, RepairDirectory, RepairOrder, Status,
                           summary_due)
from domain.ticket import Status as TicketStatus
from domain.ticket import Ticket

LABEL = "repair order"
STATUSES = tuple(s.value for s in Status)
#: The monthly repair summary is due by this day of the next month ([001]).
SUMMARY_DUE_DAY = 10


# ------------------------------------------------------------------- lookups


def repair_ticket(desk: ServiceDesk, ref: str) -> Ticket:
    """The ticket a repair order is for (an id or ``SR-`` number), neither invalid nor
    closed; a 422 naming ``ticket`` otherwise."""
    text = ref.strip() if isinstance(ref, str) else ""
    if not text:
        raise InvalidCommand.field("ticket", "name the ticket (its id or SR- number)")
    try:
        found = desk.load(resolve_ref(text, "ticket"))
    except RecordNotFound:
        found = None
    if not isinstance(found, Ticket):
        raise InvalidCommand.field("ticket", f"no ticket {text!r}")
    if found.status in (TicketStatus.INVALID, TicketStatus.CLOSED):
        raise InvalidCommand.field("ticket", f"ticket {found.number} is {found.status.value}")
    return found


def repair_ci(desk: ServiceDesk, ref: str | None, field: str) -> ConfigurationItem | None:
    """The CI ``ref`` (an id or ``CI-`` number) named in ``field``; a 422 naming ``field``
    when there is none; ``None`` when ``ref`` is empty."""
    text = ref.strip() if isinstance(ref, str) else ""
    if not text:
        return None
    try:
        found = desk.load(resolve_ref(text, "configuration item"))
    except RecordNotFound:
        found = None
    if not isinstance(found, ConfigurationItem):
        raise InvalidCommand.field(field, f"no configuration item {text!r}")
    return found


def calendar_of(desk: ServiceDesk, t: Ticket) -> tuple[str, BusinessCalendar]:
    """The ticket's calendar (its SLA calendar, else the default one) and its slug."""
    d = t.sla_deadlines
    return (d.calendar if d is not None else DEFAULT_CALENDAR), ticket_calendar(desk, t)


def next_progress_due(desk: ServiceDesk, r: RepairOrder, at: datetime) -> datetime:
    """When the next written progress report is due after one at ``at``: 3 working days on
    the ticket's calendar (the calendar as it is now)."""
    ticket = desk.load(UUID(r.ticket_id))
    cal = (ticket_calendar(desk, ticket) if isinstance(ticket, Ticket)
           else calendar_of_slug(desk, r.calendar))
    return cal.add_working_days(at, PROGRESS_WORKING_DAYS)


def calendar_of_slug(desk: ServiceDesk, slug: str) -> BusinessCalendar:
    return project_calendar(desk, slug)


def at_vendor(desk: ServiceDesk, d: RepairDirectory, ci: ConfigurationItem | None,
              lent: bool = False) -> RepairOrder | None:
    """The open order that has ``ci`` at a vendor (a CI is sent once at a time) or, with
    ``lent``, also lent as its loaner, if any."""
    if ci is None:
        return None
    for rid in d.open:
        r = desk.load(UUID(rid))
        if isinstance(r, RepairOrder) and str(ci.id) in (
                (r.ci_id, r.loaner_ci_id) if lent else (r.ci_id,)):
            return r
    return None


def directory(desk: ServiceDesk, at: datetime) -> RepairDirectory:
    found = desk.load(RepairDirectory.ID)
    return found if isinstance(found, RepairDirectory) else RepairDirectory.start(at)


# --------------------------------------------------------------------- reads


def get_repair(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> RepairOrder:
    return desk.get_record(ref, RepairOrder, LABEL, as_of)  # type: ignore[no-any-return]


def readable(r: RepairOrder, customer: str | None) -> RepairOrder:
    """``r`` for a requester of ``customer`` (``None``: staff): another organisation's repair
    order is not found, exactly like an unknown number."""
    if customer is not None and normalise_customer_id(customer) != normalise_customer_id(
            r.customer):
        raise RecordNotFound(r.number, LABEL)
    return r


def repair_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, RepairOrder, LABEL)


def _directory_at(desk: ServiceDesk, as_of: datetime | None) -> RepairDirectory | None:
    if as_of is None:
        found = desk.load(RepairDirectory.ID)
        return found if isinstance(found, RepairDirectory) else None
    try:
        found = desk.get_record(RepairDirectory.ID, RepairDirectory, LABEL, as_of)
    except RecordNotFound:
        return None
    return found if isinstance(found, RepairDirectory) else None


def all_repairs(desk: ServiceDesk, as_of: datetime | None = None) -> list[RepairOrder]:
    """Every repair order, as it stands now or as it stood at ``as_of``."""
    found = _directory_at(desk, as_of)
    if found is None:
        return []
    if as_of is None:
        loaded = [desk.load(UUID(i)) for i in found.orders]
    else:
        loaded = [desk.get_record(UUID(i), RepairOrder, LABEL, as_of) for i in found.orders]
    return [r for r in loaded if isinstance(r, RepairOrder)]


@dataclass(frozen=True)
class RepairQuery:
    """``statuses``: at_vendor, returned, closed (none: all); ``customer``: only that
    organisation's (a requester's own, always); ``ticket``: only those of the ticket (its
    id); ``overdue``: only those not back by their deadline at ``now``."""

    now: datetime
    statuses: tuple[str, ...] = ()
    customer: str | None = None
    ticket: str | None = None
    overdue: bool = False
    limit: int = 50
    offset: int = 0


def list_repairs(desk: ServiceDesk, q: RepairQuery) -> Page[RepairOrder]:
    """The repair orders ``q`` asks for, the latest sent first."""
    wanted = normalise_customer_id(q.customer) if q.customer is not None else None
    rows = [r for r in all_repairs(desk)
            if (not q.statuses or r.status.value in q.statuses)
            and (wanted is None or normalise_customer_id(r.customer) == wanted)
            and (q.ticket is None or r.ticket_id == q.ticket)
            and (not q.overdue or r.overdue(q.now))]
    rows.sort(key=lambda r: (r.sent_at, r.number), reverse=True)
    return page_of(rows, q.offset, q.limit)


# ------------------------------------------------------- the monthly summary


@dataclass(frozen=True)
class SummaryItem:
    number: str
    ticket_number: str
    customer: str
    ci_number: str
    ci_name: str
    vendor: str
    warranty: str
    status: str
    sent_at: datetime
    due: datetime
    returned_at: datetime | None
    on_time: bool | None  # None: still at the vendor
    overdue: bool  # not back by the deadline (at the end of the period, or when it came back)
    progress_reports: int
    progress_alarms: int
    loaner_ci_number: str
    quote: str | None  # "1200.00 CNY" when quoted
    quote_status: str
    parts_replaced: int


@dataclass(frozen=True)
class RepairSummary:
    """The monthly repair summary (月度维修总结): the orders at the vendor at any time in the
    period, their figures, and whether the summary was handed in by the 10th of the next
    month (``late``: handed in after it, or not handed in and the day has passed)."""

    period: Period
    due: date
    submitted_at: datetime | None
    submitted_by: str | None
    late: bool
    customer: str | None
    totals: dict[str, int] = field(default_factory=dict)
    by_vendor: dict[str, int] = field(default_factory=dict)
    items: list[SummaryItem] = field(default_factory=list)


def _in_period(r: RepairOrder, p: Period) -> bool:
    """Sent before the period ends and not back before it starts."""
    return r.sent_at < p.end and (r.returned_at is None or r.returned_at >= p.start)


def _item(r: RepairOrder, p: Period, now: datetime) -> SummaryItem:
    """``r`` as it stood at the end of the period (or at ``now``, in a period not over)."""
    end = p.end
    returned = r.returned_at if r.returned_at is not None and r.returned_at < end else None
    quote = r.quote
    return SummaryItem(
        number=r.number, ticket_number=r.ticket_number, customer=r.customer,
        ci_number=r.ci_number, ci_name=r.ci_name, vendor=r.vendor, warranty=r.warranty.value,
        status=r.status.value if returned is not None or r.returned_at is None
        else Status.AT_VENDOR.value,
        sent_at=r.sent_at, due=r.due, returned_at=returned,
        on_time=None if returned is None else returned < r.due,
        overdue=(returned if returned is not None else min(end, now)) >= r.due,
        progress_reports=sum(1 for p in r.progress if p[0] < end),
        progress_alarms=sum(1 for a in r.alarms if a < end),
        loaner_ci_number=r.loaner_ci_number,
        quote=f"{quote['amount']} {quote['currency']}" if quote else None,
        quote_status=r.quote_status.value, parts_replaced=len(r.parts_replaced))


def repair_summary(desk: ServiceDesk, period: str, now: datetime,
                   customer: str | None = None, as_of: datetime | None = None) -> RepairSummary:
    """The summary of ``period`` (``2026-11``; a quarter or year the same way) as it stands at
    ``now``, in the desk's time zone, or as it stood at ``as_of`` (then ``now`` is ``as_of``:
    what was recorded by then); ``customer``: only that organisation's orders."""
    p = parse_period(period, desk.timezone.key)
    now = as_of or now
    wanted = normalise_customer_id(customer) if customer is not None else None
    orders = [r for r in all_repairs(desk, as_of) if _in_period(r, p)
              and (wanted is None or normalise_customer_id(r.customer) == wanted)]
    orders.sort(key=lambda r: (r.sent_at, r.number))
    items = [_item(r, p, now) for r in orders]
    d = _directory_at(desk, as_of)
    submitted = d.summaries.get(p.label) if d is not None else None
    due = summary_due(p.end_day, SUMMARY_DUE_DAY)
    tz = desk.timezone
    if submitted is not None:
        late = submitted[0].astimezone(tz).date() > due
    else:
        late = now.astimezone(tz).date() > due
    totals = {
        "orders": len(items),
        "sent": sum(1 for i in items if p.start <= i.sent_at < p.end),
        "returned": sum(1 for i in items if i.returned_at is not None),
        "returned_on_time": sum(1 for i in items if i.on_time is True),
        "returned_late": sum(1 for i in items if i.on_time is False),
        "at_vendor": sum(1 for i in items if i.returned_at is None),
        "overdue": sum(1 for i in items if i.overdue),
        "in_warranty": sum(1 for i in items if i.warranty == "in"),
        "out_of_warranty": sum(1 for i in items if i.warranty == "out"),
        "with_loaner": sum(1 for i in items if i.loaner_ci_number),
        "progress_reports": sum(i.progress_reports for i in items),
        "progress_alarms": sum(i.progress_alarms for i in items),
        "quotes_approved": sum(1 for i in items if i.quote_status == "approved"),
        "parts_replaced": sum(i.parts_replaced for i in items),
    }
    return RepairSummary(
        period=p, due=due, submitted_at=submitted[0] if submitted else None,
        submitted_by=submitted[1] if submitted else None, late=late, customer=wanted,
        totals=totals, by_vendor=dict(sorted(Counter(i.vendor for i in items).items())),
        items=items)
