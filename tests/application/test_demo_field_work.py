"""``opsledger demo`` also records spare parts and field visits (adapters/demo/field_work.py,
ADR 0064): the project's warehouse and stock, a visit done with its service sheet and its
on-site time, one under way (the engineer out now), a part installed and one on its way."""

from __future__ import annotations

from application import spare_parts, visits
from application.desk import ServiceDesk
from domain.spare_part import RequisitionStatus
from domain.visit import VisitStatus


def test_the_demo_records_stock_requisitions_and_visits(demo_desk: ServiceDesk) -> None:
    desk = demo_desk
    (w,) = spare_parts.warehouses(desk)
    assert w.project.startswith("PRJ-") and len(w.parts) == 3
    stock = {x.part_number: x.quantity for x in spare_parts.stock(desk, w)}
    assert stock == {"HDD-600G-SAS": 5, "PSU-550W": 1, "RAM-16G-DDR4": 8}
    rows = sorted(visits.all_visits(desk), key=lambda r: r.visit.number)
    assert [r.visit.status for r in rows] == [VisitStatus.LEFT, VisitStatus.DEPARTED]
    assert rows[0].visit.on_site is not None and rows[0].visit.on_site.seconds == 85 * 60
    assert rows[1].visit.away(desk.clock.now()) and rows[1].visit.reschedules
    statuses = sorted(r.status for r in spare_parts.all_requisitions(desk))
    assert statuses == sorted([RequisitionStatus.INSTALLED, RequisitionStatus.DISPATCHED])
