"""The demo delivery project (``opsledger demo``): a contract of the demo's largest customer
becomes a project with a monthly inspection and a weekly backup, their past runs recorded
(one abnormal inspection, whose ticket the process manager opens; the last overdue backup
left unrecorded), a survey and last month's report.

Everything goes through the real use cases, after the demo's tickets, problems and changes
(each step recorded at the real time of its command: after everything in the store).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.container import Services
from application import projects as uc
from application.commands.projects import (
    Approve,
    Contract,
    ContractProject,
    PlanProject,
    RecordRoutine,
    RecordSurvey,
    ScheduleRoutine,
    SubmitReport,
)
from application.ports import FixedClock
from application.routine_tickets import NAME as ROUTINE_TICKETS
from projections.base import TrackingConflict

CUSTOMER = "华东电力集团"
MANAGER = "mgr-yang"
ENGINEER = "eng-wang"
SIGNER = "周敏"  # the customer's contact who signs the inspection records
CONTRACT_AGE = timedelta(days=60)
ABNORMAL_RUNS = 1  # tickets the demo project adds (one per abnormal run)
FINDING = "UPS 2 号电池组内阻偏高（18 mΩ，基线 9 mΩ），放电测试续航不足 10 分钟，建议更换电池组"


def caught_up(services: Services, name: str, timeout: float = 10.0) -> None:
    """The view ``name`` up to the log's head, also when a server on the same store keeps it
    at the same time (README: ``opsledger demo`` while ``scripts/serve`` runs): then our
    compare-and-set loses and we look again until the view has everything."""
    head = services.desk.max_position()
    view = services.runner.views[name]
    deadline = time.monotonic() + timeout
    while True:
        try:
            services.runner.catch_up(view)
        except TrackingConflict:
            pass
        if view.position() >= head or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def add_demo_project(services: Services, clock: FixedClock) -> str:
    """Adds the demo project, its contract begun ``CONTRACT_AGE`` ago (so at least one
    monthly inspection has come due); returns its number."""
    desk = services.desk

    def step() -> datetime:
        return clock.advance(seconds=1)

    step()
    tz = ZoneInfo(uc.project_calendar(desk, "china-5x8").timezone)
    first = (clock.now() - CONTRACT_AGE).astimezone(tz).date()
    contract = Contract(number="HDP-IT-2026-07", services=["例行巡检", "响应支持", "优化改善"],
                        start=first, end=first + timedelta(days=364), budget="96 万元")
    p = desk.handle(ContractProject(name="华东电力 2026 年度 IT 运维服务", customer=CUSTOMER,
                                    contract=contract, sla_policy="default",
                                    calendar="china-5x8"), actor=MANAGER).aggregate
    step()
    desk.handle(Approve(ref=p.id, project_manager=MANAGER, team=[ENGINEER, "eng-li", "eng-zhao"]),
                actor="director-sun")
    step()
    desk.handle(PlanProject(ref=p.id, targets="P1 2h 响应 / 4h 解决；巡检按期完成率 100%",
                            scope="调度中心与信息中心的服务器、网络、UPS 与核心业务系统",
                            staff=[ENGINEER, "eng-li"], budget="96 万元",
                            assessment="月度服务报告与季度满意度调查", duration="12 个月"),
                actor=MANAGER)
    step()
    schedule = ScheduleRoutine(ref=p.id, name="机房月度巡检", kind="inspection",
                               rrule="FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9", on_holiday="next_workday")
    desk.handle(schedule, actor=MANAGER)
    inspection = schedule.routine_id
    step()
    schedule = ScheduleRoutine(ref=p.id, name="核心数据库周备份核验", kind="backup",
                               rrule="FREQ=WEEKLY;BYDAY=FR;BYHOUR=16", on_holiday="skip")
    desk.handle(schedule, actor=MANAGER)
    backup = schedule.routine_id
    runs = uc.routine_runs(desk, p.id, now=clock.now())
    inspections = [r for r in runs if r.routine_id == inspection]
    backups = [r for r in runs if r.routine_id == backup]
    # The last backup already overdue is left unrecorded (a missed run the list flags).
    missed = next((r for r in reversed(backups) if r.status == "overdue"), None)
    backups = [r for r in backups if r is not missed]
    for run in [*inspections, *backups]:
        abnormal = run is inspections[-1]
        step()
        desk.handle(RecordRoutine(
            ref=p.id, routine_id=run.routine_id, run_at=run.run_at,
            performed_at=min(run.run_at + timedelta(minutes=50), clock.now()),
            verdict="abnormal" if abnormal else "normal",
            findings=FINDING if abnormal else "各项指标正常", signer=SIGNER), actor=ENGINEER)
    # The process manager opens the abnormal run's ticket now, so the demo's summary counts it.
    caught_up(services, ROUTINE_TICKETS)
    step()
    desk.handle(RecordSurvey(ref=p.id, timeliness=4, effectiveness=5, attitude=5,
                             comment="巡检及时，报告清楚"), actor="quality-he")
    step()
    month = (clock.now().astimezone(tz).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    desk.handle(SubmitReport(ref=p.id, period=month), actor=MANAGER)
    return p.number
