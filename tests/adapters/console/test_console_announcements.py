"""Announcements of planned maintenance on the console (ADR 0060): a dispatcher publishes one
from the desk's form (the times read in Beijing time), sees it listed and withdraws it; a
form too close to the window answers the API's 422 naming ``starts``; a requester sees their
organisation's announcements as a banner on the portal's home and on the portal's list, never
another organisation's, and no desk page of them.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.adapters.console.forms import hidden_fields
from tests.fixtures_http import ALL_STORES, API, Api
from tests.support.console import ADMIN, login, staffed


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"wang": ("dispatcher", "王调度"), "eng": ("engineer",),
                              "li": ("requester", "李四", "客户A"),
                              "zhao": ("requester", "赵六", "客户B")},
                   customers=("客户A", "客户B"))


def announce(api: Api, customers: str, title: str, starts: str, ends: str) -> Any:
    html = api.client.get("/ui/announcements").text
    fields = {**hidden_fields(html, "/ui/announcements"), "title": title,
              "body": f"{title}：期间系统暂停服务。", "scope.customers": customers,
              "scope.systems": "ERP, OA", "starts": starts, "ends": ends}
    return api.client.post("/ui/announcements", data=fields, follow_redirects=False)


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_dispatcher_publishes_lists_and_withdraws(desk: Api) -> None:
    login(desk.client, "wang")
    page = desk.client.get("/ui/announcements")
    assert page.status_code == 200 and "至少提前 48 小时" in page.text
    assert 'href="/ui/announcements"' in page.text.split("<nav>", 1)[1].split("</nav>", 1)[0]
    r = announce(desk, "客户A\n客户B", "ERP 停机扩容", "2026-11-28T22:00", "2026-11-29T02:00")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/ui/announcements/ANN-20261121-001"
    view = desk.client.get(f"{API}/announcements/ANN-20261121-001").json()
    assert view["starts"] == "2026-11-28T14:00:00Z"  # 22:00 in Beijing
    assert view["scope"] == {"customers": ["客户A", "客户B"], "systems": ["ERP", "OA"]}
    listed = desk.client.get("/ui/announcements").text
    assert 'data-announcement="ANN-20261121-001" data-phase="upcoming"' in listed
    assert "2026-11-28 22:00 – 2026-11-29 02:00" in listed
    one = desk.client.get("/ui/announcements/ANN-20261121-001").text
    assert 'data-command="withdraw"' in one and "7天21小时" in one  # the notice given
    html = one
    fields = {**hidden_fields(html, "/ui/announcements/ANN-20261121-001/withdraw"),
              "reason": "厂商补丁推迟"}
    r = desk.client.post("/ui/announcements/ANN-20261121-001/withdraw", data=fields,
                         follow_redirects=False)
    assert r.status_code == 303, r.text
    one = desk.client.get("/ui/announcements/ANN-20261121-001").text
    assert 'data-phase="withdrawn"' in one and "厂商补丁推迟" in one
    assert 'data-command="withdraw"' not in one and "撤回维护公告" in one  # the timeline


def test_too_short_a_notice_is_refused_naming_starts(desk: Api) -> None:
    login(desk.client, "wang")
    r = announce(desk, "客户A", "OA 补丁", "2026-11-22T09:00", "2026-11-22T10:00")
    assert r.status_code == 422, r.text
    assert "starts" in r.text and "48 hours" in r.text
    assert desk.client.get(f"{API}/announcements").json()["count"] == 0


def test_an_engineer_reads_but_has_no_form(desk: Api) -> None:
    login(desk.client, "eng")
    page = desk.client.get("/ui/announcements")
    assert page.status_code == 200 and 'method="post" action="/ui/announcements"' not in page.text
    r = desk.client.post("/ui/announcements", data={}, follow_redirects=False)
    assert r.status_code == 403


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_requesters_see_their_organisations_maintenance_only(desk: Api) -> None:
    login(desk.client, "wang")
    for customers, title, starts, ends in (
            ("客户A", "客户A 机房停电检修", "2026-11-24T20:00", "2026-11-24T23:00"),
            ("客户B", "客户B 打印服务器迁移", "2026-11-25T20:00", "2026-11-25T22:00"),
            ("客户A,客户B", "全体 OA 升级", "2026-11-26T20:00", "2026-11-26T22:00")):
        assert announce(desk, customers, title, starts, ends).status_code == 303
    login(desk.client, "li")
    home = desk.client.get("/portal/")
    assert home.status_code == 200 and "data-announcements" in home.text
    banner = home.text.split("data-announcements", 1)[1].split("</section>", 1)[0]
    assert "客户A 机房停电检修" in banner and "全体 OA 升级" in banner
    assert banner.index("客户A 机房停电检修") < banner.index("全体 OA 升级")  # soonest first
    assert "2026-11-24 20:00 – 2026-11-24 23:00" in banner
    listed = desk.client.get("/portal/announcements")
    assert listed.status_code == 200 and "全体 OA 升级" in listed.text
    for text in (home.text, listed.text):
        assert "客户B 打印服务器迁移" not in text and "客户B" not in text
    for page in ("/ui/announcements", "/ui/announcements/ANN-20261121-002"):
        r = desk.client.get(page, follow_redirects=False)
        assert r.status_code in (303, 403, 404) and "客户B 打印服务器迁移" not in r.text
    r = desk.client.get(f"{API}/announcements/ANN-20261121-002")
    assert r.status_code == 404
    desk.clock.advance(days=10)  # every window is over: no banner
    assert "data-announcements" not in desk.client.get("/portal/").text


PLAN = {"goal": "OA 查询提速", "content": "重建索引", "steps": ["备份", "重建索引"],
        "people": ["eng"], "budget": "无", "risk_plan": "回退", "rollback_plan": "恢复备份",
        "schedule": {"start": "2026-11-27T22:00:00+08:00", "end": "2026-11-28T01:00:00+08:00"}}


def test_a_changes_page_links_its_announcement_and_fills_the_form(desk: Api) -> None:
    ticket = desk.client.post(f"{API}/tickets", headers=ADMIN, json={
        "customer": "客户A", "title": "OA 查询慢", "description": "查询要 10 秒",
        "channel": "phone", "contact": {"name": "李四", "phone": "13800005678"}}).json()
    change = desk.client.post(f"{API}/changes", headers=ADMIN, json={
        "kind": "normal", "origin": ticket["id"], "title": "OA 索引优化",
        "affected_system": "OA"}).json()
    for verb, body in (("assess", {"risk": "low", "impact": "OA 变慢"}), ("plan", PLAN)):
        r = desk.client.post(f"{API}/changes/{change['id']}/{verb}", json=body, headers=ADMIN)
        assert r.status_code == 200, r.text
    login(desk.client, "wang")
    page = desk.client.get(f"/ui/changes/{change['number']}").text
    assert "尚未公告" in page and f'href="/ui/announcements?change={change["number"]}"' in page
    form = desk.client.get(f"/ui/announcements?change={change['number']}").text
    assert 'value="2026-11-27T22:00"' in form and 'value="2026-11-28T01:00"' in form
    assert f'value="{change["number"]}"' in form and "已登记的客户：客户A、客户B" in form
    r = announce(desk, "客户A", "OA 索引优化", "2026-11-27T22:00", "2026-11-28T01:00")
    assert r.status_code == 303  # (the form as filled, without the change: announced alone)
    html = desk.client.get("/ui/announcements").text
    fields = {**hidden_fields(html, "/ui/announcements"), "body": "OA 索引优化，查询变慢",
              "scope.customers": "客户A", "starts": "2026-11-27T21:30",
              "ends": "2026-11-28T01:00", "change_id": change["number"]}
    r = desk.client.post("/ui/announcements", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = desk.client.get(f"/ui/changes/{change['number']}").text
    assert 'href="/ui/announcements/ANN-20261121-002"' in page and "尚未公告" not in page
    assert "发布维护公告" in page  # the change's timeline: AnnouncementLinked
