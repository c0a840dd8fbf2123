"""The customers' portal (``/portal/``, issue 18, ADR 0052) as a requester uses it in a
browser: log in, see the organisation's tickets (never another's), submit a ticket, add
a message (ADR 0055), accept or reject the resolution, give the feedback, read the public articles;
a staff page sends them back to the portal, a form without its CSRF token is refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, PRECISE, Api, CLASSIFICATION, ticket_body
from tests.support.console import ADMIN, csrf_of, login, person


@pytest.fixture
def portal(make_api: Callable[..., Api]) -> Api:
    api = make_api(admin_token="s3cret")
    person(api.client, ADMIN, "li", "requester", customer="客户A", name="李四")
    person(api.client, ADMIN, "zhao", "requester", customer="客户B", name="赵六")
    person(api.client, ADMIN, "eng", "engineer")
    return api


def staff(api: Api, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A call of the JSON API as the admin (the desk's side of the story)."""
    r = api.client.request(method, f"{API}{path}", json=body, headers=ADMIN)
    assert r.status_code in (200, 201), r.text
    return r.json()


def ticket_of(api: Api, customer: str = "客户A", **overrides: Any) -> dict[str, Any]:
    return staff(api, "POST", "/tickets", ticket_body(customer=customer, **{
        **CLASSIFICATION, **overrides}))


def resolved(api: Api, ticket: dict[str, Any]) -> dict[str, Any]:
    staff(api, "POST", f"/tickets/{ticket['id']}/assign", {"assignee": "eng"})
    staff(api, "POST", f"/tickets/{ticket['id']}/start", {})
    return staff(api, "POST", f"/tickets/{ticket['id']}/resolve",  # type: ignore[no-any-return]
                 {"resolution": PRECISE, "root_cause": "会话表已满"})


def form_of(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` (CSRF token, key, version)."""
    start = html.index(f'method="post" action="{action}"')
    form = html[start:html.index("</form>", start)]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


def post_form(api: Api, page: str, action: str, fields: dict[str, Any]) -> Any:
    """Fills the form of ``page`` that posts to ``action`` as a browser submits it."""
    html = api.client.get(page).text
    assert f'method="post" action="{action}"' in html, f"no form for {action} on {page}"
    return api.client.post(action, data={**form_of(html, action), **fields},
                           follow_redirects=False)


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-ticket="([^"]+)"', html)


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_a_requester_logs_in_to_the_portal_and_sees_their_organisations_tickets(portal: Api):
    mine = [ticket_of(portal, title=f"打印机故障 {i}") for i in range(3)]
    theirs = ticket_of(portal, customer="客户B", title="客户B 的工单")
    r = login(portal.client, "li")
    assert r.headers["location"] == "/portal/"
    home = portal.client.get("/portal/")
    assert home.status_code == 200
    assert rows(home.text) == [t["number"] for t in reversed(mine)]  # newest first
    assert theirs["number"] not in home.text and "客户B 的工单" not in home.text
    assert "已分类" in home.text  # the status in words
    # another organisation's ticket page is a 404, as on the API
    assert portal.client.get(f"/portal/tickets/{theirs['number']}").status_code == 404
    assert portal.client.get(f"/portal/tickets/{theirs['id']}").status_code == 404
    assert portal.client.get(f"/portal/tickets/{mine[0]['number']}").status_code == 200
    # a staff page sends a requester back to the portal
    desk = portal.client.get("/ui/", follow_redirects=False)
    assert desk.status_code in (303, 403)
    if desk.status_code == 303:
        assert desk.headers["location"] == "/portal/"
    assert portal.client.get("/ui/problems", follow_redirects=False).status_code in (303, 403)
    # and staff are sent from the portal to the desk
    login(portal.client, "eng")
    r = portal.client.get("/portal/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/"


def test_the_home_page_pages_and_tabs_by_status(portal: Api):
    made = [ticket_of(portal, title=f"工单 {i}") for i in range(23)]
    resolved(portal, made[0])
    login(portal.client, "li")
    first = portal.client.get("/portal/").text
    assert rows(first) == [t["number"] for t in reversed(made)][:20]
    cursor = re.search(r'href="/portal/\?tab=all&amp;cursor=([^"]+)"', first)
    assert cursor, "no next page link"
    second = portal.client.get(f"/portal/?tab=all&cursor={cursor.group(1)}").text
    assert rows(second) == [t["number"] for t in reversed(made)][20:]
    assert "cursor=" not in second.split("data-pager")[1].split("</nav>")[0].replace(
        'data-first', '')  # no next page after the last
    acceptance = portal.client.get("/portal/?tab=acceptance").text
    assert rows(acceptance) == [made[0]["number"]] and "请验收" in acceptance
    assert made[0]["number"] not in rows(portal.client.get("/portal/?tab=open").text)
    assert portal.client.get("/portal/?tab=nope").status_code == 400


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_submitting_the_form_registers_a_ticket_for_their_own_organisation(portal: Api):
    login(portal.client, "li")
    form = portal.client.get("/portal/tickets/new")
    assert form.status_code == 200 and 'name="contact.name"' in form.text
    assert 'value="李四"' in form.text  # the contact is prefilled with their name
    r = post_form(portal, "/portal/tickets/new", "/portal/tickets/new", {
        "title": "财务系统打印报表乱码", "description": "从今天上午开始，所有报表中文乱码",
        "affected_system": "财务系统", "urgency": "urgent", "contact.name": "李四",
        "contact.phone": "13800005678"})
    assert r.status_code == 303, r.text
    number = r.headers["location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"SR-\d{8}-\d{3}", number)
    ticket = staff(portal, "GET", f"/tickets/{number}")
    assert ticket["customer"] == "客户A" and ticket["channel"] == "web"
    assert ticket["registered_by"] == "li" and ticket["urgency"] == "urgent"
    assert ticket["contact"]["phone"] == "13800005678"
    page = portal.client.get(r.headers["location"])
    assert page.status_code == 200 and "财务系统打印报表乱码" in page.text
    assert "138****5678" in page.text and "13800005678" not in page.text  # masked
    assert number in rows(portal.client.get("/portal/").text)
    # the same body rules as the API: no title, a 400 naming it
    bad = post_form(portal, "/portal/tickets/new", "/portal/tickets/new",
                    {"title": "", "contact.name": "李四"})
    assert bad.status_code == 400 and "title" in bad.text


def test_a_form_without_its_csrf_token_is_refused(portal: Api):
    login(portal.client, "li")
    html = portal.client.get("/portal/tickets/new").text
    fields = {k: v for k, v in form_of(html, "/portal/tickets/new").items()
              if "csrf" not in k}
    r = portal.client.post("/portal/tickets/new", data={
        **fields, "channel": "web", "title": "没有令牌", "contact.name": "李四"},
        follow_redirects=False)
    assert r.status_code == 403
    assert staff(portal, "GET", "/tickets")["items"] == []


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_accepting_the_resolution_closes_the_ticket_and_the_feedback_follows(portal: Api):
    t = resolved(portal, ticket_of(portal))
    login(portal.client, "li")
    page = portal.client.get(f"/portal/tickets/{t['number']}").text
    assert 'data-form="confirm"' in page and 'data-command="reject"' in page
    assert 'data-form="feedback"' not in page and 'data-form="add_information"' not in page
    assert PRECISE in page  # the resolution to accept
    action = f"/portal/tickets/{t['number']}/confirm"
    r = post_form(portal, f"/portal/tickets/{t['number']}", action, {
        "signer": "李四", "items": PRECISE, "criteria": "全部用户可登录", "passed": "true"})
    assert r.status_code == 303 and r.headers["location"] == f"/portal/tickets/{t['number']}"
    view = staff(portal, "GET", f"/tickets/{t['id']}")
    assert view["status"] == "closed" and view["acceptance"]["passed"] is True
    assert view["acceptance"]["signer"] == "李四"
    page = portal.client.get(f"/portal/tickets/{t['number']}").text
    assert 'data-form="confirm"' not in page  # the acceptance form is gone
    assert 'data-form="feedback"' in page and "3 个工作日" in page
    assert "李*" in page and view["acceptance"]["number"] in page  # the SD record, masked
    action = f"/portal/tickets/{t['number']}/feedback"
    r = post_form(portal, f"/portal/tickets/{t['number']}", action, {
        "timeliness": "5", "effectiveness": "4", "attitude": "5", "comment": "处理很快"})
    assert r.status_code == 303, r.text
    view = staff(portal, "GET", f"/tickets/{t['id']}")
    assert view["feedback"]["timeliness"] == 5 and view["feedback"]["comment"] == "处理很快"
    page = portal.client.get(f"/portal/tickets/{t['number']}").text
    assert 'data-form="feedback"' not in page and view["feedback"]["number"] in page
    assert 'data-form="reopen"' in page


def test_rejecting_needs_the_unmet_items_and_sends_the_ticket_back_to_work(portal: Api):
    t = resolved(portal, ticket_of(portal))
    login(portal.client, "li")
    ticket_page = f"/portal/tickets/{t['number']}"
    action = f"{ticket_page}/confirm"
    r = post_form(portal, ticket_page, action, {
        "signer": "李四", "items": PRECISE, "criteria": "全部用户可登录", "passed": "false"})
    assert r.status_code == 422 and "unmet_items" in r.text
    assert staff(portal, "GET", f"/tickets/{t['id']}")["status"] == "resolved"
    r = post_form(portal, ticket_page, action, {
        "signer": "李四", "items": PRECISE, "criteria": "全部用户可登录", "passed": "false",
        "unmet_items": "报表仍然乱码"})
    assert r.status_code == 303
    view = staff(portal, "GET", f"/tickets/{t['id']}")
    assert view["status"] == "in_progress" and view["acceptance"]["unmet_items"] == ["报表仍然乱码"]
    page = portal.client.get(ticket_page).text
    assert 'data-form="confirm"' not in page and 'data-form="comment"' in page
    assert "验收未通过" in page and "报表仍然乱码" in page


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_a_message_resumes_the_waiting_ticket_and_the_timeline_is_the_customers(portal: Api):
    t = ticket_of(portal)
    staff(portal, "POST", f"/tickets/{t['id']}/assign", {"assignee": "eng"})
    staff(portal, "POST", f"/tickets/{t['id']}/start", {})
    staff(portal, "POST", f"/tickets/{t['id']}/log_work",
          {"action": "内部排查：检查 DB02 慢日志", "hours": 1})
    staff(portal, "POST", f"/tickets/{t['id']}/await_customer",
          {"reason": "请提供出错时的截图"})
    login(portal.client, "li")
    ticket_page = f"/portal/tickets/{t['number']}"
    page = portal.client.get(ticket_page).text
    assert "请提供出错时的截图" in page  # what the desk waits for
    assert "内部排查" not in page  # the work log is the staff's
    assert 'data-event="SlaDeadlinesSet"' not in page and 'data-event="Started"' in page
    # the message form (ADR 0055) took the place of "add information"
    r = post_form(portal, ticket_page, f"{ticket_page}/comment",
                  {"body": "截图已发到服务台邮箱，文件名 err-0905.png"})
    assert r.status_code == 303, r.text
    history = staff(portal, "GET", f"/tickets/{t['id']}/history")
    assert [h["type"] for h in history[-2:]] == ["CommentAdded", "Resumed"]
    assert history[-2]["actor"] == "li" and history[-2]["data"]["author"] == "customer"
    page = portal.client.get(ticket_page).text
    assert "err-0905.png" in page and 'data-event="CommentAdded"' in page
    # a form drawn before someone changed the ticket answers as a stale If-Match does
    stale = form_of(page, f"{ticket_page}/comment")
    staff(portal, "POST", f"/tickets/{t['id']}/log_work", {"action": "查看截图", "hours": 0.5})
    r = portal.client.post(f"{ticket_page}/comment",
                           data={**stale, "body": "再补充一句"}, follow_redirects=False)
    assert r.status_code == 412
    assert staff(portal, "GET", f"/tickets/{t['id']}/history")[-1]["type"] == "WorkLogged"


def test_another_organisations_ticket_takes_no_command_from_the_portal(portal: Api):
    theirs = resolved(portal, ticket_of(portal, customer="客户B"))
    login(portal.client, "li")
    token = csrf_of(portal.client.get("/portal/").text)
    r = portal.client.post(f"/portal/tickets/{theirs['number']}/confirm", data={
        "_csrf_token": token, "signer": "李四", "items": "x", "criteria": "y",
        "passed": "true"}, follow_redirects=False)
    assert r.status_code == 404
    assert staff(portal, "GET", f"/tickets/{theirs['id']}")["status"] == "resolved"


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_only_published_public_articles_are_listed_and_read(portal: Api):
    public = staff(portal, "POST", "/knowledge", {
        "title": "打印机脱机怎么办", "symptoms": "打印时提示打印机脱机",
        "solution": "取消“脱机使用打印机”", "audience": "public"})
    internal = staff(portal, "POST", "/knowledge", {
        "title": "打印服务器重启步骤", "symptoms": "打印机脱机，队列卡死",
        "solution": "登录 PRN01 重启 Spooler"})
    retired = staff(portal, "POST", "/knowledge", {
        "title": "旧版打印驱动", "symptoms": "打印机脱机", "solution": "装旧驱动",
        "audience": "public"})
    staff(portal, "POST", f"/knowledge/{retired['id']}/retire", {"reason": "已过时"})
    login(portal.client, "li")
    for path in ("/portal/knowledge", "/portal/knowledge?q=打印机脱机"):
        html = portal.client.get(path).text
        assert re.findall(r'<li data-article="([^"]+)"', html) == [public["number"]], path
        assert "PRN01" not in html and "旧版打印驱动" not in html
    article = portal.client.get(f"/portal/knowledge/{public['number']}")
    assert article.status_code == 200 and "取消“脱机使用打印机”" in article.text
    for other in (internal, retired):
        assert portal.client.get(f"/portal/knowledge/{other['number']}").status_code == 404
