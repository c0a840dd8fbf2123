"""The demo's agreements and complaints (ADR 0066), through the real commands, so
``/ui/agreements`` and ``/ui/complaints`` show each kind and stage: an SLA with each of the
first two customers (the second ends within 30 days: flagged), an OLA between the service
desk and the demo tickets' groups, a UC with the vendor of the demo's repair orders (its clock
shows on the order); a complaint about a demo ticket being handled, and one about the service
answered, resolved, confirmed by the customer and closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from adapters.demo.steps import not_done, stepper
from application.commands.agreements import ConcludeAgreement
from application.commands.complaints import (AssignComplaintHandler, CloseComplaint,
                                             ConfirmComplaint, FileComplaint, ResolveComplaint,
                                             RespondToComplaint)
from application.customers import list_customers
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.agreement import Target
from domain.ticket import Contact

MANAGER = "mgr-yang"  # the demo's manager concludes the agreements and handles complaints
#: The source documents' promise ([003] 四): P1 2 h / 4 h, P2 4 h / 24 h, P3 8 h / 3 days.
SLA_TARGETS = (Target("P1", timedelta(hours=2), timedelta(hours=4)),
               Target("P2", timedelta(hours=4), timedelta(hours=24)),
               Target("P3", timedelta(hours=8), timedelta(days=3)))
VENDOR = "联想授权服务站（天河）"  # the demo's first repair order goes there (ADR 0065)


def add_demo_agreements(desk: ServiceDesk, clock: FixedClock, plans: Sequence[Any]) -> list[str]:
    """Concludes the demo's agreements and files its complaints; their numbers."""
    numbers: list[str] = []
    run = stepper(desk, clock, MANAGER)
    today = clock.now().astimezone(desk.timezone).date()
    start = date(today.year, 1, 1)
    for n, c in enumerate(list_customers(desk)[:2]):
        ends = today + timedelta(days=20) if n else date(today.year + 1, 12, 31)
        numbers.append(run(ConcludeAgreement(
            kind="sla", title=f"{c.customer} 运维服务水平协议", customer=c.customer,
            targets=SLA_TARGETS, sla_policy="default", valid_from=start, valid_to=ends,
            notes="响应与解决时限按《服务水平协议》附件一执行。")).number)
    tickets = [desk.get_ticket(p.number) for p in plans if getattr(p, "number", None)]
    groups = sorted({t.group for t in tickets if t.group})[:3]
    if groups:
        numbers.append(run(ConcludeAgreement(
            kind="ola", title="服务台与二线支持组运营级别协议", groups=tuple(groups),
            targets=(Target("P1", timedelta(minutes=10), timedelta(hours=4)),),
            valid_from=start, valid_to=date(today.year + 1, 12, 31))).number)
    numbers.append(run(ConcludeAgreement(
        kind="uc", title="联想保内维修支持合同", vendor=VENDOR,
        targets=(Target("P1", None, timedelta(days=3)), Target("P2", None, timedelta(days=5)),
                 Target("P3", None, timedelta(days=7))),
        valid_from=start, valid_to=date(today.year + 1, 6, 30))).number)
    numbers += _complaints(desk, run, tickets)
    return numbers


def _complaints(desk: ServiceDesk, run: Any, tickets: Sequence[Any]) -> list[str]:
    handled = next((t for t in tickets if t.assignee and t.assignee != MANAGER
                    and not_done(t)), None)
    if handled is None:
        return []
    out = []
    first = run(FileComplaint(
        about="ticket", ticket=handled.number, customer=handled.customer,
        description="报修后工程师迟迟未到现场，也没有电话说明原因。",
        contact=Contact("周敏", "13900002222", "zhou.min@example.com")), actor="agent-he")
    run(AssignComplaintHandler(ref=first.number, handler=MANAGER))
    run(RespondToComplaint(ref=first.number, message="已致电客户致歉，并安排工程师今日到场。"))
    out.append(first.number)
    second = run(FileComplaint(
        about="service", service="桌面运维", customer=handled.customer,
        description="打印机故障反复出现，每次只是临时处理。",
        contact=Contact("周敏", "13900002222", "")), actor="agent-he")
    for command in (AssignComplaintHandler(ref=second.number, handler=MANAGER),
                    RespondToComplaint(ref=second.number, message="已安排问题管理跟进根本原因。"),
                    ResolveComplaint(ref=second.number, resolution="更换定影组件并纳入月度巡检。"),
                    ConfirmComplaint(ref=second.number, note="客户电话确认满意"),
                    CloseComplaint(ref=second.number, note="客户已确认")):
        run(command)
    out.append(second.number)
    return out
