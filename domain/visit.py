"""Field visits on a ticket (派工单 ``PG-YYYYMMDD-NNN``, 外出登记, 技术服务单; issue 20 item 4,
ADR 0064).

A visit is part of its ticket: its steps are ``Ticket`` events named ``VisitPlanned``,
``VisitRescheduled``, ``VisitDeparted``, ``VisitArrived`` and ``VisitLeft`` (the milestone
clocks of ADR 0062 start and stop on them by class name), so the ticket "as of" any time
shows its visits as they were. This module holds the visit's value objects and the pure
rules the ticket's methods apply; ``domain/ticket.py`` holds the events.

Each step may claim when it happened (``occurred_at``, default: when it is recorded; never
in the future, never before the step before it): an engineer on a site without network
records the arrival later, a visit arranged by phone is entered afterwards, and the visit's
times are the claimed ones (the dispatch order's own time, ``planned_at``, is when it was
recorded).

Lifecycle of one visit: ``planned`` (engineer, planned arrival; rescheduled any number of
times before arrival, each with a reason: [001] "接到延迟到场或无法到场的反馈时,10分钟内与用户沟通
并重新分排任务") → ``departed`` (外出: the engineer left for the site) → ``on_site`` (arrived) →
``left`` with the technical service sheet (技术服务单: work done, parts used, the customer's
signer, who is personal data: sealed with the customer's key and erased with the contact,
ADR 0043). On-site time is ``left_at - arrived_at``.

Pure: standard library and ``eventsourcing.domain``; times and actors come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from domain.checks import instant_errors, present, stripped
from domain.errors import FieldError, InvalidCommand, TransitionNotAllowed
from domain.records import TicketIndex, directory

MAX_PARTS = 50


class VisitStatus(StrEnum):
    PLANNED = "planned"
    DEPARTED = "departed"
    ON_SITE = "on_site"
    LEFT = "left"


V = VisitStatus
#: Which visit step each status admits (the 409 names these).
VISIT_ALLOWED: dict[VisitStatus, tuple[str, ...]] = {
    V.PLANNED: ("reschedule", "depart", "arrive"),
    V.DEPARTED: ("reschedule", "arrive"),
    V.ON_SITE: ("leave",),
    V.LEFT: (),
}


@dataclass(frozen=True)
class ServiceSheet:
    """The technical service sheet (技术服务单) signed on site when the engineer leaves:
    ``signer`` is the customer's person who signed it (personal data)."""

    work_done: str
    parts_used: tuple[str, ...]
    signer: str


@dataclass(frozen=True)
class Visit:
    """One field visit of a ticket, as its events made it."""

    number: str  # PG-YYYYMMDD-NNN
    engineer: str
    planned_arrival: datetime
    note: str  # the dispatcher's instructions (internal)
    planned_at: datetime
    planned_by: str
    status: VisitStatus = VisitStatus.PLANNED
    reschedules: tuple[tuple[datetime, datetime, str], ...] = ()  # (at, new arrival, reason)
    departed_at: datetime | None = None
    arrived_at: datetime | None = None
    left_at: datetime | None = None
    sheet: ServiceSheet | None = None

    @property
    def on_site(self) -> timedelta | None:
        """Time on site: from arrival to leaving (``None`` until the engineer left)."""
        if self.arrived_at is None or self.left_at is None:
            return None
        return self.left_at - self.arrived_at

    @property
    def late(self) -> bool | None:
        """Whether the engineer arrived after the (last) planned arrival."""
        return None if self.arrived_at is None else self.arrived_at > self.planned_arrival

    def away(self, at: datetime) -> bool:
        """Whether the engineer is out of the office for this visit at ``at`` (外出)."""
        if self.departed_at is None and self.arrived_at is None:
            return False
        start = self.departed_at or self.arrived_at
        assert start is not None
        return start <= at and (self.left_at is None or at < self.left_at)


# ------------------------------------------------------------------- rules


def find(visits: tuple[Visit, ...], number: str) -> Visit:
    wanted = stripped(number).upper()
    for v in visits:
        if v.number == wanted:
            return v
    raise InvalidCommand.field("visit", f"the ticket has no visit {number!r}")


def require_step(visit: Visit, step: str) -> None:
    """The 409 when the visit's status does not admit ``step``."""
    if step not in VISIT_ALLOWED[visit.status]:
        raise TransitionNotAllowed(visit.status.value, step, VISIT_ALLOWED[visit.status],
                                   f"visit {visit.number}", record="visit")


def planned_arrival_errors(value: Any, at: datetime) -> list[FieldError]:
    if errors := instant_errors("planned_arrival", value):
        return errors
    if value < at - timedelta(days=1):
        return [FieldError("planned_arrival", "lies in the past")]
    return []


#: How far a claimed time may lie after the recording time (clocks of phones drift).
CLOCK_SKEW = timedelta(minutes=5)


def occurred_errors(value: Any, at: datetime, not_before: datetime | None,
                    after_what: str) -> list[FieldError]:
    """A step's claimed time (``occurred_at``: the engineer records it later, e.g. from a
    site without network): with an offset, not in the future, not before ``not_before``."""
    if value is None:
        return []
    if not isinstance(value, datetime) or value.tzinfo is None:
        return [FieldError("occurred_at", "needs a UTC offset")]
    if value > at + CLOCK_SKEW:
        return [FieldError("occurred_at", "lies in the future")]
    if not_before is not None and value < not_before:
        return [FieldError("occurred_at", f"lies before {after_what} "
                                          f"({not_before.isoformat(timespec='minutes')})")]
    return []


def sheet_of(work_done: Any, parts_used: Any, signer: Any) -> ServiceSheet:
    """The service sheet, or one 422 naming every field refused."""
    errors: list[FieldError] = []
    work = present(errors, "work_done", stripped(work_done), "say what was done on site")
    who = present(errors, "signer", stripped(signer),
                  "the customer's person who signed the sheet")
    parts = tuple(p for p in (stripped(x) for x in (parts_used or ())) if p)
    if len(parts) > MAX_PARTS:
        errors.append(FieldError("parts_used", f"at most {MAX_PARTS} lines"))
    if errors:
        raise InvalidCommand(errors)
    return ServiceSheet(work_done=work, parts_used=parts, signer=who)


# ------------------------------------------------------ mutators (replayed)


def _with(visits: tuple[Visit, ...], number: str, **changes: Any) -> tuple[Visit, ...]:
    return tuple(replace(v, **changes) if v.number == number else v for v in visits)


def planned(visits: tuple[Visit, ...], e: Any) -> tuple[Visit, ...]:
    return (*visits, Visit(number=e.visit, engineer=e.engineer,
                           planned_arrival=e.planned_arrival, note=e.note,
                           planned_at=e.timestamp, planned_by=e.actor))


def rescheduled(visits: tuple[Visit, ...], e: Any) -> tuple[Visit, ...]:
    v = next(x for x in visits if x.number == e.visit)
    return _with(visits, e.visit, planned_arrival=e.planned_arrival,
                 engineer=e.engineer or v.engineer,
                 reschedules=(*v.reschedules, (e.timestamp, e.planned_arrival, e.reason)))


def departed(visits: tuple[Visit, ...], e: Any) -> tuple[Visit, ...]:
    return _with(visits, e.visit, status=VisitStatus.DEPARTED,
                 departed_at=e.occurred_at or e.timestamp)


def arrived(visits: tuple[Visit, ...], e: Any) -> tuple[Visit, ...]:
    return _with(visits, e.visit, status=VisitStatus.ON_SITE,
                 arrived_at=e.occurred_at or e.timestamp)


def left(visits: tuple[Visit, ...], e: Any) -> tuple[Visit, ...]:
    return _with(visits, e.visit, status=VisitStatus.LEFT, left_at=e.occurred_at or e.timestamp,
                 sheet=e.sheet)


def signers_erased(visits: tuple[Visit, ...], gone: str) -> tuple[Visit, ...]:
    return tuple(replace(v, sheet=replace(v.sheet, signer=gone)) if v.sheet else v
                 for v in visits)


class _Visits(TicketIndex):
    def __init__(self) -> None:
        self.visits: dict[str, str] = {}  # PG number -> ticket id, in order of planning

    def listed(self, event: Any) -> None:
        self.visits = {**self.visits, event.visit: event.ticket_id}


VisitRegister = directory(
    "opsledger.visit:VisitRegister", "opsledger:visit-register",
    key="visit", items="visits", fields=("visit", "ticket_id"), behaviour=_Visits,
    module=__name__,
    doc="""Every visit's number and ticket in order of planning (the out-of-office register's
    index, 外出登记), changed in the same transaction as each ``VisitPlanned``, like
    ``AnnouncementDirectory``: a ``PG-`` number finds its ticket without a read model.""")
