"""The demo's spare parts and field visits (备件、派工单、外出登记, ADR 0064), through the real
commands: the project's warehouse (a 4-hour arrival target) with three parts in stock; two of
the demo's open tickets each get a field visit -- one done (departed, arrived, left with the
technical service sheet; entered afterwards with the times it happened), one on the way (the
engineer is out now) after a reschedule -- and a requisition: one part on site and installed,
one dispatched and still on its way. ``/ui/spare-parts``, ``/ui/visits``, the tickets' pages
and the project's service report show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from application.commands.spare_parts import (DefineWarehouse, DispatchParts, InstallParts,
                                               PartsArrived, ReceiveStock, RequestParts)
from application.commands.visits import (ArriveVisit, DepartVisit, LeaveVisit, PlanVisit,
                                         RescheduleVisit)
from application.desk import ServiceDesk
from application.ports import FixedClock
from adapters.demo.steps import open_tickets, stepper
from domain.ticket import VISITS_OPEN, Ticket

MANAGER = "mgr-yang"  # defines the warehouse, receives stock
DISPATCHER = "disp-zhou"
STOCK = (  # (part number, description, quantity, shelf)
    ("HDD-600G-SAS", "600G 10K SAS 硬盘（服务器）", 6, "A-03"),
    ("PSU-550W", "550W 服务器电源模块", 2, "A-07"),
    ("RAM-16G-DDR4", "16G DDR4 内存条", 8, "B-01"),
)


def _visited(ticket: Ticket) -> bool:
    """A ticket an engineer may visit for: open for visits and assigned."""
    return ticket.status in VISITS_OPEN and bool(ticket.assignee)


def add_demo_field_work(desk: ServiceDesk, clock: FixedClock, plans: Sequence[Any],
                        project: str | None) -> list[str]:
    """The warehouse, its stock, two visits and two requisitions; their numbers."""
    run = stepper(desk, clock, DISPATCHER)
    run(DefineWarehouse(slug="gz-main", name="广州项目备件库", project=project or "",
                        location="广州运维中心 B1 备件室", arrival_target_hours=4), MANAGER)
    for part, description, quantity, shelf in STOCK:
        run(ReceiveStock(ref="gz-main", part_number=part, description=description,
                         quantity=quantity, location=shelf, note="项目首批备件入库"), MANAGER)
    tickets = open_tickets(desk, plans, most=2, wanted=_visited)
    numbers: list[str] = []
    if not tickets:
        return numbers
    now = clock.now()
    done = tickets[0]
    visit = run(PlanVisit(ref=done.number, engineer=done.assignee or "eng-chen",
                          planned_arrival=now - timedelta(hours=2, minutes=30),
                          note="带 600G SAS 硬盘一块；客户机房须提前登记门禁", known_engineer=False))
    pg = visit.visits[-1].number
    engineer = visit.visits[-1].engineer
    run(DepartVisit(ref=done.number, visit=pg, occurred_at=now - timedelta(hours=3)), engineer)
    run(ArriveVisit(ref=done.number, visit=pg,
                    occurred_at=now - timedelta(hours=2, minutes=20)), engineer)
    run(LeaveVisit(ref=done.number, visit=pg, work_done=(
        "更换故障硬盘（RAID 5 第 3 块盘），阵列重建完成，业务恢复正常；已向客户演示检查结果。"),
        parts_used=("600G 10K SAS 硬盘 ×1",), signer="林晓雯",
        occurred_at=now - timedelta(minutes=55)), engineer)
    numbers.append(pg)
    bj = run(RequestParts(ticket=done.number, warehouse="gz-main", part_number="HDD-600G-SAS",
                          note="更换 RAID 故障盘"), engineer)
    run(DispatchParts(ref=bj.number, note="随工程师携带"), engineer)
    run(PartsArrived(ref=bj.number), engineer)
    run(InstallParts(ref=bj.number, note="已装入 3 号槽位，阵列重建完成"), engineer)
    numbers.append(bj.number)
    if len(tickets) > 1:
        out = tickets[1]
        visit = run(PlanVisit(ref=out.number, engineer=out.assignee or "eng-chen",
                              planned_arrival=now + timedelta(minutes=30),
                              note="客户反映电源告警，带电源模块", known_engineer=False))
        pg = visit.visits[-1].number
        run(RescheduleVisit(ref=out.number, visit=pg, planned_arrival=now + timedelta(hours=1),
                            reason="客户机房 30 分钟后才开放，已电话告知用户"))
        run(DepartVisit(ref=out.number, visit=pg), visit.visits[-1].engineer)
        numbers.append(pg)
        bj = run(RequestParts(ticket=out.number, warehouse="gz-main", part_number="PSU-550W",
                              note="电源模块告警"))
        run(DispatchParts(ref=bj.number, note="快递发往客户现场"))
        numbers.append(bj.number)
    return numbers
