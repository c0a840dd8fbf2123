"""Demo changes (``opsledger demo``): a few changes in several states, through the real use
cases (ADR 0021): one closed after reviews, consent, trial and evaluation; one waiting for the
customer's review; an emergency change running with its reviews still owed; a standard change
under a standard-change model; one whose goal was missed, with its follow-up improvement
change; and two overlapping windows on one system, so the calendar shows a conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from adapters.demo.steps import stepper
from application.changes import OriginRef
from application.commands.base import Command
from application.commands import changes as cmd
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.change import PlanInput
from domain.standard_change import ModelDefinition

OWNER = "mgr-yang"  # the demo's manager (主管) runs changes
REVIEWER = "expert-lin"


def _plan(clock: FixedClock, system: str, days: int, hours: int = 3) -> PlanInput:
    start = (clock.now() + timedelta(days=days)).replace(hour=14, minute=0, second=0,
                                                         microsecond=0)  # 22:00 in Shanghai
    return PlanInput(
        goal=f"{system} 高峰期响应时间降到 1 秒以内", content=f"{system} 应用服务器扩容与参数优化",
        steps=("变更前全量备份", "停机窗口内扩容", "调整连接池参数", "回归测试"),
        people=("eng-wang", "eng-li", REVIEWER), budget="人民币 2 万元",
        schedule_start=start, schedule_end=start + timedelta(hours=hours),
        risk_plan="扩容失败时切换到备用服务器", rollback_plan="恢复备份配置并回切原服务器，30 分钟内完成")


def add_demo_changes(desk: ServiceDesk, clock: FixedClock, plans: Sequence[Any]) -> list[str]:
    """Records the demo changes (origins: demo tickets from ``plans``); returns their numbers."""
    tickets = [p for p in plans if getattr(p, "number", None)]

    step = stepper(desk, clock, OWNER)

    def run(*commands: Command) -> None:
        for command in commands:
            step(command)

    def new(title: str, system: str, kind: str = "normal", **extra: Any) -> str:
        clock.advance(seconds=1)
        origin = (OriginRef(tickets[len(numbers) % len(tickets)].number) if tickets
                  else OriginRef("demo-project", "project"))
        number: str = desk.handle(cmd.RequestChange(kind=kind, origin=origin, title=title,
                                                    affected_system=system, **extra),
                                  actor=OWNER).aggregate.number
        numbers.append(number)
        return number

    def planned(title: str, system: str, risk: str, impact: str, days: int, hours: int = 3,
                kind: str = "normal", **extra: Any) -> str:
        """A new change, assessed and planned ``days`` from now for ``hours``."""
        ref = new(title, system, kind, **extra)
        run(cmd.Assess(ref=ref, risk=risk, impact=impact),
            cmd.PlanChange(ref=ref, plan=_plan(clock, system, days, hours=hours)))
        return ref

    def tried(ref: str, result: str, trial_days: int, goal_met: bool, notes: str) -> None:
        """Both reviews and consent, then implemented, trialled and evaluated."""
        run(cmd.Review(ref=ref, decision="approved", reviewer=REVIEWER, comment="方案与回退可行"),
            cmd.CustomerReview(ref=ref, decision="approved", reviewer="客户信息部 王经理"),
            cmd.Consent(ref=ref, evidence="客户邮件确认同意按计划实施", channel="email",
                        reference="客户邮件 2026-11 第 12 号"),
            cmd.StartChange(ref=ref), cmd.Complete(ref=ref, result=result),
            cmd.StartTrial(ref=ref, days=trial_days),
            cmd.Evaluate(ref=ref, goal_met=goal_met, notes=notes))

    numbers: list[str] = []
    closed = planned("ERP 应用服务器扩容", "ERP", "medium", "ERP 停机 3 小时", -10)
    tried(closed, "内存扩至 64G，连接池调整完成", 7, True, "高峰期平均响应 0.6 秒")
    run(cmd.CloseChange(ref=closed, confirmed_by="客户信息部 王经理"))

    waiting = planned("OA 数据库索引优化", "OA", "low", "OA 查询短暂变慢", 5)
    run(cmd.Review(ref=waiting, decision="approved", reviewer=REVIEWER))
    # overlaps the window above: a calendar conflict
    planned("OA 操作系统升级", "OA", "high", "OA 全部用户", 5, hours=5)

    emergency = planned("邮件网关紧急切换", "邮件系统", "high", "全员收发邮件中断", 0, hours=1,
                        kind="emergency")
    run(cmd.ApproveEmergency(ref=emergency, approver="cto-liu", reason="邮件网关宕机，全员无法收发"),
        cmd.StartChange(ref=emergency),
        cmd.Complete(ref=emergency, result="已切换至备用网关，收发恢复"))

    run(cmd.PutStandardModel(slug="os-patch", definition=ModelDefinition.parse(
        name="操作系统月度安全补丁", description="按厂商月度补丁清单安装并重启",
        systems=["ERP", "OA"], steps=["快照", "安装补丁", "重启", "冒烟测试"], risk="low",
        approved_by="变更委员会 2026-01 例会")))
    standard = planned("ERP 月度补丁", "ERP", "low", "单台服务器重启 10 分钟", 2, hours=1,
                       kind="standard", standard_change="os-patch")
    run(cmd.StartChange(ref=standard))

    missed = planned("CRM 报表缓存", "CRM", "medium", "报表 1 小时不可用", -6)
    tried(missed, "报表缓存已上线", 3, False, "月底高峰仍超过 3 秒")
    clock.advance(seconds=1)
    improvement = cmd.RaiseChangeImprovement(ref=missed, action="增加报表预计算任务", owner="eng-li",
                                             due=(clock.now() + timedelta(days=30)).date())
    changed = desk.handle(improvement, actor=OWNER).aggregate
    follow_up = changed.improvements[-1].change_number
    numbers.append(follow_up)
    run(cmd.CloseChange(ref=missed, note="遗留问题转改进变更 " + follow_up))
    return numbers

