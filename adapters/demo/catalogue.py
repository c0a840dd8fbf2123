"""The demo's service catalogue (ADR 0061): three services of the source documents' kinds,
defined through the real commands, and a request through each: a VPN account approved by the
manager (its clocks start at the approval, not when it was asked for), a laptop the
customer's own approver has not decided yet (``awaiting_approval``), and a software
installation the manager refused. ``/ui/catalogue`` and the tickets show them.
"""

from __future__ import annotations

from adapters.demo.steps import stepper
from application.commands.service_catalogue import ApproveRequest, PutService, RejectRequest
from application.commands.tickets import RegisterTicket
from application.customers import list_customers
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.service_catalogue import ServiceDefinition
from domain.ticket import Contact

MANAGER = "mgr-yang"  # the demo's manager defines the services and decides the requests
AGENT = "agent-zhang"
#: The tickets the demo registers through the catalogue (the demo's tests count them).
DEMO_REQUESTS = 3

SERVICES = {
    "vpn-access": dict(
        name="VPN 账号开通", name_en="VPN account", service_class="responsive",
        approval="manager", category="账号权限", deliverable="日常维护单",
        form_schema={
            "type": "object", "required": ["account", "days"],
            "properties": {
                "account": {"type": "string", "title": "账号", "pattern": "^[a-z][a-z0-9.]*$"},
                "days": {"type": "integer", "title": "有效天数", "minimum": 1, "maximum": 365},
                "reason": {"type": "string", "title": "用途", "maxLength": 200}},
            "additionalProperties": False}),
    "new-laptop": dict(
        name="办公电脑配发", name_en="New laptop", service_class="proactive",
        approval="customer", category="终端服务", deliverable="资产清单",
        form_schema={
            "type": "object", "required": ["user", "model"],
            "properties": {
                "user": {"type": "string", "title": "使用人"},
                "model": {"type": "string", "title": "型号", "enum": ["标准办公本", "高性能工作站"]},
                "needed_by": {"type": "string", "title": "需要日期", "format": "date"}}}),
    "software-install": dict(
        name="软件安装", name_en="Software installation", service_class="responsive",
        approval="manager", category="软件", deliverable="日常维护单",
        form_schema={
            "type": "object", "required": ["software"],
            "properties": {"software": {"type": "string", "title": "软件名称"},
                           "licensed": {"type": "boolean", "title": "已有授权"}}}),
}

REQUESTS = (
    ("vpn-access", "VPN 账号开通：出差访问 ERP", {"account": "li.si", "days": 30,
                                              "reason": "出差期间访问 ERP"}, "approve"),
    ("new-laptop", "办公电脑配发：新员工", {"user": "新员工 王五", "model": "标准办公本"}, None),
    ("software-install", "软件安装：绘图软件", {"software": "某绘图软件", "licensed": False},
     "reject"),
)


def add_demo_catalogue(desk: ServiceDesk, clock: FixedClock) -> list[str]:
    """Defines the services and submits a request through each; the requests' numbers (none
    when no customer is registered)."""
    run = stepper(desk, clock, MANAGER)
    for slug, fields in SERVICES.items():
        run(PutService(slug=slug, definition=ServiceDefinition.parse(**fields)))
    customers = list_customers(desk)
    if not customers:
        return []
    customer = customers[0].customer
    numbers = []
    for slug, title, form, decision in REQUESTS:
        clock.advance(minutes=5)
        ticket = desk.handle(RegisterTicket(
            customer=customer, contact=Contact("李四", "13800005678", "li@example.com"),
            channel="web", title=title, service_id=slug, form=form), actor=AGENT).ticket
        numbers.append(ticket.number)
        clock.advance(hours=1)
        if decision == "approve":
            desk.handle(ApproveRequest(ref=ticket.number), actor=MANAGER)
        elif decision == "reject":
            desk.handle(RejectRequest(ref=ticket.number, reason="该软件无有效授权，请先走采购流程"),
                        actor=MANAGER)
    return numbers
