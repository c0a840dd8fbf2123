"""Announcements of planned maintenance over HTTP (issue 19 item 5, ADR 0060): 201 with the
view, the 48-hour rule as a 422 naming ``starts`` (problem+json), the configurable lead, the
list's phases, a change's window covered and linked both ways, the withdrawal, and a
requester reading only their own organisation's announcements on every read path.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, Api, assert_problem, etag, user_token

ADMIN = {"Authorization": "Bearer s3cret"}
STARTS, ENDS = "2026-11-28T22:00:00+08:00", "2026-11-29T02:00:00+08:00"
BODY = {"scope": {"customers": ["客户A"], "systems": ["ERP"]}, "starts": STARTS, "ends": ENDS,
        "title": "ERP 内存扩容停机", "body": "11月28日 22:00 至次日 02:00 ERP 停机扩容内存。"}
PLAN: dict[str, Any] = {
    "goal": "ERP 登录响应时间降到 1 秒以内", "content": "升级 ERP 应用服务器内存",
    "steps": ["备份配置", "停机扩容内存"], "people": ["eng-wang"], "budget": "2 万元",
    "schedule": {"start": "2026-11-28T23:00:00+08:00", "end": "2026-11-29T01:00:00+08:00"},
    "risk_plan": "启用备用服务器", "rollback_plan": "恢复原内存条"}


def customers(api: Api, *names: str, headers: dict[str, str] | None = None) -> None:
    for name in names:
        r = api.client.post(f"{API}/customers", json={"id": name, "name": name},
                            headers=headers)
        assert r.status_code == 201, r.text


def publish(api: Api, headers: dict[str, str] | None = None, **over: Any) -> Any:
    return api.client.post(f"{API}/announcements", json={**BODY, **over}, headers=headers)


def ok(r: Any) -> Any:
    """A 200 answer's JSON (lists and histories carry no ``ETag``)."""
    assert r.status_code == 200, r.text
    return r.json()


def read(api: Api, path: str, headers: dict[str, str] | None = None, **params: str) -> Any:
    return api.client.get(f"{API}{path}", params=params, headers=headers)


def change(api: Api, kind: str = "normal") -> dict[str, Any]:
    ticket = api.ok(api.register(customer="客户A"), 201)
    c = api.ok(api.client.post(f"{API}/changes", json={
        "kind": kind, "origin": ticket["id"], "title": "ERP 内存扩容", "affected_system": "ERP"}),
        201)
    api.ok(api.client.post(f"{API}/changes/{c['id']}/assess",
                           json={"risk": "medium", "impact": "ERP 停机"}))
    return api.ok(api.client.post(f"{API}/changes/{c['id']}/plan", json=PLAN))


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_publish_answers_201_with_the_view_and_reads_it_back(api: Api) -> None:
    customers(api, "客户A")
    r = publish(api)
    a = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/announcements/{a['id']}"
    assert r.headers["etag"] == etag(1)
    assert a["number"] == "ANN-20261121-001" and a["status"] == "published"
    assert a["phase"] == "upcoming" and a["scope"] == {"customers": ["客户A"], "systems": ["ERP"]}
    assert a["starts"] == "2026-11-28T14:00:00Z" and a["notice_hours"] == 189.0
    assert a["change"] is None and a["published_by"]
    assert api.ok(read(api, f"/announcements/{a['number']}")) == a
    history = ok(read(api, f"/announcements/{a['id']}/history"))
    assert [h["type"] for h in history] == ["Published"]
    assert history[0]["topic"] == "opsledger.announcement:Announcement.Published"
    before = read(api, f"/announcements/{a['id']}", as_of="2026-11-20T00:00:00Z")
    assert_problem(before, 404)


def test_less_than_48_hours_ahead_is_a_422_naming_starts(api: Api) -> None:
    customers(api, "客户A")
    soon = {"starts": "2026-11-23T00:30:00+08:00", "ends": "2026-11-23T02:00:00+08:00"}
    body = assert_problem(publish(api, **soon), 422, field="starts", detail_has="48 hours")
    assert [e["field"] for e in body["errors"]] == ["starts"]
    api.ok(publish(api, starts="2026-11-23T01:00:00+08:00", ends="2026-11-23T02:00:00+08:00"),
           201)  # exactly 48 hours ahead
    assert ok(read(api, "/announcements"))["count"] == 1  # the refused one saved nothing


def test_the_lead_is_configurable(make_api: Any) -> None:
    api = make_api(announcement_lead_hours=24)
    customers(api, "客户A")
    api.ok(publish(api, starts="2026-11-22T02:00:00+08:00", ends="2026-11-22T03:00:00+08:00"),
           201)
    assert_problem(publish(api, starts="2026-11-22T00:30:00+08:00",
                           ends="2026-11-22T03:00:00+08:00"), 422, field="starts",
                   detail_has="24 hours")


def test_bad_bodies_name_their_fields(api: Api) -> None:
    customers(api, "客户A")
    assert_problem(publish(api, ends=STARTS), 422, field="ends")
    assert_problem(publish(api, scope={"customers": []}), 422, field="scope.customers")
    assert_problem(publish(api, scope={"customers": ["无此客户"]}), 422, field="scope.customers")
    assert_problem(publish(api, body=" "), 422, field="body")
    assert_problem(publish(api, starts="2026-11-28T22:00:00"), 400)  # no offset
    assert_problem(publish(api, colour="red"), 400)
    assert_problem(publish(api, change_id="CHG-20261121-009"), 422, field="change_id")


def test_a_changes_window_is_covered_and_the_change_shows_the_link(api: Api) -> None:
    customers(api, "客户A")
    c = change(api)
    late = assert_problem(publish(api, change_id=c["number"], starts="2026-11-28T23:30:00+08:00"),
                          422, field="starts", detail_has=c["number"])
    assert "must cover" in late["detail"]
    a = api.ok(publish(api, change_id=c["number"], scope={"customers": ["客户A"]}), 201)
    assert a["change"] == {"id": c["id"], "number": c["number"]}
    assert a["scope"]["systems"] == ["ERP"]  # the change's affected system
    view = api.ok(read(api, f"/changes/{c['id']}"))
    assert [(x["number"], x["withdrawn"]) for x in view["announcements"]] == [(a["number"], False)]
    listed = ok(read(api, "/announcements", change=c["number"]))
    assert [x["number"] for x in listed["items"]] == [a["number"]]
    r = api.client.post(f"{API}/announcements/{a['number']}/withdraw",
                        json={"reason": "厂商补丁推迟"}, headers={"If-Match": etag(1)})
    w = api.ok(r)
    assert w["status"] == "withdrawn" and w["phase"] == "withdrawn"
    assert w["withdraw_reason"] == "厂商补丁推迟" and r.headers["etag"] == etag(2)
    view = api.ok(read(api, f"/changes/{c['id']}"))
    assert view["announcements"][0]["withdrawn"] is True
    history = [h["type"] for h in ok(read(api, f"/changes/{c['id']}/history"))]
    assert history[-2:] == ["AnnouncementLinked", "AnnouncementWithdrawn"]
    again = api.client.post(f"{API}/announcements/{a['number']}/withdraw",
                            json={"reason": "again"})
    assert_problem(again, 409)


def test_an_emergency_changes_window_may_be_announced_at_short_notice(api: Api) -> None:
    customers(api, "客户A")
    c = change(api, kind="emergency")
    soon = {**PLAN, "schedule": {"start": "2026-11-21T03:00:00+08:00",
                                 "end": "2026-11-21T04:00:00+08:00"}}
    api.ok(api.client.post(f"{API}/changes/{c['id']}/plan", json=soon))
    window = {"starts": "2026-11-21T02:00:00+08:00", "ends": "2026-11-21T05:00:00+08:00"}
    assert_problem(publish(api, **window), 422, field="starts")  # without the change: 48 h
    a = api.ok(publish(api, change_id=c["id"], **window), 201)
    assert a["notice_hours"] == 1.0


def test_the_list_filters_by_phase_and_customer(api: Api) -> None:
    customers(api, "客户A", "客户B")
    first = api.ok(publish(api, starts="2026-11-23T02:00:00+08:00",
                           ends="2026-11-23T04:00:00+08:00"), 201)
    second = api.ok(publish(api, scope={"customers": ["客户B"]}), 201)
    api.clock.advance(hours=50)  # 2026-11-23 03:00: the first window is going on
    phases = {x["number"]: x["phase"] for x in ok(read(api, "/announcements"))["items"]}
    assert phases == {first["number"]: "current", second["number"]: "upcoming"}
    current = ok(read(api, "/announcements", phase="current"))
    assert [x["number"] for x in current["items"]] == [first["number"]]
    mine = ok(read(api, "/announcements", customer="客户B"))
    assert [x["number"] for x in mine["items"]] == [second["number"]]
    page = ok(read(api, "/announcements", limit="1"))
    assert page["count"] == 1 and page["next_cursor"] == "1"
    rest = ok(read(api, "/announcements", limit="1", cursor=page["next_cursor"]))
    assert rest["next_cursor"] is None and rest["items"][0]["number"] == first["number"]
    assert_problem(read(api, "/announcements", phase="soon"), 400)
    api.clock.advance(hours=2)
    late = api.client.post(f"{API}/announcements/{first['id']}/withdraw", json={"reason": "晚了"})
    assert_problem(late, 409)


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_requesters_read_only_their_organisations_announcements(make_api: Any) -> None:
    api = make_api(admin_token="s3cret")
    customers(api, "客户A", "客户B", headers=ADMIN)
    tokens = {}
    for user, role, customer in (("req-a", "requester", "客户A"), ("req-b", "requester", "客户B"),
                                 ("disp", "dispatcher", None), ("eng", "engineer", None)):
        tokens[user] = user_token(api.client, ADMIN, user, role, customer=customer)
    a = api.ok(publish(api, headers=tokens["disp"]), 201)
    b = api.ok(publish(api, headers=tokens["disp"], title="打印服务器迁移",
                       body="打印服务器迁移到新机房", scope={"customers": ["客户B"]}), 201)
    both = api.ok(publish(api, headers=tokens["disp"], title="机房停电检修", body="全体停电",
                          scope={"customers": ["客户A", "客户B"]}), 201)
    assert publish(api, headers=tokens["eng"]).status_code == 403
    assert publish(api, headers=tokens["req-a"]).status_code == 403
    req = tokens["req-a"]
    listed = ok(read(api, "/announcements", headers=req, customer="客户B"))
    assert {x["number"] for x in listed["items"]} == {a["number"], both["number"]}
    assert b["title"] not in str(listed) and b["number"] not in str(listed)
    for path in (f"/announcements/{b['id']}", f"/announcements/{b['number']}",
                 f"/announcements/{b['id']}?as_of=2026-12-01T00:00:00Z"):
        r = api.client.get(f"{API}{path}", headers=req)
        assert_problem(r, 404)
        assert b["title"] not in r.text and "客户B" not in r.text
    unknown = read(api, "/announcements/ANN-20261121-099", headers=req)
    assert_problem(unknown, 404)
    assert api.ok(read(api, f"/announcements/{a['number']}", headers=req))["title"] == a["title"]
    assert read(api, f"/announcements/{a['id']}/history", headers=req).status_code == 403
    w = api.client.post(f"{API}/announcements/{a['id']}/withdraw", json={"reason": "x"},
                        headers=req)
    assert w.status_code == 403
    staff = ok(read(api, "/announcements", headers=tokens["eng"]))
    assert staff["count"] == 3
