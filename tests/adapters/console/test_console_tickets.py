"""The ticket page and the new-ticket form (issue 18), through the test client as a browser
uses them: logged in by the login form, forms posted with their CSRF token, version and key.

Every test runs on the memory and SQLite stores; the main path also on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.http.console.pages.tickets import VERBS
from application.desk import HistoryEntry
from domain.priority import Impact, Importance, PriorityMatrix, Urgency
from tests.fixtures_http import ALL_STORES, CLASSIFICATION, PRECISE, Api, ticket_body
from tests.support.console import ADMIN, csrf_of, login, person, staffed

SH = ZoneInfo("Asia/Shanghai")
_COMMAND = re.compile(r'data-command="([a-z_]+)"')
_HIDDEN = re.compile(r'name="(_csrf_token|_key|_version)" value="([^"]+)"')


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    """An app with users: a dispatcher, two engineers, an auditor, a requester."""
    return staffed(make_api, {"wang": ("dispatcher", "王调度"),
                              "li": ("engineer", "李工", None, ("net",)),
                              "zhao": ("engineer", "赵工"), "shen": ("auditor",),
                              "kehu": ("requester", None, "客户A")})


def given(api: Api, *steps: tuple[str, dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    """A classified ticket (registered by the admin), then ``steps`` through the API."""
    r = api.client.post("/api/v1/tickets", json=ticket_body(**{**CLASSIFICATION, **overrides}),
                        headers=ADMIN)
    assert r.status_code == 201, r.text
    view = r.json()
    for verb, body in steps:
        r = api.client.post(f"/api/v1/tickets/{view['number']}/{verb}", json=body,
                            headers=ADMIN)
        assert r.status_code == 200, r.text
        view = r.json()
    return view


def commands_on(html: str) -> set[str]:
    return set(_COMMAND.findall(html))


def form_fields(html: str, verb: str) -> dict[str, str]:
    """The hidden fields (CSRF token, key, version) of the ``verb`` form on the page."""
    start = html.index(f'data-command-form="{verb}"')
    return dict(_HIDDEN.findall(html[start:html.index("</form>", start)]))


def post_form(api: Api, number: str, verb: str, **fields: str) -> Any:
    page = api.client.get(f"/ui/tickets/{number}")
    assert page.status_code == 200, page.text[:300]
    data = {**form_fields(page.text, verb), **fields}
    return api.client.post(f"/ui/tickets/{number}/{verb}", data=data, follow_redirects=False)


# ------------------------------------------------------------------ the page


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_the_page_shows_the_ticket_its_clocks_and_its_timeline_oldest_first(desk):
    t = given(desk, ("assign", {"assignee": "li"}), ("start", {}))
    login(desk.client, "wang")
    for ref in (t["number"], t["id"]):
        r = desk.client.get(f"/ui/tickets/{ref}")
        assert r.status_code == 200, r.text[:300]
        assert r.headers["content-type"].startswith("text/html")
        assert f'data-ticket="{t["number"]}"' in r.text
        assert 'data-field="status">处理中<' in r.text
        assert 'data-field="assignee">li<' in r.text
        assert 'data-clock="response"' in r.text and 'data-clock="resolution"' in r.text
        events = re.findall(r'data-event="(\w+)"', r.text)
        assert events[0] == "Registered" and events.index("Assigned") < events.index("Started")
        assert [int(v) for v in re.findall(r'data-event="\w+" data-version="(\d+)"', r.text)] \
            == sorted(int(v) for v in re.findall(r'data-event="\w+" data-version="(\d+)"', r.text))
        assert "工单登记" in r.text and "开始处理" in r.text  # labels from the catalogue
    # the ticket was reported at 00:30 and registered at 01:00 (Asia/Shanghai): both shown
    assert "发生于 2026-11-21 00:30" in r.text


def test_a_dispatcher_sees_assign_but_not_resolve_on_a_new_ticket(desk):
    t = given(desk)
    login(desk.client, "wang")
    shown = commands_on(desk.client.get(f"/ui/tickets/{t['number']}").text)
    assert {"assign", "classify", "escalate"} <= shown
    assert not shown & {"resolve", "start", "log_work", "resume", "reopen"}


def test_an_engineer_not_assigned_sees_no_work_forms_and_is_refused_a_posted_one(desk):
    t = given(desk, ("assign", {"assignee": "li"}))
    login(desk.client, "zhao")
    page = desk.client.get(f"/ui/tickets/{t['number']}")
    assert page.status_code == 200
    assert not commands_on(page.text) & {"start", "log_work", "resolve", "await_customer"}
    # the form the assigned engineer has, posted by another: the API's rule refuses it
    login(desk.client, "li")
    fields = form_fields(desk.client.get(f"/ui/tickets/{t['number']}").text, "start")
    login(desk.client, "zhao")
    fields["_csrf_token"] = csrf_of(desk.client.get(f"/ui/tickets/{t['number']}").text)
    r = desk.client.post(f"/ui/tickets/{t['number']}/start", data=fields,
                         follow_redirects=False)
    assert r.status_code == 403 and "engineers work only tickets assigned" in r.text
    assert desk.client.get(f"/api/v1/tickets/{t['number']}").json()["status"] == "assigned"


def test_an_engineer_sees_only_what_the_state_allows(desk):
    t = given(desk, ("assign", {"group": "net"}))  # li is in the group "net"
    login(desk.client, "li")
    assert commands_on(desk.client.get(f"/ui/tickets/{t['number']}").text) == {
        "start", "log_work", "resolve", "link_problem", "name_cis"}
    r = post_form(desk, t["number"], "start")
    assert r.status_code == 303
    r = post_form(desk, t["number"], "await_customer", reason="等待客户提供日志")
    assert r.status_code == 303
    assert commands_on(desk.client.get(f"/ui/tickets/{t['number']}").text) == {
        "resume", "link_problem", "name_cis"}


def test_assign_by_the_form_answers_303_and_the_page_shows_the_assignee(desk):
    t = given(desk)
    login(desk.client, "wang")
    r = post_form(desk, t["number"], "assign", assignee="li", group="net")
    assert r.status_code == 303
    assert r.headers["location"] == f"/ui/tickets/{t['number']}"
    page = desk.client.get(r.headers["location"]).text
    assert 'data-field="assignee">li<' in page and 'data-field="group">net<' in page
    assert 'data-field="status">已分派<' in page
    view = desk.client.get(f"/api/v1/tickets/{t['number']}").json()
    assert (view["assignee"], view["version"]) == ("li", t["version"] + 1)
    history = desk.client.get(f"/api/v1/tickets/{t['number']}/history", headers=ADMIN).json()
    assert history[-1]["type"] == "Assigned" and history[-1]["actor"] == "wang"


def test_a_form_is_refused_without_its_csrf_token(desk):
    t = given(desk)
    login(desk.client, "wang")
    fields = form_fields(desk.client.get(f"/ui/tickets/{t['number']}").text, "assign")
    del fields["_csrf_token"]
    r = desk.client.post(f"/ui/tickets/{t['number']}/assign", data={**fields, "assignee": "li"},
                         follow_redirects=False)
    assert r.status_code == 403
    assert desk.client.get(f"/api/v1/tickets/{t['number']}").json()["assignee"] is None


def test_a_form_over_a_stale_page_is_refused_as_a_stale_if_match_and_changes_nothing(desk):
    t = given(desk)
    login(desk.client, "wang")
    fields = form_fields(desk.client.get(f"/ui/tickets/{t['number']}").text, "assign")
    changed = desk.client.post(f"/api/v1/tickets/{t['number']}/classify", headers=ADMIN,
                               json={**CLASSIFICATION, "category": "network"})
    assert changed.status_code == 200  # someone changed the ticket since the page was drawn
    r = desk.client.post(f"/ui/tickets/{t['number']}/assign",
                         data={**fields, "assignee": "li"}, follow_redirects=False)
    # the form's _version is the API's If-Match: a stale one is the API's 412, as a page
    assert r.status_code == 412
    assert r.headers["content-type"].startswith("text/html")
    assert 'data-status="412"' in r.text and "页面打开后记录已被他人修改" in r.text
    assert desk.client.get(f"/api/v1/tickets/{t['number']}").json()["assignee"] is None


def test_as_of_shows_the_page_as_it_was_then_without_forms(desk):
    t = given(desk)
    desk.clock.advance(hours=2)
    given_later = desk.client.post(f"/api/v1/tickets/{t['number']}/assign", headers=ADMIN,
                                   json={"assignee": "li"})
    assert given_later.status_code == 200
    login(desk.client, "wang")
    now = desk.client.get(f"/ui/tickets/{t['number']}").text
    assert 'data-field="status">已分派<' in now
    between = (datetime.fromisoformat(t["recorded_at"]) + timedelta(hours=1)).astimezone(SH)
    local = between.strftime("%Y-%m-%dT%H:%M")  # as a datetime-local input sends it
    past = desk.client.get(f"/ui/tickets/{t['number']}", params={"as_of": local})
    assert past.status_code == 200
    assert 'data-field="status">已分类<' in past.text
    assert "data-past-view" in past.text and local.replace("T", " ") in past.text
    assert not commands_on(past.text) and "data-command-form" not in past.text
    assert "Assigned" not in re.findall(r'data-event="(\w+)"', past.text)
    assert desk.client.get(f"/ui/tickets/{t['number']}",
                           params={"as_of": "yesterday"}).status_code == 400
    # each event's time links to the page as of that moment: the registration's, before
    # the assignment
    link = re.search(r'class="as-of-link" href="([^"]+)"', now).group(1)
    then = desk.client.get(link.replace("&amp;", "&"))
    assert then.status_code == 200 and 'data-field="status">已分类<' in then.text


def test_a_requester_is_sent_to_the_portal(desk):
    t = given(desk)
    login(desk.client, "kehu")
    r = desk.client.get(f"/ui/tickets/{t['number']}", follow_redirects=False)
    assert r.status_code in (303, 403)
    if r.status_code == 303:
        assert r.headers["location"].startswith("/portal")
    assert t["title"] not in r.text


def test_an_auditor_sees_the_contact_masked_and_no_forms(desk):
    t = given(desk, ("assign", {"assignee": "li", "interface_person": "钱主管"}))
    login(desk.client, "shen")
    r = desk.client.get(f"/ui/tickets/{t['number']}")
    assert r.status_code == 200
    assert "138****5678" in r.text and "13800005678" not in r.text
    assert "l***@example.com" in r.text and "li@example.com" not in r.text
    assert "李*" in r.text and "李四" not in r.text
    assert "钱主管" not in r.text  # the interface person, in the header and the timeline
    assert not commands_on(r.text) and 'method="post" action="/ui/tickets' not in r.text
    login(desk.client, "wang")  # the same page in clear for the desk
    assert "13800005678" in desk.client.get(f"/ui/tickets/{t['number']}").text


def test_an_unknown_ticket_is_a_404_page(desk):
    login(desk.client, "wang")
    r = desk.client.get("/ui/tickets/SR-20991231-999")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")


# ------------------------------------------------------------------ the timeline


def test_the_timeline_of_a_long_life_names_every_event_and_its_claimed_times(desk):
    worked = (datetime.fromisoformat("2026-11-21T01:00:00+08:00") - timedelta(minutes=20))
    t = given(desk, ("assign", {"assignee": "li"}), ("start", {}),
              ("log_work", {"action": "检查应用服务器日志，会话表已满", "hours": 1.5,
                            "performed_at": worked.isoformat()}),
              ("await_customer", {"reason": "等待客户确认维护窗口"}), ("resume", {}),
              ("escalate", {"reason": "影响全部用户"}),
              ("resolve", {"resolution": PRECISE, "root_cause": "会话表已满"}),
              ("confirm", {"signer": "王经理", "items": ["ERP 登录恢复"],
                           "criteria": ["全部用户可登录"], "passed": False,
                           "unmet_items": ["ERP 登录恢复"]}),
              ("resolve", {"resolution": PRECISE + "，并扩容会话表", "root_cause": "会话表已满"}),
              ("close", {"signer": "王经理", "reason": "客户电话确认已恢复"}),
              ("reopen", {"reason": "问题再次出现"}),
              ("log_work", {"action": "复查会话表配置", "hours": 0.5}))
    login(desk.client, "wang")
    page = desk.client.get(f"/ui/tickets/{t['number']}").text
    events = re.findall(r'data-event="(\w+)"', page)
    history = desk.client.get(f"/api/v1/tickets/{t['number']}/history", headers=ADMIN).json()
    assert events == [h["type"] for h in history] and len(events) >= 15
    for label in ("记录工作", "等待客户", "恢复处理", "已升级", "客户验收未通过", "重新打开"):
        assert label in page
    assert "检查应用服务器日志，会话表已满" in page and "等待客户确认维护窗口" in page
    assert PRECISE in page and "问题再次出现" in page
    # the work was done at 00:40, recorded at 01:00: the timeline says when it happened
    work = page[page.index('data-event="WorkLogged"'):]
    assert "发生于 2026-11-21 00:40" in work[:work.index("</li>")]


def test_an_event_type_the_catalogue_does_not_know_shows_its_own_name(desk, monkeypatch):
    t = given(desk)
    read = desk.services.desk.ticket_history

    def with_a_new_event(ref: Any) -> list[HistoryEntry]:
        entries = read(ref)
        last = entries[-1]
        return [*entries, HistoryEntry(
            version=last.version + 1, position=None, type="SomethingNew",
            topic="opsledger.ticket:Ticket.SomethingNew", recorded_at=last.recorded_at,
            actor="wang", data={"note": "a field of its own", "actor": "wang"})]

    monkeypatch.setattr(desk.services.desk, "ticket_history", with_a_new_event)
    login(desk.client, "wang")
    r = desk.client.get(f"/ui/tickets/{t['number']}")
    assert r.status_code == 200
    item = r.text[r.text.index('data-event="SomethingNew"'):]
    assert "<strong>SomethingNew</strong>" in item and "a field of its own" in item


# ------------------------------------------------------------------ a new ticket


def test_the_priority_badge_is_the_desks_matrix(make_api: Callable[..., Api]):
    matrix = PriorityMatrix(p1_from=3, p2_from=1)  # not the default: P1 from a score of 3
    api = make_api(admin_token="s3cret", priority_matrix=matrix)
    person(api.client, ADMIN, "wang", "dispatcher")
    login(api.client, "wang")
    for u in Urgency:
        for i in Impact:
            for m in Importance:
                r = api.client.get("/ui/tickets/priority",
                                   params={"urgency": u, "impact": i, "importance": m})
                assert r.status_code == 200
                want = matrix.priority(u, i, m)
                assert f'data-priority="{want}"' in r.text and f"→ {want}" in r.text
    r = api.client.get("/ui/tickets/priority", params={"urgency": "urgent"})
    assert 'data-priority=""' in r.text  # not all three chosen yet
    assert api.client.get("/ui/tickets/priority", params={
        "urgency": "soon", "impact": "all", "importance": "important"}).status_code == 400


def test_the_new_ticket_form_registers_a_ticket(desk):
    login(desk.client, "wang")
    form = desk.client.get("/ui/tickets/new")
    assert form.status_code == 200
    assert 'name="contact.phone"' in form.text and 'hx-get="/ui/tickets/priority"' in form.text
    filled = {
        "_csrf_token": csrf_of(form.text), "_key": "k1", "customer": "客户B",
        "contact.name": "周五", "contact.phone": "13912345678", "channel": "onsite",
        "title": "打印机卡纸", "description": "三楼打印机", "affected_system": "打印机",
        "reported_at": "2026-11-21T00:45", "type": "fault", "category": "hardware",
        "urgency": "urgent", "impact": "single", "importance": "important"}
    r = desk.client.post("/ui/tickets/new", follow_redirects=False, data=filled)
    assert r.status_code == 303, r.text[:500]
    number = r.headers["location"].rsplit("/", 1)[1]
    assert number.startswith("SR-")
    view = desk.client.get(f"/api/v1/tickets/{number}").json()
    assert (view["title"], view["customer"], view["channel"]) == ("打印机卡纸", "客户B", "onsite")
    assert view["contact"] == {"name": "周五", "phone": "13912345678", "email": ""}
    assert view["priority"] == desk.services.desk.matrix.priority(
        Urgency.URGENT, Impact.SINGLE, Importance.IMPORTANT)
    assert view["status"] == "classified" and view["registered_by"] == "wang"
    # the datetime-local time is a time in Asia/Shanghai
    assert datetime.fromisoformat(view["reported_at"]) == datetime(2026, 11, 21, 0, 45, tzinfo=SH)
    # the same form sent twice (a double click) registers once
    again = desk.client.post("/ui/tickets/new", follow_redirects=False, data=filled)
    assert again.headers["location"] == r.headers["location"]


def test_the_new_ticket_form_refuses_missing_fields_and_a_missing_token(desk):
    login(desk.client, "wang")
    token = csrf_of(desk.client.get("/ui/tickets/new").text)
    r = desk.client.post("/ui/tickets/new", data={"_csrf_token": token, "customer": "客户B",
                                                  "channel": "phone", "title": "x"})
    assert r.status_code in (400, 422) and "contact" in r.text
    r = desk.client.post("/ui/tickets/new", data={"customer": "客户B", "contact.name": "周五",
                                                  "channel": "phone", "title": "x"})
    assert r.status_code == 403
    assert desk.client.get("/api/v1/tickets", headers=ADMIN).json()["count"] == 0


def test_an_auditor_cannot_open_the_new_ticket_form(desk):
    login(desk.client, "shen")
    assert desk.client.get("/ui/tickets/new").status_code == 403


def test_duplicate_suggestions_are_the_customers_open_tickets_of_the_system(desk):
    same = given(desk)
    given(desk, customer="客户C")  # another customer
    given(desk, affected_system="OA")  # another system
    closed = given(desk, ("invalidate", {"reason": "重复报障"}))
    login(desk.client, "wang")
    r = desk.client.get("/ui/tickets/duplicates",
                        params={"customer": "客户A", "affected_system": "ERP"})
    assert r.status_code == 200
    assert re.findall(r'data-ticket="([^"]+)"', r.text) == [same["number"]]
    assert closed["number"] not in r.text
    r = desk.client.get("/ui/tickets/duplicates", params={"customer": "客户A"})
    assert "data-ticket" not in r.text  # asked only with both


def test_every_ticket_command_of_the_matrix_has_a_form():
    assert {"assign", "classify", "start", "log_work", "await_customer", "resume", "resolve",
            "escalate", "link_problem", "close", "reopen", "confirm", "feedback",
            "invalidate"} <= set(VERBS)
