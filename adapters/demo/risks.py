"""The demo's hidden risks and major incident (ADR 0067), through the real commands, so
``/ui/risks``, ``/ui/major-incidents``, the portal's risks and the service report show each
stage: risks found on open tickets and at the project's inspection -- one followed up and
past its due date (the watcher's alarm recorded), one removed, one accepted by a manager on
the customer's behalf, one still open -- and two major incidents on open (P1 first) tickets:
one updated, reviewed, a problem opened from it and closed; one still active, whose missed
updates a running watcher records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from application.commands.major_incidents import (CloseMajorIncident, Communication,
                                                  DeclareMajorIncident,
                                                  OpenIncidentProblem, PostIncidentUpdate,
                                                  RecordIncidentReview)
from application.commands.risks import (AcceptRisk, AlarmOverdueRisk, FollowUpRisk,
                                        RecordRisk, RemoveRisk)
from adapters.demo.steps import open_tickets, stepper
from application.desk import ServiceDesk
from application.ports import FixedClock
from application.projects import get_project

MANAGER = "mgr-yang"
RISKS = (  # (title, severity, due in days (negative: overdue), description)
    ("核心交换机单电源运行", "high", -2, "核心交换机只有一路电源模块在用，另一路告警未更换。"),
    ("UPS 电池组超期使用", "critical", 10, "机房 UPS 电池已使用 5 年，放电测试仅维持 8 分钟。"),
    ("旧版操作系统已停止支持", "medium", 30, "3 台文件服务器仍运行已停止安全更新的操作系统。"),
    ("备份任务未做恢复演练", "low", 20, "数据库每日备份成功，但半年内未做过恢复演练。"),
)


def add_demo_risks(desk: ServiceDesk, clock: FixedClock, plans: Sequence[Any],
                   project: str | None) -> list[str]:
    """Records the demo's risks and major incident; their numbers."""
    tickets = open_tickets(desk, plans)
    if not tickets:
        return []
    run = stepper(desk, clock, MANAGER)
    numbers: list[str] = []
    customer = get_project(desk, project).customer if project else tickets[0].customer
    theirs = [t for t in tickets if t.customer == customer]
    for n, (title, severity, days, text) in enumerate(RISKS):
        on = theirs[n % len(theirs)] if theirs and n % 2 == 0 else None
        found_on = {"ticket": on.number} if on else {"project": project} if project else {}
        owner = (on.assignee if on else None) or MANAGER
        risk = run(RecordRisk(customer=customer, title=title, severity=severity,
                              due=clock.now() + timedelta(days=abs(days)),
                              description=text, owner=owner, **found_on))
        numbers.append(risk.number)
        if n == 0:  # followed up: its due date has passed, the watcher's alarm recorded
            run(FollowUpRisk(ref=risk.number, note="厂商备件延期到货，整改期限已过，已上报主管。",
                             due=clock.now() + timedelta(days=days)))
            run(AlarmOverdueRisk(ref=risk.number, now=clock.now()), "system:record-watch")
        elif n == 1:
            run(RemoveRisk(ref=risk.number, how="已更换全部 UPS 电池并完成放电测试（45 分钟）。"))
        elif n == 2:
            run(AcceptRisk(ref=risk.number, reason="客户信息部电话确认：明年一季度统一升级，"
                                                   "此前接受该风险。"))
    p1 = sorted(tickets, key=lambda t: str(t.priority) != "P1")[:2]
    for n, ticket in enumerate(p1):
        mi = run(DeclareMajorIncident(ticket=ticket.number, communication=Communication(
            informed=(MANAGER,), interval_minutes=30)))
        numbers.append(mi.number)
        run(PostIncidentUpdate(ref=mi.number, text="已定位为核心链路故障，正在切换备用链路。"))
        if n == 1:  # still active: a running watcher records the missed updates from now on
            break
        run(PostIncidentUpdate(ref=mi.number, text="备用链路已启用，业务恢复，继续观察。"))
        run(RecordIncidentReview(
            ref=mi.number, summary="核心链路中断约 1 小时，切换备用链路后恢复。",
            root_cause="运营商光缆被施工挖断，备用链路未配置自动切换。",
            actions=("配置链路自动切换", "每季度做一次链路切换演练")))
        run(OpenIncidentProblem(ref=mi.number, title="核心链路无自动切换"))
        run(CloseMajorIncident(ref=mi.number, summary="业务已恢复，复盘完成。"))
    return numbers
