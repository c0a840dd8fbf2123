"""The demo's announcement of planned maintenance (ADR 0060): the window of the demo's change
"OA 数据库索引优化" (planned five days ahead) announced to the customer whose ticket it comes
from, through the real use case, so the portal's banner and ``/ui/announcements`` show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from application.commands.announcements import PublishAnnouncement, Scope
from application.customers import find_customer, list_customers
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.change import Change
from domain.ticket import Ticket

DISPATCHER = "mgr-yang"  # the demo's manager publishes it, as they run the changes
TITLE = "OA 系统计划维护（数据库索引优化）"


def add_demo_announcement(desk: ServiceDesk, clock: FixedClock, changes: Sequence[str],
                          lead_hours: float) -> str | None:
    """Announces the first demo change planned at least ``lead_hours`` ahead; its number
    (``None`` when no change fits or no customer is registered)."""
    now = clock.now()
    for number in changes:
        change = desk.get_record(number, Change, "change")
        plan = change.plan
        if plan is None or plan.schedule_start < now + timedelta(hours=lead_hours):
            continue
        origin = desk.load(change.origin.id) if change.origin.kind == "ticket" else None
        customer = origin.customer if isinstance(origin, Ticket) else None
        if customer is None or find_customer(desk, customer) is None:
            known = list_customers(desk)
            customer = known[0].customer if known else None
        if customer is None:
            return None
        clock.advance(seconds=1)
        body = (f"为提升 {change.affected_system} 查询速度，我们将在以下时间进行数据库索引优化"
                f"（变更 {change.number}）。维护期间 {change.affected_system} 查询可能短暂变慢，"
                "其他系统不受影响。如有疑问请联系服务台。")
        result = desk.handle(PublishAnnouncement(
            title=TITLE, body=body, scope=Scope(customers=(customer,)),
            starts=plan.schedule_start, ends=plan.schedule_end, change_id=number,
            lead=timedelta(hours=lead_hours)), actor=DISPATCHER)
        return str(result.aggregate.number)
    return None
