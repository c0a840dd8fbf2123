"""Major incidents over HTTP (重大事件, issue 21 item 5, ADR 0067): declared on a P1 ticket (or
by a manager on any open ticket; a dispatcher on a P2 is a 409 naming ``priority P1``), one
active incident per ticket, the commander and communication plan, updates told on the ticket,
the update clock's missed update recorded exactly once by the watcher, the post-incident
review required before close (409 naming ``review``), and the problem opened from it.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from typing import Any

import pytest

from application.record_watch import watch_incidents
from tests.fixtures_http import API, CLASSIFICATION, Api, assert_problem, etag, user_token

ADMIN_TOKEN = "mi-admin"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
P2 = {**CLASSIFICATION, "urgency": "urgent", "impact": "some", "importance": "important"}


@pytest.fixture
def http_store() -> str:
    return "memory"


@pytest.fixture
def api(make_api: Any) -> Api:
    return make_api(admin_token=ADMIN_TOKEN)


def user(api: Api, user_id: str, role: str, customer: str | None = None) -> dict[str, str]:
    return user_token(api.client, ADMIN, user_id, role, customer=customer)


def ticket(api: Api, **classification: str) -> dict[str, Any]:
    return api.ok(api.register(headers=ADMIN, **(classification or CLASSIFICATION)), 201)


def declare(api: Api, body: dict[str, Any], headers: dict[str, str] = ADMIN) -> Any:
    return api.client.post(f"{API}/major-incidents", json=body, headers=headers)


def command(api: Api, ref: str, verb: str, body: dict[str, Any],
            headers: dict[str, str] = ADMIN) -> Any:
    return api.client.post(f"{API}/major-incidents/{ref}/{verb}", json=body, headers=headers)


def read(api: Api, path: str, headers: dict[str, str] = ADMIN, **params: str) -> Any:
    return api.client.get(f"{API}{path}", params=params, headers=headers)


@pytest.mark.parametrize("http_store", ["sqlite"])
def test_declared_on_a_p1_with_commander_and_plan(api: Api) -> None:
    dispatcher = user(api, "disp-zhou", "dispatcher")
    user(api, "mgr-wang", "manager")
    t = ticket(api)
    assert t["priority"] == "P1"
    r = declare(api, {"ticket": t["number"], "commander": "mgr-wang", "communication": {
        "customers": ["客户B"], "informed": ["mgr-wang"], "interval_minutes": 20}}, dispatcher)
    m = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/major-incidents/{m['id']}"
    assert r.headers["etag"] == etag(1)
    assert m["number"] == "MI-20261121-001" and m["status"] == "active"
    assert m["ticket"] == {"id": t["id"], "number": t["number"]}
    assert m["commander"] == "mgr-wang" and m["declared_by"] == "disp-zhou"
    assert m["communication"] == {"customers": ["客户A", "客户B"], "informed": ["mgr-wang"],
                                  "interval_minutes": 20}
    assert m["next_update_due"] == "2026-11-20T17:20:00Z" and m["title"] == t["title"]
    assert api.ok(read(api, f"/major-incidents/{m['number']}")) == m
    notes = [h for h in read(api, f"/tickets/{t['id']}/history").json() if h["type"] == "CommentAdded"]
    assert m["number"] in notes[-1]["data"]["body"]
    assert notes[-1]["data"]["visibility"] == "public"
    again = assert_problem(declare(api, {"ticket": t["id"]}), 409)
    assert m["number"] in again["detail"]
    assert_problem(declare(api, {"ticket": t["id"], "commander": "nobody"}), 409)
    assert_problem(declare(api, {"ticket": "SR-20261121-999"}), 422, field="ticket")
    other = ticket(api)
    assert_problem(declare(api, {"ticket": other["id"], "commander": "nobody"}), 422,
                   field="commander")


def test_a_p2_needs_a_manager(api: Api) -> None:
    dispatcher, manager = user(api, "disp-zhou", "dispatcher"), user(api, "mgr-wang", "manager")
    t = ticket(api, **P2)
    assert t["priority"] == "P2"
    refused = assert_problem(declare(api, {"ticket": t["id"]}, dispatcher), 409)
    assert refused["missing"] == ["priority P1"]
    m = api.ok(declare(api, {"ticket": t["id"]}, manager), 201)
    assert m["commander"] == "mgr-wang"
    requester = user(api, "req-a", "requester", customer="客户A")
    assert_problem(declare(api, {"ticket": t["id"]}, requester), 403)
    assert_problem(read(api, f"/major-incidents/{m['id']}", requester), 403)


def test_updates_and_the_missed_update_recorded_exactly_once(api: Api) -> None:
    t = ticket(api)
    m = api.ok(declare(api, {"ticket": t["id"], "communication": {"interval_minutes": 30}}),
               201)
    desk = api.services.desk
    api.clock.advance(minutes=20)
    done = api.ok(command(api, m["id"], "post_update", {"text": "已切换备用链路，正在排查"}))
    assert done["next_update_due"] == "2026-11-20T17:50:00Z"
    assert [u["text"] for u in done["updates"]] == ["已切换备用链路，正在排查"]
    assert "已切换备用链路" in read(api, f"/tickets/{t['id']}/history").json()[-1]["data"]["body"]
    assert_problem(command(api, m["id"], "post_update", {"text": "  "}), 422, field="text")
    assert watch_incidents(desk, api.clock.now()) == 0
    api.clock.advance(minutes=31)  # 17:51: the update due at 17:50 is missing
    assert watch_incidents(desk, api.clock.now()) == 1
    assert watch_incidents(desk, api.clock.now()) == 0  # a second tick records nothing
    api.services.watcher.tick()  # nor does the watcher's own tick
    view = api.ok(read(api, f"/major-incidents/{m['id']}"))
    assert view["missed_updates"] == ["2026-11-20T17:50:00Z"] and view["update_overdue"]
    missed = [h for h in read(api, f"/major-incidents/{m['id']}/history").json()
              if h["type"] == "UpdateMissed"]
    assert len(missed) == 1 and missed[0]["data"]["occurred_at"] == "2026-11-20T17:50:00Z"
    api.ok(command(api, m["id"], "post_update", {"text": "已恢复"}))
    api.clock.advance(minutes=31)
    api.services.watcher.tick()  # the watcher's tick records the next miss
    view = api.ok(read(api, f"/major-incidents/{m['id']}"))
    assert len(view["missed_updates"]) == 2


def test_close_needs_the_review_and_a_problem_is_opened_from_it(api: Api) -> None:
    t = ticket(api)
    m = api.ok(declare(api, {"ticket": t["id"]}), 201)
    refused = assert_problem(command(api, m["id"], "close", {}), 409, detail_has="review")
    assert refused["missing"] == ["review"]
    assert_problem(command(api, m["id"], "record_review", {"summary": "x", "root_cause": ""}),
                   422, field="root_cause")
    reviewed = api.ok(command(api, m["id"], "record_review", {
        "summary": "核心交换机故障导致全网中断 2 小时", "root_cause": "交换机电源模块老化",
        "actions": ["更换电源模块", "增加冗余电源"]}))
    assert reviewed["review"]["actions"] == ["更换电源模块", "增加冗余电源"]
    opened = api.ok(command(api, m["id"], "open_problem", {}))
    problem = opened["problem"]
    assert problem["number"].startswith("PRB-")
    p = api.client.get(f"{API}/problems/{problem['id']}", headers=ADMIN).json()
    assert p["title"] == m["title"] and "交换机电源模块老化" in p["description"]
    assert [x["number"] for x in p["tickets"]] == [t["number"]]
    assert [x["number"] for x in read(api, f"/tickets/{t['id']}").json()["problems"]] == [problem["number"]]
    assert_problem(command(api, m["id"], "open_problem", {}), 409, detail_has=problem["number"])
    closed = api.ok(command(api, m["id"], "close", {"summary": "已恢复并复盘"}))
    assert closed["status"] == "closed" and closed["next_update_due"] is None
    assert_problem(command(api, m["id"], "post_update", {"text": "x"}), 409)
    listed = read(api, "/major-incidents", status="closed").json()
    assert [x["number"] for x in listed["items"]] == [m["number"]]
    # once closed, the ticket may have a new one
    assert declare(api, {"ticket": t["id"]}).status_code == 201
