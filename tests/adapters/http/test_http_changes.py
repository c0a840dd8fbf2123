"""Changes over HTTP (API.md "Problems, changes, projects"; ADR 0021, 0022): the gated lifecycle
end to end, every refusal's status and problem body, standard and emergency paths, follow-up
improvements, the list and the calendar with its conflict warnings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, DAY, Api, assert_problem, etag

PLAN: dict[str, Any] = {
    "goal": "ERP 登录响应时间降到 1 秒以内",
    "content": "升级 ERP 应用服务器内存并调整会话池",
    "steps": ["备份配置", "停机扩容内存", "调整会话池参数", "回归测试"],
    "people": ["eng-wang", "eng-li"],
    "budget": "人民币 2 万元",
    "schedule": {"start": "2026-11-28T22:00:00+08:00", "end": "2026-11-29T02:00:00+08:00"},
    "risk_plan": "扩容失败时启用备用服务器",
    "rollback_plan": "恢复原内存条与备份的配置，30 分钟内完成",
}
REVIEW = {"decision": "approved", "reviewer": "mgr-zhang", "comment": "方案可行"}
CUSTOMER_REVIEW = {"decision": "approved", "reviewer": "客户A 信息部 王经理"}
CONSENT = {"evidence": "客户 2026-11-22 邮件同意实施", "channel": "email",
           "reference": "MSG-20261122-0091"}
GATES = ["internal_review", "customer_review", "consent"]


def request(api: Api, *, origin: Any = None, **body: Any) -> dict[str, Any]:
    if origin is None:
        origin = api.ok(api.register(), 201)["id"]
    payload = {"kind": "normal", "origin": origin, "title": "ERP 内存扩容",
               "description": "解决登录缓慢", **body}
    return api.ok(api.client.post(f"{API}/changes", json=payload), 201)


def project(api: Api) -> dict[str, Any]:
    """A delivery project (a change's origin may be one, ADR 0028)."""
    return api.ok(api.client.post(f"{API}/projects", json={
        "name": "OA 运维", "customer": "客户A", "sla_policy": "default", "calendar": "china-5x8",
        "contract": {"number": "HT-1", "services": ["运维"], "start": "2026-01-01",
                     "end": "2026-12-31"}}), 201)


def cmd(api: Api, ref: str, name: str, body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"{API}/changes/{ref}/{name}", json=body or {}, headers=headers)


def do(api: Api, ref: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return api.ok(cmd(api, ref, name, body))


def planned(api: Api, **body: Any) -> dict[str, Any]:
    c = request(api, **body)
    do(api, c["id"], "assess", {"risk": "medium", "impact": "ERP 停机 4 小时"})
    return do(api, c["id"], "plan", PLAN)


def refused_start(api: Api, ref: str, missing: list[str]) -> dict[str, Any]:
    body = assert_problem(cmd(api, ref, "start"), 409)
    assert body["missing"] == missing, body
    assert body["command"] == "start"
    return body


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_refused_until_both_reviews_and_consent_then_trial_evaluation_closed(api: Api) -> None:
    ticket = api.ok(api.register(), 201)
    c = request(api, origin=ticket["number"])
    assert c["number"] == f"CHG-{DAY}-001"
    assert c["origin"] == {"kind": "ticket", "id": ticket["id"], "number": ticket["number"]}
    assert c["affected_system"] == "ERP"  # taken from the origin ticket
    ref = c["id"]
    body = refused_start(api, ref, ["assessment", "plan", *GATES])
    assert body["state"] == "requested"
    do(api, ref, "assess", {"risk": "medium", "impact": "ERP 停机 4 小时"})
    c = do(api, ref, "plan", PLAN)
    assert c["status"] == "planned" and c["missing_gates"] == GATES
    refused_start(api, ref, GATES)
    do(api, ref, "review", REVIEW)
    refused_start(api, ref, ["customer_review", "consent"])
    do(api, ref, "customer_review", CUSTOMER_REVIEW)
    refused_start(api, ref, ["consent"])
    c = do(api, ref, "consent", CONSENT)
    assert c["status"] == "approved" and c["missing_gates"] == []
    assert all(g["passed"] for g in c["gates"].values())
    assert c["consent"]["reference"] == "MSG-20261122-0091"
    c = do(api, ref, "start")
    assert c["status"] == "in_progress" and c["authorised_by"] == "reviewed"
    do(api, ref, "complete", {"result": "内存已扩容至 64G，会话池调整完成"})
    c = do(api, ref, "start_trial", {"days": 7})
    assert c["status"] == "in_trial" and c["trial"]["days"] == 7
    c = do(api, ref, "evaluate", {"goal_met": True, "notes": "登录平均 0.6 秒"})
    assert c["allowed_commands"] == ["raise_improvement", "close"]
    c = do(api, ref, "close", {"confirmed_by": "王经理"})
    assert c["status"] == "closed" and c["allowed_commands"] == []

    history = api.client.get(f"{API}/changes/{c['number']}/history").json()
    assert [h["type"] for h in history] == [
        "Requested", "Assessed", "Planned", "Reviewed", "CustomerReviewed", "ConsentRecorded",
        "Started", "Completed", "TrialStarted", "Evaluated", "Closed"]
    assert all(h["actor"] and h["recorded_at"] for h in history)
    assert [h["version"] for h in history] == list(range(1, 12))
    assert history[5]["data"]["consent"]["channel"] == "email"


def test_plan_names_every_missing_field_in_one_422(api: Api) -> None:
    c = request(api)
    body = assert_problem(cmd(api, c["id"], "plan", {"goal": "更快", "steps": []}), 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"content", "steps", "people", "budget", "schedule", "risk_plan",
                      "rollback_plan"}
    bad = {**PLAN, "schedule": {"start": PLAN["schedule"]["end"], "end": PLAN["schedule"]["start"]}}
    assert_problem(cmd(api, c["id"], "plan", bad), 422, field="schedule.end")
    assert api.client.get(f"{API}/changes/{c['id']}").json()["version"] == 1


def test_a_problem_as_origin(api: Api) -> None:
    ticket = api.ok(api.register(), 201)
    r = api.client.post(f"{API}/problems", json={"title": "ERP 反复无法登录", "description": "会话表满",
                                                  "tickets": [ticket["id"]]})
    assert r.status_code == 201, r.text
    problem = r.json()
    c = request(api, origin=problem["number"])
    assert c["origin"] == {"kind": "problem", "id": problem["id"], "number": problem["number"]}
    assert c["affected_system"] == "ERP"
    by_id = request(api, origin={"kind": "problem", "id": problem["id"]})
    assert by_id["origin"]["number"] == problem["number"]
    r = api.client.post(f"{API}/changes", json={
        "kind": "normal", "origin": {"kind": "problem", "id": ticket["id"]}, "title": "x"})
    assert_problem(r, 422, field="origin")  # a ticket is not a problem
    r = api.client.post(f"{API}/problems/{problem['id']}/resolve",
                        json={"resolution": "扩容会话表并加监控", "change_id": c["id"]})
    assert r.status_code == 200, r.text


def test_origin_must_exist_a_project_too(api: Api) -> None:
    r = api.client.post(f"{API}/changes", json={"kind": "normal", "origin": "SR-20261121-999",
                                                 "title": "x"})
    assert_problem(r, 422, field="origin")
    r = api.client.post(f"{API}/changes", json={"kind": "normal", "origin": "not-an-id",
                                                 "title": "x"})
    assert_problem(r, 422, field="origin")
    r = api.client.post(f"{API}/changes", json={"kind": "normal", "title": "x"})
    assert_problem(r, 400, field="origin")
    r = api.client.post(f"{API}/changes", json={
        "kind": "normal", "origin": {"kind": "project", "id": "PRJ-20261121-009"}, "title": "x"})
    assert_problem(r, 422, field="origin")
    p = project(api)
    c = request(api, origin={"kind": "project", "id": p["number"]}, affected_system="OA")
    assert c["origin"] == {"kind": "project", "id": p["id"], "number": p["number"]}
    c = request(api, origin=p["id"], affected_system="OA")
    assert c["origin"]["kind"] == "project"
    assert api.client.post(f"{API}/changes", json={"kind": "sometimes", "origin": "x",
                                                    "title": "x"}).status_code == 400


def test_replan_invalidates_reviews_and_consent(api: Api) -> None:
    ref = planned(api)["id"]
    for name, body in (("review", REVIEW), ("customer_review", CUSTOMER_REVIEW),
                       ("consent", CONSENT)):
        do(api, ref, name, body)
    c = do(api, ref, "plan", {**PLAN, "budget": "人民币 3 万元"})
    assert c["status"] == "planned" and c["revision"] == 3
    assert [r["current"] for r in c["reviews"]] == [False]
    refused_start(api, ref, GATES)
    do(api, ref, "assess", {"risk": "high", "impact": "全部用户"})  # so does a re-assessment
    refused_start(api, ref, GATES)


def test_rejected_review_blocks_until_a_revised_plan(api: Api) -> None:
    ref = planned(api)["id"]
    assert_problem(cmd(api, ref, "review", {"decision": "rejected", "reviewer": "mgr"}), 422,
                   field="comment")
    do(api, ref, "review", {"decision": "rejected", "reviewer": "mgr", "comment": "回退不充分"})
    body = assert_problem(cmd(api, ref, "review", REVIEW), 409)
    assert body["missing"] == ["plan"]
    assert_problem(cmd(api, ref, "consent", CONSENT), 409)
    refused_start(api, ref, GATES)
    do(api, ref, "plan", {**PLAN, "rollback_plan": "整机切换到备用服务器，15 分钟"})
    c = do(api, ref, "review", REVIEW)
    assert c["gates"]["internal_review"]["passed"]


def test_emergency_change_starts_on_approval_but_cannot_close_with_gates_owed(api: Api) -> None:
    ref = planned(api, kind="emergency")["id"]
    c = do(api, ref, "approve_emergency", {"approver": "cto-liu", "reason": "生产全面停摆"})
    assert c["status"] == "approved"
    c = do(api, ref, "start")
    assert c["authorised_by"] == "emergency"
    assert c["missing_gates"] == GATES and c["gates"]["consent"]["owed"]
    do(api, ref, "complete", {"result": "已切换到备用数据库"})
    do(api, ref, "start_trial", {"days": 1})
    do(api, ref, "evaluate", {"goal_met": True, "notes": "恢复正常"})
    body = assert_problem(cmd(api, ref, "close"), 409)
    assert body["missing"] == GATES
    do(api, ref, "review", REVIEW)
    do(api, ref, "customer_review", CUSTOMER_REVIEW)
    assert assert_problem(cmd(api, ref, "close"), 409)["missing"] == ["consent"]
    do(api, ref, "consent", {**CONSENT, "channel": "fax"})
    assert do(api, ref, "close")["status"] == "closed"


def test_emergency_approval_is_only_for_emergency_changes(api: Api) -> None:
    ref = planned(api)["id"]
    assert_problem(cmd(api, ref, "approve_emergency", {"approver": "x", "reason": "y"}), 409)


def test_standard_change_with_an_approved_model_needs_no_reviews(api: Api) -> None:
    model = {"name": "操作系统月度补丁", "systems": ["ERP", "OA"], "steps": ["快照", "打补丁", "重启"],
             "risk": "low", "approved_by": "变更委员会 2026-01"}
    r = api.client.put(f"{API}/standard-changes/os-patch", json=model)
    assert r.status_code == 201 and r.headers["etag"] == etag(1)
    assert api.client.put(f"{API}/standard-changes/os-patch", json=model).status_code == 200
    assert_problem(api.client.put(f"{API}/standard-changes/bad", json={**model, "risk": "high"}),
                   422, field="risk")
    assert api.client.get(f"{API}/standard-changes").json()["count"] == 1
    assert_problem(api.client.post(f"{API}/changes", json={
        "kind": "standard", "origin": {"kind": "project", "id": project(api)["id"]},
        "title": "补丁",
        "affected_system": "CRM", "standard_change": "os-patch"}), 422, field="affected_system")
    c = request(api, kind="standard", standard_change="os-patch", affected_system="ERP")
    ref = c["id"]
    do(api, ref, "assess", {"risk": "high", "impact": "全部"})
    do(api, ref, "plan", PLAN)
    refused_start(api, ref, GATES)  # assessed above low: not pre-approved
    c = do(api, ref, "assess", {"risk": "low", "impact": "单机重启"})
    assert c["status"] == "approved" and c["gates"]["consent"]["pre_approved"]
    assert do(api, ref, "start")["authorised_by"] == "standard_model"


def test_goal_missed_needs_an_improvement_that_goes_through_the_gates(api: Api) -> None:
    ref = planned(api)["id"]
    for name, body in (("review", REVIEW), ("customer_review", CUSTOMER_REVIEW),
                       ("consent", CONSENT), ("start", {}), ("complete", {"result": "完成扩容"}),
                       ("start_trial", {"days": 3})):
        do(api, ref, name, body)
    do(api, ref, "evaluate", {"goal_met": False, "notes": "高峰期仍 2 秒"})
    assert assert_problem(cmd(api, ref, "close"), 409)["missing"] == ["improvement"]
    c = do(api, ref, "raise_improvement", {"action": "增加一台应用服务器做负载均衡",
                                           "owner": "eng-li", "due": "2026-12-31"})
    follow_up = c["improvements"][0]
    assert follow_up["change_number"] == f"CHG-{DAY}-002"
    f = api.client.get(f"{API}/changes/{follow_up['change_number']}").json()
    assert f["origin"] == {"kind": "change", "id": c["id"], "number": c["number"]}
    assert f["status"] == "requested" and f["affected_system"] == c["affected_system"]
    refused_start(api, f["id"], ["assessment", "plan", *GATES])
    assert do(api, ref, "close")["status"] == "closed"


def test_roll_back_then_replan_needs_the_gates_again(api: Api) -> None:
    ref = planned(api)["id"]
    for name, body in (("review", REVIEW), ("customer_review", CUSTOMER_REVIEW),
                       ("consent", CONSENT), ("start", {})):
        do(api, ref, name, body)
    c = do(api, ref, "roll_back", {"reason": "扩容后内存报错"})
    assert c["status"] == "rolled_back" and c["rollback"]["reason"] == "扩容后内存报错"
    c = do(api, ref, "plan", PLAN)
    assert c["status"] == "planned"
    refused_start(api, ref, GATES)
    assert do(api, ref, "cancel", {"reason": "改为采购新服务器"})["status"] == "cancelled"


def test_if_match_idempotency_as_of_and_unknown(api: Api) -> None:
    c = request(api)
    ref = c["id"]
    api.clock.advance(minutes=5)
    assert_problem(cmd(api, ref, "assess", {"risk": "low", "impact": "无"},
                       headers={"If-Match": '"9"'}), 412)
    key = {"Idempotency-Key": "assess-1"}
    first = cmd(api, ref, "assess", {"risk": "low", "impact": "无"}, headers=key)
    again = cmd(api, ref, "assess", {"risk": "low", "impact": "无"}, headers=key)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert_problem(cmd(api, ref, "assess", {"risk": "high", "impact": "无"}, headers=key), 422)
    old = api.client.get(f"{API}/changes/{ref}", params={"as_of": c["recorded_at"]}).json()
    assert old["version"] == 1 and old["assessment"] is None
    assert_problem(api.client.get(f"{API}/changes/CHG-20261121-404"), 404)
    assert_problem(cmd(api, "CHG-20261121-404", "start"), 404)
    ticket = api.ok(api.register(), 201)
    assert_problem(api.client.get(f"{API}/changes/{ticket['id']}"), 404)  # not a change
    assert_problem(api.client.get(f"{API}/changes/{ticket['id']}/history"), 404)
    key = {"Idempotency-Key": "request-1"}
    body = {"kind": "normal", "origin": ticket["id"], "title": "重复提交"}
    made = api.client.post(f"{API}/changes", json=body, headers=key)
    repeat = api.client.post(f"{API}/changes", json=body, headers=key)
    assert made.status_code == repeat.status_code == 201
    assert repeat.json()["number"] == made.json()["number"]
    assert_problem(cmd(api, ref, "assess", {"risk": "extreme", "impact": "x"}), 400, field="risk")


def test_list_filters(api: Api) -> None:
    ticket = api.ok(api.register(), 201)
    a = request(api, origin=ticket["id"])
    b = request(api, origin={"kind": "project", "id": project(api)["id"]}, kind="emergency",
                affected_system="OA")
    do(api, b["id"], "assess", {"risk": "high", "impact": "全部"})

    def numbers(**params: str) -> list[str]:
        r = api.client.get(f"{API}/changes", params=params)
        assert r.status_code == 200, r.text
        return [i["number"] for i in r.json()["items"]]

    assert numbers() == [b["number"], a["number"]]
    assert numbers(status="assessed") == [b["number"]]
    assert numbers(kind="normal") == [a["number"]]
    assert numbers(system="oa") == [b["number"]]
    assert numbers(origin=ticket["number"]) == [a["number"]]
    assert numbers(origin=ticket["id"]) == [a["number"]]
    page = api.client.get(f"{API}/changes", params={"limit": "1"}).json()
    assert page["count"] == 1 and page["next_cursor"]
    rest = api.client.get(f"{API}/changes", params={"cursor": page["next_cursor"]}).json()
    assert [i["number"] for i in rest["items"]] == [a["number"]]
    assert_problem(api.client.get(f"{API}/changes", params={"status": "done"}), 400,
                   field="status")


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_calendar_warns_of_overlapping_changes_on_the_same_system(api: Api) -> None:
    origin = {"kind": "project", "id": project(api)["id"]}

    def scheduled(system: str, start: str, end: str) -> str:
        c = request(api, origin=origin, affected_system=system)
        do(api, c["id"], "plan", {**PLAN, "schedule": {"start": start, "end": end}})
        return str(c["number"])

    first = scheduled("ERP", "2026-11-28T22:00:00+08:00", "2026-11-29T02:00:00+08:00")
    second = scheduled("erp", "2026-11-29T01:00:00+08:00", "2026-11-29T03:00:00+08:00")
    touching = scheduled("ERP", "2026-11-29T03:00:00+08:00", "2026-11-29T04:00:00+08:00")
    other = scheduled("OA", "2026-11-28T22:00:00+08:00", "2026-11-29T02:00:00+08:00")
    scheduled("ERP", "2026-12-10T22:00:00+08:00", "2026-12-10T23:00:00+08:00")  # outside

    r = api.client.get(f"{API}/changes/calendar", params={"from": "2026-11-28", "to": "2026-11-29"})
    assert r.status_code == 200, r.text
    cal = r.json()
    items = {i["number"]: [c["number"] for c in i["conflicts"]] for i in cal["items"]}
    assert items == {first: [second], second: [first], touching: [], other: []}
    assert cal["conflicts"] == 2
    only_oa = api.client.get(f"{API}/changes/calendar",
                             params={"from": "2026-11-28", "to": "2026-11-29", "system": "OA"})
    assert [i["number"] for i in only_oa.json()["items"]] == [other]
    assert_problem(api.client.get(f"{API}/changes/calendar", params={"from": "2026-11-28"}), 400,
                   field="to")
