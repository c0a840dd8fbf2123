"""A small delivery project with known timings for the service-report tests (ADR 0029).

Everything happens in November 2026 on ``china-5x8`` (Mon–Fri 09:00–18:00 Asia/Shanghai, no
lunch gap, no public holiday in November) under the ``default`` policy (P1 2 h / 4 h, P2
4 h / 24 h, P3 8 h / 3 working days). Mondays: Nov 2, 9, 16, 23. The clock is a FixedClock
set before every command, so each event is recorded at the time written next to it. The
figures expected at ``REPORT_AT`` (Mon Nov 23 12:00) are worked out by hand in
``test_reports.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from application import changes as ch
from application.commands.changes import (
    Assess,
    CloseChange,
    Complete,
    Consent,
    CustomerReview,
    Evaluate,
    PlanChange,
    RequestChange,
    Review,
    RollBack,
    StartChange,
    StartTrial,
)
from application.commands.problems import LinkTicket, MarkKnownError, RecordProblem, RecordRootCause
from application.commands.projects import (
    Approve,
    Contract,
    ContractProject,
    RecordRoutine,
    RecordSurvey,
    ScheduleRoutine,
)
from application.commands.tickets import (
    Assign,
    AwaitCustomer,
    Confirm,
    Escalate,
    GiveFeedback,
    Invalidate,
    LogWork,
    RegisterTicket,
    Reopen,
    Resolve,
    Resume,
    Start,
)
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.change import PlanInput
from domain.ticket import Contact

SH = ZoneInfo("Asia/Shanghai")
CUSTOMER = "客户R"
REPORT_AT = datetime(2026, 11, 23, 12, 0, tzinfo=SH)
START = datetime(2026, 11, 1, 8, 0, tzinfo=SH)
P1 = dict(urgency="very_urgent", impact="all", importance="important")
P2 = dict(urgency="urgent", impact="some", importance="important")
P3 = dict(urgency="not_urgent", impact="single", importance="important")
FIX = dict(resolution="重启 ERP 应用服务器并清理会话表", root_cause="会话表已满")
PLAN = PlanInput(goal="登录耗时降到 1 秒内", content="内存扩容", steps=("停机", "扩容", "验证"),
                 people=("eng-li",), budget="2 万元",
                 schedule_start=datetime(2026, 11, 25, 20, 0, tzinfo=SH),
                 schedule_end=datetime(2026, 11, 25, 23, 0, tzinfo=SH),
                 risk_plan="备用服务器", rollback_plan="恢复原配置")


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


@dataclass
class Scenario:
    desk: ServiceDesk
    clock: FixedClock
    project: Any = None
    tickets: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)

    def at(self, when: datetime) -> Scenario:
        self.clock.set(when)
        return self

    # ------------------------------------------------------------------ tickets

    def register(self, name: str, when: datetime, *, customer: str = CUSTOMER,
                 type: str = "fault", category: str = "software",
                 recorded: datetime | None = None, **cls: str) -> Any:
        self.at(recorded or when)
        fields: dict[str, Any] = dict(type=type, category=category, **cls) if cls else {}
        t = self.desk.handle(RegisterTicket(customer=customer, contact=Contact("李四"),
                                            channel="phone", title=f"{name} 故障",
                                            affected_system="ERP", reported_at=when, **fields),
                             actor="agent-zhou").ticket
        self.tickets[name] = t.id
        return t.id

    def do(self, name: str, when: datetime, command: type, actor: str = "eng", **kw: Any) -> Any:
        self.at(when)
        return self.desk.handle(command(ref=self.tickets[name], **kw), actor=actor)

    def close(self, name: str, when: datetime) -> None:
        self.do(name, when, Confirm, actor="agent-zhou", signer="王经理", items=["恢复"],
                criteria=["可用"], passed=True)

    def feedback(self, name: str, when: datetime, t: int, e: int, a: int) -> None:
        self.do(name, when, GiveFeedback, actor="客户", timeliness=t, effectiveness=e,
                attitude=a, comment="反馈")

    # ------------------------------------------------------------------ changes

    def change(self, name: str, when: datetime, origin: str, kind: str = "normal",
               origin_kind: str | None = None) -> None:
        self.at(when)
        c = self.desk.handle(RequestChange(kind=kind, origin=ch.OriginRef(origin, origin_kind),
                                           title=f"变更 {name}", affected_system="ERP"),
                             actor="eng-li")
        self.changes[name] = c.aggregate.id

    def change_do(self, name: str, when: datetime, command: type, **kw: Any) -> None:
        self.at(when)
        if command is PlanChange:
            kw["plan"] = PLAN
        self.desk.handle(command(ref=self.changes[name], **kw), actor="eng-li")

    def change_approved(self, name: str, when: datetime) -> None:
        self.change_do(name, when, Assess, risk="medium", impact="ERP 停机")
        self.change_do(name, when, PlanChange)
        self.change_do(name, when, Review, decision="approved", reviewer="mgr-zhang")
        self.change_do(name, when, CustomerReview, decision="approved", reviewer="王经理")
        self.change_do(name, when, Consent, evidence="邮件同意", channel="email")
        self.change_do(name, when, StartChange)


def build_scenario(desk: ServiceDesk, clock: FixedClock) -> Scenario:
    """The data set up to ``REPORT_AT`` (comments: local times, what the SLA makes of them)."""
    s = Scenario(desk, clock)
    s.at(local(2, 8, 30))
    contract = Contract(number="HT-2026-018", services=["response", "routine"],
                        start=date(2026, 11, 1), end=date(2027, 10, 31))
    s.project = desk.handle(ContractProject(name="ERP 运维 2026", customer=CUSTOMER,
                                            contract=contract, sla_policy="default",
                                            calendar="china-5x8"), actor="mgr-wang").aggregate.id
    desk.handle(Approve(ref=s.project, project_manager="mgr-wang", team=["eng-wang", "eng-li"]),
                actor="mgr-wang")
    desk.handle(ScheduleRoutine(ref=s.project, name="月度巡检", kind="inspection",
                                rrule="FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9",  # Nov 2 09:00
                                on_holiday="next_workday", routine_id="inspect"), actor="mgr-wang")
    desk.handle(ScheduleRoutine(ref=s.project, name="周五备份", kind="backup",
                                rrule="FREQ=WEEKLY;BYDAY=FR;BYHOUR=16", on_holiday="skip",
                                routine_id="backup"), actor="mgr-wang")  # Nov 6, 13, 20, (27)

    def run(routine: str, run_at: datetime, verdict: str, when: datetime) -> None:
        s.at(when)
        findings = "磁盘 93%" if verdict == "abnormal" else ""
        desk.handle(RecordRoutine(ref=s.project, routine_id=routine, run_at=run_at,
                                  verdict=verdict, findings=findings, signer="王经理"),
                    actor="eng-wang")

    run("inspect", local(2, 9), "normal", local(2, 11))
    run("backup", local(6, 16), "normal", local(6, 17))
    run("backup", local(13, 16), "abnormal", local(13, 17))
    # Nov 20 16:00 backup: not recorded -> overdue after Nov 20 18:00.

    # Outside the report: another customer's ticket, and 客户R before the contract.
    s.register("other", local(10, 10), customer="客户S", **P1)
    s.register("before", local(30, 10, month=10), **P1)

    # T1 P1 Mon Nov 9 10:00: assigned 10:30 (response due 12:00: met); resolved 14:30
    # (due 14:00: missed) = 4.5 working h; closed; feedback 5/5/4.
    s.register("T1", local(9, 10), **P1)
    s.do("T1", local(9, 10, 30), Assign, assignee="eng-wang")
    s.do("T1", local(9, 10, 30), Start, actor="eng-wang")
    s.do("T1", local(9, 13), LogWork, actor="eng-wang", action="重启服务", hours=2.5)
    s.do("T1", local(9, 14, 30), Resolve, actor="eng-wang", **FIX)
    s.close("T1", local(9, 15))
    s.feedback("T1", local(10, 9), 5, 5, 4)

    # T2 P2 network Tue Nov 10 09:00: assigned 14:00 (due 13:00: missed); waiting for the
    # customer Wed 10:00 -> Thu 10:00 (9 working h); resolved Thu 15:00: 24 h - 9 h = 15 h
    # (due Thu 15:00 + 9 h = Fri 15:00: met); closed; feedback 2/3/3 (a low score).
    s.register("T2", local(10, 9), category="network", **P2)
    s.do("T2", local(10, 14), Assign, assignee="eng-li")
    s.do("T2", local(10, 14), Start, actor="eng-li")
    s.do("T2", local(11, 10), AwaitCustomer, actor="eng-li", reason="等待客户提供日志")
    s.do("T2", local(12, 10), Resume, actor="eng-li")
    s.do("T2", local(12, 14), LogWork, actor="eng-li", action="更换交换机端口", hours=4)
    s.do("T2", local(12, 15), Resolve, actor="eng-li", **FIX)
    s.close("T2", local(12, 16))
    s.feedback("T2", local(13, 10), 2, 3, 3)

    # T3 P3 consultation Mon Nov 16 09:00: solved at the desk (first contact) 09:40 = 0.67 h.
    s.register("T3", local(16, 9), type="consultation", **P3)
    s.do("T3", local(16, 9, 10), Assign, assignee="agent-zhou")
    s.do("T3", local(16, 9, 40), Resolve, actor="agent-zhou", first_contact=True, **FIX)
    s.close("T3", local(16, 10))
    s.feedback("T3", local(16, 11), 5, 5, 5)

    # T4 P3 hardware Mon Nov 16 11:00: first contact 11:35, closed 12:00, reopened Tue 10:00,
    # reassigned, resolved again Tue 11:00 (not first contact). Working time Mon 11:00 -> Tue
    # 11:00 = 9 h minus the pause 11:35 -> Tue 10:00 (6 h 25 m + 1 h) = 1 h 35 m = 1.58 h.
    s.register("T4", local(16, 11), category="hardware", **P3)
    s.do("T4", local(16, 11, 5), Assign, assignee="agent-zhou")
    s.do("T4", local(16, 11, 35), Resolve, actor="agent-zhou", first_contact=True, **FIX)
    s.close("T4", local(16, 12))
    s.do("T4", local(17, 10), Reopen, actor="agent-zhou", reason="问题复现")
    s.do("T4", local(17, 10), Assign, assignee="eng-wang")
    s.do("T4", local(17, 10, 30), LogWork, actor="eng-wang", action="更换内存条", hours=1)
    s.do("T4", local(17, 11), Resolve, actor="eng-wang", **FIX)
    s.close("T4", local(17, 11, 30))

    # T5 P2 network Wed Nov 18 14:00: desk fix 15:00 (first contact, 1 h), not yet accepted.
    s.register("T5", local(18, 14), category="network", **P2)
    s.do("T5", local(18, 14, 30), Assign, assignee="agent-zhou")
    s.do("T5", local(18, 15), Resolve, actor="agent-zhou", first_contact=True, **FIX)

    # T6 P1 Fri Nov 20 16:00: assigned 16:10 (met); escalated; still open at Mon 12:00 past
    # its resolution due (Fri 16-18 + Mon 9-11 = Mon 11:00): missed.
    s.register("T6", local(20, 16), **P1)
    s.do("T6", local(20, 16, 10), Assign, assignee="eng-li")
    s.do("T6", local(20, 16, 10), Start, actor="eng-li")
    s.do("T6", local(20, 17), LogWork, actor="eng-li", action="排查数据库", hours=1.5)
    s.do("T6", local(20, 17, 30), Escalate, actor="mgr-wang", reason="影响全部用户")

    # T7 registered Thu Nov 19 and found invalid.
    s.register("T7", local(19, 10))
    s.do("T7", local(19, 10, 5), Invalidate, actor="agent-zhou", reason="重复报障")

    # Problems: PRB-a on T2 and T6, a known error; PRB-b on T4, recorded.
    s.at(local(20, 18))
    a = desk.handle(RecordProblem(title="交换机端口老化", description="网络抖动",
                                  tickets=[str(s.tickets["T2"]), str(s.tickets["T6"])]),
                    actor="eng-li").aggregate.id
    desk.handle(RecordRootCause(ref=a, root_cause="端口老化"), actor="eng-li")
    desk.handle(MarkKnownError(ref=a), actor="eng-li")
    desk.handle(RecordProblem(title="内存故障复现", description="内存", tickets=[str(s.tickets["T4"])]),
                actor="eng-wang")

    # Changes requested in November: C1 (from T2) closed with the goal met; C2 (from the
    # project) rolled back and closed; C3 (standard, from T6) still pending. C0 comes from
    # the other customer's ticket and is not the project's.
    s.change("C0", local(10, 11), str(s.tickets["other"]))
    s.change("C1", local(12, 16), str(s.tickets["T2"]))
    s.change_approved("C1", local(13, 9))
    s.change_do("C1", local(13, 10), Complete, result="交换机已更换")
    s.change_do("C1", local(13, 10), StartTrial, days=3)
    s.change_do("C1", local(18, 10), Evaluate, goal_met=True, notes="无抖动")
    s.change_do("C1", local(18, 11), CloseChange, confirmed_by="王经理")
    s.change("C2", local(16, 10), str(s.project), origin_kind="project")
    s.change_approved("C2", local(16, 11))
    s.change_do("C2", local(17, 20), RollBack, reason="升级后报表异常")
    s.change_do("C2", local(18, 9), CloseChange, confirmed_by="王经理")
    s.change("C3", local(20, 17, 45), str(s.tickets["T6"]), kind="standard")

    # A project survey Fri Nov 20: 4/4/4.
    s.at(local(20, 18, 30))
    desk.handle(RecordSurvey(ref=s.project, timeliness=4, effectiveness=4, attitude=4,
                             comment="总体满意"), actor="mgr-wang")
    s.at(REPORT_AT)
    return s


def later_events(s: Scenario) -> None:
    """Everything recorded after ``REPORT_AT``, some of it claiming earlier times."""
    # Reported before REPORT_AT, recorded after it.
    s.register("T8", local(23, 11), recorded=local(23, 12, 30), **P2)
    s.do("T6", local(23, 13), Resolve, actor="eng-li", **FIX)
    s.close("T6", local(23, 14))
    s.feedback("T6", local(23, 15), 1, 1, 1)
    s.close("T5", local(23, 15))
    s.feedback("T5", local(23, 16), 4, 4, 4)
    s.do("T1", local(23, 16), Reopen, actor="agent-zhou", reason="再次无法登录")
    s.at(local(23, 17))
    s.desk.handle(RecordRoutine(ref=s.project, routine_id="backup", run_at=local(20, 16),
                                verdict="normal", findings="", signer="王经理"), actor="eng-wang")
    s.desk.handle(RecordSurvey(ref=s.project, timeliness=1, effectiveness=2, attitude=2,
                               comment="不满意"), actor="mgr-wang")
    problem = s.desk.handle(RecordProblem(title="新问题", description="新"), actor="eng-li")
    s.desk.handle(LinkTicket(ref=problem.aggregate.id, ticket_id=str(s.tickets["T1"])),
                  actor="eng-li")
    s.change("C4", local(23, 17), str(s.project), origin_kind="project")
    s.change_approved("C3", local(23, 17))
