"""A repair order (设备送修单, issue 20 item 5, ADR 0065): a configuration item sent to a vendor
for repair on behalf of a ticket.

The source documents' rules ([001] 服务台关于设备维修的主要工作): "在确认硬件故障后合理安排人力
和交通工具将设备安全送抵维修点;必要时安排备机送达现场顶用;如属于厂商保内维修,跟进并每3个工作日
以书面形式向最终用户和信息主管部门反馈进度;跟踪并确保送修后第二个周末前设备修复并送抵最终用户现场"
and (桌面端设备) "对处于保修期外的...如需更换零配件,应请原厂家指定或授权的机构检测报价...检测通过后
由用户书面认可". So:

- ``send`` records ``RepairOrder.Sent`` (``RP-YYYYMMDD-NNN``): the ticket, the CI, the vendor,
  in or out of warranty, the loaner CI (备机, optional), the fault, the deadline ``due`` ("by
  the second weekend", :func:`second_weekend_due`) and when the first written progress report
  is due (``progress_due``, 3 working days on the ticket's calendar, computed by the caller).
- ``report_progress`` (书面维修进度) records ``ProgressReported`` with the next ``progress_due``.
- ``record_alarms`` records ``ProgressOverdue`` when ``progress_due`` has passed without a
  report: exactly once per gap (the order remembers the due it alarmed for).
- ``quote`` → ``approve_quote`` / ``reject_quote``: the vendor's quote and the customer's
  written approval; ``replace_part`` of an out-of-warranty order is refused (409 naming
  ``quote_approval``) until a quote is approved.
- ``return_from_vendor`` (修复并送抵最终用户现场) records ``Returned``, on time or late against
  ``due``; ``close`` records ``Closed``.

Pure: standard library and ``eventsourcing.domain``; time, actor and ids come in as arguments.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, given, present, refuse_fields, required, stripped
from domain.errors import FieldError
from domain.records import RecordEvent

#: Written progress every this many working days on the ticket's calendar ([001]).
PROGRESS_WORKING_DAYS = 3
SATURDAY = 5


class Warranty(StrEnum):
    IN = "in"  # 保内: the vendor repairs under warranty
    OUT = "out"  # 保外: parts only after a quote the customer approved


class Status(StrEnum):
    AT_VENDOR = "at_vendor"
    RETURNED = "returned"
    CLOSED = "closed"


class QuoteStatus(StrEnum):
    NONE = "none"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


ALLOWED: dict[Status, tuple[str, ...]] = {
    Status.AT_VENDOR: ("report_progress", "quote", "approve_quote", "reject_quote",
                       "replace_part", "return"),
    Status.RETURNED: ("close",),
    Status.CLOSED: (),
}


def second_weekend_due(sent_at: datetime, timezone: str) -> datetime:
    """"送修后第二个周末前": the start (00:00, local) of the second Saturday after the day of
    sending, in ``timezone``. The first weekend is the first Saturday strictly after that
    day (an order sent on a Saturday or Sunday does not count the weekend it was sent in);
    the equipment must be back before the second one begins, i.e. by the end of the Friday
    before it."""
    tz = ZoneInfo(timezone)
    day = sent_at.astimezone(tz).date()
    first = day + timedelta(days=(SATURDAY - day.weekday()) % 7 or 7)
    return datetime.combine(first + timedelta(days=7), time(), tzinfo=tz)


def _amount(value: Any) -> str | None:
    """A positive amount with at most two decimals, as text (``"1200.00"``); else ``None``."""
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite() or d <= 0 or d.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return f"{d:.2f}"


class RepairOrder(StatusRules, Aggregate):
    TOPIC = "opsledger.repair:RepairOrder"
    ALLOWED = ALLOWED
    RECORD = "repair order"

    class Event(RecordEvent):
        TOPIC = "opsledger.repair:RepairOrder.Event"

    class Sent(Aggregate.Created):
        """Sent to the vendor (送修). ``due``: back at the user's site before the second
        weekend; ``progress_due``: the first written progress report."""

        TOPIC = "opsledger.repair:RepairOrder.Sent"
        number: str
        ticket_id: str
        ticket_number: str
        customer: str
        ci_id: str
        ci_number: str
        ci_name: str
        vendor: str
        warranty: str
        fault: str
        loaner_ci_id: str
        loaner_ci_number: str
        calendar: str
        due: datetime
        progress_due: datetime
        actor: str

    class ProgressReported(Event):
        """A written progress report (书面维修进度) to the user and the authority."""

        TOPIC = "opsledger.repair:RepairOrder.ProgressReported"
        text: str
        next_due: datetime

        def apply(self, r: RepairOrder) -> None:
            r.progress = (*r.progress, (self.timestamp, self.text, self.actor))
            r.progress_due = self.next_due

    class ProgressOverdue(Event):
        """The watcher's alarm: no written progress by ``due`` (once per gap)."""

        TOPIC = "opsledger.repair:RepairOrder.ProgressOverdue"
        due: datetime

        def apply(self, r: RepairOrder) -> None:
            r.alarmed_for = self.due
            r.alarms = (*r.alarms, self.due)

    class Quoted(Event):
        """The vendor's (or authorised agent's) quote for the parts of an out-of-warranty
        repair."""

        TOPIC = "opsledger.repair:RepairOrder.Quoted"
        amount: str
        currency: str
        parts: tuple[str, ...]
        note: str

        def apply(self, r: RepairOrder) -> None:
            r.quote = {"amount": self.amount, "currency": self.currency,
                       "parts": tuple(self.parts), "note": self.note, "at": self.timestamp,
                       "by": self.actor}
            r.quote_status = QuoteStatus.PENDING
            r.quote_decision = None

    class QuoteApproved(Event):
        """The customer's written approval (用户书面认可) of the quote: ``reference`` names
        the written approval; ``on_behalf``: recorded by staff for the customer."""

        TOPIC = "opsledger.repair:RepairOrder.QuoteApproved"
        reference: str
        on_behalf: bool

        def apply(self, r: RepairOrder) -> None:
            r.quote_status = QuoteStatus.APPROVED
            r.quote_decision = {"approved": True, "reference": self.reference,
                                "on_behalf": self.on_behalf, "at": self.timestamp,
                                "by": self.actor}

    class QuoteRejected(Event):
        TOPIC = "opsledger.repair:RepairOrder.QuoteRejected"
        reason: str
        on_behalf: bool

        def apply(self, r: RepairOrder) -> None:
            r.quote_status = QuoteStatus.REJECTED
            r.quote_decision = {"approved": False, "reason": self.reason,
                                "on_behalf": self.on_behalf, "at": self.timestamp,
                                "by": self.actor}

    class PartReplaced(Event):
        TOPIC = "opsledger.repair:RepairOrder.PartReplaced"
        part: str
        note: str

        def apply(self, r: RepairOrder) -> None:
            r.parts_replaced = (*r.parts_replaced, (self.timestamp, self.part, self.note))

    class Returned(Event):
        """Repaired and back at the user's site (修复并送抵最终用户现场); ``loaner_back``: the
        loaner was taken back."""

        TOPIC = "opsledger.repair:RepairOrder.Returned"
        note: str
        loaner_back: bool

        def apply(self, r: RepairOrder) -> None:
            r.status = Status.RETURNED
            r.returned_at = self.timestamp
            r.return_note = self.note
            r.loaner_back = self.loaner_back

    class Closed(Event):
        TOPIC = "opsledger.repair:RepairOrder.Closed"
        note: str

        def apply(self, r: RepairOrder) -> None:
            r.status = Status.CLOSED
            r.closed_at = self.timestamp
            r.close_note = self.note

    def __init__(self, number: str, ticket_id: str, ticket_number: str, customer: str,
                 ci_id: str, ci_number: str, ci_name: str, vendor: str, warranty: str,
                 fault: str, loaner_ci_id: str, loaner_ci_number: str, calendar: str,
                 due: datetime, progress_due: datetime, actor: str) -> None:
        self.number = number
        self.ticket_id = ticket_id
        self.ticket_number = ticket_number
        self.customer = customer
        self.ci_id = ci_id
        self.ci_number = ci_number
        self.ci_name = ci_name
        self.vendor = vendor
        self.warranty = Warranty(warranty)
        self.fault = fault
        self.loaner_ci_id = loaner_ci_id
        self.loaner_ci_number = loaner_ci_number
        self.calendar = calendar
        self.due = due
        self.progress_due = progress_due
        self.sent_by = actor
        self.status = Status.AT_VENDOR
        self.progress: tuple[tuple[datetime, str, str], ...] = ()
        self.alarmed_for: datetime | None = None
        self.alarms: tuple[datetime, ...] = ()
        self.quote: dict[str, Any] | None = None
        self.quote_status = QuoteStatus.NONE
        self.quote_decision: dict[str, Any] | None = None
        self.parts_replaced: tuple[tuple[datetime, str, str], ...] = ()
        self.returned_at: datetime | None = None
        self.return_note: str | None = None
        self.loaner_back: bool | None = None
        self.closed_at: datetime | None = None
        self.close_note: str | None = None

    # ----------------------------------------------------------------- queries

    @property
    def sent_at(self) -> datetime:
        return self.created_on

    def progress_alarm_due(self, now: datetime) -> bool:
        """Whether the watcher should record ``ProgressOverdue`` at ``now``: at the vendor,
        the report due has passed, and this gap has not been alarmed yet."""
        return (self.status is Status.AT_VENDOR and now >= self.progress_due
                and self.alarmed_for != self.progress_due)

    def overdue(self, now: datetime) -> bool:
        """Not back by the second weekend (at ``now``, or when it came back)."""
        back = self.returned_at if self.returned_at is not None else now
        return back >= self.due

    def on_time(self) -> bool | None:
        """Back before the deadline (``None`` while at the vendor)."""
        return None if self.returned_at is None else self.returned_at < self.due

    # ---------------------------------------------------------------- commands

    @classmethod
    def send(cls, *, id: UUID, number: str, ticket_id: str, ticket_number: str, customer: str,
             ci_id: str, ci_number: str, ci_name: str, vendor: str, warranty: str, fault: str,
             calendar: str, timezone: str, progress_due: datetime, actor: str, at: datetime,
             loaner_ci_id: str = "", loaner_ci_number: str = "") -> RepairOrder:
        """Sends the CI to the vendor; one 422 names every field refused."""
        errors: list[FieldError] = required("vendor", vendor) + required("fault", fault)
        if warranty not in tuple(w.value for w in Warranty):
            errors.append(FieldError("warranty", "in (保内) or out (保外)"))
        if loaner_ci_id and loaner_ci_id == ci_id:
            errors.append(FieldError("loaner_ci", "the loaner must be another CI than the one "
                                                  "sent for repair"))
        refuse_fields(errors)
        return cls._create(
            cls.Sent, id=id, timestamp=at, number=number, ticket_id=ticket_id,
            ticket_number=ticket_number, customer=customer, ci_id=ci_id, ci_number=ci_number,
            ci_name=ci_name, vendor=stripped(vendor), warranty=warranty, fault=stripped(fault),
            loaner_ci_id=loaner_ci_id, loaner_ci_number=loaner_ci_number, calendar=calendar,
            due=second_weekend_due(at, timezone), progress_due=progress_due, actor=actor)

    def report_progress(self, *, text: str, next_due: datetime, actor: str,
                        at: datetime) -> None:
        self.require("report_progress")
        self.trigger_event(self.ProgressReported, timestamp=at, actor=actor, next_due=next_due,
                           text=given("text", text, "say where the repair stands"))

    def record_alarms(self, *, now: datetime, actor: str, at: datetime) -> bool:
        """Records ``ProgressOverdue`` when due at ``now``; ``False``: nothing due."""
        if not self.progress_alarm_due(now):
            return False
        self.trigger_event(self.ProgressOverdue, timestamp=at, actor=actor,
                           due=self.progress_due)
        return True

    def quote_parts(self, *, amount: Any, currency: str, parts: tuple[str, ...], note: str,
                    actor: str, at: datetime) -> None:
        self.require("quote")
        if self.warranty is Warranty.IN:
            self.refuse("quote", "an in-warranty repair needs no quote")
        if self.quote_status is QuoteStatus.APPROVED:
            self.refuse("quote", "the quote is already approved")
        errors: list[FieldError] = []
        value = _amount(amount)
        if value is None:
            errors.append(FieldError("amount", "a positive amount with at most two decimals"))
        items = present(errors, "parts", tuple(p for p in (stripped(x) for x in parts) if p),
                        "name at least one part")
        currency = stripped(currency).upper() or "CNY"
        if len(currency) != 3 or not currency.isalpha():
            errors.append(FieldError("currency", "a three-letter code (CNY)"))
        refuse_fields(errors)
        self.trigger_event(self.Quoted, timestamp=at, actor=actor, amount=value,
                           currency=currency, parts=items, note=stripped(note))

    def _decidable(self, command: str) -> None:
        self.require(command)
        if self.quote_status is not QuoteStatus.PENDING:
            self.refuse(command, "there is no quote waiting for the customer's decision",
                        missing=("quote",))

    def approve_quote(self, *, reference: str, on_behalf: bool, actor: str,
                      at: datetime) -> None:
        self._decidable("approve_quote")
        if on_behalf and not stripped(reference):
            refuse_fields([FieldError("reference", "staff approving for the customer name "
                                                   "the customer's written approval")])
        self.trigger_event(self.QuoteApproved, timestamp=at, actor=actor,
                           reference=stripped(reference), on_behalf=on_behalf)

    def reject_quote(self, *, reason: str, on_behalf: bool, actor: str, at: datetime) -> None:
        self._decidable("reject_quote")
        self.trigger_event(self.QuoteRejected, timestamp=at, actor=actor, on_behalf=on_behalf,
                           reason=given("reason", reason, "say why the quote is rejected"))

    def replace_part(self, *, part: str, note: str, actor: str, at: datetime) -> None:
        """Records a part replaced; out of warranty only after the customer approved a quote
        (409 naming ``quote_approval``)."""
        self.require("replace_part")
        if self.warranty is Warranty.OUT and self.quote_status is not QuoteStatus.APPROVED:
            missing = ("quote_approval",) if self.quote else ("quote", "quote_approval")
            self.refuse("replace_part", f"missing {' and '.join(missing)}: an out-of-warranty "
                        "part is replaced only after the customer approved the vendor's quote "
                        "in writing", missing=missing)
        self.trigger_event(self.PartReplaced, timestamp=at, actor=actor,
                           part=given("part", part, "name the part replaced"),
                           note=stripped(note))

    def return_from_vendor(self, *, note: str, loaner_back: bool, actor: str,
                           at: datetime) -> None:
        self.require("return")
        self.trigger_event(self.Returned, timestamp=at, actor=actor, note=stripped(note),
                           loaner_back=bool(loaner_back and self.loaner_ci_id))

    def close(self, *, note: str, actor: str, at: datetime) -> None:
        self.require("close")
        self.trigger_event(self.Closed, timestamp=at, actor=actor, note=stripped(note))


class RepairDirectory(Aggregate):
    """Every repair order in order of sending (the lists and the monthly summary), the open
    ones (those the watcher looks at) and the monthly summaries submitted; changed in the same
    transaction as each order, like ``AnnouncementDirectory``."""

    TOPIC = "opsledger.repair:RepairDirectory"
    ID = uuid5(NAMESPACE_URL, "opsledger:repair-directory")

    class Event(Aggregate.Event):
        TOPIC = "opsledger.repair:RepairDirectory.Event"

    class Opened(Aggregate.Created):
        TOPIC = "opsledger.repair:RepairDirectory.Opened"

    class Listed(Event):
        TOPIC = "opsledger.repair:RepairDirectory.Listed"
        repair_id: str

        def apply(self, d: RepairDirectory) -> None:
            d.orders = (*d.orders, self.repair_id)
            d.open = (*d.open, self.repair_id)

    class Settled(Event):
        """Back from the vendor: no more progress alarms."""

        TOPIC = "opsledger.repair:RepairDirectory.Settled"
        repair_id: str

        def apply(self, d: RepairDirectory) -> None:
            d.open = tuple(i for i in d.open if i != self.repair_id)

    class SummarySubmitted(Event):
        """The monthly repair summary (月度维修总结) of ``period`` was handed in."""

        TOPIC = "opsledger.repair:RepairDirectory.SummarySubmitted"
        period: str
        actor: str

        def apply(self, d: RepairDirectory) -> None:
            d.summaries = {**d.summaries, self.period: (self.timestamp, self.actor)}

    def __init__(self) -> None:
        self.orders: tuple[str, ...] = ()
        self.open: tuple[str, ...] = ()
        self.summaries: dict[str, tuple[datetime, str]] = {}

    @classmethod
    def start(cls, at: datetime) -> RepairDirectory:
        return cls._create(cls.Opened, id=cls.ID, timestamp=at)

    def add(self, repair_id: str, at: datetime) -> None:
        if repair_id not in self.orders:
            self.trigger_event(self.Listed, timestamp=at, repair_id=repair_id)

    def settle(self, repair_id: str, at: datetime) -> None:
        if repair_id in self.open:
            self.trigger_event(self.Settled, timestamp=at, repair_id=repair_id)

    def submit_summary(self, period: str, actor: str, at: datetime) -> bool:
        """``False``: already submitted (the first submission stands)."""
        if period in self.summaries:
            return False
        self.trigger_event(self.SummarySubmitted, timestamp=at, period=period, actor=actor)
        return True


def summary_due(first_day_after: date, day: int = 10) -> date:
    """The monthly repair summary is due by the ``day``-th of the month after the period
    ("每月10日前完成《月度维修总结》")."""
    return first_day_after.replace(day=day)
