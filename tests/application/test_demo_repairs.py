"""``opsledger demo`` also sends equipment for repair (adapters/demo/repairs.py, ADR 0065): one
order at the vendor with a loaner and a progress report, one out of warranty whose approved
quote came before the part, one back; all in the month's repair summary."""

from __future__ import annotations

from pathlib import Path

from adapters.container import build
from adapters.demo.run import run_demo
from adapters.settings import Settings
from application import repairs as uc


def test_the_demo_records_repair_orders_at_each_stage(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    assert run_demo(settings, tickets=12, seed=3) == 0
    services = build(settings)
    try:
        desk = services.desk
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
    finally:
        services.close()
