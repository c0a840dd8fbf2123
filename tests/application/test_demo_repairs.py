"""``opsledger demo`` also sends equipment for repair (adapters/demo/repairs.py, ADR 0065): one
order at the vendor with a loaner and a progress report, one out of warranty whose approved
quote came before the part, one back; all in the month's repair summary."""

from __future__ import annotations

from application import repairs as uc
from application.desk import ServiceDesk


def test_the_demo_records_repair_orders_at_each_stage(demo_desk: ServiceDesk) -> None:
    desk = demo_desk
    orders = sorted(uc.all_repairs(desk), key=lambda r: r.number)
    assert [r.status.value for r in orders] == ["at_vendor", "at_vendor", "returned"]
    first, second, third = orders
    assert first.loaner_ci_number and len(first.progress) == 1
    assert second.warranty.value == "out" and second.quote_status.value == "approved"
    assert [p[1] for p in second.parts_replaced] == ["定影组件"]
    assert third.on_time() is True
    month = desk.clock.now().astimezone(desk.timezone).strftime("%Y-%m")
    summary = uc.repair_summary(desk, month, desk.clock.now())
    assert summary.totals["orders"] == 3 and summary.totals["returned"] == 1
