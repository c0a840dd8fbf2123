"""Projects over HTTP (API.md "projects", ADR 0028): a contract becomes a project with a
monthly inspection; views, ETags, as_of, history, list, routine runs, and the problem+json
bodies of refusals."""

from __future__ import annotations

from typing import Any

from tests.fixtures_http import API, Api, assert_problem, etag

CONTRACT = {"name": "ACME 2026 运维", "customer": "acme",
            "contract": {"number": "HT-2026-001", "services": ["巡检", "故障处理"],
                         "start": "2026-11-01", "end": "2027-10-31", "budget": "120万"},
            "sla_policy": "default", "calendar": "china-5x8"}


def create(api: Api, **over: Any) -> Any:
    return api.client.post(f"{API}/projects", json={**CONTRACT, **over})


def command(api: Api, ref: str, name: str, body: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"{API}/projects/{ref}/{name}", json=body or {}, headers=headers)


def read(api: Api, path: str, **params: str) -> Any:
    r = api.client.get(f"{API}{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def delivering(api: Api) -> dict[str, Any]:
    p = api.ok(create(api), 201)
    api.ok(command(api, p["id"], "approve", {"project_manager": "pm-zhang",
                                             "team": ["eng-li", "eng-wu"]}))
    return api.ok(command(api, p["id"], "plan", {
        "targets": "P1 4h", "scope": "ERP", "staff": ["eng-li"], "budget": "120万",
        "assessment": "月度评审"}))


def test_a_contract_becomes_a_project_with_a_monthly_inspection(api):
    r = create(api)
    p = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/projects/{p['id']}"
    assert p["number"] == "PRJ-20261121-001" and p["status"] == "contracted"
    assert p["contract"]["services"] == ["巡检", "故障处理"] and p["version"] == 1
    p = delivering(api)
    assert p["status"] == "planned" and p["project_manager"] == "pm-zhang"
    r = command(api, p["number"], "schedule_routine", {
        "name": "月度巡检", "kind": "inspection", "rrule": "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9",
        "on_holiday": "next_workday"}, headers={"If-Match": etag(p["version"])})
    p = api.ok(r)
    assert r.headers["etag"] == etag(p["version"])
    rid = p["routine_id"]
    assert [x["routine_id"] for x in p["routines"]] == [rid]
    runs = read(api, f"/projects/{p['id']}/routines", due_before="2027-01-10T00:00:00+08:00")
    # The clock is 2026-11-21 01:00 Beijing: November's run is overdue, the others due.
    assert [(x["run_at"], x["status"]) for x in runs["items"]] == [
        ("2026-11-02T01:00:00Z", "overdue"), ("2026-12-07T01:00:00Z", "due"),
        ("2027-01-04T01:00:00Z", "due")]
    r = command(api, p["id"], "record_routine", {
        "routine_id": rid, "run_at": "2026-11-02T09:00:00+08:00", "verdict": "normal",
        "findings": "机房温湿度正常", "signer": "客户王"})
    p = api.ok(r)
    assert p["runs"][0]["signer"] == "客户王"
    runs = read(api, f"/projects/{p['id']}/routines", due_before="2026-11-03T00:00:00+08:00")
    assert [(x["status"], x["record"]["verdict"]) for x in runs["items"]] == [
        ("done", "normal")]
    history = read(api, f"/projects/{p['id']}/history")
    assert [h["type"] for h in history] == ["Contracted", "Approved", "Planned",
                                            "RoutineScheduled", "RoutineRecorded"]
    assert all(h["actor"] for h in history)


def test_refusals_name_the_field_or_the_state(api):
    assert_problem(create(api, sla_policy="gold"), 422, field="sla_policy")
    assert_problem(create(api, calendar="nope"), 422, field="calendar")
    p = api.ok(create(api), 201)
    assert_problem(command(api, p["id"], "close"), 409, detail_has="contracted")
    p = delivering(api)
    assert_problem(command(api, p["id"], "schedule_routine", {
        "name": "x", "kind": "inspection", "rrule": "EVERY MONDAY"}), 422, field="rrule")
    assert_problem(command(api, p["id"], "schedule_routine", {
        "name": "x", "kind": "cleaning", "rrule": "FREQ=DAILY"}), 422, field="kind")
    p = api.ok(command(api, p["id"], "schedule_routine", {
        "name": "日检", "kind": "inspection", "rrule": "FREQ=DAILY;BYHOUR=9",
        "on_holiday": "skip"}))
    body = {"routine_id": p["routine_id"], "run_at": "2026-11-07T09:00:00+08:00",  # Saturday
            "verdict": "normal", "signer": "c"}
    assert_problem(command(api, p["id"], "record_routine", body), 422, field="run_at")
    body["run_at"] = "2026-11-06T09:00:00+08:00"
    api.ok(command(api, p["id"], "record_routine", body))
    assert_problem(command(api, p["id"], "record_routine", body), 409)
    assert_problem(command(api, p["id"], "submit_report", {"period": "2026-13"}), 422,
                   field="period")
    assert_problem(command(api, p["id"], "record_survey", {
        "timeliness": 6, "effectiveness": 3, "attitude": 3}), 422, field="timeliness")
    r = command(api, p["id"], "approve", {"project_manager": "x", "team": ["y"]},
                headers={"If-Match": etag(1)})
    assert r.status_code == 412, r.text
    assert api.client.get(f"{API}/projects/PRJ-20991231-001").status_code == 404
    for name, bad in (("due_before", "tomorrow"), ("since", "2026-11-20T09:00:00")):
        assert_problem(api.client.get(f"{API}/projects/{p['id']}/routines",
                                      params={name: bad}), 400, field=name)


def test_as_of_list_and_idempotency(api):
    p = api.ok(create(api), 201)
    t0 = api.clock.now().isoformat()
    api.clock.advance(minutes=5)
    api.ok(command(api, p["id"], "approve", {"project_manager": "pm", "team": ["a"]}))
    old = api.ok(api.client.get(f"{API}/projects/{p['id']}", params={"as_of": t0}))
    assert old["status"] == "contracted" and old["version"] == 1
    key = {"Idempotency-Key": "prj-1"}
    a = api.client.post(f"{API}/projects", json={**CONTRACT, "customer": "beta"}, headers=key)
    b = api.client.post(f"{API}/projects", json={**CONTRACT, "customer": "beta"}, headers=key)
    assert a.status_code == 201 and b.json()["id"] == a.json()["id"]
    listed = read(api, "/projects", customer="beta")
    assert [x["id"] for x in listed["items"]] == [a.json()["id"]]
    listed = read(api, "/projects", status="approved")
    assert [x["id"] for x in listed["items"]] == [p["id"]]
    assert_problem(api.client.get(f"{API}/projects", params={"status": "nope"}), 400,
                   field="status")


def test_survey_check_improvement_acceptance_and_close(api):
    p = delivering(api)
    p = api.ok(command(api, p["id"], "record_survey", {
        "timeliness": 2, "effectiveness": 4, "attitude": 5, "comment": "响应慢"}))
    assert p["surveys"][0]["mean"] == 3.67
    assert [(i["owner"], i["source"]) for i in p["improvements"]] == [("pm-zhang", "survey")]
    p = api.ok(command(api, p["id"], "record_check", {
        "kind": "internal_audit", "findings": "记录完整", "passed": True}))
    p = api.ok(command(api, p["id"], "submit_report", {"period": "2026-Q4"}))
    p = api.ok(command(api, p["id"], "accept", {"signer": "客户王", "passed": True}))
    p = api.ok(command(api, p["id"], "close"))
    assert p["status"] == "closed" and p["allowed_commands"] == []


def test_tickets_of_the_customer_in_the_period_show_the_project(api):
    p = api.ok(create(api), 201)
    t = api.ok(api.register(customer="acme", reported_at="2026-11-20T10:00:00+08:00"), 201)
    assert t["project"] == {"id": p["id"], "number": p["number"]}
    t = api.ok(api.register(customer="acme", reported_at="2026-10-30T10:00:00+08:00"), 201)
    assert t["project"] is None


def test_an_abnormal_run_opens_a_ticket_linked_both_ways(api):
    import time

    p = delivering(api)
    p = api.ok(command(api, p["id"], "schedule_routine", {
        "name": "机房巡检", "kind": "inspection", "rrule": "FREQ=WEEKLY;BYDAY=FR;BYHOUR=9"}))
    api.ok(command(api, p["id"], "record_routine", {
        "routine_id": p["routine_id"], "run_at": "2026-11-20T09:00:00+08:00",
        "verdict": "abnormal", "findings": "UPS 电池告警", "signer": "客户王"}))
    deadline = time.monotonic() + 10
    while True:
        run = read(api, f"/projects/{p['id']}")["runs"][0]
        if run["ticket_id"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert run["ticket_number"], "the process manager opened no ticket"
    t = read(api, f"/tickets/{run['ticket_id']}")
    assert t["number"] == run["ticket_number"] and t["source"].startswith("routine:")
    assert t["project"]["id"] == p["id"] and "UPS 电池告警" in t["description"]


def test_feedback_late_and_low_scores_raise_improvements_on_ticket_and_project(api):
    p = delivering(api)  # customer acme, manager pm-zhang
    t = api.given_ticket("closed", customer="acme", reported_at="2026-11-21T00:30:00+08:00")
    t = api.ok(api.command(t["id"], "feedback", {"timeliness": 5, "effectiveness": 5,
                                                 "attitude": 4}))
    fb = t["feedback"]
    # Accepted Saturday 01:00 Beijing: working time resumes Monday 09:00, and three working
    # days (Mon, Tue, Wed) end where Thursday's begins.
    assert fb["late"] is False and fb["window_end"] == "2026-11-26T01:00:00Z"
    assert fb["improvement"] is None
    late = api.given_ticket("closed", customer="acme", reported_at="2026-11-21T00:30:00+08:00")
    api.clock.advance(days=10)
    late = api.ok(api.command(late["id"], "feedback", {"timeliness": 2, "effectiveness": 4,
                                                       "attitude": 4}))
    fb = late["feedback"]
    assert fb["late"] is True
    assert fb["improvement"]["owner"] == "pm-zhang"
    project = read(api, f"/projects/{p['id']}")
    [imp] = project["improvements"]
    assert (imp["source"], imp["reference"], imp["owner"]) == ("feedback", fb["number"],
                                                               "pm-zhang")
    assert imp["due"] == fb["improvement"]["due"]


def test_a_ticket_typed_with_other_spacing_is_listed_under_the_projects_customer(api):
    p = api.ok(create(api, customer="客户 Q"), 201)
    t = api.ok(api.register(customer=" 客户  Q ", reported_at="2026-11-20T10:00:00+08:00"), 201)
    assert t["customer"] == "客户 Q" and t["project"]["id"] == p["id"]
    for spelling in ("客户 Q", "客户  Q", " 客户\tQ"):
        listed = read(api, "/tickets", customer=spelling)
        assert [x["id"] for x in listed["items"]] == [t["id"]], spelling


def test_the_as_of_ticket_view_shows_only_a_project_contracted_by_then(api):
    t = api.ok(api.register(customer="late", reported_at="2026-11-20T10:00:00+08:00"), 201)
    assert t["project"] is None
    before = api.clock.now().isoformat()
    api.clock.advance(minutes=5)
    p = api.ok(create(api, customer="late"), 201)
    assert read(api, f"/tickets/{t['id']}")["project"] == {"id": p["id"], "number": p["number"]}
    old = read(api, f"/tickets/{t['id']}", as_of=before)
    assert old["project"] is None and old["version"] == t["version"]
