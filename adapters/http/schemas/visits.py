"""Wire types of field visits (派工单, 外出登记, 技术服务单; ADR 0064).

Bodies are strict (unknown fields refused). A requester (the customer's side) reads their
organisation's visits without the desk's internal data: the dispatcher's note, the reasons
of reschedules and who planned it are ``null`` for them. The signer is masked for roles that
do not see contacts (``access.mask``: the key ``signer``).
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from adapters.http.schemas import common as s
from application.visits import VisitRow


class PlanVisit(s.Input):
    engineer: s.Name
    planned_arrival: s.AwareTime | None = None
    note: s.Line = ""  # instructions for the engineer (internal)


class RescheduleVisit(s.Input):
    planned_arrival: s.AwareTime | None = None
    reason: s.Line = ""
    engineer: s.Short = ""  # another engineer goes ("" : the same)


class VisitStep(s.Input):
    """A step of the visit; ``occurred_at``: when it happened, if not now (recorded later)."""

    occurred_at: s.AwareTime | None = None


class LeaveVisit(s.Input):
    """The technical service sheet (技术服务单) signed on site."""

    work_done: s.Text = ""
    parts_used: s.Items = []
    signer: s.Short = ""
    occurred_at: s.AwareTime | None = None


class ServiceSheetView(Struct):
    work_done: str
    parts_used: list[str]
    signer: str


class RescheduleView(Struct):
    at: datetime
    planned_arrival: datetime
    reason: str | None  # null for requesters


class VisitView(Struct):
    number: str  # PG-YYYYMMDD-NNN
    ticket: s.LinkedRecord
    customer: str
    engineer: str
    status: str  # planned | departed | on_site | left
    planned_arrival: datetime
    planned_at: datetime
    planned_by: str | None  # null for requesters
    note: str | None  # null for requesters
    reschedules: list[RescheduleView]
    departed_at: datetime | None
    arrived_at: datetime | None
    left_at: datetime | None
    on_site_minutes: float | None
    late: bool | None  # arrived after the planned arrival
    away: bool  # the engineer is out of the office for it at the time of the answer
    sheet: ServiceSheetView | None


class VisitPage(Struct):
    items: list[VisitView]
    next_cursor: str | None
    count: int


def visit_view(row: VisitRow, now: datetime, internal: bool = True) -> VisitView:
    v, t = row.visit, row.ticket
    on_site = v.on_site
    return VisitView(
        number=v.number, ticket=s.LinkedRecord(str(t.id), t.number), customer=t.customer,
        engineer=v.engineer, status=v.status.value, planned_arrival=s.utc(v.planned_arrival),
        planned_at=s.utc(v.planned_at), planned_by=v.planned_by if internal else None,
        note=v.note if internal else None,
        reschedules=[RescheduleView(s.utc(at), s.utc(arrival), reason if internal else None)
                     for at, arrival, reason in v.reschedules],
        departed_at=s.utc_opt(v.departed_at), arrived_at=s.utc_opt(v.arrived_at),
        left_at=s.utc_opt(v.left_at),
        on_site_minutes=None if on_site is None else round(on_site.total_seconds() / 60, 1),
        late=v.late, away=v.away(now),
        sheet=None if v.sheet is None else ServiceSheetView(
            v.sheet.work_done, list(v.sheet.parts_used), v.sheet.signer))
