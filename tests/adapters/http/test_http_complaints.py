"""Complaints over HTTP (投诉, issue 21 item 3, ADR 0066): ``POST /complaints`` answers 201
with the view and its time limits, one 422 names every field refused, the handler is a
manager who is not the engineer concerned (409 naming why), the customer's confirmation gates
the close (409 naming ``customer_confirmation``), the watcher records each limit passed
exactly once, the figures count them, requesters file and read only their organisation's,
and the complainant's contact is personal data (masked, erased with the customer's).

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.adapters.http.test_http_announcements import customers
from tests.fixtures_http import (ALL_STORES, API, CLASSIFICATION, Api, assert_problem, etag,
                                  user_token)

ADMIN = {"Authorization": "Bearer s3cret"}
CONTACT = {"name": "王五", "phone": "13700001111", "email": "wang@example.com"}


@pytest.fixture
def http_store() -> str:
    """In memory (fast); the first test runs on every store."""
    return "memory"


def file(api: Api, headers: dict[str, str] | None = None, **body: Any) -> Any:
    return api.client.post(f"{API}/complaints", json=body, headers=headers)


def post(api: Api, ref: str, verb: str, body: dict[str, Any] | None = None,
         headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"{API}/complaints/{ref}/{verb}", json=body or {}, headers=headers)


def ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def users(api: Api, *specs: tuple[str, str, str | None]) -> dict[str, dict[str, str]]:
    tokens = {}
    for user, role, customer in specs:
        tokens[user] = user_token(api.client, ADMIN, user, role, customer=customer)
    return tokens


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_file_answers_201_with_the_view_and_its_limits(api: Api) -> None:
    customers(api, "客户A")
    t = api.given_ticket("assigned", assignee="eng-wang")
    r = file(api, about="ticket", ticket=t["number"], customer="客户A",
             description="工程师两天没有回复", contact=CONTACT)
    c = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/complaints/{c['id']}"
    assert r.headers["etag"] == etag(1)
    assert c["number"] == "CMP-20261121-001" and c["status"] == "received"
    assert c["ticket"] == {"id": t["id"], "number": t["number"]} and c["customer"] == "客户A"
    assert c["engineers_concerned"] == ["eng-wang"] and c["contact"]["phone"] == CONTACT["phone"]
    assert c["filed_at"] == "2026-11-20T17:00:00Z"
    assert (c["response_due"], c["closure_due"]) == ("2026-11-21T17:00:00Z",
                                                     "2026-11-25T17:00:00Z")
    assert api.ok(api.client.get(f"{API}/complaints/{c['number']}")) == c
    history = ok(api.client.get(f"{API}/complaints/{c['id']}/history"))
    assert [h["type"] for h in history] == ["Filed"]
    listed = ok(api.client.get(f"{API}/complaints", params={"ticket": t["number"]}))
    assert [x["number"] for x in listed["items"]] == [c["number"]]


def test_minimal_bodies_and_one_422_naming_every_field(api: Api) -> None:
    customers(api, "客户A")
    t = api.ok(api.register(), 201)
    minimal = api.ok(file(api, ticket=t["id"], description="太慢"), 201)  # about: the ticket
    assert minimal["customer"] == "客户A" and minimal["contact"]["name"] == ""
    assert minimal["about"] == "ticket"
    service = api.ok(file(api, about="service", service="桌面运维", customer="客户A",
                          description="服务态度差", complainant=CONTACT), 201)
    assert service["contact"]["name"] == "王五" and service["ticket"] is None
    problem = assert_problem(file(api, about="engineer", description=""), 422)
    assert {e["field"] for e in problem["errors"]} >= {"engineer", "description", "customer"}
    problem = assert_problem(file(api, customer="客户A", description="x"), 422)
    assert "about" in {e["field"] for e in problem["errors"]}
    for body, field in (({"about": "weather", "customer": "客户A", "description": "x"}, "about"),
                        ({"about": "ticket", "ticket": "SR-20261121-999", "description": "x"},
                         "ticket"),
                        ({"about": "ticket", "customer": "客户A", "description": "x"},
                         "ticket"),
                        ({"about": "service", "customer": "无此客户", "service": "x",
                          "description": "x"}, "customer")):
        problem = assert_problem(file(api, **body), 422)
        assert field in {e["field"] for e in problem["errors"]}, (body, problem)


def test_handled_by_a_manager_not_the_engineer_concerned(make_api: Any) -> None:
    api = make_api(admin_token="s3cret")
    customers(api, "客户A", headers=ADMIN)
    tokens = users(api, ("eng-wang", "engineer", None), ("mgr-li", "manager", None),
                   ("mgr-zhao", "manager", None), ("disp", "dispatcher", None))
    registered = api.ok(api.register(headers=ADMIN, **CLASSIFICATION), 201)
    t = api.ok(api.client.post(f"{API}/tickets/{registered['id']}/assign",
                               json={"assignee": "mgr-zhao"}, headers=ADMIN))
    c = api.ok(file(api, ADMIN, about="ticket", ticket=t["id"], engineer="eng-wang",
                    description="处理不及时"), 201)
    assert c["engineers_concerned"] == ["eng-wang", "mgr-zhao"]
    mgr = tokens["mgr-li"]
    for handler, why in (("eng-wang", "engineer the complaint concerns"),
                         ("mgr-zhao", "engineer the complaint concerns"),
                         ("disp", "not a manager")):
        problem = assert_problem(post(api, c["id"], "assign_handler", {"handler": handler},
                                      mgr), 409)
        assert why in problem["detail"] and handler in problem["detail"], problem
    assert_problem(post(api, c["id"], "assign_handler", {"handler": "nobody"}, mgr), 422)
    assert post(api, c["id"], "assign_handler", {"handler": "mgr-li"},
                tokens["disp"]).status_code == 403
    assert_problem(post(api, c["id"], "respond", {"message": "已收到"}, mgr), 409)
    handled = api.ok(post(api, c["id"], "assign_handler", {}, mgr))  # the caller
    assert handled["handler"] == "mgr-li" and handled["status"] == "handling"


def test_the_customer_confirms_before_it_closes(api: Api) -> None:
    customers(api, "客户A")
    c = api.ok(file(api, about="engineer", engineer="eng-wang", customer="客户A",
                    description="工程师态度差"), 201)
    ref = c["number"]
    api.ok(post(api, ref, "assign_handler", {"handler": "mgr-li"}))
    api.clock.advance(hours=2)
    answered = api.ok(post(api, ref, "respond", {"message": "已联系客户，约定明日回访"}))
    assert answered["responded_at"] == "2026-11-20T19:00:00Z"
    assert [r["message"] for r in answered["responses"]] == ["已联系客户，约定明日回访"]
    assert_problem(post(api, ref, "close", {}), 409)  # not resolved yet
    api.ok(post(api, ref, "resolve", {"resolution": "更换服务工程师并书面致歉"}))
    problem = assert_problem(post(api, ref, "close", {}), 409)
    assert "customer_confirmation" in str(problem), problem
    back = api.ok(post(api, ref, "reject", {"reason": "致歉不够诚恳"}))
    assert back["status"] == "handling" and back["rejections"] == 1
    api.ok(post(api, ref, "resolve", {"resolution": "部门经理上门致歉"}))
    assert api.ok(post(api, ref, "confirm", {"note": "满意"}))["status"] == "confirmed"
    closed = api.ok(post(api, ref, "close", {"note": "客户确认"}))
    assert closed["status"] == "closed" and closed["closed_at"] == "2026-11-20T19:00:00Z"
    history = [h["type"] for h in ok(api.client.get(f"{API}/complaints/{ref}/history"))]
    assert history == ["Filed", "HandlerAssigned", "Responded", "Resolved", "Rejected",
                       "Resolved", "Confirmed", "Closed"]
    figures = ok(api.client.get(f"{API}/complaints/figures"))
    assert (figures["filed"], figures["closed"], figures["closed_in_time"],
            figures["responded_in_time"], figures["completion_pct"]) == (1, 1, 1, 1, 100.0)


def test_the_watcher_records_each_limit_passed_exactly_once(api: Api) -> None:
    customers(api, "客户A")
    c = api.ok(file(api, about="service", service="桌面运维", customer="客户A",
                    description="报修无人响应"), 201)
    answered = api.ok(file(api, about="service", service="桌面运维", customer="客户A",
                           description="另一件"), 201)
    api.ok(post(api, answered["id"], "assign_handler", {"handler": "mgr-li"}))
    api.ok(post(api, answered["id"], "respond", {"message": "已处理"}))
    api.services.watcher.tick()
    assert [h["type"] for h in ok(api.client.get(
        f"{API}/complaints/{c['id']}/history"))] == ["Filed"]
    api.clock.advance(hours=25)
    api.services.watcher.tick()
    api.services.watcher.tick()
    late = api.ok(api.client.get(f"{API}/complaints/{c['id']}"))
    assert late["response_overdue"] is True and late["overdue"] is True
    assert ok(api.client.get(f"{API}/complaints", params={"overdue": "true"}))["count"] == 1
    api.clock.advance(days=5)
    api.services.watcher.tick()
    api.services.watcher.tick()
    history = [h["type"] for h in ok(api.client.get(f"{API}/complaints/{c['id']}/history"))]
    assert history == ["Filed", "ResponseOverdue", "ClosureOverdue"]
    other = [h["type"] for h in ok(api.client.get(
        f"{API}/complaints/{answered['id']}/history"))]
    assert other == ["Filed", "HandlerAssigned", "Responded", "ClosureOverdue"]
    figures = ok(api.client.get(f"{API}/complaints/figures"))
    assert (figures["response_late"], figures["responded_in_time"],
            figures["closure_late"], figures["open"]) == (1, 1, 2, 2)


def test_requesters_file_and_read_only_their_organisations(make_api: Any) -> None:
    api = make_api(admin_token="s3cret")
    customers(api, "客户A", "客户B", headers=ADMIN)
    tokens = users(api, ("req-a", "requester", "客户A"), ("req-b", "requester", "客户B"),
                   ("aud", "auditor", None), ("agent", "agent", None))
    ticket_b = api.ok(api.register(headers=ADMIN, customer="客户B"), 201)
    mine = api.ok(file(api, tokens["req-a"], about="service", service="桌面运维",
                       description="响应太慢", contact=CONTACT), 201)
    assert mine["customer"] == "客户A"
    assert file(api, tokens["req-a"], about="service", service="x", customer="客户B",
                description="x").status_code == 403
    assert_problem(file(api, tokens["req-a"], about="ticket", ticket=ticket_b["id"],
                        description="x"), 422)
    theirs = api.ok(file(api, tokens["agent"], about="ticket", ticket=ticket_b["id"],
                         description="客户B 的投诉"), 201)
    req = tokens["req-a"]
    assert [c["number"] for c in ok(api.client.get(
        f"{API}/complaints", headers=req, params={"customer": "客户B"}))["items"]] == [
        mine["number"]]
    assert api.client.get(f"{API}/complaints/{theirs['id']}", headers=req).status_code == 404
    assert post(api, theirs["id"], "confirm", {}, req).status_code == 404
    assert ok(api.client.get(f"{API}/complaints/figures", headers=req))["numbers"] == [
        mine["number"]]
    seen = api.ok(api.client.get(f"{API}/complaints/{mine['id']}", headers=tokens["aud"]))
    assert seen["contact"]["phone"] == "137****1111" and seen["contact"]["name"] == "王*"
    assert CONTACT["phone"] in api.client.get(f"{API}/complaints/{mine['id']}",
                                              headers=tokens["agent"]).text


def test_the_complainants_contact_is_erased_with_the_customers_personal_data(
        api: Api) -> None:
    customers(api, "客户A")
    c = api.ok(file(api, about="service", service="桌面运维", customer="客户A",
                    description="投诉", contact=CONTACT), 201)
    r = api.client.post(f"{API}/customers/客户A/erase_personal_data", json={
        "reason": "客户依据个人信息保护法要求删除个人信息", "requested_by": "客户A 法务部"})
    assert r.status_code in (200, 201), r.text
    gone = api.ok(api.client.get(f"{API}/complaints/{c['id']}"))
    assert gone["contact"] == {"name": "[erased]", "phone": None, "email": None}
    history = api.client.get(f"{API}/complaints/{c['id']}/history").text
    assert CONTACT["phone"] not in history and CONTACT["name"] not in history


def test_the_service_report_counts_the_customers_complaints(api: Api) -> None:
    customers(api, "客户A", "客户B")
    project = api.ok(api.client.post(f"{API}/projects", json={
        "name": "客户A 2026 运维", "customer": "客户A",
        "contract": {"number": "HT-2026-001", "services": ["巡检"], "start": "2026-11-01",
                     "end": "2027-10-31"}, "sla_policy": "default", "calendar": "china-5x8"}),
        201)
    api.clock.advance(hours=1)
    mine = api.ok(file(api, about="service", service="巡检", customer="客户A",
                       description="巡检报告迟交"), 201)
    api.ok(file(api, about="service", service="桌面", customer="客户B", description="x"), 201)
    report = ok(api.client.get(f"{API}/projects/{project['id']}/reports/2026-11"))
    assert report["complaints"]["filed"] == 1 and report["complaints"]["open"] == 1
    assert report["complaints"]["numbers"] == [mine["number"]]
    assert report["complaints"]["by_about"] == {"service": 1}
    md = api.client.get(f"{API}/projects/{project['id']}/reports/2026-11",
                        params={"format": "md"}).text
    assert "客户投诉" in md and mine["number"] in md
    before = ok(api.client.get(f"{API}/projects/{project['id']}/reports/2026-11", params={
        "as_of": "2026-11-20T17:00:00Z"}))
    assert before["complaints"]["filed"] == 0  # not filed yet then
