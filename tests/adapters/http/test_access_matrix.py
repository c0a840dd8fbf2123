"""The authorization matrix (issue 7, ADR 0036): every operation of the OpenAPI document has a
rule, docs/authorization.md is generated from the rules, and every operation is called with
every role: an allowed role is never refused, any other role gets ``403``.

Then the isolation promise: a requester of one customer sees nothing of another anywhere
(``404`` for its records, exactly as for an unknown id; lists, searches, histories and
reports without its rows or words, nor the words of staff records such as problems; issue
16), and roles that do not need contact data see it masked in every answer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from adapters.http.access import ADMIN, ENGINEER, REQUESTER, ROLES, RULES, render_matrix
from tests.fixtures_http import API, CLASSIFICATION, Api, ticket_body

ROOT = Path(__file__).resolve().parents[3]
ADMIN_TOKEN = "bootstrap-admin-token"
PHONE, EMAIL, NAME = "13800005678", "li@example.com", "李四"
INTERFACE = "周接口人"  # the customer's interface person (ADR 0043: personal data)
B_PHONE = "13900001234"


@pytest.fixture
def http_store() -> str:
    return "sqlite"


class World:
    """Two customers, a user and a token per role, and one record of every kind (A's)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for c in ("客户A", "客户B"):
            self.ok(self.post("/customers", {"id": c, "name": c}), 201)
        self.tokens: dict[str, dict[str, str]] = {}
        for role in ROLES:
            extra: dict[str, Any] = {"customer": "客户A"} if role == REQUESTER else {}
            if role == ENGINEER:
                extra["groups"] = ["ops"]
            self.tokens[role] = self.user(f"u-{role}", role, **extra)
        self.tokens["requester-b"] = self.user("u-requester-b", REQUESTER, customer="客户B")
        self.user("target", ENGINEER)
        self.target_token = self.ok(self.post("/users/target/tokens", {}), 201)["token_id"]
        self.ticket = self.ok(self.post("/tickets", ticket_body(**CLASSIFICATION)), 201)
        self.ok(self.post(f"/tickets/{self.ticket['id']}/assign",
                          {"assignee": "u-engineer", "interface_person": INTERFACE}))
        self.ticket_b = self.ok(self.post("/tickets", ticket_body(
            customer="客户B", contact={"name": "赵六", "phone": B_PHONE}, title="打印机卡纸",
            description="三楼打印机频繁卡纸", affected_system="打印机")), 201)
        self.problem = self.ok(self.post("/problems", {
            "title": "数据库连接超时", "description": "高峰期超时", "tickets": [self.ticket["id"]]}), 201)
        self.change = self.ok(self.post("/changes", {
            "kind": "normal", "origin": self.ticket["id"], "title": "ERP 内存扩容",
            "description": "解决登录缓慢"}), 201)
        self.article = self.ok(self.post("/knowledge", {
            "title": "连接超时", "symptoms": "高峰期超时", "solution": "调大连接池", "tags": ["db"]}), 201)
        # An article for the customers too (ADR 0052): requesters read it, and only it.
        self.public_article = self.ok(self.post("/knowledge", {
            "title": "如何重置打印队列", "symptoms": "打印任务卡住", "solution": "重启打印服务",
            "audience": "public"}), 201)
        self.project = self.ok(self.post("/projects", {
            "name": "客户A 2026 运维", "customer": "客户A",
            "contract": {"number": "HT-2026-001", "services": ["巡检"], "start": "2026-11-01",
                         "end": "2027-10-31", "budget": "120万"},
            "sla_policy": "default", "calendar": "china-5x8"}), 201)
        # Customer B's own project; the problem recorded from A's ticket is linked to B's
        # ticket too, and a change is raised from it: B's report counts both (issue 16).
        self.project_b = self.ok(self.post("/projects", {
            "name": "客户B 2026 桌面运维", "customer": "客户B",
            "contract": {"number": "HT-2026-002", "services": ["桌面"], "start": "2026-11-01",
                         "end": "2027-10-31"},
            "sla_policy": "default", "calendar": "china-5x8"}), 201)
        self.ok(self.post(f"/problems/{self.problem['id']}/link_ticket",
                          {"ticket_id": self.ticket_b["id"]}))
        self.problem_change = self.ok(self.post("/changes", {
            "kind": "normal", "origin": self.problem["id"], "title": "客户A 数据库连接池扩容",
            "description": "客户A 高峰期连接数翻倍"}), 201)
        r = api.client.put(f"{API}/standard-changes/os-patch", headers=self.admin, json={
            "name": "操作系统月度补丁", "systems": ["ERP"], "steps": ["快照", "打补丁"],
            "risk": "low", "approved_by": "变更委员会"})
        assert r.status_code == 201, r.text
        # A file on each customer's ticket, public (ADR 0056): every role reads A's.
        self.attachment, self.attachment_b = (self.attached(c, t) for c, t in (
            ("客户A", self.ticket), ("客户B", self.ticket_b)))
        # Planned maintenance announced to each customer (ADR 0060).
        self.announcement, self.announcement_b = (self.ok(self.post("/announcements", {
            "scope": {"customers": [c]}, "starts": "2026-12-01T22:00:00+08:00",
            "ends": "2026-12-02T02:00:00+08:00", "title": title, "body": title}), 201)
            for c, title in (("客户A", "客户A 机房停电检修"), ("客户B", "客户B 打印服务器迁移")))
        # A hidden risk of each customer (ADR 0067).
        self.risk, self.risk_b = (self.ok(self.post("/risks", {
            "customer": c, "title": title, "severity": "high", "due": "2026-12-31"}), 201)
            for c, title in (("客户A", "客户A 核心交换机单电源"), ("客户B", "客户B 防火墙策略过宽")))
        # A major incident on A's (P1) ticket (ADR 0067).
        self.major_incident = self.ok(self.post("/major-incidents", {
            "ticket": self.ticket["id"]}), 201)
        # An SLA and a complaint of each customer (ADR 0066).
        self.agreement, self.agreement_b = (self.ok(self.post("/agreements", {
            "kind": "sla", "title": title, "customer": c, "valid_from": "2026-01-01",
            "valid_to": "2026-12-31"}), 201)
            for c, title in (("客户A", "客户A 年度运维 SLA"), ("客户B", "客户B 桌面运维 SLA")))
        self.complaint, self.complaint_b = (self.ok(self.post("/complaints", {
            "about": "ticket", "ticket": t["id"], "description": words,
            "contact": {"name": who, "phone": phone}}), 201)
            for t, words, who, phone in ((self.ticket, "客户A 投诉响应太慢", NAME, PHONE),
                                         (self.ticket_b, "客户B 投诉态度差", "赵六", B_PHONE)))
        # A service of the catalogue (ADR 0061).
        r = api.client.put(f"{API}/catalogue/vpn-access", headers=self.admin, json={
            "name": "VPN 开通", "class": "responsive", "form_schema": {"type": "object"},
            "approval": "customer", "sla_policy": "default"})
        assert r.status_code == 201, r.text
        # A repair order of each customer (ADR 0065): each ticket's PC sent to a vendor.
        self.repair, self.repair_b = (self.repair_of(t, c) for t, c in (
            (self.ticket, "客户A"), (self.ticket_b, "客户B")))
        # A message in the mail intake's quarantine (ADR 0057).
        self.quarantined = api.services.quarantine.add(
            b"Subject: kept\r\n\r\nno sender", key="mail:matrix", reason="malformed",
            source="smtp:127.0.0.1", sender="", subject="kept", at=api.clock.now())[0].id
        # A configuration item of each customer (ADR 0063).
        self.ci, self.ci_b = (self.ok(self.post("/cis", {"class": "server", "name": n,
                                                         "customer": c}), 201)
                              for c, n in (("客户A", "客户A-db-01"), ("客户B", "客户B-fw-01")))
        # Spare parts and a field visit on A's ticket (ADR 0064).
        r = api.client.put(f"{API}/warehouses/gz-main", headers=self.admin,
                           json={"name": "广州备件库"})
        assert r.status_code == 201, r.text
        self.ok(self.post("/warehouses/gz-main/receive", {
            "part_number": "HDD-600G", "description": "600G 硬盘", "quantity": 5}))
        self.requisition = self.ok(self.post("/requisitions", {
            "ticket": self.ticket["id"], "warehouse": "gz-main", "part_number": "HDD-600G"}),
            201)
        self.visit = self.ok(self.post(f"/tickets/{self.ticket['id']}/visits", {
            "engineer": "u-engineer", "planned_arrival": "2026-11-21T03:00:00+08:00",
            "note": "客户A 机房门禁找周工"}), 201)

    def repair_of(self, ticket: dict[str, Any], customer: str) -> Any:
        from application.commands.cis import CiFields, RegisterCi
        pc = self.api.services.desk.handle(RegisterCi(item=CiFields(
            name="PC", ci_class="pc", customer=customer)), actor="admin").aggregate
        return self.ok(self.post("/repairs", {"ticket": ticket["id"], "ci": pc.number,
                                              "vendor": "联想", "fault": "无法开机",
                                              "warranty": "out"}), 201)

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self.api.client.post(f"{API}{path}", json=body, headers=headers or self.admin)

    def attached(self, customer: str, ticket: dict[str, Any]) -> Any:
        from application.commands.tickets import Comment
        f = self.ok(self.api.client.post(f"{API}/attachments", headers=self.admin,
                                         files={"file": (f"{customer}.txt", customer.encode())},
                                         data={"customer": customer}), 201)
        self.api.services.desk.handle(Comment(ref=ticket["id"], body="附件", attachments=(
            f["id"],)), actor="admin")
        return f

    @staticmethod
    def ok(r: Any, status: int = 200) -> Any:
        assert r.status_code == status, r.text
        return r.json()

    def user(self, user_id: str, role: str, **extra: Any) -> dict[str, str]:
        self.ok(self.post("/users", {"id": user_id, "name": user_id, "roles": [role], **extra}), 201)
        token = self.ok(self.post(f"/users/{user_id}/tokens", {}), 201)["token"]
        return {"Authorization": f"Bearer {token}"}

    def path_for(self, template: str, *, own: bool = True) -> str:
        """``template`` with its parameters naming existing records (customer A's, or B's
        ticket when ``own`` is false for customer B's requester...)."""
        collection = template.split("/")[3]
        refs = {"tickets": self.ticket["id"], "problems": self.problem["id"],
                "changes": self.change["id"], "knowledge": self.public_article["id"],
                "projects": self.project["id"], "calendars": "china-5x8",
                "sla-policies": "default", "standard-changes": "os-patch", "users": "target",
                "customers": "客户A", "queues": "unassigned",
                "announcements": self.announcement["id"],
                "risks": self.risk["id"],
                "major-incidents": self.major_incident["id"],
                "agreements": self.agreement["id"], "complaints": self.complaint["id"],
                "attachments": self.attachment["id"]}
        refs["repairs"] = self.repair["id"]  # ADR 0065
        refs["cis"] = self.ci["id"]  # ADR 0063
        refs["warehouses"] = "gz-main"  # ADR 0064
        refs["requisitions"] = self.requisition["id"]
        values = {"ref": refs.get(collection, ""), "slug": refs.get(collection, ""),
                  "customer": "客户A", "name": "unassigned", "assignee": "u-engineer",
                  "period": "2026-11", "token_id": self.target_token, "user": "target",
                  "id": self.quarantined}
        values["service_id"] = "vpn-access"  # the catalogue's service (ADR 0061)
        values["visit"] = values["number"] = self.visit["number"]  # ADR 0064
        path = template
        for key, value in values.items():
            path = path.replace("{" + key + "}", str(value))
        assert "{" not in path, f"no test value for a parameter of {template}"
        return path

    def call(self, method: str, path: str, headers: dict[str, str]) -> Any:
        if method == "GET":
            return self.api.client.get(path, headers=headers)
        return self.api.client.request(method, path, json={}, headers=headers)


@pytest.fixture
def world(make_api: Any) -> World:
    return World(make_api(admin_token=ADMIN_TOKEN))


def _operations(api: Api) -> list[tuple[str, str]]:
    doc = api.client.get("/schema/openapi.json").json()
    return [(m.upper(), path) for path, ops in doc["paths"].items() for m in ops
            if m in ("get", "post", "put", "patch", "delete")]


PUBLIC = {("GET", "/healthz")}


def test_every_operation_has_a_rule_and_every_rule_an_operation(make_api):
    ops = {f"{m} {p}" for m, p in _operations(make_api()) if (m, p) not in PUBLIC}
    assert sorted(ops - set(RULES)) == [], "routes without an entry in adapters/http/access.py RULES"
    assert sorted(set(RULES) - ops) == [], "rules for routes that do not exist"


def test_the_documented_matrix_is_the_code():
    assert (ROOT / "docs" / "authorization.md").read_text(encoding="utf-8") == render_matrix(), (
        "regenerate: python -m adapters.http.access > docs/authorization.md")


def test_every_operation_with_every_role(world):
    refused: list[str] = []
    wrongly_refused: list[str] = []
    for method, template in _operations(world.api):
        if (method, template) in PUBLIC:
            continue
        rule = RULES[f"{method} {template}"]
        path = world.path_for(template)
        for role in ROLES:
            r = world.call(method, path, world.tokens[role])
            allowed = role in rule.roles or role == ADMIN
            where = f"{role} {method} {template} -> {r.status_code} {r.text[:160]}"
            if allowed and r.status_code in (401, 403, 404):
                wrongly_refused.append(where)
            if not allowed and r.status_code != 403:
                refused.append(where)
            assert r.status_code < 500, where
    assert wrongly_refused == []
    assert refused == [], "roles outside the rule must get 403"


def test_no_token_or_a_bad_token_is_401_and_health_needs_none(world):
    client = world.api.client
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": "Bearer olt_" + "0" * 60}):
        r = client.get(f"{API}/tickets", headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/healthz").status_code == 200
    assert client.get("/schema/openapi.json").status_code == 200


def test_revoked_and_expired_tokens_stop_at_once(world):
    client = world.api.client
    token = world.ok(world.post("/users/u-agent/tokens", {}), 201)
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert client.get(f"{API}/tickets", headers=headers).status_code == 200
    world.ok(world.post(f"/users/u-agent/tokens/{token['token_id']}/revoke", {}))
    assert client.get(f"{API}/tickets", headers=headers).status_code == 401
    soon = world.ok(world.post("/users/u-agent/tokens", {"expires_at": "2026-11-21T02:00:00+08:00"}), 201)
    headers = {"Authorization": f"Bearer {soon['token']}"}
    assert client.get(f"{API}/tickets", headers=headers).status_code == 200
    world.api.clock.advance(hours=2)
    assert client.get(f"{API}/tickets", headers=headers).status_code == 401


def test_users_read_themselves_and_manage_their_own_tokens(world):
    client = world.api.client
    me = world.tokens[REQUESTER]
    assert client.get(f"{API}/me", headers=me).json()["id"] == "u-requester"
    assert client.get(f"{API}/users/u-requester", headers=me).status_code == 200
    listed = client.get(f"{API}/users/u-requester/tokens", headers=me)
    assert listed.status_code == 200 and "token" not in listed.text.replace("token_id", "")
    assert client.get(f"{API}/users/u-agent/tokens", headers=me).status_code == 403
    assert client.post(f"{API}/users/u-requester/tokens", json={}, headers=me).status_code == 403


def test_every_command_records_the_acting_user(world):
    ref = world.ticket["id"]
    r = world.api.client.post(f"{API}/tickets/{ref}/start", json={}, headers=world.tokens[ENGINEER])
    assert r.status_code == 200, r.text
    history = world.api.client.get(f"{API}/tickets/{ref}/history", headers=world.admin).json()
    assert [h["actor"] for h in history][-1] == "u-engineer"
    assert history[0]["actor"] == "admin"


def test_engineers_work_only_their_own_or_their_groups_tickets(world):
    client, eng = world.api.client, world.tokens[ENGINEER]
    other = world.ok(world.post("/tickets", ticket_body(**CLASSIFICATION)), 201)
    world.user("someone-else", ENGINEER)  # an assignee is a user once users exist (issue 16)
    world.ok(world.post(f"/tickets/{other['id']}/assign", {"assignee": "someone-else"}))
    r = client.post(f"{API}/tickets/{other['id']}/start", json={}, headers=eng)
    assert r.status_code == 403, r.text
    world.ok(world.post(f"/tickets/{other['id']}/assign", {"group": "ops"}))
    assert client.post(f"{API}/tickets/{other['id']}/start", json={}, headers=eng).status_code == 200
    mine = client.get(f"{API}/queues/mine", headers=eng).json()
    assert [t["id"] for t in mine["items"]] == [world.ticket["id"]]


# ------------------------------------------------------------------ isolation


def _get_routes(api: Api) -> list[str]:
    """Every ``GET`` route under ``/api/v1`` from the app's own route table, templated as in
    ``RULES`` (``{ref}``): a new list, view, search, history or export is covered as soon as
    it exists, whether or not the OpenAPI document shows it."""
    return sorted({re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
                   for route in api.client.app.routes
                   if "GET" in getattr(route, "methods", ()) and route.path.startswith(API)})


#: Staff records that mix customers (problems, changes, knowledge, standard changes):
#: requesters read none of their words anywhere.
STAFF_WORDS = ["数据库连接超时", "高峰期超时", "ERP 内存扩容", "解决登录缓慢", "客户A 数据库连接池扩容",
               "客户A 高峰期连接数翻倍", "调大连接池", "操作系统月度补丁"]


def _words_of(world: World, customer: str) -> list[str]:
    """Everything of ``customer``'s that another customer must never read: its id, its
    contacts, its tickets' and project's ids, numbers, titles, names and contract."""
    if customer == "客户A":
        t, p = world.ticket, world.project
        a = world.announcement
        return [world.repair["id"], world.repair["number"],  # its repair order (ADR 0065)
                "客户A", NAME, PHONE, EMAIL, t["id"], t["number"], t["title"], t["description"],
                p["id"], p["number"], p["name"], "HT-2026-001", a["id"], a["number"], a["title"],
                world.risk["number"], world.risk["title"],
                world.agreement["number"], world.agreement["title"],
                world.complaint["number"], world.complaint["description"],
                world.visit["number"], "客户A 机房门禁找周工",  # its field visit (ADR 0064)
                world.requisition["number"]]
    t, p, a = world.ticket_b, world.project_b, world.announcement_b
    return [world.repair_b["id"], world.repair_b["number"],  # its repair order (ADR 0065)
            "客户B", "赵六", B_PHONE, t["id"], t["number"], t["title"], t["description"],
            p["id"], p["number"], p["name"], "HT-2026-002", a["id"], a["number"], a["title"],
            world.risk_b["number"], world.risk_b["title"],
            world.agreement_b["number"], world.agreement_b["title"],
            world.complaint_b["number"], world.complaint_b["description"]]


def _path(world: World, template: str, customer: str, user: str) -> str:
    """``template`` with its parameters naming ``customer``'s ticket, project and
    organisation, the staff records, and ``user``."""
    own = {"客户A": (world.ticket, world.project), "客户B": (world.ticket_b, world.project_b)}
    ticket, project = own[customer]
    refs = {"tickets": ticket["id"], "projects": project["id"], "problems": world.problem["id"],
            "changes": world.problem_change["id"], "knowledge": world.article["id"],
            "calendars": "china-5x8", "sla-policies": "default", "standard-changes": "os-patch",
            "announcements": {"客户A": world.announcement,
                              "客户B": world.announcement_b}[customer]["id"],
            "attachments": {"客户A": world.attachment, "客户B": world.attachment_b}[customer]["id"],
            "risks": {"客户A": world.risk, "客户B": world.risk_b}[customer]["id"],
            "agreements": {"客户A": world.agreement,
                           "客户B": world.agreement_b}[customer]["id"],
            "complaints": {"客户A": world.complaint,
                           "客户B": world.complaint_b}[customer]["id"]}
    refs["repairs"] = {"客户A": world.repair, "客户B": world.repair_b}[customer]["id"]  # 0065
    refs["cis"] = {"客户A": world.ci, "客户B": world.ci_b}[customer]["id"]  # ADR 0063
    collection = template.split("/")[3]
    values = {"ref": refs.get(collection, ""), "slug": refs.get(collection, ""),
              "customer": customer, "name": "unassigned", "assignee": "u-engineer",
              "period": "2026-11", "token_id": world.target_token, "user": user,
              "id": world.quarantined}
    values["service_id"] = "vpn-access"  # the catalogue's service (ADR 0061)
    values["visit"] = values["number"] = world.visit["number"]  # A's only visit (ADR 0064)
    path = template
    for key, value in values.items():
        path = path.replace("{" + key + "}", str(value))
    assert "{" not in path, f"no test value for a parameter of {template}"
    return path


READERS = [("requester-b", "u-requester-b", "客户B", "客户A"),
           (REQUESTER, "u-requester", "客户A", "客户B")]


@pytest.mark.parametrize("http_store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize(("reader", "user", "mine", "theirs"), READERS,
                         ids=["requester-of-B", "requester-of-A"])
def test_a_requester_never_reads_another_customers_words(world, reader, user, mine, theirs):
    """Every GET route (views, lists, queues, searches, histories, as-of views, the service
    report in JSON, Markdown and HTML, the audit log), called by a requester on their own
    records and on the other customer's: no answer carries the other customer's id, contacts,
    ids, numbers, titles or names, nor the words of staff records (problems, changes,
    knowledge) the requester may not open. The problem recorded from A's ticket is linked to
    B's ticket too, so both customers' reports count it (issue 16 item 2)."""
    headers, client = world.tokens[reader], world.api.client
    forbidden = _words_of(world, theirs) + STAFF_WORDS
    now = world.api.clock.now().isoformat()
    queries: list[dict[str, str]] = [{}, {"as_of": now}, {"customer": theirs}, {"q": "超时"},
                                     {"format": "md"}, {"format": "html"}]
    routes = _get_routes(world.api)
    assert f"{API}/tickets" in routes and f"{API}/audit/events" in routes
    leaks: list[str] = []
    answered: dict[str, int] = {}
    for template in routes:
        for whose, as_user in ((mine, user), (theirs, "target")):
            path = _path(world, template, whose, as_user)
            for query in queries:
                r = client.get(path, params=query, headers=headers)
                where = f"{template} [{whose}] {query}"
                assert r.status_code in (200, 400, 403, 404, 422), (where, r.status_code, r.text)
                if whose == mine and not query:
                    answered[template] = r.status_code
                if r.status_code == 200:
                    leaks += [f"{where}: {w}" for w in forbidden if w in r.text]
    assert leaks == []
    # Not vacuous: the requester's own lists, views and report answer, the staff-only ones
    # (problems, changes, knowledge, queues, the audit log) are refused.
    for ok in ("/tickets", "/tickets/{ref}", "/tickets/{ref}/history", "/projects",
               "/projects/{ref}", "/projects/{ref}/reports/{period}", "/customers/{customer}",
               "/knowledge",  # the public articles (ADR 0052)
               "/announcements", "/announcements/{ref}",  # their own (ADR 0060)
               "/risks", "/risks/{ref}",  # their own (ADR 0067)
               "/agreements", "/agreements/{ref}", "/complaints",  # ADR 0066
               "/complaints/{ref}", "/tickets/{ref}/agreements"):
        assert answered[API + ok] == 200, ok
    assert answered[f"{API}/knowledge/{{ref}}"] == 404  # the staff's article
    for refused in ("/problems", "/changes", "/queues/{name}", "/audit/events",
                    "/audit/verify", "/announcements/{ref}/history"):
        assert answered[API + refused] == 403, refused
    report = _path(world, f"{API}/projects/{{ref}}/reports/{{period}}", mine, user)
    for form in REPORT_FORMS:
        r = client.get(report, params={"format": form}, headers=headers)
        assert r.status_code == 200 and world.problem["number"] in r.text, (form, r.text)
    view = client.get(_path(world, f"{API}/tickets/{{ref}}", mine, user), headers=headers).json()
    assert [p["number"] for p in view["problems"]] == [world.problem["number"]]


REPORT_FORMS = ("json", "md", "html")


@pytest.mark.parametrize("form", REPORT_FORMS)
def test_a_requesters_report_names_no_problem_or_change_it_may_not_read(world, form):
    """Issue 16 item 2: B's report counts the problem recorded from A's ticket (it is linked
    to B's ticket) and the change raised from it. Requesters may not read problems or changes
    (403), so their report gives them by number, status and outcome only, never a title;
    staff who may read them (auditors, managers) still get the titles."""
    path = f"{API}/projects/{world.project_b['id']}/reports/2026-11"
    words = ["数据库连接超时", "客户A 数据库连接池扩容"]
    r = world.api.client.get(path, params={"format": form}, headers=world.tokens["requester-b"])
    assert r.status_code == 200, r.text
    assert world.problem["number"] in r.text and world.problem_change["number"] in r.text
    assert [w for w in words if w in r.text] == []
    if form == "json":
        report = r.json()
        assert report["problems"]["items"] == [{
            "number": world.problem["number"], "title": None, "status": "recorded",
            "known_error": False, "tickets": [world.ticket_b["number"]]}]
        assert report["problems"]["total"] == 1 and report["problems"]["open"] == 1
        [change] = report["changes"]["items"]
        assert change["title"] is None and change["number"] == world.problem_change["number"]
        assert change["origin"] == world.problem["number"]
    for role in ("auditor", "manager"):
        staff = world.api.client.get(path, params={"format": form}, headers=world.tokens[role])
        assert staff.status_code == 200, staff.text
        assert [w for w in words if w not in staff.text] == [], role
        assert PHONE not in staff.text and B_PHONE not in staff.text and "赵六" not in staff.text


def test_another_customers_record_is_404_like_an_unknown_one(world):
    b, client = world.tokens["requester-b"], world.api.client
    for path in (f"/tickets/{world.ticket['id']}", f"/tickets/{world.ticket['number']}",
                 f"/tickets/{world.ticket['id']}/history", f"/projects/{world.project['id']}",
                 f"/projects/{world.project['id']}/reports/2026-11",
                 f"/projects/{world.project['id']}/routines", "/customers/客户A"):
        r = client.get(f"{API}{path}", headers=b)
        unknown = client.get(f"{API}{path.replace(world.ticket['id'], '00000000-0000-4000-8000-000000000000')}",
                             headers=b)
        assert r.status_code == 404, (path, r.text)
        assert unknown.status_code == 404
    r = client.post(f"{API}/tickets/{world.ticket['id']}/confirm", headers=b, json={
        "signer": "x", "items": ["a"], "criteria": ["b"], "passed": True})
    assert r.status_code == 404, r.text
    r = client.post(f"{API}/tickets", headers=b, json=ticket_body())  # for customer A
    assert r.status_code == 403, r.text
    own = client.post(f"{API}/tickets", headers=b, json=ticket_body(customer="客户B"))
    assert own.status_code == 201, own.text
    listed = client.get(f"{API}/tickets", headers=b).json()["items"]
    assert {t["customer"] for t in listed} == {"客户B"} and len(listed) == 2


# -------------------------------------------------------------------- masking


@pytest.mark.parametrize("role", ["auditor", REQUESTER])
def test_contact_data_is_masked_for_roles_that_do_not_need_it(world, role):
    headers, client = world.tokens[role], world.api.client
    ref = world.ticket["id"]
    view = client.get(f"{API}/tickets/{ref}", headers=headers).json()
    assert view["contact"] == {"name": "李*", "phone": "138****5678", "email": "l***@example.com"}
    bodies = [client.get(f"{API}{p}", headers=headers).text for p in (
        f"/tickets/{ref}", f"/tickets/{ref}/history", f"/tickets/{ref}?as_of=2026-11-21T01:00:00Z",
        "/tickets", "/audit/events?limit=500", f"/projects/{world.project['id']}")]
    for text in bodies:
        assert PHONE not in text and EMAIL not in text and NAME not in text
        assert INTERFACE not in text  # the customer's interface person, a name too
    assert view["interface_person"] == INTERFACE[0] + "*" * (len(INTERFACE) - 1)
    clear = client.get(f"{API}/tickets/{ref}", headers=world.tokens["agent"]).json()
    assert clear["contact"]["phone"] == PHONE


def test_logs_carry_no_token_and_no_contact_data(world, capsys, caplog):
    world.api.client.get(f"{API}/tickets/{world.ticket['id']}", headers=world.tokens[REQUESTER])
    world.api.client.get(f"{API}/tickets", headers={"Authorization": "Bearer wrong-secret"})
    world.post("/tickets", ticket_body(contact={"name": "钱七", "phone": "13711112222"}))
    out = capsys.readouterr()
    logged = out.out + out.err + caplog.text
    assert logged, "the service logs its commands"
    secrets = [ADMIN_TOKEN, "wrong-secret", "13711112222", "钱七", PHONE, EMAIL,
               *(h["Authorization"].split()[1] for h in world.tokens.values())]
    assert [s for s in secrets if s in logged] == []


def test_a_requester_may_leave_out_the_customer_and_staff_may_not(world):
    body = {k: v for k, v in ticket_body().items() if k != "customer"}
    r = world.api.client.post(f"{API}/tickets", json=body, headers=world.tokens["requester-b"])
    assert r.status_code == 201 and r.json()["customer"] == "客户B", r.text
    r = world.api.client.post(f"{API}/tickets", json=body, headers=world.tokens["agent"])
    assert r.status_code in (400, 422) and "customer" in r.text, r.text
