"""The demo's repair orders (设备送修单, ADR 0065): three PCs of the demo tickets' customers
sent to vendors through the real commands, so ``/ui/repairs`` and the monthly repair summary
(``GET /api/v1/reports/{period}?kind=repair``) show each stage: one at the vendor with a
loaner and a written progress report, one out of warranty whose quote the customer approved
before the part was replaced, and one repaired and back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from adapters.demo.steps import open_tickets, stepper
from application.commands.cis import CiFields, RegisterCi
from application.commands.repairs import (ApproveRepairQuote, QuoteRepair, ReplaceRepairPart,
                                          ReportRepairProgress, ReturnRepair, SendForRepair)
from application.desk import ServiceDesk
from application.ports import FixedClock

DESK = "mgr-yang"  # the demo's manager follows the repairs and records the customer's approval
ORDERS = (  # (CI name, vendor, warranty, fault)
    ("财务部 PC-01（ThinkCentre M720）", "联想授权服务站（天河）", "in", "主板无法加电，更换电源后仍无反应"),
    ("行政部打印机 HP-M404", "惠普授权维修中心", "out", "定影组件损坏，打印件发黑"),
    ("前台 PC-07（OptiPlex 3070）", "戴尔授权服务站", "in", "硬盘坏道，系统频繁蓝屏"),
)


def add_demo_repairs(desk: ServiceDesk, clock: FixedClock, plans: Sequence[Any]) -> list[str]:
    """Sends one PC of each of up to three open demo tickets' customers for repair; the
    orders' numbers."""
    numbers: list[str] = []
    run = stepper(desk, clock, DESK)
    # up to three of the demo's tickets still open, one per order
    for n, (ticket, (name, vendor, warranty, fault)) in enumerate(
            zip(open_tickets(desk, plans, most=len(ORDERS)), ORDERS)):
        kind = "printer" if "打印机" in name else "pc"
        ci = run(RegisterCi(item=CiFields(
            name=name, ci_class=kind, customer=ticket.customer, vendor=vendor.split("授权")[0],
            warranty_end=date(2027, 6, 30) if warranty == "in" else date(2025, 12, 31))))
        loaner = run(RegisterCi(item=CiFields(
            name=f"备用机 {n + 1:02d}", ci_class=kind, customer=ticket.customer,
            status="spare"))) if n == 0 else None
        r = run(SendForRepair(ticket=ticket.number, ci=ci.number, vendor=vendor, fault=fault,
                              loaner_ci=loaner.number if loaner else None))
        numbers.append(r.number)
        if n == 0:
            run(ReportRepairProgress(ref=r.number, text="设备已送抵维修点，厂商检测为主板供电模块"
                                                        "故障，已申请保内更换主板，预计 3 个工作日到货。"))
        elif n == 1:
            run(QuoteRepair(ref=r.number, amount="860.00", parts=("定影组件",),
                            note="原厂授权维修中心检测报价"))
            run(ApproveRepairQuote(ref=r.number, reference="行政部书面确认单（邮件）"))
            run(ReplaceRepairPart(ref=r.number, part="定影组件", note="原厂同型号"))
        else:
            run(ReportRepairProgress(ref=r.number, text="已更换硬盘并恢复系统镜像，测试通过。"))
            run(ReturnRepair(ref=r.number, note="已送抵用户现场，用户确认可正常使用"))
    return numbers
