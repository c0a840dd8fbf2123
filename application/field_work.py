"""The service report's field-work block (ADR 0064): on-site time of the field visits and the
spare parts' arrival time against the target (备件到场时间, 现场支持时间: [004] 4.2.1 4, the
measures the SLA needs), for one customer and period, as of a recorded time.

A visit counts in the period it was planned in, a requisition in the period it was requested
in; both are read as they stood at ``at`` (the report's as-of rule, ADR 0029). The one-line
hook is in ``application.reports``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from application import spare_parts, visits
from application.desk import ServiceDesk
from domain.customer import normalise_customer_id
from domain.spare_part import Requisition, RequisitionStatus
from domain.ticket import Ticket
from domain.visit import Visit, VisitStatus


class Struct(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class VisitFigures(Struct):
    planned: int  # visits planned in the period (派工单)
    completed: int  # left with a service sheet by ``as_of``
    on_site_hours: float  # their time on site, summed (现场支持时间)
    on_site_minutes_mean: float | None
    late_arrivals: int  # arrived after the (last) planned arrival
    rescheduled: int  # visits rescheduled at least once
    numbers: list[str]


class SparePartFigures(Struct):
    requisitions: int  # requested in the period (备件领用单)
    quantity: int
    arrived: int
    arrival_minutes_mean: float | None  # 备件到场时间: request → arrival
    arrival_met: int
    arrival_missed: int  # arrived late, or not arrived and past the target
    arrival_pending: int
    arrival_met_pct: float | None
    returned_faulty: int
    numbers: list[str]


class FieldWork(Struct):
    visits: VisitFigures
    spare_parts: SparePartFigures


def _mean_minutes(values: list[timedelta]) -> float | None:
    if not values:
        return None
    return round(sum(v.total_seconds() for v in values) / len(values) / 60, 1)


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def _as_of(desk: ServiceDesk, record_id: str, kind: type, label: str, at: datetime) -> object:
    try:
        return desk.get_record(UUID(record_id), kind, label, at)
    except Exception:  # noqa: BLE001 - not recorded yet at ``at``
        return None


def _visits(desk: ServiceDesk, customer: str, start: datetime, end: datetime,
            at: datetime) -> list[Visit]:
    found: list[Visit] = []
    tickets: dict[str, object] = {}
    for row in visits.all_visits(desk):
        if normalise_customer_id(row.ticket.customer) != customer:
            continue
        tid = str(row.ticket.id)
        if tid not in tickets:
            tickets[tid] = _as_of(desk, tid, Ticket, "ticket", at)
        t = tickets[tid]
        v = next((x for x in t.visits if x.number == row.visit.number), None) if isinstance(
            t, Ticket) else None
        if v is not None and start <= v.planned_at < end:
            found.append(v)
    return sorted(found, key=lambda v: v.number)


def _requisitions(desk: ServiceDesk, customer: str, start: datetime, end: datetime,
                  at: datetime) -> list[Requisition]:
    found = []
    for now in spare_parts.all_requisitions(desk):
        if normalise_customer_id(now.customer) != customer or not start <= now.requested_at < end:
            continue
        r = _as_of(desk, str(now.id), Requisition, "requisition", at)
        if isinstance(r, Requisition):
            found.append(r)
    return sorted(found, key=lambda r: r.number)


def field_work(desk: ServiceDesk, customer: str, start: datetime, end: datetime,
               at: datetime) -> FieldWork:
    """The block for ``customer``'s visits and requisitions of ``[start, end)`` as of ``at``."""
    wanted = normalise_customer_id(customer)
    vs = _visits(desk, wanted, start, end, at)
    on_site = [v.on_site for v in vs if v.on_site is not None]
    rs = _requisitions(desk, wanted, start, end, at)
    arrivals = [r.arrival_time for r in rs if r.arrival_time is not None]
    verdicts = [r.arrival_met(at) for r in rs]
    met, missed = verdicts.count(True), verdicts.count(False)
    return FieldWork(
        visits=VisitFigures(
            planned=len(vs), completed=sum(v.status is VisitStatus.LEFT for v in vs),
            on_site_hours=round(sum(d.total_seconds() for d in on_site) / 3600, 2),
            on_site_minutes_mean=_mean_minutes(on_site),
            late_arrivals=sum(bool(v.late) for v in vs),
            rescheduled=sum(bool(v.reschedules) for v in vs), numbers=[v.number for v in vs]),
        spare_parts=SparePartFigures(
            requisitions=len(rs), quantity=sum(r.quantity for r in rs), arrived=len(arrivals),
            arrival_minutes_mean=_mean_minutes(arrivals), arrival_met=met,
            arrival_missed=missed, arrival_pending=verdicts.count(None),
            arrival_met_pct=_pct(met, met + missed),
            returned_faulty=sum(r.status is RequisitionStatus.RETURNED_FAULTY for r in rs),
            numbers=[r.number for r in rs]))
