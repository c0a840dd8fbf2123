"""Notes on the console's ticket pages (issue 19 item 2, ADR 0055), as a browser uses them:
the desk's notes form under the timeline (internal unless public is chosen), the timeline's
badges (内部 / 公开, 客户 for the customer's words), an auditor's page without the text of an
internal note, and the portal: the customer reads the public notes only and writes messages
(``CustomerReply`` via the portal), which resume a ticket waiting for them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, CLASSIFICATION, Api, ticket_body
from tests.support.console import ADMIN, csrf_of, login, staffed

SECRET = "内部：客户机房钥匙在前台 3 号柜"
PUBLIC = "您好，工程师明天 9 点上门"
_HIDDEN = re.compile(r'type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"wang": ("dispatcher", "王调度"), "li": ("engineer", "李工"),
                              "zhao": ("engineer", "赵工"), "shen": ("auditor", "沈审计"),
                              "kehu": ("requester", "张客户", "客户A")})


def call(api: Api, ref: str, verb: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.client.post(f"{API}/tickets/{ref}/{verb}", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def working(api: Api) -> dict[str, Any]:
    """A classified ticket of 客户A assigned to li and started."""
    r = api.client.post(f"{API}/tickets", json=ticket_body(**CLASSIFICATION), headers=ADMIN)
    assert r.status_code == 201, r.text
    t = r.json()
    call(api, t["number"], "assign", {"assignee": "li"})
    return call(api, t["number"], "start", {})


def notes_form(html: str, action: str) -> dict[str, str]:
    start = html.index(f'action="{action}"')
    return dict(_HIDDEN.findall(html[start:html.index("</form>", start)]))


def post_note(api: Api, page: str, action: str, fields: dict[str, str]) -> Any:
    html = api.client.get(page).text
    return api.client.post(action, data={**notes_form(html, action), **fields},
                           follow_redirects=False)


def notes_on(html: str) -> list[tuple[str, str]]:
    """The timeline's notes: (visibility, author) of each, oldest first."""
    return re.findall(r'data-event="CommentAdded"[^>]*data-note="(\w+)" data-author="(\w+)"',
                      html)


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_the_desk_writes_internal_and_public_notes_and_the_timeline_marks_them(desk: Api):
    t = working(desk)
    page, action = f"/ui/tickets/{t['number']}", f"/ui/tickets/{t['number']}/comment"
    login(desk.client, "li")
    html = desk.client.get(page).text
    assert "data-notes-form" in html
    assert re.search(r'name="visibility" value="internal" checked', html)  # the safe default
    r = post_note(desk, page, action, {"body": SECRET})
    assert r.status_code == 303 and r.headers["location"] == f"{page}#notes"
    r = post_note(desk, page, action, {"body": PUBLIC, "visibility": "public"})
    assert r.status_code == 303, r.text
    call(desk, t["number"], "await_customer", {"reason": "请确认上门时间"})
    r = desk.client.post(f"{API}/tickets/{t['number']}/comment", json={"body": "可以"},
                         headers=ADMIN)  # the admin's note: staff
    assert r.status_code == 200
    from application.commands.tickets import CustomerReply
    desk.services.desk.handle(CustomerReply(ref=t["number"], body="明天 9 点可以",
                                            via="email", sender="张客户 <zhang@example.com>"),
                              actor="system:mail")
    html = desk.client.get(page).text
    assert notes_on(html) == [("internal", "staff"), ("public", "staff"),
                              ("internal", "staff"), ("public", "customer")]
    assert SECRET in html and PUBLIC in html and "明天 9 点可以" in html
    assert 'data-badge="internal">内部' in html and 'data-badge="public">公开' in html
    assert 'data-badge="customer">客户' in html and "zhang@example.com" in html
    history = desk.client.get(f"{API}/tickets/{t['id']}/history", headers=ADMIN).json()
    notes = [h for h in history if h["type"] == "CommentAdded"]
    assert [(h["data"]["via"], h["actor"]) for h in notes[:2]] == [("console", "li"),
                                                                    ("console", "li")]
    assert desk.client.get(f"{API}/tickets/{t['id']}", headers=ADMIN).json()[
        "status"] == "in_progress"  # the customer's mail resumed it
    desk.client.cookies.set("lang", "en")
    english = desk.client.get(page).text
    assert 'data-badge="internal">Internal' in english and "Add a note" in english


def test_a_form_over_a_changed_ticket_and_a_resent_form(desk: Api):
    t = working(desk)
    page, action = f"/ui/tickets/{t['number']}", f"/ui/tickets/{t['number']}/comment"
    login(desk.client, "wang")
    fields = notes_form(desk.client.get(page).text, action)
    r = desk.client.post(action, data={**fields, "body": "一次"}, follow_redirects=False)
    again = desk.client.post(action, data={**fields, "body": "一次"}, follow_redirects=False)
    assert r.status_code == again.status_code == 303  # a double click records it once
    history = desk.client.get(f"{API}/tickets/{t['id']}/history", headers=ADMIN).json()
    assert [h["data"]["body"] for h in history if h["type"] == "CommentAdded"] == ["一次"]
    stale = {**fields, "_key": "another-key", "body": "旧页面"}
    assert desk.client.post(action, data=stale, follow_redirects=False).status_code == 412
    r = post_note(desk, page, action, {"body": "  "})
    assert r.status_code == 400 and "body" in r.text  # required, as on the API


def test_an_auditor_reads_that_an_internal_note_exists_but_not_its_text(desk: Api):
    t = working(desk)
    call(desk, t["number"], "comment", {"body": SECRET, "visibility": "internal"})
    call(desk, t["number"], "comment", {"body": PUBLIC, "visibility": "public"})
    login(desk.client, "shen")
    html = desk.client.get(f"/ui/tickets/{t['number']}").text
    assert SECRET not in html and PUBLIC in html and "内容仅服务方员工可见" in html
    assert notes_on(html) == [("internal", "staff"), ("public", "staff")]
    assert "data-notes-form" not in html  # auditors write nothing
    r = desk.client.post(f"/ui/tickets/{t['number']}/comment", data={
        "_csrf_token": csrf_of(html), "body": "x"}, follow_redirects=False)
    assert r.status_code == 403 and "needs one of the roles" in r.text
    # an engineer who does not work the ticket gets no form either
    login(desk.client, "zhao")
    assert "data-notes-form" not in desk.client.get(f"/ui/tickets/{t['number']}").text


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_the_portal_shows_public_notes_only_and_its_message_resumes_a_waiting_ticket(
        desk: Api):
    t = working(desk)
    call(desk, t["number"], "comment", {"body": SECRET, "visibility": "internal"})
    call(desk, t["number"], "comment", {"body": PUBLIC, "visibility": "public"})
    call(desk, t["number"], "await_customer", {"reason": "请确认上门时间"})
    login(desk.client, "kehu")
    page, action = f"/portal/tickets/{t['number']}", f"/portal/tickets/{t['number']}/comment"
    html = desk.client.get(page).text
    assert SECRET not in html and PUBLIC in html
    assert re.findall(r'data-event="CommentAdded" data-author="(\w+)"', html) == ["staff"]
    assert 'data-form="comment"' in html and 'data-form="add_information"' not in html
    r = post_note(desk, page, action, {"body": "明天 9 点可以", "visibility": "internal"})
    assert r.status_code == 422 and "visibility" in r.text
    r = post_note(desk, page, action, {"body": "明天 9 点可以"})
    assert r.status_code == 303 and r.headers["location"] == page
    view = desk.client.get(f"{API}/tickets/{t['id']}", headers=ADMIN).json()
    assert view["status"] == "in_progress"  # the customer answered
    history = desk.client.get(f"{API}/tickets/{t['id']}/history", headers=ADMIN).json()
    assert [h["type"] for h in history[-2:]] == ["CommentAdded", "Resumed"]
    assert (history[-2]["data"]["author"], history[-2]["data"]["via"],
            history[-2]["data"]["visibility"], history[-2]["actor"]) == (
        "customer", "portal", "public", "kehu")
    html = desk.client.get(page).text
    assert re.findall(r'data-event="CommentAdded" data-author="(\w+)"', html) == [
        "staff", "customer"]
    assert "明天 9 点可以" in html and SECRET not in html


def test_the_portal_takes_no_message_on_a_closed_ticket(desk: Api):
    t = working(desk)
    call(desk, t["number"], "resolve", {"resolution": "更换硬盘后系统恢复正常，已验证读写",
                                        "root_cause": "硬盘坏道"})
    login(desk.client, "kehu")
    page = f"/portal/tickets/{t['number']}"
    assert 'data-form="comment"' in desk.client.get(page).text  # a question before accepting
    call(desk, t["number"], "confirm", {"signer": "张客户", "items": ["硬盘"],
                                        "criteria": ["正常"], "passed": True})
    assert 'data-form="comment"' not in desk.client.get(page).text
