"""The problem, change, knowledge and project pages and the change calendar (issue 18),
through the test client as a browser uses them: logged in by the login form, forms posted
with their CSRF token, version and key.

Every test runs on the memory and SQLite stores; the change page's path also on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest

from adapters.http.console.pages import changes, knowledge, problems, projects
from tests.fixtures_http import ALL_STORES, Api, ticket_body
from tests.support.console import ADMIN, login, staffed

API = "/api/v1"
_COMMAND = re.compile(r'data-command="([a-z_]+)"')
_HIDDEN = re.compile(r'name="(_csrf_token|_key|_version)" value="([^"]+)"')
_GATE = re.compile(r'data-gate="([a-z_]+)" data-state="([a-z_]+)"')
_STATUS = re.compile(r'data-field="status">([^<]+)<')
_AUDIENCE = re.compile(r'data-field="audience">([^<]+)<')

PLAN: dict[str, Any] = {
    "goal": "ERP 登录响应时间降到 1 秒以内", "content": "升级 ERP 应用服务器内存",
    "steps": ["备份配置", "停机扩容内存", "回归测试"], "people": ["eng-wang", "eng-li"],
    "budget": "人民币 2 万元",
    "schedule": {"start": "2026-12-12T22:00:00+08:00", "end": "2026-12-13T02:00:00+08:00"},
    "risk_plan": "扩容失败时启用备用服务器", "rollback_plan": "恢复原配置，30 分钟内完成"}
GATES = ["assessment", "plan", "internal_review", "customer_review", "consent"]
CONTRACT = {"name": "客户A 2026 运维服务", "customer": "客户A",
            "contract": {"number": "HT-2026-001", "services": ["巡检", "故障处理"],
                         "start": "2026-10-01", "end": "2027-09-30", "budget": "120万"},
            "sla_policy": "default", "calendar": "china-5x8"}


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    """An app with users: a manager, an engineer, an agent, an auditor, a requester."""
    return staffed(make_api, {"zhang": ("manager", "张经理"), "li": ("engineer", "李工"),
                              "zhou": ("agent", "周客服"), "shen": ("auditor", "沈审计"),
                              "kehu": ("requester", "客户甲", "客户A")})


def call(api: Api, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """``POST /api/v1<path>`` as the admin; the answer's body."""
    r = api.client.post(f"{API}{path}", json=body or {}, headers=ADMIN)
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


def ticket(api: Api) -> dict[str, Any]:
    return call(api, "/tickets", ticket_body())


def problem(api: Api) -> dict[str, Any]:
    t = ticket(api)
    return call(api, "/problems", {"title": "ERP 会话表容量不足", "tickets": [t["number"]],
                                   "description": "高峰期会话表满\n导致登录排队"})


def change(api: Api, *steps: str, title: str = "ERP 内存扩容",
           schedule: dict[str, str] | None = None) -> dict[str, Any]:
    """A change from a new ticket, then ``steps`` through the API (reviews approve)."""
    c = call(api, "/changes", {"kind": "normal", "origin": ticket(api)["number"],
                               "title": title, "description": "解决登录缓慢"})
    bodies = {
        "assess": {"risk": "medium", "impact": "ERP 停机 4 小时"},
        "plan": {**PLAN, "schedule": schedule or PLAN["schedule"]},
        "review": {"decision": "approved", "reviewer": "zhang", "comment": "方案可行"},
        "customer_review": {"decision": "approved", "reviewer": "客户A 信息部"},
        "consent": {"evidence": "客户邮件同意", "channel": "email", "given_by": "王经理"},
    }
    for step in steps:
        c = call(api, f"/changes/{c['number']}/{step}", bodies[step])
    return c


def project(api: Api) -> dict[str, Any]:
    p = call(api, "/projects", CONTRACT)
    n = p["number"]
    call(api, f"/projects/{n}/approve", {"project_manager": "zhang", "team": ["li"]})
    call(api, f"/projects/{n}/plan", {"targets": "P1 4 小时", "scope": "ERP", "staff": ["li"],
                                      "budget": "120万", "assessment": "月度评审"})
    return call(api, f"/projects/{n}/schedule_routine", {
        "name": "周巡检", "kind": "inspection", "rrule": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9",
        "on_holiday": "next_workday"})


def article(api: Api) -> dict[str, Any]:
    return call(api, "/knowledge", {"title": "打印机脱机", "symptoms": "打印机显示脱机",
                                    "solution": "重启打印服务并清空队列"})


def page(api: Api, path: str) -> str:
    r = api.client.get(path)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def commands_on(html: str) -> set[str]:
    return set(_COMMAND.findall(html))


def post_form(api: Api, path: str, verb: str, containing: str = "", **fields: str) -> Any:
    """Posts the (first) ``verb`` form of the page ``path`` that contains ``containing``,
    with ``fields`` and the form's hidden ones (CSRF token, key, version, ...)."""
    html = page(api, path)
    for found in re.finditer(f'data-command="{verb}"', html):
        form = html[html.rindex("<form", 0, found.start()):html.index("</form>", found.start())]
        if containing in form:
            break
    else:
        raise AssertionError(f"no {verb} form with {containing!r} on {path}")
    action = re.search(r'action="([^"]+)"', form)
    assert action is not None
    return api.client.post(action.group(1), data={**drawn(form), **fields},
                           follow_redirects=False)


def drawn(form: str) -> dict[str, str]:
    """What a browser sends for ``form`` as drawn: every input's value, every textarea's
    text, every select's selected (else first) option."""
    values = {n: unescape(v) for n, v in re.findall(
        r'<input [^>]*name="([a-z_.]+)" value="([^"]*)"', form)}
    values |= {n: unescape(v) for n, v in re.findall(
        r'<textarea name="([a-z_.]+)"[^>]*>([^<]*)</textarea>', form)}
    for name, options in re.findall(r'<select name="([a-z_.]+)">(.*?)</select>', form, re.S):
        chosen = (re.findall(r'<option value="([^"]*)" selected', options)
                  or re.findall(r'<option value="([^"]*)"', options))
        values[name] = chosen[0]
    return values


def run_status(html: str, run_at: str) -> str:
    """The status the project page shows for the run of its routine at ``run_at``."""
    found = re.findall(f'data-run="[^"]+@{re.escape(run_at)}" data-run-status="([a-z]+)"', html)
    assert len(found) == 1, found
    return str(found[0])


def followed(api: Api, r: Any) -> str:
    """The page a form's ``303`` leads back to."""
    assert r.status_code == 303, r.text[:800]
    return page(api, r.headers["location"])


# ------------------------------------------------------------------ problems


def test_the_problem_list_filters_in_the_url_and_links_each_problem(desk):
    p = problem(desk)
    other = call(desk, "/problems", {"title": "打印机队列堵塞", "description": "x"})
    call(desk, f"/problems/{other['number']}/record_workaround", {"workaround": "重启服务"})
    call(desk, f"/problems/{other['number']}/mark_known_error")
    login(desk.client, "li")
    html = page(desk, "/ui/problems")
    assert f'href="/ui/problems/{p["number"]}"' in html and "ERP 会话表容量不足" in html
    assert other["number"] in html
    known = page(desk, "/ui/problems?known_error=true")
    assert other["number"] in known and p["number"] not in known
    recorded = page(desk, "/ui/problems?status=recorded")
    assert p["number"] in recorded and other["number"] not in recorded
    assert desk.client.get("/ui/problems?status=nonsense").status_code == 400


def test_the_problem_page_shows_its_tickets_and_runs_its_commands_as_forms(desk):
    p = problem(desk)
    url = f"/ui/problems/{p['number']}"
    login(desk.client, "li")  # an engineer works problems (TECH)
    html = page(desk, url)
    assert f"{p['number']} · ERP 会话表容量不足" in html
    assert f'data-ticket="{p["tickets"][0]["number"]}"' in html
    assert _STATUS.findall(html) == ["已记录"]
    assert commands_on(html) == {"classify", "link_tickets", "record_root_cause",
                                 "record_workaround", "mark_known_error", "resolve"}
    html = followed(desk, post_form(desk, url, "record_root_cause",
                                    root_cause="会话表上限 1000，未随用户增长调整"))
    assert "会话表上限 1000，未随用户增长调整" in html
    html = followed(desk, post_form(desk, url, "mark_known_error"))
    assert _STATUS.findall(html) == ["已知错误"]
    assert "mark_known_error" not in commands_on(html) and "close" not in commands_on(html)
    assert html.index('data-event="KnownErrorMarked"') < html.index('data-event="Recorded"')
    assert f'href="/ui/knowledge/{p["number"]}"' in html  # a known error is knowledge now
    second = ticket(desk)
    html = followed(desk, post_form(desk, url, "link_tickets", ticket_ids=second["number"]))
    assert f'data-ticket="{second["number"]}"' in html


def test_a_stale_form_and_a_command_the_state_refuses_answer_pages_not_changes(desk):
    p = problem(desk)
    url = f"/ui/problems/{p['number']}"
    login(desk.client, "zhang")
    html = page(desk, url)
    start = html.index('data-command="resolve"')
    form = html[html.rindex("<form", 0, start):html.index("</form>", start)]
    stale = dict(_HIDDEN.findall(form))
    call(desk, f"/problems/{p['number']}/record_workaround", {"workaround": "重启服务"})
    r = desk.client.post(f"{url}/resolve", data={**stale, "resolution": PLAN["content"]},
                         follow_redirects=False)
    assert r.status_code in (409, 412) and r.headers["content-type"].startswith("text/html")
    r = desk.client.post(f"{url}/close", data={**stale, "_version": ""},
                         follow_redirects=False)
    assert r.status_code == 409 and "close" in r.text
    assert desk.client.get(f"{API}/problems/{p['number']}", headers=ADMIN).json()[
        "status"] == "recorded"


# ------------------------------------------------------------------ changes


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_the_change_page_lists_the_missing_gates_until_none_is_left_then_starts(desk):
    c = change(desk)
    url = f"/ui/changes/{c['number']}"
    login(desk.client, "zhang")
    html = page(desk, url)
    assert f"{c['number']} · ERP 内存扩容" in html
    assert _GATE.findall(html) == [(g, "missing") for g in GATES]
    assert f'data-missing="{",".join(GATES)}"' in html
    assert "start" not in commands_on(html)
    followed(desk, post_form(desk, url, "assess", risk="high", impact="全部用户停机"))
    html = followed(desk, post_form(
        desk, url, "plan", goal="登录 1 秒内", content="扩容内存", steps="备份配置\n停机扩容",
        people="li\nzhao", budget="2 万元", risk_plan="备用服务器", rollback_plan="恢复配置",
        **{"schedule.start": "2026-12-12T22:00", "schedule.end": "2026-12-13T02:00"}))
    assert "2026-12-12 22:00 – 2026-12-13 02:00" in html  # read in Asia/Shanghai
    assert dict(_GATE.findall(html)) == {"assessment": "passed", "plan": "passed",
                                         "internal_review": "missing",
                                         "customer_review": "missing", "consent": "missing"}
    assert "<li>备份配置</li><li>停机扩容</li>" in html
    followed(desk, post_form(desk, url, "review", decision="approved", reviewer="zhang"))
    followed(desk, post_form(desk, url, "customer_review", decision="approved",
                             reviewer="客户A 信息部"))
    html = followed(desk, post_form(desk, url, "consent", evidence="客户邮件同意",
                                    channel="email", given_by="王经理"))
    assert {s for _, s in _GATE.findall(html)} == {"passed"}
    assert 'data-missing=""' in html and "start" in commands_on(html)
    html = followed(desk, post_form(desk, url, "start"))
    assert _STATUS.findall(html) == ["实施中"]
    # after the start, the checklist is what closing needs: the reviews stay passed
    assert dict(_GATE.findall(html)) == {"internal_review": "passed",
                                         "customer_review": "passed", "consent": "passed"}
    assert commands_on(html) == {"complete", "roll_back"}


def test_the_checklist_is_the_domains_missing_gates_after_a_rejection(desk):
    c = change(desk, "assess", "plan")
    call(desk, f"/changes/{c['number']}/review",
         {"decision": "rejected", "reviewer": "zhang", "comment": "回退方案不足"})
    login(desk.client, "zhang")
    html = page(desk, f"/ui/changes/{c['number']}")
    view = desk.client.get(f"{API}/changes/{c['number']}", headers=ADMIN).json()
    gates = _GATE.findall(html)
    assert [g for g, s in gates if s in ("missing", "rejected")] == view["missing_gates"]
    assert ("internal_review", "rejected") in gates
    # a rejected plan is reviewed again only after a new plan: no review forms now
    assert not {"review", "customer_review", "consent"} & commands_on(html)


def test_change_forms_follow_the_roles_of_the_matrix(desk):
    c = change(desk, "assess", "plan")
    url = f"/ui/changes/{c['number']}"
    login(desk.client, "li")  # engineers assess, plan and start, managers review
    html = page(desk, url)
    assert {"assess", "plan", "cancel"} <= commands_on(html)
    assert not {"review", "customer_review", "consent"} & commands_on(html)
    login(desk.client, "zhou")  # agents record the customer's review and consent
    assert commands_on(page(desk, url)) == {"customer_review", "consent"}
    r = post_form(desk, url, "consent", evidence="客户邮件同意", channel="email")
    assert r.status_code == 303
    token = dict(_HIDDEN.findall(page(desk, url)))
    r = desk.client.post(f"{url}/review", data={**token, "decision": "approved",
                                                "reviewer": "zhou"}, follow_redirects=False)
    assert r.status_code == 403


def test_the_change_list_and_the_calendar_show_scheduled_changes_and_their_conflicts(desk):
    erp = change(desk, "assess", "plan", title="ERP 内存扩容")
    patch = change(desk, "assess", "plan", title="ERP 补丁", schedule={
        "start": "2026-12-13T00:00:00+08:00", "end": "2026-12-13T03:00:00+08:00"})
    lone = change(desk, "assess", "plan", title="OA 证书更换", schedule={
        "start": "2026-12-05T20:00:00+08:00", "end": "2026-12-05T21:00:00+08:00"})
    unplanned = change(desk, title="备份扩容")
    login(desk.client, "li")
    html = page(desk, "/ui/changes")
    for c in (erp, patch, lone, unplanned):
        assert f'data-change="{c["number"]}"' in html
    assert unplanned["number"] not in page(desk, "/ui/changes?status=planned")
    html = page(desk, "/ui/changes/calendar?month=2026-12")
    assert 'data-calendar="2026-12"' in html and "2026年12月" in html

    def on(day: str) -> list[str]:
        start = html.index(f'data-date="{day}"')
        return re.findall(r'data-change="([^"]+)"', html[start:html.index("</td>", start)])

    assert on("2026-12-12") == [erp["number"]]  # 22:00 to 02:00: on both days
    assert on("2026-12-13") == [erp["number"], patch["number"]]
    assert on("2026-12-05") == [lone["number"]] and on("2026-12-06") == []
    conflicts = re.findall(r'data-change="([^"]+)" title="[^"]*冲突[^"]*"', html)
    assert set(conflicts) == {erp["number"], patch["number"]}  # ERP twice at once
    assert unplanned["number"] not in html
    assert 'href="/ui/changes/calendar?month=2027-01"' in html
    assert erp["number"] not in page(desk, "/ui/changes/calendar?month=2027-01")
    assert desk.client.get("/ui/changes/calendar?month=2026-13").status_code == 400


# ------------------------------------------------------------------ knowledge


def test_an_article_is_written_found_revised_and_retired_through_the_forms(desk):
    login(desk.client, "li")
    html = page(desk, "/ui/knowledge/new")
    token = dict(_HIDDEN.findall(html))
    r = desk.client.post("/ui/knowledge", data={
        **token, "title": "VPN 频繁掉线", "symptoms": "VPN 每隔 10 分钟断开\n需要重新登录",
        "solution": "升级客户端到 5.2", "tags": "VPN\n网络", "audience": "public"},
        follow_redirects=False)
    html = followed(desk, r)
    number = r.headers["location"].rsplit("/", 1)[-1]
    assert number.startswith("KB-") and f"{number} · VPN 频繁掉线" in html
    assert _AUDIENCE.findall(html) == ["对客户公开"]  # the customers' requesters read it too
    assert "VPN 每隔 10 分钟断开\n需要重新登录" in html  # the text keeps its line breaks
    assert commands_on(html) == {"revise", "retire"}
    assert number in page(desk, "/ui/knowledge?q=掉线")
    assert number not in page(desk, "/ui/knowledge?q=打印机")
    url = f"/ui/knowledge/{number}"
    html = followed(desk, post_form(desk, url, "revise", solution="升级客户端到 5.3",
                                    note="5.2 仍有问题"))
    assert "升级客户端到 5.3" in html and "5.2 仍有问题" in html  # the staff's note
    assert _AUDIENCE.findall(html) == ["对客户公开"]  # a revision keeps who reads it
    html = followed(desk, post_form(desk, url, "revise", audience="internal", note="仅内部"))
    assert _AUDIENCE.findall(html) == ["仅内部"]
    assert 'data-event="Revised"' in html
    html = followed(desk, post_form(desk, url, "retire", reason="客户端已统一升级"))
    assert _STATUS.findall(html) == ["已下线"] and not commands_on(html)
    assert number not in page(desk, "/ui/knowledge?q=掉线")


def test_a_known_error_reads_as_knowledge_without_article_commands(desk):
    p = problem(desk)
    call(desk, f"/problems/{p['number']}/record_workaround", {"workaround": "清理会话表"})
    login(desk.client, "li")
    assert desk.client.get(f"/ui/knowledge/{p['number']}").status_code == 404  # not yet
    call(desk, f"/problems/{p['number']}/mark_known_error")
    html = page(desk, f"/ui/knowledge/{p['number']}")
    assert "清理会话表" in html and f'href="/ui/problems/{p["number"]}"' in html
    assert not commands_on(html)


# ------------------------------------------------------------------ projects


def test_the_project_page_shows_the_plan_the_routines_due_and_the_reports(desk):
    p = project(desk)
    login(desk.client, "li")
    assert p["number"] in page(desk, "/ui/projects")
    url = f"/ui/projects/{p['number']}"
    html = page(desk, url)
    assert f"{p['number']} · 客户A 2026 运维服务" in html
    assert 'data-milestone="planned"' in html and "P1 4 小时" in html
    # the clock stands at 2026-11-21 01:00: Monday 11-16's run is overdue, 11-23's due
    assert run_status(html, "2026-11-16T01:00:00+00:00") == "overdue"
    assert run_status(html, "2026-11-23T01:00:00+00:00") == "due"
    for period in ("2026-11", "2026-10"):
        assert f'href="/api/v1/projects/{p["number"]}/reports/{period}?format=html"' in html
    assert "2026-12?format=html" not in html  # not a month of the contract yet
    assert commands_on(html) == {"record_routine", "record_check"}  # an engineer's
    report = desk.client.get(f"/api/v1/projects/{p['number']}/reports/2026-11?format=html")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "@media print" in report.text and "HT-2026-001" in report.text
    html = followed(desk, post_form(desk, url, "record_routine", "2026-11-16T01:00:00+00:00",
                                    verdict="normal", signer="客户王", findings="机房正常"))
    assert run_status(html, "2026-11-16T01:00:00+00:00") == "done"


def test_a_manager_runs_the_project_from_contract_to_plan_by_the_forms(desk):
    p = call(desk, "/projects", CONTRACT)
    url = f"/ui/projects/{p['number']}"
    login(desk.client, "zhang")
    assert commands_on(page(desk, url)) == {"approve"}
    html = followed(desk, post_form(desk, url, "approve", project_manager="zhang",
                                    team="li\nzhao"))
    assert _STATUS.findall(html) == ["已立项"] and "li、zhao" in html
    html = followed(desk, post_form(desk, url, "plan", targets="P1 4 小时", scope="ERP",
                                    staff="li", budget="120万", assessment="月度评审"))
    assert _STATUS.findall(html) == ["交付中"]
    html = followed(desk, post_form(desk, url, "submit_report", period="2026-10"))
    assert 'data-event="ReportSubmitted"' in html


# ------------------------------------------------------------------ who sees what


@pytest.mark.parametrize("kind", ["problems", "changes", "knowledge", "projects"])
def test_an_auditor_reads_every_record_page_without_a_form(desk, kind):
    made = {"problems": problem, "changes": lambda a: change(a, "assess", "plan", "review",
                                                              "customer_review", "consent"),
            "knowledge": article, "projects": project}[kind](desk)
    login(desk.client, "shen")
    html = page(desk, f"/ui/{kind}/{made['number']}")
    assert made["number"] in html
    assert not commands_on(html) and "_key" not in html
    assert made["number"] in page(desk, f"/ui/{kind}")
    verb = {"problems": "classify", "changes": "cancel", "knowledge": "retire",
            "projects": "close"}[kind]
    token = dict(_HIDDEN.findall(html))
    r = desk.client.post(f"/ui/{kind}/{made['number']}/{verb}", data={**token, "reason": "x"},
                         follow_redirects=False)
    assert r.status_code == 403
    if kind == "changes":  # contacts are masked for auditors, in the timeline too
        assert "王**" in html and "王经理" not in html


@pytest.mark.parametrize("path", ["/ui/problems", "/ui/changes", "/ui/changes/calendar",
                                  "/ui/knowledge", "/ui/projects"])
def test_a_requester_is_sent_to_the_portal(desk, path):
    login(desk.client, "kehu")
    r = desk.client.get(path, follow_redirects=False)
    assert r.status_code in (303, 403)
    if r.status_code == 303:
        assert r.headers["location"] == "/portal/"


def test_a_requester_cannot_post_a_record_form(desk):
    p = problem(desk)
    login(desk.client, "kehu")
    token = dict(_HIDDEN.findall(page(desk, "/portal/")))
    r = desk.client.post(f"/ui/problems/{p['number']}/classify",
                         data={**token, "category": "x"}, follow_redirects=False)
    assert r.status_code == 403


@pytest.mark.parametrize("path", ["/ui/problems/PRB-20261121-999", "/ui/changes/CHG-20261121-999",
                                  "/ui/knowledge/KB-20261121-999", "/ui/projects/PRJ-20261121-999",
                                  "/ui/changes/no-such-thing"])
def test_an_unknown_record_is_a_404_page(desk, path):
    login(desk.client, "zhang")
    r = desk.client.get(path)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "找不到该记录" in r.text


def test_the_pages_read_english_when_the_browser_asks(desk):
    c = change(desk)
    login(desk.client, "zhang")
    r = desk.client.get(f"/ui/changes/{c['number']}", headers={"accept-language": "en"})
    assert "Before implementation" in r.text and "Risk and impact assessment" in r.text


def test_every_form_posts_to_a_console_route_named_after_an_api_command(desk):
    routes = {route.path for route in desk.client.app.routes}
    for module in (problems, changes, knowledge, projects):
        for verb in module.VERBS:
            assert f"/ui/{module.COLLECTION}/{{ref:str}}/{verb}" in routes
            assert f"/api/v1/{module.COLLECTION}/{{ref:str}}/{verb}" in routes
