"""Wire types of repair orders (设备送修单, ADR 0065) and the monthly repair summary.

Bodies are strict (unknown fields refused); required texts may be empty on the wire so that
the domain answers one 422 naming every field refused. Responses give times in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from application.repairs import RepairSummary
from domain.repair import RepairOrder

Parts = Annotated[list[s.Short], Meta(max_length=100)]


class SendForRepair(s.Input):
    ticket: s.Short = ""  # the ticket's id or SR- number
    ci: s.Short = ""  # the CI sent: its id or CI- number
    vendor: s.Short = ""  # the repairer (厂商 / 维修点)
    fault: s.Text = ""
    warranty: s.Short | None = None  # in | out; left out: from the CI's warranty end
    loaner_ci: s.Short | None = None  # the loaner (备机) left with the user: id or CI- number


class ReportRepairProgress(s.Input):
    text: s.Text = ""


class QuoteRepair(s.Input):
    amount: s.Short | s.Amount = ""  # "1200.00" (or a number)
    parts: Parts = []
    currency: s.Short = "CNY"
    note: s.Line = ""


class ApproveRepairQuote(s.Input):
    reference: s.Line = ""  # the customer's written approval (staff recording it: required)


class RejectRepairQuote(s.Input):
    reason: s.Line = ""


class ReplaceRepairPart(s.Input):
    part: s.Short = ""
    note: s.Line = ""


class ReturnRepair(s.Input):
    note: s.Line = ""
    loaner_back: bool = True


class CloseRepair(s.Input):
    note: s.Line = ""


class SubmitReport(s.Input):
    kind: s.Short = ""  # repair


class ProgressView(Struct):
    at: datetime
    text: str
    by: str


class QuoteView(Struct):
    amount: str
    currency: str
    parts: list[str]
    note: str
    quoted_at: datetime
    quoted_by: str
    status: str  # pending | approved | rejected
    decided_at: datetime | None
    decided_by: str | None
    on_behalf: bool | None  # recorded by staff for the customer
    reference: str | None  # the written approval
    reason: str | None  # why it was rejected


class PartView(Struct):
    at: datetime
    part: str
    note: str


class RepairView(Struct):
    id: str
    number: str
    status: str  # at_vendor | returned | closed
    ticket: s.LinkedRecord
    customer: str
    ci: s.LinkedRecord
    ci_name: str
    loaner_ci: s.LinkedRecord | None
    vendor: str
    warranty: str  # in | out
    fault: str
    sent_at: datetime
    sent_by: str
    due: datetime  # back at the user's site before the second weekend after sending
    overdue: bool  # not back by ``due`` (now, or when it came back)
    on_time: bool | None  # back before ``due`` (None while at the vendor)
    calendar: str  # the ticket's calendar, of the progress reports' working days
    progress_due: datetime | None  # the next written progress report (None once back)
    progress_overdue: bool
    progress: list[ProgressView]
    progress_alarms: list[datetime]  # the dues no report came by (ProgressOverdue)
    quote: QuoteView | None
    parts_replaced: list[PartView]
    returned_at: datetime | None
    return_note: str | None
    loaner_back: bool | None
    closed_at: datetime | None
    close_note: str | None
    version: int


class RepairPage(Struct):
    items: list[RepairView]
    next_cursor: str | None
    count: int


def _quote(r: RepairOrder) -> QuoteView | None:
    q, d = r.quote, r.quote_decision or {}
    if q is None:
        return None
    return QuoteView(
        amount=q["amount"], currency=q["currency"], parts=list(q["parts"]), note=q["note"],
        quoted_at=s.utc(q["at"]), quoted_by=q["by"], status=r.quote_status.value,
        decided_at=s.utc_opt(d.get("at")), decided_by=d.get("by"),
        on_behalf=d.get("on_behalf"), reference=d.get("reference"), reason=d.get("reason"))


def repair_view(r: RepairOrder, now: datetime) -> RepairView:
    away = r.returned_at is None
    return s.copied(
        RepairView, r,
        id=str(r.id), status=r.status.value,
        ticket=s.LinkedRecord(r.ticket_id, r.ticket_number),
        ci=s.LinkedRecord(r.ci_id, r.ci_number),
        loaner_ci=s.LinkedRecord(r.loaner_ci_id, r.loaner_ci_number) if r.loaner_ci_id
        else None,
        warranty=r.warranty.value, sent_at=s.utc(r.sent_at),
        due=s.utc(r.due), overdue=r.overdue(now), on_time=r.on_time(),
        progress_due=s.utc(r.progress_due) if away else None,
        progress_overdue=away and now >= r.progress_due,
        progress=[ProgressView(s.utc(at), text, by) for at, text, by in r.progress],
        progress_alarms=[s.utc(a) for a in r.alarms], quote=_quote(r),
        parts_replaced=[PartView(s.utc(at), part, note) for at, part, note in r.parts_replaced],
        returned_at=s.utc_opt(r.returned_at),
        closed_at=s.utc_opt(r.closed_at))


# ------------------------------------------------------- the monthly summary


class PeriodView(Struct):
    label: str
    kind: str
    start: datetime
    end: datetime
    timezone: str


class SummaryItemView(Struct):
    number: str
    ticket: str
    customer: str
    ci: str
    ci_name: str
    vendor: str
    warranty: str
    status: str
    sent_at: datetime
    due: datetime
    returned_at: datetime | None
    on_time: bool | None
    overdue: bool
    progress_reports: int
    progress_alarms: int
    loaner_ci: str
    quote: str | None
    quote_status: str
    parts_replaced: int


class RepairSummaryView(Struct):
    kind: str  # repair
    title: str
    period: PeriodView
    customer: str | None  # only this organisation's orders (a requester's own)
    due: date  # the 10th of the month after the period
    submitted_at: datetime | None
    submitted_by: str | None
    late: bool  # handed in after ``due``, or not handed in and ``due`` has passed
    totals: dict[str, int]
    by_vendor: dict[str, int]
    items: list[SummaryItemView]


def summary_view(x: RepairSummary) -> RepairSummaryView:
    p = x.period
    return s.copied(
        RepairSummaryView, x,
        kind="repair", title=f"月度维修总结 {p.label}",
        period=PeriodView(p.label, p.kind, s.utc(p.start), s.utc(p.end), p.timezone),
        submitted_at=s.utc_opt(x.submitted_at),
        items=[s.copied(
            SummaryItemView, i,
            ticket=i.ticket_number, ci=i.ci_number,
            sent_at=s.utc(i.sent_at), due=s.utc(i.due), returned_at=s.utc_opt(i.returned_at),
            loaner_ci=i.loaner_ci_number)
            for i in x.items])
