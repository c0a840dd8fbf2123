"""``opsledger demo``: fills a store with a realistic, reproducible service-desk history.

Everything goes through the real use cases (``ServiceDesk`` commands), so the store holds
exactly what the service would have recorded: ``SR`` numbers from the daily sequences, ``SD``
acceptance records, ``FB`` feedback, work logs, workarounds and priority overrides, each
event with its actor and recording time.

How the time line is made:

* every ticket gets a *scenario* (the state it should end in and the path to it) and a plan
  of steps with gaps of minutes to hours between them; P3/P2 work happens in working hours
  (Mon–Fri 09:00–18:00, the settings' time zone, Asia/Shanghai by default), P1 incidents
  around the clock (the customer's acceptance, feedback and reopening still in office hours);
* tickets that end closed or invalid are spread over the last ~60 days; tickets that are
  still open were reported recently (an unclassified ticket from seven weeks ago would not
  be realistic);
* all steps of all tickets are then executed in time order on a ``FixedClock`` that only
  moves forward and never passes the real "now" (so ``reported_at`` is never in the future);
* the history is the same on every store (issue 16 item 6): on a store that already holds
  events it covers the same 60 days alongside them, so the log's recorded times are not in
  log order there (ADR 0008 orders as-of by recorded time per record, not across records).
  What stays true is that each record's own events never go backwards in recorded time:
  the tickets' steps touch only the demo's own tickets and the daily number sequences
  (bookkeeping, never read as of a time; their numbers continue the day's sequence), and
  the closing records (problems, changes, the project, the erasure), which share records
  with earlier events (a customer's contract, a change model, the erased customer's other
  tickets), are recorded at the real time of their commands (``_DemoClock``, which also
  keeps a ticket's steps after what a server on the same store records on it meanwhile).

``random.Random(seed)`` drives every choice, so the same seed gives the same tickets, texts
and paths, fresh store or not (the absolute times move with the real clock).

After the tickets come problems over the largest groups of alike tickets (``demo_problems``),
changes from tickets (``demo_changes``) and a delivery project with its inspections, one
abnormal run and its ticket (``demo_projects``); the summary says where to look at each.

Before the tickets, the cast becomes users of the store (``demo_people``: a user for each
role, a requester per customer); at the end each gets a new generated password, printed in
the summary with the console's address and an API token for the ``curl`` lines (ADR 0053).
"""

from __future__ import annotations

import functools
import random
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from adapters.container import Services, build
from adapters.demo import people
from adapters.demo.announcements import add_demo_announcement
from adapters.demo.cis import add_demo_cis  # ADR 0063
from adapters.demo.risks import add_demo_risks  # ADR 0067
from adapters.demo.repairs import add_demo_repairs  # ADR 0065
from adapters.demo.agreements import add_demo_agreements  # ADR 0066
from adapters.demo.field_work import add_demo_field_work  # ADR 0064
from adapters.demo.catalogue import add_demo_catalogue
from adapters.demo.changes import add_demo_changes
from adapters.demo.privacy import add_demo_erasure
from adapters.demo.problems import add_demo_problems
from adapters.demo.projects import add_demo_project, caught_up
from adapters.settings import Settings
from application.commands import tickets as cmd
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.priority import Impact, Importance, Priority, PriorityMatrix, Urgency
from domain.problem import Problem
from domain.project import Project
from domain.ticket import Contact, Improvement, Status, TicketType
from projections.ticket_list.view import TicketQuery

WINDOW = timedelta(days=60)
URGENCIES = tuple(Urgency)
IMPACTS = tuple(Impact)
IMPORTANCES = tuple(Importance)
ALL_CELLS = [(u, m, i) for u in range(3) for m in range(3) for i in range(3)]

# ------------------------------------------------------------------ people

DISPATCHER = "lead-ma"  # 调度专员/技术支持主管
MANAGER = "mgr-yang"
EXPERT = "expert-lin"
DESK_AGENTS = ("agent-he", "agent-xu", "agent-gao")  # 服务台
FEEDBACK_AGENT = "agent-xu"  # 回访
DESK_GROUP = "servicedesk"
CHANNELS = ("phone", "email", "web", "fax", "onsite")


@dataclass(frozen=True)
class Customer:
    name: str
    weight: int
    contacts: tuple[Contact, ...]
    depts: tuple[str, ...]
    sites: tuple[str, ...]
    key: str


# The customers, the resolver groups and the kinds of ticket are data: tickets.toml, beside
# this module.
_TABLES = tomllib.loads((Path(__file__).parent / "tickets.toml").read_text(encoding="utf-8"))
_GROUPS = _TABLES["groups"]
GROUPS = {key: tuple(group["engineers"]) for key, group in _GROUPS.items()}
GROUP_NAMES = {key: group["name"] for key, group in _GROUPS.items()}
WAIT_REASONS = {key: tuple(group["wait_reasons"]) for key, group in _GROUPS.items()}
FOLLOW_UP_WORK = {key: tuple(group["follow_up_work"]) for key, group in _GROUPS.items()}


def _tupled(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


CUSTOMERS: tuple[Customer, ...] = tuple(
    Customer(row["name"], row["weight"], tuple(Contact(*c) for c in row["contacts"]),
             tuple(row["depts"]), tuple(row["sites"]), row["key"])
    for row in _TABLES["customers"])

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈姚卢姜崔钟谭陆汪范金石廖贾夏方白邹孟熊秦邱江薛段雷侯龙史陶贺顾毛郝龚邵万钱严"
GIVEN = (
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "建国", "志强",
    "海燕", "晓东", "宇", "鑫", "婷", "浩然", "子涵", "欣怡", "俊杰", "雨桐", "梓萱",
)

# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    description: str
    system: str
    type: TicketType
    category: str
    group: str
    u: tuple[int, ...]  # admissible urgency / impact / importance levels (0, 1, 2)
    m: tuple[int, ...]
    i: tuple[int, ...]
    work: tuple[str, ...]
    fixes: tuple[tuple[str, str], ...]  # (resolution, root cause)
    weight: int = 10
    workaround: str = ""
    desk: tuple[tuple[str, str], ...] = ()  # first-line fixes at the service desk
    items: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()  # customer keys; empty: any
    # When the first fix does not hold: (what the customer still sees, second resolution, cause).
    again: tuple[str, str, str] | None = None


F, C, O, D = TicketType.FAULT, TicketType.CONSULTATION, TicketType.OPTIMIZATION, TicketType.DELIVERY


def _template(row: dict[str, Any]) -> Template:
    """A ``[[templates]]`` table of tickets.toml as a ``Template`` (its lists as tuples)."""
    values = {k: tuple(map(_tupled, v)) if isinstance(v, list) else v for k, v in row.items()}
    return Template(**{**values, "type": TicketType(row["type"])})


TEMPLATES: tuple[Template, ...] = tuple(_template(row) for row in _TABLES["templates"])

DEFAULT_ITEMS: dict[TicketType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    F: (("故障处理：{title}", "处理过程记录（问题处理跟踪表）"),
        ("{system}功能恢复正常，客户现场验证通过", "连续观察 24 小时无同类告警")),
    C: (("书面答复及操作指导",), ("客户确认答复内容完整、可自行操作",)),
    O: (("优化实施：{title}", "优化前后对比数据"), ("优化指标达到申请中的目标", "试运行 3 天无异常")),
    D: (("交付内容：{title}", "交付清单及配置记录"), ("交付物逐项核对无误", "用户验证可正常使用")),
}

INVALID_REASONS = (
    "非合同服务范围：个人手机维修不在运维服务合同内，已告知客户联系厂商售后",
    "测试来电，非故障申报（客户新员工熟悉报障流程）",
    "客户确认为误报：监控告警阈值配置错误，已由客户自行调整",
    "客户来电撤回申请：问题已由客户自行解决（重新插拔网线）",
)
GOOD_COMMENTS = (
    "响应很快，工程师解释清楚，满意。", "处理及时，感谢！", "工程师专业耐心，问题彻底解决。",
    "远程处理很高效，没有影响业务。", "Quick and clear, thank you.",
)
MID_COMMENTS = (
    "问题解决了，但上门等待时间较长。", "处理结果满意，希望过程中多同步进展。",
    "第一次处理没有彻底解决，二次处理后正常。",
)
BAD_COMMENTS = (
    "同一问题反复出现，希望彻底解决。", "响应太慢，影响了当天业务。", "等待时间过长，沟通不足。",
)
IMPROVEMENTS = (
    ("将本次故障的处理步骤整理为知识库文章，并组织{group}组内培训", DISPATCHER),
    ("对同类设备增加月度巡检项并纳入监控告警（阈值 80%）", MANAGER),
    ("P2 以上工单处理过程中每 2 小时向客户同步一次进展", DISPATCHER),
    ("与备件厂商重新约定下一工作日到货并纳入供应商考核", MANAGER),
    ("由高级专家复盘根因，输出专项整改方案", EXPERT),
)
OVERRIDE_UP = (
    "客户核心业务（合同约定重点保障系统），主管同意上调优先级",
    "月末结账期间，财务业务受影响，经主管审批上调优先级",
    "客户高层会议即将开始，经调度主管同意上调优先级",
)
OVERRIDE_DOWN = (
    "经核实仅影响测试环境，经客户同意下调优先级",
    "已有临时方案，业务不受影响，经客户同意下调优先级",
)


# ---------------------------------------------------------------- scenarios

# name: (weight, ends open?)  — every scenario appears at least once when tickets allow.
SCENARIOS: dict[str, tuple[int, bool]] = {
    "registered": (4, True),
    "classified": (5, True),
    "assigned": (5, True),
    "in_progress": (8, True),
    "waiting_customer": (5, True),
    "resolved": (6, True),
    "closed_accepted": (12, False),
    "closed_agreed": (7, False),
    "closed_feedback": (18, False),
    "closed_feedback_improvement": (4, False),
    "first_contact": (14, False),
    "first_contact_feedback": (10, False),
    "invalid": (4, False),
    "reopened_in_progress": (2, True),
    "reopened_closed": (3, False),
    "rejected_in_progress": (2, True),
    "rejected_closed": (3, False),
}
COMMAND_ORDER = ("register", "classify", "invalidate", "assign", "start", "log_work",
                 "await_customer", "resume", "resolve", "confirm", "confirm (rejected)", "close",
                 "reopen", "feedback")
NEVER_RESOLVED = ("registered", "classified", "assigned", "in_progress", "waiting_customer",
                  "invalid")


@dataclass
class Step:
    kind: str  # the command, for the summary
    gap: float  # minutes after the previous step
    jitter: float  # minutes after 09:00 when moved to the next working morning
    fn: Callable[[ServiceDesk, datetime], Any]
    registers: bool = False
    office: bool = False  # the customer's or the desk's step: office hours even for a P1


@dataclass
class Plan:
    idx: int
    scenario: str
    customer: Customer
    contact: Contact
    template: Template
    fill: dict[str, Any]
    business: bool  # keeps to working hours (False: a P1 handled around the clock)
    off_hours_report: bool
    steps: list[Step] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    number: str | None = None
    reported_at: datetime | None = None
    last_at: datetime | None = None  # when this ticket's previous step ran
    notes: set[str] = field(default_factory=set)

    def t(self, text: str) -> str:
        return text.format(**self.fill)


class _Demo:
    """Plans the tickets of one run: who, what, which path, and when each step happens."""

    def __init__(self, rng: random.Random, tz: ZoneInfo, start: datetime, end: datetime,
                 matrix: PriorityMatrix) -> None:
        self.rng = rng
        self.tz = tz
        self.matrix = matrix
        self.start = start
        self.end = end
        self.cells_left = list(ALL_CELLS)
        rng.shuffle(self.cells_left)
        self.types_seen: set[TicketType] = set()
        self.categories_seen: set[str] = set()
        self.by_customer: dict[str, list[Plan]] = {}

    # ------------------------------------------------------------- choices

    def pick(self, options: Any, weights: Any = None) -> Any:
        return self.rng.choices(list(options), weights=weights)[0]

    def person(self) -> str:
        return self.pick(SURNAMES) + self.pick(GIVEN)

    def templates_for(self, customer: Customer) -> list[Template]:
        return [t for t in TEMPLATES if not t.customers or customer.key in t.customers]

    def choose(self, customer: Customer, need_cell: bool, desk_only: bool,
               again_only: bool) -> tuple[Template, tuple[int, int, int]]:
        pool = self.templates_for(customer)
        if desk_only:
            pool = [t for t in pool if t.desk]
        if again_only:
            pool = [t for t in pool if t.again]
        cell: tuple[int, int, int] | None = None
        if need_cell and self.cells_left:
            for candidate in self.cells_left:
                u, m, i = candidate
                fits = [t for t in pool if u in t.u and m in t.m and i in t.i]
                if fits:
                    cell = candidate
                    pool = fits
                    break
        # Prefer a template that shows a type or category not seen yet.
        def fresh(t: Template) -> int:
            return (t.type not in self.types_seen) + (t.category not in self.categories_seen)

        best = max(fresh(t) for t in pool)
        if best > 0:
            pool = [t for t in pool if fresh(t) == best]
            template = self.pick(pool)
        else:
            template = self.pick(pool, [t.weight for t in pool])
        if cell is None:
            cell = (self.pick(template.u), self.pick(template.m), self.pick(template.i))
        else:
            self.cells_left.remove(cell)
        return template, cell

    # ---------------------------------------------------------------- plan

    def plan(self, idx: int, scenario: str) -> Plan:
        rng = self.rng
        customer = self.pick(CUSTOMERS, [c.weight for c in CUSTOMERS])
        contact = self.pick(customer.contacts)
        classified = scenario != "registered" and not (scenario == "invalid" and rng.random() < 0.5)
        desk_path = scenario.startswith("first_contact")
        again = scenario.startswith(("reopened", "rejected"))
        template, cell = self.choose(customer, classified, desk_path, again)
        if classified:
            self.types_seen.add(template.type)
            self.categories_seen.add(template.category)
        u, m, i = URGENCIES[cell[0]], IMPACTS[cell[1]], IMPORTANCES[cell[2]]
        d1 = (self.start + timedelta(days=rng.randint(1, 55))).astimezone(self.tz).date()
        fill = dict(
            dept=self.pick(customer.depts), site=self.pick(customer.sites),
            floor=rng.randint(2, 18),
            n=rng.randint(3, 40), n2=rng.randint(20, 180), user=self.person(),
            host=f"SW-{self.pick(['DD', 'BD', 'ZD'])}-{rng.randint(1, 48):02d}",
            d1=f"{d1:%m月%d日}", d2=f"{d1 + timedelta(days=rng.randint(2, 6)):%m月%d日}",
            title=template.title, system=template.system, group=GROUP_NAMES[template.group],
        )
        computed = self.matrix.priority(u, m, i)
        priority, override = computed, ""
        if classified and rng.random() < 0.07:
            if computed is Priority.P1:
                priority, override = Priority.P2, self.pick(OVERRIDE_DOWN)
            else:
                priority = Priority.P1 if computed is Priority.P2 else Priority.P2
                override = self.pick(OVERRIDE_UP)
        business = not classified or priority is not Priority.P1
        off_hours = rng.random() < (0.25 if not business else 0.04)
        plan = Plan(idx, scenario, customer, contact, template, fill, business, off_hours)
        if override:
            plan.notes.add("override")
        b = _Builder(self, plan)
        b.build(u, m, i, priority if override else None, override, classified)
        return plan

    # ------------------------------------------------------------ schedule

    def working(self, t: datetime, jitter: float) -> datetime:
        local = t.astimezone(self.tz)
        if local.weekday() < 5 and 9 <= local.hour < 18:
            return t
        day = local.date()
        if local.hour >= 18 or local.weekday() >= 5:
            day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        morning = datetime(day.year, day.month, day.day, 9, 0, tzinfo=self.tz)
        return (morning + timedelta(minutes=jitter)).astimezone(UTC)

    def schedule(self, plan: Plan, t0: datetime, snap: bool) -> list[datetime]:
        times: list[datetime] = []
        t = t0
        for n, step in enumerate(plan.steps):
            if n:
                t = t + timedelta(minutes=step.gap)
            if snap and ((plan.business or step.office) if n else not plan.off_hours_report):
                t = self.working(t, step.jitter)
            if times and t <= times[-1]:
                t = times[-1] + timedelta(seconds=20)
            times.append(t)
        return times

    def place(self, plan: Plan, open_end: bool) -> None:
        rng = self.rng
        span = self.end - self.start
        snap = span > timedelta(days=3)
        if open_end:
            t0 = self.end - timedelta(hours=rng.uniform(1, 60)) * min(1.0, span / WINDOW)
        else:
            latest = max(self.start, self.end - min(span * 0.5, timedelta(days=6)))
            t0 = self.start + (latest - self.start) * rng.random()
        t0 = max(t0, self.start)
        times = self.schedule(plan, t0, snap)
        for attempt in range(10):
            if times[-1] <= self.end:
                break
            over = times[-1] - self.end
            t0 = t0 - over - timedelta(minutes=rng.uniform(5, 90)) - timedelta(hours=6 * attempt)
            t0 = max(t0, self.start)
            times = self.schedule(plan, t0, snap)
        if times[-1] > self.end or times[0] < self.start:
            # Squeeze into the window, keeping the order (a plan that does not fit otherwise).
            lo = max(self.start, min(times[0], self.end))
            first, last = times[0], times[-1]
            width = (last - first) or timedelta(seconds=1)
            room = self.end - lo
            times = [lo + room * ((t - first) / width) for t in times]
        plan.times = times


class _Builder:
    """Turns a scenario into the steps (gap, command) of one ticket."""

    def __init__(self, demo: _Demo, plan: Plan) -> None:
        self.demo = demo
        self.rng = demo.rng
        self.plan = plan
        self.group = plan.template.group
        self.engineer = demo.pick(GROUPS[self.group])
        self.agent = demo.pick(DESK_AGENTS)
        self.fix_index = 0

    def add(self, kind: str, lo: float, hi: float, fn: Callable[[ServiceDesk, datetime], Any],
            registers: bool = False, office: bool = False) -> None:
        """A step ``lo``–``hi`` minutes after the previous one (a P1 moves faster)."""
        factor = 0.4 if not self.plan.business and not office else 1.0
        gap = self.rng.uniform(lo, hi) * factor
        self.plan.steps.append(Step(kind, gap, self.rng.uniform(0, 50), fn, registers, office))

    def build(self, u: Urgency, m: Impact, i: Importance, priority: Priority | None,
              override: str, classified: bool) -> None:
        s = self.plan.scenario
        rng = self.rng
        desk = s.startswith("first_contact")
        # How much is known at registration: a web form or an experienced agent classifies at once.
        at_registration = classified and (desk or rng.random() < 0.45)
        self.register(u, m, i, priority, override, full=at_registration, partial=not classified)
        if s == "registered":
            return
        if s == "invalid":
            if classified and not at_registration:
                self.classify(u, m, i, priority, override)
            self.invalidate()
            return
        if not at_registration:
            self.classify(u, m, i, priority, override)
        if s == "classified":
            return
        if desk:
            self.desk_fix()
            self.close(feedback=s == "first_contact_feedback", improvement=False)
            return
        self.assign(group_only=s == "assigned" and rng.random() < 0.4)
        if s == "assigned":
            return
        self.start()
        self.work(rng.randint(1, 2), workaround=rng.random() < 0.3)
        if rng.random() < 0.12:
            self.reassign()
            self.start()
            self.work(1)
        if rng.random() < 0.05:
            self.reclassify(u, m, i)
        if s == "in_progress":
            return
        if s == "waiting_customer":
            self.await_customer()
            return
        if rng.random() < 0.2:
            self.await_customer()
            self.resume()
        self.work(rng.randint(0, 2))
        self.resolve()
        if s == "resolved":
            return
        if s.startswith("rejected"):
            self.reject()
            self.second_round(s, improvement=lambda: rng.random() < 0.5)
            return
        if s.startswith("reopened"):
            self.accept()
            if rng.random() < 0.5:
                self.feedback(improvement=False)
            self.reopen()
            self.second_round(s, improvement=lambda: True)
            return
        self.close(
            feedback=s.startswith("closed_feedback"),
            improvement=s == "closed_feedback_improvement",
            agreed=s == "closed_agreed",
        )

    # --------------------------------------------------------------- steps

    def register(self, u: Urgency, m: Impact, i: Importance, priority: Priority | None,
                 override: str, *, full: bool, partial: bool) -> None:
        p, tpl, rng = self.plan, self.plan.template, self.rng
        if p.scenario.startswith("first_contact"):  # a first-line fix at the desk
            channel = self.demo.pick(("phone", "email", "web"), (60, 15, 25))
        else:
            channel = self.demo.pick(CHANNELS, (34, 24, 26, 4, 12))
        # How long before the registration the customer reported (phone: minutes; fax: hours).
        delay = {"phone": (1, 8), "onsite": (2, 15), "web": (1, 40), "email": (5, 90),
                 "fax": (20, 180)}
        late = rng.uniform(*delay[channel])
        actor = self.engineer if channel == "onsite" else self.agent
        kwargs: dict[str, Any] = {}
        if full:
            kwargs = dict(type=tpl.type, category=tpl.category, urgency=u, impact=m, importance=i,
                          priority=priority, override_reason=override)
        elif partial and rng.random() < 0.6:
            kwargs = dict(type=tpl.type)  # what the caller could say; the dispatcher finishes it
        attachments: tuple[str, ...] = ()
        if rng.random() < 0.2:
            attachments = (f"att://{p.customer.key}/{p.idx:04d}/screenshot-1.png",)
        description = p.t(tpl.description)

        def run(desk: ServiceDesk, at: datetime) -> Any:
            reported = at - timedelta(minutes=late)
            r = desk.handle(cmd.RegisterTicket(
                customer=p.customer.name, contact=p.contact, channel=channel, title=tpl.title,
                description=description, affected_system=tpl.system, reported_at=reported,
                attachments=attachments, **kwargs), actor=actor)
            p.number, p.reported_at = r.ticket.number, reported
            self.demo.by_customer.setdefault(p.customer.name, []).append(p)
            return r

        self.add("register", 0, 0, run, registers=True)

    def classify(self, u: Urgency, m: Impact, i: Importance, priority: Priority | None,
                 override: str) -> None:
        p, tpl = self.plan, self.plan.template
        self.add("classify", 4, 45, lambda desk, at: desk.handle(cmd.Classify(
            ref=p.number, type=tpl.type, category=tpl.category, urgency=u, impact=m, importance=i,
            priority=priority, override_reason=override), actor=DISPATCHER))

    def reclassify(self, u: Urgency, m: Impact, i: Importance) -> None:
        p, tpl = self.plan, self.plan.template
        # Diagnosis shows a wider impact than first reported: one step wider, same urgency.
        wider = IMPACTS[min(2, IMPACTS.index(m) + 1)]
        if wider == m:
            return
        p.notes.add("reclassified")
        self.add("classify", 20, 90, lambda desk, at: desk.handle(cmd.Classify(
            ref=p.number, type=tpl.type, category=tpl.category, urgency=u, impact=wider,
            importance=i), actor=DISPATCHER))

    def invalidate(self) -> None:
        p, rng = self.plan, self.rng
        duplicate = rng.random() < 0.4
        reason = p.t(self.demo.pick(INVALID_REASONS))

        def run(desk: ServiceDesk, at: datetime) -> Any:
            text = reason
            if duplicate:
                same_customer = self.demo.by_customer.get(p.customer.name, [])
                earlier = [o for o in same_customer
                           if o is not p and o.number and o.template is p.template]
                if earlier:
                    text = f"重复报障：与 {earlier[-1].number} 为同一故障，已合并到该工单跟踪"
            return desk.handle(cmd.Invalidate(ref=p.number, reason=text), actor=DISPATCHER)

        self.add("invalidate", 5, 60, run)

    def assign(self, group_only: bool = False) -> None:
        p = self.plan
        engineer = None if group_only else self.engineer
        self.add("assign", 3, 50, lambda desk, at: desk.handle(cmd.Assign(
            ref=p.number, assignee=engineer, group=self.group, known_assignee=False),
            actor=DISPATCHER))

    def reassign(self) -> None:
        p, rng = self.plan, self.rng
        other_group = self.demo.pick([g for g in GROUPS if g != self.group])
        interface = self.engineer
        # Cross-team collaboration: the work moves to another group, the first engineer stays
        # the interface person (接口人). Or a major incident pulls in the expert.
        if rng.random() < 0.3:
            assignee, group = EXPERT, self.group
            p.notes.add("expert")
        else:
            assignee, group = self.demo.pick(GROUPS[other_group]), other_group
        p.notes.add("reassigned")
        self.add("assign", 30, 180, lambda desk, at: desk.handle(cmd.Assign(
            ref=p.number, assignee=assignee, group=group, interface_person=interface,
            known_assignee=False), actor=DISPATCHER))
        self.engineer = assignee

    def desk_fix(self) -> None:
        p = self.plan
        resolution, cause = self.demo.pick(p.template.desk)
        p.notes.add("first_contact")
        agent = self.agent
        self.add("assign", 1, 4, lambda desk, at: desk.handle(cmd.Assign(
            ref=p.number, assignee=agent, group=DESK_GROUP, known_assignee=False), actor=agent))
        self.add("resolve", 4, 25, lambda desk, at: desk.handle(cmd.Resolve(
            ref=p.number, resolution=p.t(resolution), root_cause=p.t(cause), first_contact=True),
            actor=agent))

    def start(self) -> None:
        p = self.plan
        engineer = self.engineer
        self.add("start", 5, 120, lambda desk, at: desk.handle(cmd.Start(
            ref=p.number), actor=engineer))

    def second_round(self, scenario: str, improvement: Callable[[], bool]) -> None:
        """After a rejection or a reopening: more work, then, unless the scenario ends in
        progress, the second resolution, its acceptance and feedback (``improvement()``
        asked there, after the acceptance, as the random choices' order wants)."""
        self.work(self.rng.randint(1, 2), follow_up=True)
        if scenario.endswith("_in_progress"):
            return
        self.resolve(second=True)
        self.accept()
        self.feedback(improvement=improvement())

    def work(self, count: int, workaround: bool = False, follow_up: bool = False) -> None:
        p, tpl, rng = self.plan, self.plan.template, self.rng
        if follow_up:
            assert tpl.again is not None
            actions = (f"根据客户反馈复查：{tpl.again[0]}", *FOLLOW_UP_WORK[tpl.group])
            start = 0
        else:
            actions = (*tpl.work, *FOLLOW_UP_WORK[tpl.group])
            start = self.fix_index
            self.fix_index += count
        for k in range(count):
            action = p.t(actions[min(start + k, len(actions) - 1)])
            wanted = rng.choice((0.25, 0.5, 0.5, 1, 1, 1.5, 2, 3, 4))
            late = rng.uniform(0, 40) if rng.random() < 0.8 else rng.uniform(60, 300)
            wa = p.t(tpl.workaround) if workaround and k == 0 and tpl.workaround else ""
            if wa:
                p.notes.add("workaround")
            engineer = self.engineer

            def run(desk: ServiceDesk, at: datetime, action: str = action, wanted: float = wanted,
                    late: float = late, wa: str = wa, engineer: str = engineer) -> Any:
                since = p.last_at or p.reported_at or at
                # No more hours than have passed since the ticket's previous step.
                room = int((at - since).total_seconds() / 900) / 4
                hours = max(0.25, min(wanted, room))
                performed = max(at - timedelta(minutes=late), since)
                return desk.handle(cmd.LogWork(ref=p.number, action=action, hours=hours,
                                               performed_at=performed, workaround=wa),
                                   actor=engineer)

            self.add("log_work", 20, 240, run)

    def await_customer(self) -> None:
        p = self.plan
        reason = self.demo.pick(WAIT_REASONS[p.template.group])
        engineer = self.engineer
        p.notes.add("waited")
        self.add("await_customer", 10, 90, lambda desk, at: desk.handle(cmd.AwaitCustomer(
            ref=p.number, reason=reason), actor=engineer))

    def resume(self) -> None:
        p = self.plan
        engineer = self.engineer
        self.add("resume", 120, 1800, lambda desk, at: desk.handle(cmd.Resume(
            ref=p.number), actor=engineer))

    def resolve(self, second: bool = False) -> None:
        p = self.plan
        if second:
            assert p.template.again is not None
            resolution, cause = p.t(p.template.again[1]), p.t(p.template.again[2])
        else:
            fix = self.demo.pick(p.template.fixes)
            resolution, cause = p.t(fix[0]), p.t(fix[1])
        engineer = self.engineer
        self.add("resolve", 30, 360, lambda desk, at: desk.handle(cmd.Resolve(
            ref=p.number, resolution=resolution, root_cause=cause), actor=engineer))

    def _items(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        tpl, p = self.plan.template, self.plan
        items, criteria = DEFAULT_ITEMS[tpl.type]
        return (tuple(p.t(x) for x in (tpl.items or items)),
                tuple(p.t(x) for x in (tpl.criteria or criteria)))

    def accept(self) -> None:
        p = self.plan
        items, criteria = self._items()
        agent = self.agent
        note = self.demo.pick(("", "客户现场签字确认", "客户邮件确认验收"))
        self.add("confirm", 60, 1500, lambda desk, at: desk.handle(cmd.Confirm(
            ref=p.number, signer=p.contact.name, items=items, criteria=criteria, passed=True,
            note=note), actor=agent), office=True)

    def reject(self) -> None:
        p = self.plan
        items, criteria = self._items()
        assert p.template.again is not None
        unmet = p.t(p.template.again[0])
        agent = self.agent
        p.notes.add("rejected")
        self.add("confirm (rejected)", 60, 1200, lambda desk, at: desk.handle(cmd.Confirm(
            ref=p.number, signer=p.contact.name, items=items, criteria=criteria, passed=False,
            unmet_items=(unmet,), note="客户验收未通过，退回二次处理"), actor=agent), office=True)

    def close(self, *, feedback: bool, improvement: bool, agreed: bool = False) -> None:
        p = self.plan
        if agreed or ("first_contact" in p.notes and self.rng.random() < 0.6):
            agent = self.agent
            reason = self.demo.pick((
                "客户电话确认问题已解决，同意结束支持", "客户邮件回复确认恢复正常，同意关闭",
                "客户在服务单上签字确认，同意结束本次支持",
            ))
            self.add("close", 20, 600, lambda desk, at: desk.handle(cmd.CloseTicket(
                ref=p.number, signer=p.contact.name, reason=reason), actor=agent), office=True)
        else:
            self.accept()
        if feedback:
            self.feedback(improvement=improvement)

    def feedback(self, improvement: bool) -> None:
        p, rng = self.plan, self.rng
        if improvement:
            low = rng.random() < 0.6
            scores = (rng.randint(1, 3), rng.randint(2, 4), rng.randint(3, 5)) if low else \
                (rng.randint(3, 4), rng.randint(3, 4), rng.randint(4, 5))
            comment = self.demo.pick(BAD_COMMENTS if low else MID_COMMENTS)
            action, owner = self.demo.pick(IMPROVEMENTS)
            due_days = rng.randint(10, 30)
            action = p.t(action)
            p.notes.add("improvement")
        else:
            scores = (rng.randint(4, 5), rng.randint(4, 5), 5 if rng.random() < 0.7 else 4)
            comment = self.demo.pick(GOOD_COMMENTS)
            action, owner, due_days = "", "", 0
        p.notes.add("feedback")

        def run(desk: ServiceDesk, at: datetime) -> Any:
            imp = None
            if action:
                due = (at.astimezone(self.demo.tz) + timedelta(days=due_days)).date()
                imp = Improvement(action=action, owner=owner, due=due)
            return desk.handle(cmd.GiveFeedback(ref=p.number, timeliness=scores[0],
                                                effectiveness=scores[1], attitude=scores[2],
                                                comment=comment, improvement=imp),
                               actor=FEEDBACK_AGENT)

        # Within 3 working days after acceptance ([003]).
        self.add("feedback", 90, 2000, run, office=True)

    def reopen(self) -> None:
        p = self.plan
        assert p.template.again is not None
        reason = p.t(f"客户反馈问题复现：{p.template.again[0]}，要求重新处理")
        agent = self.agent
        p.notes.add("reopened")
        self.add("reopen", 600, 4000, lambda desk, at: desk.handle(cmd.Reopen(
            ref=p.number, reason=reason), actor=agent), office=True)


# ------------------------------------------------------------------- running


def _scenarios(rng: random.Random, count: int) -> list[str]:
    names = list(SCENARIOS)
    chosen = names[:count]  # one of each first, so every status shows up
    weights = [SCENARIOS[n][0] for n in names]
    chosen += rng.choices(names, weights=weights, k=max(0, count - len(names)))
    rng.shuffle(chosen)
    return chosen


class _DemoClock(FixedClock):
    """The demo's recording clock: ``set`` to each ticket step's time, but never before the
    latest recorded event of the ticket the step is on (``after``): a server running on the
    same store meanwhile (README: ``scripts/serve``, then the demo) may record on a demo
    ticket (its SLA watcher: a warning, a breach), and the rest of the ticket's story is
    recorded after that. The desk reads the clock after loading the ticket, on every attempt,
    so a record written in between makes the save conflict and the retry read it.

    Then ``live`` for the closing records (problems, changes, the project, the erasure):
    each is recorded at the real time of its command, so after every event already in the
    store (a customer's contract, a change model, the erased customer's other tickets keep
    their events in time order; so do the records a server writes meanwhile) and never after
    now."""

    live = False
    after: Callable[[], datetime] | None = None

    def now(self) -> datetime:
        if self.live:
            return datetime.now(UTC)
        at = super().now()
        return at if self.after is None else max(at, self.after())

    def advance(self, **delta: float) -> datetime:
        return self.now() if self.live else super().advance(**delta)


def _latest_of(desk: ServiceDesk, number: str, with_project: bool = False) -> datetime:
    """When the ticket's latest event was recorded; ``with_project``: or its project's, if
    later (low feedback raises an improvement on the ticket's project, a record the demo did
    not make on a store that already has one: its times must not go backwards, ADR 0008)."""
    ticket = desk.get_ticket(number)
    latest: datetime = ticket.modified_on
    terms = (desk.sla.project_terms(ticket.customer, ticket.reported_at)
             if with_project and desk.sla is not None else None)
    if terms is not None:
        project = desk.get_record(terms.project_id, Project, "project")
        latest = max(latest, project.modified_on)
    return latest


def _masked(url: str) -> str:
    """The store URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


def all_rows(services: Services) -> list[Any]:
    """Every row of the ticket list, page by page (the demo's summary; tests read it too)."""
    rows: list[Any] = []
    after: int | None = None
    while True:
        page = services.tickets.query(TicketQuery(limit=1000, after=after))
        rows.extend(page.rows)
        if page.next_cursor is None:
            return rows
        after = int(page.next_cursor)


def run_demo(settings: Settings, tickets: int = 300, seed: int = 7) -> int:
    """Fill the store named by ``settings`` with ``tickets`` tickets; print where to look."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    if tickets < 0:
        print("opsledger demo: --tickets must be 0 or more", file=sys.stderr)
        return 2
    began = time.perf_counter()
    tz = ZoneInfo(settings.timezone)
    # The same history on every store, fresh or not: the last WINDOW, ending before now.
    end = datetime.now(UTC) - timedelta(seconds=5)
    start = end - WINDOW
    clock = _DemoClock(start)
    services = build(settings, clock=clock)
    try:
        head = services.desk.max_position()
        cast = _cast()
        clock.live = not people.first_users(services.desk)  # else at the window's start
        foreign = people.register(services.desk, cast)
        clock.live = False
        rng = random.Random(seed)
        demo = _Demo(rng, tz, start, end, settings.priority_matrix)
        plans: list[Plan] = []
        for idx, scenario in enumerate(_scenarios(rng, tickets)):
            plan = demo.plan(idx, scenario)
            demo.place(plan, open_end=SCENARIOS[scenario][1])
            plans.append(plan)
        steps = sorted(
            ((t, plan.idx, n, plan.steps[n]) for plan in plans for n, t in enumerate(plan.times)),
            key=lambda s: (s[0], s[1], s[2]),
        )
        commands: Counter[str] = Counter()
        with Progress(
            TextColumn("[bold]opsledger demo[/] registering tickets"), BarColumn(),
            MofNCompleteColumn(), TextColumn("{task.fields[commands]} commands"),
            TimeElapsedColumn(), console=Console(stderr=True),
        ) as progress:
            task = progress.add_task("tickets", total=len(plans), commands=0)
            for n, (at, idx, _, step) in enumerate(steps, 1):
                clock.set(at)
                number = plans[idx].number
                clock.after = None if number is None else functools.partial(
                    _latest_of, services.desk, number, step.kind == "feedback")
                at = clock.now()
                step.fn(services.desk, at)
                plans[idx].last_at = at
                commands[step.kind] += 1
                if step.registers or n % 50 == 0:
                    progress.update(task, completed=commands["register"], commands=n)
            progress.update(task, completed=commands["register"], commands=len(steps))
        clock.after, clock.live = None, True
        problems = add_demo_problems(services.desk, clock, plans)
        changes = add_demo_changes(services.desk, clock, plans)
        add_demo_announcement(services.desk, clock, changes, settings.announcement_lead_hours)
        add_demo_cis(services.desk, clock, plans)  # configuration items (ADR 0063)
        add_demo_repairs(services.desk, clock, plans)  # repair orders (ADR 0065)
        add_demo_agreements(services.desk, clock, plans)  # agreements, complaints (0066)
        add_demo_catalogue(services.desk, clock)  # the service catalogue (ADR 0061)
        project = add_demo_project(services, clock)
        add_demo_risks(services.desk, clock, plans, project)  # risks, major incident (0067)
        add_demo_field_work(services.desk, clock, plans, project)  # parts, visits (0064)
        erased = add_demo_erasure(services.desk, clock, plans)
        logins = people.set_passwords(services.desk, cast, foreign)
        token = people.api_token(services.desk, foreign)
        for name in services.runner.views:
            caught_up(services, name)
        rows = all_rows(services)
        records = DemoRecords(project, problems, changes, _search_term(services.desk, problems),
                              erased, tuple(logins), token)
        print(_summary(
            settings, plans, rows, commands, time.perf_counter() - began,
            (start, end, tz), seed, head > 0, records,
        ))
        sys.stdout.flush()
        return 0
    finally:
        services.close()


@dataclass(frozen=True)
class DemoRecords:
    """The numbers of the demo's problems, changes and project, for the summary."""

    project: str
    problems: list[str]
    changes: list[str]
    search: str  # a knowledge-base query that finds one of the problems
    erased: tuple[str, str] | None = None  # (customer, one of its tickets) erased (ADR 0034)
    logins: tuple[people.Login, ...] = ()  # the cast's users and this run's passwords
    token: str | None = None  # an API token of the demo's admin, for curl


def _cast() -> list[people.Person]:
    """The people the demo's records name, as users: a user for each role (ADR 0053)."""
    return people.cast(
        dispatcher=DISPATCHER, manager=MANAGER, expert=EXPERT, agents=DESK_AGENTS,
        desk_group=DESK_GROUP, engineers=GROUPS,
        requesters=[(c.key, c.name, c.contacts[0].name) for c in CUSTOMERS])


def _search_term(desk: ServiceDesk, problems: list[str]) -> str:
    """The affected system of the first known error (searchable in the knowledge base)."""
    for number in problems:
        p = desk.get_record(number, Problem, "problem")
        if p.known_error and p.affected_system:
            return str(p.affected_system)
    return "ERP"


def _example(plans: list[Plan], *wanted: str) -> Plan | None:
    for plan in plans:
        if plan.number and all(w in plan.notes or w == plan.scenario for w in wanted):
            return plan
    return None


def _summary(settings: Settings, plans: list[Plan], rows: list[Any], commands: Counter[str],
             elapsed: float, span: tuple[datetime, datetime, ZoneInfo], seed: int,
             after_existing: bool, records: DemoRecords) -> str:
    start, end, tz = span
    by_status = Counter(r["status"] for r in rows)
    by_priority = Counter(r["priority"] or "unclassified" for r in rows)
    noted = Counter(note for p in plans for note in p.notes)
    reached_resolved = sum(1 for p in plans if p.scenario not in NEVER_RESOLVED)
    fcr = noted["first_contact"]
    fcr_share = 100 * fcr / reached_resolved if reached_resolved else 0
    out: list[str] = []
    w = out.append
    w(f"opsledger demo: {len(plans)} tickets registered (seed {seed}), "
      f"{sum(commands.values())} commands in {elapsed:.1f} s")
    w(f"store: {_masked(settings.database_url)}  (it now holds {len(rows)} tickets)")
    w(f"recorded {start.astimezone(tz):%Y-%m-%d %H:%M} … {end.astimezone(tz):%Y-%m-%d %H:%M} "
      f"({tz.key}) for {', '.join(c.name for c in CUSTOMERS)}")
    if after_existing:
        w("note: the store already held events; this run's history covers the same 60 days "
          "alongside them (each record's own events stay in time order; the problems, changes, "
          "project and erasure are recorded now)")
    w("")
    w("tickets by status (whole store)        tickets by priority (whole store)")
    statuses = [s.value for s in Status]
    priorities = ["P1", "P2", "P3", "unclassified"]
    for k in range(max(len(statuses), len(priorities))):
        left = right = ""
        if k < len(statuses):
            left = f"  {statuses[k]:<18}{by_status.get(statuses[k], 0):>6}"
        if k < len(priorities):
            right = f"  {priorities[k]:<14}{by_priority.get(priorities[k], 0):>6}"
        w(f"{left:<39}{right}".rstrip())
    w("")
    order = [k for k in COMMAND_ORDER if commands[k]]
    w("this run: " + ", ".join(f"{kind} {commands[kind]}" for kind in order))
    w(f"  {fcr} solved by the service desk on first contact ({fcr_share:.0f}% of the tickets "
      f"that reached resolved), {noted['rejected']} acceptances rejected (二次处理), "
      f"{noted['reopened']} reopened, {noted['improvement']} feedback records with an "
      f"improvement action, {noted['override']} priority overrides, {noted['workaround']} "
      f"workarounds, {noted['reassigned']} re-assignments")
    w(f"also recorded: project {records.project} (contract, monthly inspection and weekly "
      f"backup runs, one abnormal with its ticket, a survey), problems "
      f"{', '.join(records.problems) or 'none'}, changes {', '.join(records.changes) or 'none'}")
    w("")
    base = f"http://{settings.host}:{settings.port}"
    w(f"console: {base}/  (log in at {base}/ui/login; a requester lands in the portal, "
      f"{base}/portal/)")
    if records.logins:
        w("users (new passwords generated by this run; the store keeps only their hashes):")
        out.extend(people.table(records.logins))
    w("")
    curl = "curl"
    if records.token:
        curl = 'curl -H "Authorization: Bearer $TOKEN"'
        w("the store has users now, so every /api/v1 call needs a token; one for "
          f"{people.ADMIN} (90 days):")
        w(f"  export TOKEN={records.token}")
        w("")
    w("where to look:")
    if settings.database.kind == "memory":
        w("  (memory:// keeps nothing: this data went away with the demo process; "
          "run `opsledger demo --database sqlite:///./var/demo.sqlite3` to keep it)")
    serve = "opsledger serve"
    if settings.database_url != Settings().database_url:
        serve += f" --database '{_masked(settings.database_url)}'"
    w(f"  {serve}")
    w(f"  {curl} {base}/api/v1/queues/unassigned")
    w(f"  {curl} '{base}/api/v1/tickets?status=in_progress'")
    w(f"  {curl} '{base}/api/v1/tickets?status=waiting_customer&priority=P1'")
    examples = [
        (_example(plans, "reopened_closed") or _example(plans, "reopened"),
         "reopened, fixed again, SD acceptance, FB feedback with an improvement action"),
        (_example(plans, "rejected_closed") or _example(plans, "rejected"),
         "acceptance rejected (二次处理), fixed again, accepted"),
        (_example(plans, "first_contact"), "solved by the service desk on first contact"),
        (_example(plans, "override"), "priority overridden with a reason"),
    ]
    first = True
    for plan, what in examples:
        if plan is None:
            continue
        w(f"  {curl} {base}/api/v1/tickets/{plan.number:<22}  # {what}")
        if first:
            w(f"  {curl} {base}/api/v1/tickets/{plan.number}/history  # its every event, oldest first")
            first = False
    month = f"{end.astimezone(tz):%Y-%m}"
    project = f"{base}/api/v1/projects/{records.project}"
    w(f"  {curl} {project}  # the delivery project, its routines and runs")
    w(f"  {curl} '{project}/routines?due_before={quote(end.astimezone(tz).replace(microsecond=0).isoformat())}'")
    w(f"  opsledger report {records.project} {month}{serve[len('opsledger serve'):]}"
      "  # its service report (--format md|json|html)")
    w(f"  {curl} -H 'Accept: text/html' {project}/reports/{month}  # printable, with charts")
    for number in records.problems[:1]:
        w(f"  {curl} {base}/api/v1/problems/{number}  # a problem over alike tickets")
    for number in records.changes[:1]:
        w(f"  {curl} {base}/api/v1/changes/{number}  # a change and its gates")
    w(f"  {curl} '{base}/api/v1/knowledge?q={quote(records.search)}'  # known errors, articles")
    if records.erased:
        customer, number = records.erased
        w(f"  {curl} {base}/api/v1/tickets/{number}  # {customer}'s contacts erased (crypto-shredding)")
        w(f"  {curl} {base}/api/v1/customers/{quote(customer)}/erasures  # who asked, why, when")
    w(f"  open {base}/docs")
    return "\n".join(out)
