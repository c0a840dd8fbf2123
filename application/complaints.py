"""Complaints (投诉, issue 21 item 3, ADR 0066): reads and the figures the reports show.

The commands are values in ``application.commands.complaints``. Complaints are few, so the
lists read the records named by ``ComplaintDirectory`` from the aggregate cache (like
announcements). A requester reads only their organisation's complaints: another's answers
``404`` like an unknown number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import msgspec

from application.desk import HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from application.records import Page, page_of, directory_records
from application.sla_compliance import met_pct, percent
from domain.complaint import OPEN, About, Complaint, ComplaintDirectory, Status
from domain.customer import normalise_customer_id

LABEL = "complaint"
STATUSES = tuple(s.value for s in Status)
ABOUTS = tuple(a.value for a in About)


def get_complaint(desk: ServiceDesk, ref: str | UUID,
                  as_of: datetime | None = None) -> Complaint:
    return desk.get_record(ref, Complaint, LABEL, as_of)  # type: ignore[no-any-return]


def readable(c: Complaint, customer: str | None) -> Complaint:
    """``c`` for a requester of ``customer`` (``None``: staff)."""
    if customer is not None and not c.concerns(customer):
        raise RecordNotFound(c.number, LABEL)
    return c


def complaint_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Complaint, LABEL)


def all_complaints(desk: ServiceDesk) -> list[Complaint]:
    return directory_records(desk, ComplaintDirectory, "complaints", Complaint)


@dataclass(frozen=True)
class ComplaintQuery:
    """``statuses`` (none: all), ``customer`` (a requester's own, always), ``ticket`` (the
    ticket's id), ``handler``, ``overdue``: only those past a limit at ``now``."""

    now: datetime
    statuses: tuple[str, ...] = ()
    customer: str | None = None
    ticket: str | None = None
    handler: str | None = None
    overdue: bool = False
    limit: int = 50
    offset: int = 0


def overdue(c: Complaint, now: datetime) -> bool:
    """Whether an open complaint is past its response limit unanswered or its closure
    limit."""
    if c.status not in OPEN:
        return False
    return (c.responded_at is None and now >= c.response_due) or now >= c.closure_due


def list_complaints(desk: ServiceDesk, q: ComplaintQuery) -> Page[Complaint]:
    """The complaints ``q`` asks for, the latest first."""
    wanted = normalise_customer_id(q.customer) if q.customer is not None else None
    rows = [c for c in all_complaints(desk)
            if (not q.statuses or c.status.value in q.statuses)
            and (wanted is None or c.customer == wanted)
            and (q.ticket is None or c.ticket_id == q.ticket)
            and (q.handler is None or c.handler == q.handler)
            and (not q.overdue or overdue(c, q.now))]
    rows.sort(key=lambda c: (c.filed_at, c.number), reverse=True)
    return page_of(rows, q.offset, q.limit)


# ------------------------------------------------------------------- reports


@dataclass
class ComplaintFigures:
    """The complaints filed in ``[start, end)`` (of ``customer``, or all), at ``now``:
    how many, by what they are about and by status, how many were answered within the
    response limit and closed within the closure limit (the documents' 处理及时率 and
    完成率), and how many are still open."""

    filed: int = 0
    by_about: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    responded_in_time: int = 0
    response_late: int = 0
    closed: int = 0
    closed_in_time: int = 0
    closure_late: int = 0
    open: int = 0
    numbers: list[str] = field(default_factory=list)

    @property
    def response_in_time_pct(self) -> float | None:
        return met_pct(self.responded_in_time, self.response_late)

    @property
    def completion_pct(self) -> float | None:
        return percent(self.closed, self.filed)


def complaint_figures(desk: ServiceDesk, start: datetime, end: datetime, now: datetime,
                      customer: str | None = None) -> ComplaintFigures:
    """``ComplaintFigures`` of the complaints filed in ``[start, end)``, each read as it
    stood at ``now`` (the report's as-of time: a complaint filed later is left out)."""
    wanted = normalise_customer_id(customer) if customer else None
    out = ComplaintFigures()
    for c in all_complaints(desk):
        if not start <= c.filed_at < end or c.filed_at > now:
            continue
        if wanted is not None and c.customer != wanted:
            continue
        if c.version and now < desk.clock.now():
            c = get_complaint(desk, c.id, as_of=now)
        out.filed += 1
        out.numbers.append(c.number)
        out.by_about[c.about.value] = out.by_about.get(c.about.value, 0) + 1
        out.by_status[c.status.value] = out.by_status.get(c.status.value, 0) + 1
        if c.responded_at is not None or now >= c.response_due:
            if c.response_late(now):
                out.response_late += 1
            else:
                out.responded_in_time += 1
        if c.status is Status.CLOSED:
            out.closed += 1
            if c.closure_late(now):
                out.closure_late += 1
            else:
                out.closed_in_time += 1
        else:
            out.open += 1
            if now >= c.closure_due:
                out.closure_late += 1
    out.numbers.sort()
    return out


class ComplaintSection(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The complaints of a service report (ADR 0066): ``ComplaintFigures`` of the project's
    customer for the period, as of the report's time."""

    filed: int
    by_about: dict[str, int]
    by_status: dict[str, int]
    responded_in_time: int
    response_late: int
    response_in_time_pct: float | None
    closed: int
    closed_in_time: int
    closure_late: int
    completion_pct: float | None
    open: int
    numbers: list[str]


def complaint_section(desk: ServiceDesk, customer: str | None, start: datetime, end: datetime,
                      at: datetime) -> ComplaintSection:
    """The report's complaints block (the one-line hook of ``application.reports``) and the
    answer of ``GET /complaints/figures`` (``customer``: ``None`` for every customer's)."""
    f = complaint_figures(desk, start, end, at, customer)
    return ComplaintSection(
        filed=f.filed, by_about=f.by_about, by_status=f.by_status,
        responded_in_time=f.responded_in_time, response_late=f.response_late,
        response_in_time_pct=f.response_in_time_pct, closed=f.closed,
        closed_in_time=f.closed_in_time, closure_late=f.closure_late,
        completion_pct=f.completion_pct, open=f.open, numbers=f.numbers)
