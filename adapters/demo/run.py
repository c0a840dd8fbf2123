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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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

GROUPS: dict[str, tuple[str, ...]] = {
    "network": ("eng-zhang", "eng-zhao"),
    "database": ("eng-li", "eng-sun"),
    "desktop": ("eng-wang", "eng-zhou"),
    "application": ("eng-chen", "eng-liu"),
    "server": ("eng-wu", "eng-zheng"),
}


GROUP_NAMES = {"network": "网络", "database": "数据库", "desktop": "桌面运维",
               "application": "应用运维", "server": "系统与存储"}


@dataclass(frozen=True)
class Customer:
    name: str
    weight: int
    contacts: tuple[Contact, ...]
    depts: tuple[str, ...]
    sites: tuple[str, ...]
    key: str


CUSTOMERS: tuple[Customer, ...] = (
    Customer(
        "华东电力集团", 30,
        (
            Contact("周敏", "13816624071", "zhoumin@hdpower.example.com"),
            Contact("陈建国", "13917730582", "chenjianguo@hdpower.example.com"),
            Contact("王芳", "021-63571208", "wangfang@hdpower.example.com"),
        ),
        ("信息中心", "调度中心", "财务部", "营销部", "人力资源部"),
        ("集团总部大楼", "调度大楼", "浦东运维基地"),
        "power",
    ),
    Customer(
        "江南商业银行", 22,
        (
            Contact("刘洋", "13605719936", "liuyang@jnbank.example.com"),
            Contact("孙丽娟", "18657120418", "sunlijuan@jnbank.example.com"),
        ),
        ("运营管理部", "营业部", "信贷部", "科技部"),
        ("总行大楼", "滨江数据中心", "城西支行"),
        "bank",
    ),
    Customer(
        "客户A", 18,
        (
            Contact("李四", "13800005678", "lisi@customer-a.example.com"),
            Contact("张伟", "13751062297", "zhangwei@customer-a.example.com"),
            Contact("黄晓燕", "0755-86609312", "huangxiaoyan@customer-a.example.com"),
        ),
        ("生产部", "采购部", "财务部", "质量部"),
        ("深圳工厂", "研发中心", "东莞仓库"),
        "a",
    ),
    Customer(
        "南江市第一人民医院", 16,
        (
            Contact("吴涛", "13588421760", "wutao@njyy.example.com"),
            Contact("郑雪", "15968830145", "zhengxue@njyy.example.com"),
        ),
        ("门诊部", "住院部", "药剂科", "信息科", "财务科"),
        ("门诊楼", "住院楼", "医技楼"),
        "hospital",
    ),
    Customer(
        "蓝海物流有限公司", 14,
        (
            Contact("马超", "13327715803", "machao@lanhai.example.com"),
            Contact("林静", "18962217734", "linjing@lanhai.example.com"),
        ),
        ("仓储部", "运输调度部", "客服中心", "财务部"),
        ("青浦仓", "外高桥仓", "总部"),
        "logistics",
    ),
)

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

TEMPLATES: tuple[Template, ...] = (
    Template(
        "erp-login", "生产系统无法登录",
        "{dept}用户登录 ERP 时提示“系统繁忙，会话数已达上限”，约 {n} 人无法登录，正值月末结账。",
        "ERP", F, "软件问题/应用系统", "application", (1, 2), (1, 2), (1, 2),
        ("检查 ERP 应用服务器 WebLogic 日志，确认活动会话数达到上限 500",
         "导出并清理超时会话 {n2} 个，部分用户恢复登录",
         "调整会话超时参数，夜间滚动重启受管服务器 erp-ms1/erp-ms2"),
        (("将 ERP WebLogic 最大会话数由 500 调整为 1500、会话超时由 8 小时改为 30 分钟，清理僵死会话后"
          "滚动重启 erp-ms1/erp-ms2，{dept}{n} 名用户验证可正常登录并完成凭证录入",
          "会话超时设置过长，月末集中登录导致会话池耗尽"),),
        weight=14, workaround="临时启用备用节点 erp-ms3，{dept}优先登录处理结账",
        again=('{dept}仍有部分用户在 17:00 后登录报会话错误',
               '二次处理：发现备用节点 erp-ms3 未同步会话参数，补充调整后三个节点配置一致，并在 17:00–19:00 高峰以 600 并发会话压测，登录全部成功',
               '备用节点 erp-ms3 未同步会话参数'),
    ),
    Template(
        "printer-jam", "打印机卡纸", "{site} {floor} 层 HP M605 打印机频繁卡纸，面板提示“13.B2 卡纸”。",
        "打印机", F, "硬件故障/打印机", "desktop", (0, 1), (0, 1), (0, 1),
        ("上门检查进纸通道，发现搓纸轮表面磨损发亮", "更换搓纸轮组件并清洁定影器入口"),
        (("现场取出定影器内卡纸碎片，更换磨损的进纸搓纸轮（HP RM1-8047），连续打印 50 页测试无卡纸",
          "搓纸轮磨损导致双张进纸"),),
        weight=12,
        desk=(("电话指导用户打开后盖取出卡住的纸张，将纸盒内纸张减至刻度线以下并重新装纸，测试页打印正常",
               "纸盒装纸超过刻度线导致进纸歪斜卡纸"),),
        again=('处理后仍每天卡纸 2–3 次',
               '二次处理：发现纸张受潮，更换为干燥的 80g 纸张并调整纸盒导板，同时更换分页器，连续 3 天打印 800 页无卡纸',
               '纸张受潮且分页器磨损'),
    ),
    Template(
        "vpn-drop", "VPN 连接频繁断开",
        "{user}等 {n} 名出差人员反映 SSL VPN 每隔 10–15 分钟自动断开，需要重新认证。",
        "VPN 网关", F, "网络故障/VPN", "network", (0, 1, 2), (0, 1, 2), (0, 1, 2),
        ("查看 VPN 网关会话日志，断开原因为 DPD 超时",
         "远程抓包确认运营商 NAT 会话老化时间为 600 秒",
         "在测试账号上将 DPD 间隔调整为 30 秒并观察 2 小时"),
        (("在 VPN 网关将 DPD 探测间隔由 300 秒调整为 30 秒并启用 UDP 保活，客户端升级至 7.2.5，"
          "{n} 名用户连续 4 小时测试未再断线",
          "运营商 NAT 会话老化时间短于 VPN 保活间隔，空闲隧道被回收"),),
        weight=14, workaround="临时改用 TCP 443 模式连接 VPN",
        again=('夜间仍有用户约 30 分钟断线一次',
               '二次处理：发现部分用户仍使用 7.1 旧版客户端，强制升级至 7.2.5 并在网关开启客户端版本检查，连续 3 天无断线投诉',
               '部分用户未升级客户端，旧版不支持 UDP 保活'),
    ),
    Template(
        "db-timeout", "数据库连接超时",
        "应用日志大量出现 ORA-12519，{dept}业务系统间歇性报“数据库连接超时”。",
        "Oracle 数据库", F, "数据库/可用性", "database", (1, 2), (1, 2), (1, 2),
        ("检查 Oracle 告警日志和监听日志，发现 ORA-12519 无可用服务处理程序",
         "确认 processes 参数为 300，当前进程数 298",
         "按程序统计会话，定位到报表服务连接池未释放连接"),
        (("将 Oracle processes 参数由 300 调整为 800（sessions 相应调整）并在维护窗口重启实例，"
          "修复报表服务连接池 maxIdle 配置后连接数稳定在 220 左右，应用连接超时消失",
          "报表服务连接池泄漏导致数据库进程数耗尽"),),
        weight=12, workaround="临时清理报表服务 {n2} 个空闲会话，恢复业务连接",
        again=('夜间批处理时段仍出现连接超时',
               '二次处理：将批处理作业连接数上限由 100 限制为 40 并错峰调度，连续 3 晚批处理期间无连接超时',
               '批处理作业并发连接过多，与在线业务争用数据库进程'),
    ),
    Template(
        "mail-external", "邮件无法发送到外部邮箱", "{dept}多名用户发往外部邮箱的邮件被退回，退信提示 550 5.7.1。",
        "邮件系统", F, "软件问题/邮件", "server", (1, 2), (1, 2), (0, 1, 2),
        ("检查出站队列积压 3,200 封，发现出口 IP 被 Spamhaus 列入黑名单",
         "定位到账号 {user} 在 2 小时内群发垃圾邮件", "冻结问题账号并清理队列"),
        (("清理被盗账号发出的垃圾邮件队列 3,200 封并重置其密码、开启登录二次验证，向 Spamhaus 提交解封后"
          "外发恢复，测试发往 QQ/163/Gmail 邮箱均成功",
          "用户弱口令被盗用群发垃圾邮件，出口 IP 被列入黑名单"),),
        weight=8, workaround="临时通过备用出口中继 smtp-relay2 发送外部邮件",
        again=('发往部分政府邮箱的邮件仍被退回',
               '二次处理：为邮件域补充 SPF、DKIM、DMARC 记录并申请出口 IP 反向解析，发往 gov.cn 邮箱测试 20 封全部送达',
               '邮件域缺少 SPF/DKIM 记录，被部分收件方判为可疑邮件'),
    ),
    Template(
        "core-switch", "核心交换机端口故障导致办公区断网",
        "{site} {floor} 层办公区全部断网，核心交换机 Core-SW1 告警“Eth-Trunk1 成员口 down”。",
        "核心交换机", F, "网络故障/局域网", "network", (1, 2), (1, 2), (1, 2),
        ("登录 Core-SW1 查看日志，10GE3/0/1 端口频繁 up/down", "检测光模块收光功率为 -16.8 dBm，低于阈值",
         "更换光模块并检查对端跳线"),
        (("更换 Core-SW1 第 3 槽位故障的 10G 光模块并更换对端 LC 跳线，Eth-Trunk1 两条成员链路恢复，"
          "{site} {n} 个信息点恢复连通，持续 ping 测试丢包率 0%",
          "光模块老化，收光功率低于 -14 dBm 导致链路频繁中断"),),
        weight=8, workaround="将 {site} 汇聚交换机上联临时切换至 Core-SW2",
        again=('高峰期仍出现丢包，未满足连续 24 小时稳定运行的验收标准',
               '二次处理：更换对端配线架老化的 LC 跳线并清洁光口，连续 24 小时监测丢包率 0%',
               '对端配线架跳线老化，光衰偏大'),
    ),
    Template(
        "oa-approval", "OA 审批流程卡在部门领导节点", "“采购申请”流程提交后一直停在部门领导节点，已积压 {n} 条待办。",
        "OA", F, "软件问题/应用系统", "application", (0, 1), (0, 1), (0, 1, 2),
        ("查看流程实例，发现部门领导节点审批人变量指向已离职人员", "与客户确认新的审批人规则"),
        (("将“采购申请”流程部门领导节点的审批人改为按岗位取值，并重新推送 {n} 条积压待办，审批人已收到并处理完毕",
          "组织架构调整后流程节点仍指向离职人员账号"),),
        weight=9,
    ),
    Template(
        "pc-boot", "电脑无法开机", "{dept}{user}的办公电脑按电源键无反应，指示灯不亮。",
        "办公电脑", F, "硬件故障/终端", "desktop", (0, 1, 2), (0,), (0, 1),
        ("上门检测，主机电源指示灯不亮，替换电源适配器测试",),
        (("更换损坏的联想 65W 电源适配器后开机正常，核对用户数据完整无损失", "电源适配器损坏"),
         ("更换故障内存条（8GB DDR4）后自检通过，系统正常启动并完成 2 小时烤机", "内存条金手指氧化接触不良")),
        weight=10,
        again=('使用两天后再次无法开机',
               '二次处理：检测发现主板供电模块电容鼓包，更换主板后连续 3 天使用正常',
               '主板供电电容老化'),
    ),
    Template(
        "account-locked", "域账号被锁定，无法登录电脑", "{user}反映输入正确密码仍提示“账户已被锁定”。",
        "AD 域控", F, "安全/账号权限", "desktop", (0, 1), (0,), (0, 1),
        ("在域控查询锁定来源，锁定事件来自用户手机",),
        (("在 AD 中解锁账号并协助用户重置密码，清除手机邮件客户端保存的旧密码，用户已正常登录",
          "修改密码后手机邮件客户端仍使用旧密码反复认证导致账号锁定"),),
        weight=10,
        desk=(("在 AD 中解锁账号并协助用户重置密码，指导用户在手机邮件客户端更新密码，用户已正常登录",
               "修改密码后手机邮件客户端仍使用旧密码反复认证导致账号锁定"),),
    ),
    Template(
        "oa-delegate", "如何在 OA 中设置出差期间的代理审批", "{user}下周出差，询问如何让副经理代为审批 OA 流程。",
        "OA", C, "咨询/使用指导", "application", (0, 1), (0,), (0, 1),
        ("整理代理审批设置步骤截图",),
        (("书面答复并发送操作手册第 4.3 节：在 OA“个人设置-代理设置”中设置代理人及起止日期，用户已设置成功",
          "用户不熟悉代理审批功能"),),
        weight=7,
        desk=(("电话指导用户在 OA“个人设置-代理设置”中设置 {d1} 至 {d2} 由副经理代理审批，用户现场操作成功",
               "用户不熟悉代理审批功能"),),
    ),
    Template(
        "vpn-howto", "VPN 客户端安装咨询", "{user}新领笔记本电脑，询问 VPN 客户端下载地址和安装方法。",
        "VPN 网关", C, "咨询/使用指导", "network", (0, 1), (0,), (0, 1),
        ("发送客户端下载地址和安装说明",),
        (("发送 VPN 客户端 7.2.5 下载地址及安装说明，远程协助完成安装并用令牌登录成功",
          "新员工未获得 VPN 使用说明"),),
        weight=6,
        desk=(("电话指导用户从内网门户下载 VPN 客户端 7.2.5 并完成安装，用户使用令牌登录测试成功",
               "新员工未获得 VPN 使用说明"),),
    ),
    Template(
        "backup-consult", "数据库备份策略咨询", "客户准备等保测评，询问生产数据库的备份方式、频率和保留周期。",
        "Oracle 数据库", C, "咨询/技术方案", "database", (0, 1), (0, 1, 2), (1, 2),
        ("整理生产库现有 RMAN 备份配置", "核对近 30 天备份成功记录"),
        (("提交书面答复：生产库采用 RMAN 每周日 0 级全备 + 每日 1 级增量 + 归档每 2 小时备份，保留 30 天，"
          "附近 30 天备份成功记录及季度恢复演练计划",
          "等保测评需要提供备份策略说明"),),
        weight=4,
    ),
    Template(
        "slow-report", "月报查询缓慢，需优化", "{dept}反映月度销售报表查询需 90 秒以上，希望优化到 5 秒以内。",
        "Oracle 数据库", O, "数据库/性能", "database", (0, 1), (1, 2), (1, 2),
        ("采集 AWR 报告，定位 TOP SQL 为月报明细查询", "分析执行计划，SALES_DETAIL 表全表扫描",
         "在测试库验证分区与索引方案"),
        (("为 SALES_DETAIL 表按月建立分区并新增 (ORG_ID, BILL_DATE) 复合索引，重写月报 SQL 去除隐式类型转换，"
          "查询时间由 96 秒降至 3.2 秒",
          "大表全表扫描，且 SQL 存在隐式类型转换导致索引失效"),),
        weight=5,
    ),
    Template(
        "mailbox-quota", "邮箱容量不足，申请扩容", "{dept}{n} 名用户邮箱频繁提示容量已满，申请统一扩容。",
        "邮件系统", O, "软件问题/邮件", "server", (0, 1), (1, 2), (0, 1),
        ("统计{dept}邮箱使用量，平均使用率 93%", "新建邮箱数据库 DB05 并迁移邮箱"),
        (("将{dept}{n} 个邮箱配额由 2GB 调整为 5GB，新增 Exchange 数据库 DB05 承载并完成迁移，容量告警已消除",
          "邮箱配额仍按 2018 年标准设置，不满足当前业务量"),),
        weight=5,
    ),
    Template(
        "wifi-meeting", "会议室无线信号弱", "{site} {floor} 层大会议室无线信号弱，视频会议经常卡顿。",
        "无线网络", O, "网络故障/无线", "network", (0, 1), (0, 1), (0, 1),
        ("现场测试信号强度 -78 dBm，与相邻 AP 同信道", "勘测新增 AP 位置"),
        (("在 {site} {floor} 层大会议室新增 1 台 AP（华为 AirEngine 5760），并将信道由 1 调整为 6/11 错开，"
          "实测信号强度由 -78 dBm 提升至 -52 dBm",
          "会议室距原 AP 过远且与相邻 AP 同信道干扰"),),
        weight=5,
    ),
    Template(
        "new-hire-pc", "新员工电脑安装部署", "{dept}本月入职 {n} 人，需要安装部署办公电脑。",
        "办公电脑", D, "交付/终端部署", "desktop", (0, 1), (0, 1), (0, 1),
        ("按标准镜像安装 Windows 11 企业版并加域", "安装 Office、杀毒软件、OA 客户端"),
        (("完成 {n} 台新员工电脑的系统安装（Windows 11 企业版）、加域及 Office/杀毒/OA 客户端安装，逐台登录验证，"
          "资产编号已登记入台账",
          "新员工入职批量部署需求"),),
        weight=6,
    ),
    Template(
        "vpn-accounts", "新增 VPN 账号开通", "{dept}新项目组 {n} 名员工需开通 VPN 远程办公账号。",
        "VPN 网关", D, "安全/账号权限", "network", (0, 1), (0, 1), (0, 1, 2),
        ("核对审批单及人员名单", "创建账号并绑定双因素令牌"),
        (("为{dept}{n} 名员工开通 SSL VPN 账号，绑定双因素令牌并授予 ERP/OA 访问策略，逐一测试登录成功并发送使用说明",
          "新项目组远程办公需要"),),
        weight=5,
    ),
    Template(
        "disk-alarm", "服务器磁盘空间告警", "监控告警：文件服务器 fs01 D 盘使用率 97%。",
        "文件服务器", F, "硬件故障/服务器", "server", (1, 2), (1,), (1, 2),
        ("分析 D 盘占用，应用日志目录占用 420GB", "与客户确认日志保留周期为 30 天"),
        (("清理 fs01 D 盘 30 天前的应用日志和临时文件共 420GB，配置日志按天轮转及 85% 容量告警，当前使用率 61%",
          "应用日志未配置轮转，持续写满磁盘"),),
        weight=6, workaround="先将日志目录临时迁移到 E 盘，释放 D 盘空间",
        again=('磁盘告警每天仍出现一次，未彻底消除',
               '二次处理：发现另一应用的日志级别为 DEBUG，调整为 INFO 并纳入日志轮转，连续 3 天磁盘使用率稳定在 60% 左右',
               '另一应用开启 DEBUG 日志，每天新增约 40GB'),
    ),
    Template(
        "ups", "机房 UPS 告警", "{site}机房 UPS 面板告警“电池需要更换”，后备时间显示仅 6 分钟。",
        "机房 UPS", F, "硬件故障/机房设施", "server", (1, 2), (1, 2), (2,),
        ("现场检查，第 2 组电池 4 节鼓包", "联系厂商备件"),
        (("更换 UPS 第 2 组 4 节鼓包电池（12V 100Ah），放电测试后备时间恢复至 35 分钟，告警消除",
          "电池使用超过 5 年，容量衰减"),),
        weight=3,
    ),
    Template(
        "storage-disk", "存储阵列硬盘告警", "存储阵列 Unity 480 发出硬盘预失效告警，1 柜 7 槽亮黄灯。",
        "存储阵列", F, "硬件故障/服务器", "server", (1, 2), (1, 2), (2,),
        ("收集阵列日志并报修厂商", "确认热备盘已接管，RAID 处于降级状态"),
        (("更换存储 Unity 480 第 1 柜第 7 槽故障硬盘（1.8TB SAS），RAID 重构完成，阵列状态恢复 Healthy",
          "硬盘介质错误累计超过阈值"),),
        weight=4,
    ),
    Template(
        "video-audio", "视频会议系统无声音", "{site}大会议室视频会议对方听不到本方声音，今天下午有重要会议。",
        "视频会议系统", F, "硬件故障/终端", "desktop", (1, 2), (0, 1), (1, 2),
        ("现场测试，麦克风输入第 4 路无信号", "更换输入模块"),
        (("更换会议室音频矩阵第 4 路故障的麦克风输入模块，并将终端音频输入重新配置为数字阵列麦克风，"
          "与对端双向通话测试清晰",
          "音频矩阵输入模块损坏"),),
        weight=5,
        again=('另一会议室同型号设备也出现无声',
               '二次处理：将两间会议室的音频矩阵固件升级至 V3.2，并更换第二间会议室的输入模块，双向通话测试清晰',
               '音频矩阵固件缺陷导致输入模块过热损坏'),
    ),
    Template(
        "web-slow", "门户网站访问缓慢", "内外网用户反映门户网站打开需要 10 秒以上。",
        "门户网站", F, "网络故障/广域网", "network", (1, 2), (1, 2), (0, 1, 2),
        ("查看出口流量，200M 带宽占用 95%", "定位到 P2P 下载流量"),
        (("在防火墙上对 P2P 应用限速 10M 并启用按用户流控策略，门户访问时延由 2.3 秒恢复至 180 毫秒",
          "内部终端大流量下载占满互联网出口带宽"),),
        weight=5,
        again=('下班后门户访问仍然缓慢',
               '二次处理：发现夜间异地备份占用出口带宽，将备份调整到 01:00–05:00 并限速 50M，晚间门户访问时延稳定在 200 毫秒以内',
               '异地备份任务占用互联网出口带宽'),
    ),
    Template(
        "virus", "防病毒软件报毒", "{user}的电脑防病毒软件提示发现木马，已断开网络。",
        "办公电脑", F, "安全/病毒", "desktop", (1, 2), (0, 1), (1, 2),
        ("断网后全盘查杀", "检查同网段终端是否感染"),
        (("隔离并清除终端上的 Trojan.Win32.Agent 木马文件 3 个，断网全盘查杀后无残留，修补 MS17-010 漏洞并将病毒库更新至最新",
          "用户打开了钓鱼邮件附件"),),
        weight=5,
        again=('次日同网段另一台终端再次报毒',
               '二次处理：对同网段 46 台终端全盘查杀并清除 2 台感染终端，在邮件网关按主题和附件哈希拦截该钓鱼邮件，连续 3 天无新增报毒',
               '钓鱼邮件同时发给了同部门多名员工'),
    ),
    Template(
        "oracle-readonly", "需要开通 Oracle 只读账号用于报表", "数据分析项目需要一个只读数据库账号连接生产库出报表。",
        "Oracle 数据库", D, "安全/账号权限", "database", (0,), (0, 1), (0, 1),
        ("核对审批单，确认授权范围为 SALES/FIN", "创建账号并配置资源限制"),
        (("在生产库创建只读账号 RPT_READ，仅授予 SALES/FIN 两个 schema 的 SELECT 权限并限制最大会话数 20，"
          "已验证报表工具连接正常",
          "数据分析项目需要只读访问"),),
        weight=3,
    ),
    Template(
        "core-optimise", "核心交换机链路负载优化", "核心交换机上联链路利用率不均衡，主链路高峰期 85%，备链路几乎空闲。",
        "核心交换机", O, "网络故障/局域网", "network", (0,), (1, 2), (1, 2),
        ("采集两周链路利用率数据", "制定 MSTP 多实例方案并在测试环境验证"),
        (("在 Core-SW1/SW2 上启用 MSTP 多实例负载分担并调整 VRRP 优先级，主备切换测试收敛时间由 30 秒缩短至 1.5 秒，"
          "两条上联链路高峰利用率均在 45% 左右",
          "原配置为单实例 STP，链路利用不均衡"),),
        weight=3,
    ),
    Template(
        "scada-net", "调度数据网交换机告警", "调度数据网接入交换机 {host} 上报 CPU 利用率 95% 告警。",
        "调度数据网", F, "网络故障/广域网", "network", (1, 2), (1, 2), (2,),
        ("查看 CPU 占用进程，ARP 报文异常增多", "定位到下联端口存在环路"),
        (("关闭 {host} 下联环路端口 GE0/0/12 并启用环路检测与 ARP 限速，CPU 利用率降至 12%，调度业务通信正常",
          "现场施工误接网线形成二层环路"),),
        weight=5, customers=("power",),
    ),
    Template(
        "netbank-timeout", "网银转账偶发超时", "部分客户通过网银转账时偶发“交易超时”，当日约 {n} 笔。",
        "网上银行系统", F, "软件问题/应用系统", "application", (1, 2), (1, 2), (2,),
        ("分析交易日志，超时集中在调用核心系统的前置接口", "检查前置机线程池配置"),
        (("将网银前置机调用核心系统的线程池由 50 扩至 150 并将超时由 60 秒调整为 15 秒快速失败重试，"
          "连续 3 个交易日无超时交易",
          "前置机线程池过小，高峰期请求排队超时"),),
        weight=5, customers=("bank",),
        again=('月末高峰仍有少量超时交易',
               '二次处理：核心系统侧增加 2 个交易处理进程并调整前置机负载均衡权重，月末高峰交易零超时',
               '核心系统交易处理进程不足'),
    ),
    Template(
        "his-slow", "HIS 门诊挂号缓慢", "门诊挂号窗口每笔挂号需要 30 秒以上，患者排队严重。",
        "HIS", F, "软件问题/应用系统", "application", (2,), (1, 2), (2,),
        ("抓取线程栈，挂号线程阻塞在医保接口调用", "与医保前置机厂商联合排查"),
        (("将挂号模块调用医保接口的超时由 30 秒调整为 5 秒并改为异步重试，应用线程池扩至 200，"
          "高峰期挂号响应恢复至 1 秒以内",
          "医保前置机响应慢导致 HIS 线程池阻塞"),),
        weight=6, workaround="临时开放 2 个人工挂号窗口并启用离线挂号",
        customers=("hospital",),
        again=('上午高峰期仍有挂号超过 10 秒',
               '二次处理：与医保前置机厂商协同扩容为 2 台负载均衡，并为 HIS 医保接口增加连接池，高峰期挂号响应稳定在 1 秒以内',
               '医保前置机单机处理能力不足'),
    ),
    Template(
        "wms-scanner", "WMS 扫码枪无法上传出库单", "{site}仓库扫码枪上传出库单失败，提示“网络连接错误”。",
        "WMS 仓储系统", F, "网络故障/无线", "network", (1, 2), (1,), (1, 2),
        ("现场测试仓库无线信号，货架区信号 -82 dBm", "检查 AP 状态，2 台 AP 离线"),
        (("更换 {site}仓库 2 台离线 AP 的 PoE 供电模块并调整天线方向，货架区信号提升至 -60 dBm，"
          "扫码枪上传出库单测试 100 笔全部成功",
          "AP 的 PoE 供电模块故障导致 AP 离线"),),
        weight=5, customers=("logistics",),
        again=('冷库区扫码枪仍偶发上传失败',
               '二次处理：在冷库区新增 1 台低温型 AP 并调整漫游阈值，冷库区上传 200 笔测试全部成功',
               '冷库区无线覆盖不足，扫码枪漫游不及时'),
    ),
    Template(
        "outlook-prompt", "Outlook keeps prompting for password",
        "{user} says Outlook asks for the password every few minutes since this morning.",
        "邮件系统", F, "软件问题/邮件", "desktop", (0, 1), (0,), (0, 1),
        ("Checked Windows Credential Manager: two stale Office credentials",),
        (("Cleared the cached credentials in Windows Credential Manager, re-created the Outlook profile and "
          "enabled modern authentication; the user confirmed no more prompts after a restart",
          "Stale cached credentials after the password change"),),
        weight=4,
        desk=(("Guided the user by phone to delete the two stale Office entries in Credential Manager and "
               "restart Outlook; signed in once with the new password, no more prompts",
               "Stale cached credentials after the password change"),),
        again=('The password prompts came back the next morning',
               'Second fix: removed the legacy Office 2013 credential provider and set the AlwaysUseMSOAuthForAutoDiscover registry value; no prompts for 3 days',
               'A legacy credential provider kept asking for basic authentication'),
    ),
    Template(
        "share-access", "Cannot access shared drive \\\\fs01\\finance",
        "{user} from {dept} gets 'Access denied' on the finance share since the department move.",
        "文件服务器", F, "安全/账号权限", "server", (0, 1), (0, 1), (1,),
        ("Checked the share ACL and the user's AD group membership",),
        (("Added the user back to AD group FS-Finance-RW (removed by the department transfer script); "
          "after logging in again the user can read and write the share",
          "Group membership removed by the department transfer script"),),
        weight=3,
    ),
    Template(
        "visio", "Request: install Visio on workstation", "{user} needs Microsoft Visio for process diagrams (approved by the head of {dept}).",
        "办公电脑", D, "交付/软件安装", "desktop", (0,), (0,), (0, 1),
        ("Checked the approval and took a licence from the volume pool",),
        (("Installed Microsoft Visio 2021 Standard with a key from volume pool VL-2021-07, activated it and "
          "opened a test drawing together with the user",
          "New software request approved by the department head"),),
        weight=3,
    ),
    Template(
        "sapgui-tls", "SAP GUI connection error after Windows update",
        "After last night's Windows update SAP GUI on {n} PCs in {dept} fails with 'partner not reached'.",
        "ERP", F, "软件问题/应用系统", "application", (1, 2), (0, 1), (1, 2),
        ("Reproduced on a test PC: the TLS handshake fails after the update",
         "Checked the SAP GUI release notes for TLS 1.2 support"),
        (("Updated SAP GUI to 7.70 patch 9 (TLS 1.2 capable) on the {n} affected PCs through software "
          "distribution; the connection to ERP PRD was tested OK on each PC",
          "The Windows update disabled TLS 1.0, still used by the old SAP GUI"),),
        weight=3, workaround="Uninstalled the update on two PCs so that month-end posting could continue",
        again=('Two PCs still fail to connect',
               'Second fix: the two PCs had a hosts entry for the retired message server; removed it and updated the SAP Logon landscape file, both connect to ERP PRD',
               'A stale hosts entry pointed to the retired message server'),
    ),
    Template(
        "excel-export", "How do I export the monthly report to Excel?",
        "{user} asks how to get the monthly report out of the reporting module as an Excel file.",
        "ERP", C, "咨询/使用指导", "application", (0,), (0,), (0, 1),
        ("Prepared the knowledge-base guide for the export",),
        (("Sent the 2-page knowledge-base guide (Reports > Monthly > Export, format XLSX); the user exported "
          "the report successfully",
          "User new to the reporting module"),),
        weight=3,
        desk=(("Walked the user through Reports > Monthly > Export with format XLSX on the phone; the user "
               "exported the report successfully",
               "User new to the reporting module"),),
    ),
)

DEFAULT_ITEMS: dict[TicketType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    F: (("故障处理：{title}", "处理过程记录（问题处理跟踪表）"),
        ("{system}功能恢复正常，客户现场验证通过", "连续观察 24 小时无同类告警")),
    C: (("书面答复及操作指导",), ("客户确认答复内容完整、可自行操作",)),
    O: (("优化实施：{title}", "优化前后对比数据"), ("优化指标达到申请中的目标", "试运行 3 天无异常")),
    D: (("交付内容：{title}", "交付清单及配置记录"), ("交付物逐项核对无误", "用户验证可正常使用")),
}

WAIT_REASONS: dict[str, tuple[str, ...]] = {
    "network": ("需客户安排非业务时间的割接窗口", "等待客户提供终端 IP 地址及故障发生时间点"),
    "database": ("需客户业务部门确认可接受的停机时间", "等待客户授权远程登录数据库服务器"),
    "desktop": ("用户出差，约定返回后上门处理", "等待客户完成备件采购审批"),
    "application": ("等待客户提供报错截图及复现步骤", "需客户业务负责人确认配置变更"),
    "server": ("等待备件到货（厂商承诺下一工作日送达）", "需客户安排机房进入审批"),
}
FOLLOW_UP_WORK: dict[str, tuple[str, ...]] = {
    "network": ("复核相关设备配置与日志，确认无其他异常", "持续 ping 与流量监测 2 小时，确认无丢包"),
    "database": ("复核数据库参数、会话统计及告警日志", "配合应用侧回归测试，观察连接数与等待事件"),
    "desktop": ("与用户一起复核常用业务操作，确认恢复正常", "检查终端系统日志及驱动状态"),
    "application": ("检查应用日志并复现问题场景", "在测试环境验证配置修改后再实施到生产"),
    "server": ("检查系统日志与监控指标，确认无其他异常", "复核监控告警阈值与采集状态"),
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
            self.work(rng.randint(1, 2), follow_up=True)
            if s == "rejected_in_progress":
                return
            self.resolve(second=True)
            self.accept()
            self.feedback(improvement=rng.random() < 0.5)
            return
        if s.startswith("reopened"):
            self.accept()
            if rng.random() < 0.5:
                self.feedback(improvement=False)
            self.reopen()
            self.work(rng.randint(1, 2), follow_up=True)
            if s == "reopened_in_progress":
                return
            self.resolve(second=True)
            self.accept()
            self.feedback(improvement=True)
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
