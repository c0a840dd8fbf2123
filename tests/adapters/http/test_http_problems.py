"""Problems over HTTP (API.md "Problems", ADR 0019): given tickets, when problem commands are
posted, then views, ETags, histories, lists and the problem+json bodies of every refusal."""

from __future__ import annotations

from typing import Any

from tests.fixtures_http import API, Api, assert_problem, etag, run_concurrently

PRECISE = "连接池上限从 50 调到 200，并加连接数告警"


def record(api: Api, *tickets: dict[str, Any], headers: dict[str, str] | None = None,
           **overrides: Any) -> Any:
    body: dict[str, Any] = {"title": "数据库连接超时", "description": "高峰期 ERP 连接数据库超时",
                            "tickets": [t["id"] for t in tickets]}
    body.update(overrides)
    return api.client.post(f"{API}/problems", json=body, headers=headers)


def command(api: Api, ref: str, name: str, body: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"{API}/problems/{ref}/{name}", json=body or {}, headers=headers)


def given_problem(api: Api, *tickets: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return api.ok(record(api, *tickets, **overrides), 201)


def listed(api: Api, **params: str) -> list[str]:
    r = api.client.get(f"{API}/problems", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(body["items"])
    return [i["number"] for i in body["items"]]


# ------------------------------------------------------------------ the path


def test_an_incident_becomes_a_known_error_then_resolved_and_closed(api):
    t = api.given_ticket("in_progress")
    r = record(api, t, category="database")
    p = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/problems/{p['id']}"
    assert p["number"] == "PRB-20261121-001" and p["status"] == "recorded"
    assert p["tickets"] == [{"id": t["id"], "number": t["number"]}]
    assert p["affected_system"] == "ERP" and p["category"] == "database"
    assert p["known_error"] is False and p["version"] == 1
    assert "mark_known_error" in p["allowed_commands"]
    assert api.view(t["id"])["problems"] == [{"id": p["id"], "number": p["number"]}]

    steps = [
        ("classify", {"priority": "P2"}),
        ("record_root_cause", {"root_cause": "连接池上限 50 太小"}),
        ("record_workaround", {"workaround": "高峰期前重启连接池"}),
        ("mark_known_error", None),
        ("resolve", {"resolution": PRECISE}),
        ("close", None),
    ]
    for name, body in steps:
        p = api.ok(command(api, p["number"], name, body))
    assert p["status"] == "closed" and p["known_error"] is True and p["priority"] == "P2"
    assert (p["root_cause"], p["workaround"], p["resolution"]) == (
        "连接池上限 50 太小", "高峰期前重启连接池", PRECISE)
    assert p["allowed_commands"] == [] and p["version"] == 7

    r = api.client.get(f"{API}/problems/{p['number']}/history")
    assert r.status_code == 200
    history = r.json()
    assert [h["type"] for h in history] == [
        "Recorded", "Classified", "RootCauseRecorded", "WorkaroundRecorded",
        "KnownErrorMarked", "Resolved", "Closed"]
    assert [h["version"] for h in history] == list(range(1, 8))
    assert all(h["actor"] == "anonymous" and h["recorded_at"].endswith("Z") for h in history)
    assert history[0]["data"]["tickets"] == [t["id"]]
    assert [h["type"] for h in api.history(t["id"])][-1] == "ProblemLinked"


def test_get_as_of_shows_the_problem_as_it_stood(api):
    p = given_problem(api)
    recorded_at = p["recorded_at"]
    api.clock.advance(minutes=5)
    api.ok(command(api, p["id"], "record_workaround", {"workaround": "重启连接池"}))
    r = api.client.get(f"{API}/problems/{p['id']}", params={"as_of": recorded_at})
    assert r.status_code == 200 and r.headers["etag"] == etag(1)
    assert r.json()["workaround"] is None
    assert api.client.get(f"{API}/problems/{p['id']}").json()["workaround"] == "重启连接池"
    assert_problem(api.client.get(f"{API}/problems/{p['id']}", params={"as_of": "yesterday"}),
                   400, field="as_of")


# --------------------------------------------------------------- linking


def test_link_ticket_link_tickets_and_the_ticket_side_keep_both_sides(api):
    t1, t2, t3, t4 = (api.given_ticket() for _ in range(4))
    p = given_problem(api, t1)
    p = api.ok(command(api, p["id"], "link_ticket", {"ticket_id": t2["number"]}))
    p = api.ok(command(api, p["id"], "link_tickets", {"ticket_ids": [t1["id"], t3["id"]]}))
    assert [x["id"] for x in p["tickets"]] == [t1["id"], t2["id"], t3["id"]]
    assert p["version"] == 3  # t1 was linked already: nothing recorded for it

    r = api.client.post(f"{API}/tickets/{t4['number']}/link_problem",
                        json={"problem_id": p["number"]}, headers={"If-Match": etag(t4["version"])})
    t = api.ok(r)
    assert t["id"] == t4["id"] and t["problems"] == [{"id": p["id"], "number": p["number"]}]
    p = api.client.get(f"{API}/problems/{p['id']}").json()
    assert [x["number"] for x in p["tickets"]] == [t1["number"], t2["number"], t3["number"], t4["number"]]
    for t in (t1, t2, t3, t4):
        assert [x["id"] for x in api.view(t["id"])["problems"]] == [p["id"]]
    assert listed(api, ticket=t4["number"]) == [p["number"]]
    assert listed(api, ticket=t4["id"]) == [p["number"]]
    # The ticket list shows each linked ticket at the same version as its view.
    listed_tickets = api.client.get(f"{API}/tickets", params={"limit": 50}).json()["items"]
    versions = {i["id"]: i["version"] for i in listed_tickets}
    for t in (t1, t2, t3, t4):
        assert versions[t["id"]] == api.view(t["id"])["version"]


def test_unknown_tickets_and_problems_in_bodies_are_422s_naming_the_field(api):
    t = api.given_ticket()
    r = record(api, t, tickets=[t["id"], "SR-20990101-001"])
    body = assert_problem(r, 422, field="tickets")
    assert "SR-20990101-001" in body["detail"]
    p = given_problem(api)
    assert_problem(command(api, p["id"], "link_ticket", {"ticket_id": "nope"}), 422, field="ticket_id")
    assert_problem(command(api, p["id"], "link_tickets", {"ticket_ids": ["nope"]}), 422,
                   field="ticket_ids")
    assert_problem(command(api, p["id"], "link_tickets", {"ticket_ids": []}), 400, field="ticket_ids")
    assert_problem(api.client.post(f"{API}/tickets/{t['id']}/link_problem",
                                   json={"problem_id": "PRB-20990101-001"}), 422, field="problem_id")
    assert_problem(command(api, p["id"], "resolve",
                           {"resolution": PRECISE, "change_id": "CHG-20990101-001"}),
                   422, field="change_id")
    assert api.view(t["id"])["problems"] == []


# ------------------------------------------------------------------ refusals


def test_bad_bodies_are_400_or_422_naming_the_field(api):
    assert_problem(api.client.post(f"{API}/problems", json={"description": "d"}), 400, field="title")
    assert_problem(record(api, title="   "), 422, field="title")
    assert_problem(record(api, description=""), 422, field="description")
    assert_problem(record(api, severity="high"), 400, field="severity")
    p = given_problem(api)
    assert_problem(command(api, p["id"], "classify", {"priority": "P9"}), 422, field="priority")
    assert_problem(command(api, p["id"], "classify", {}), 422, field="category")
    assert_problem(command(api, p["id"], "record_root_cause", {"root_cause": " "}), 422,
                   field="root_cause")
    assert_problem(command(api, p["id"], "resolve", {"resolution": "已解决"}), 422,
                   field="resolution")
    assert api.client.get(f"{API}/problems/{p['id']}").json()["version"] == 1


def test_commands_in_the_wrong_state_are_409s_naming_state_allowed_and_missing(api):
    p = given_problem(api)
    body = assert_problem(command(api, p["id"], "mark_known_error"), 409)
    assert body["state"] == "recorded" and body["command"] == "mark_known_error"
    assert body["missing"] == ["root_cause", "workaround"]
    body = assert_problem(command(api, p["id"], "close"), 409, detail_has="recorded")
    assert "resolve" in body["allowed_commands"] and "close" not in body["allowed_commands"]
    api.ok(command(api, p["id"], "resolve", {"resolution": PRECISE}))
    api.ok(command(api, p["id"], "close"))
    body = assert_problem(command(api, p["id"], "record_workaround", {"workaround": "w"}), 409)
    assert body["state"] == "closed" and body["allowed_commands"] == []
    t = api.given_ticket()
    assert_problem(api.client.post(f"{API}/tickets/{t['id']}/link_problem",
                                   json={"problem_id": p["id"]}), 409, detail_has="problem")


def test_unknown_problems_are_404(api):
    for path in ("PRB-20990101-001", "00000000-0000-4000-8000-000000000000", "nope"):
        assert_problem(api.client.get(f"{API}/problems/{path}"), 404)
        assert_problem(api.client.get(f"{API}/problems/{path}/history"), 404)
        assert_problem(command(api, path, "close"), 404)
    t = api.given_ticket()  # a ticket is not a problem
    assert_problem(api.client.get(f"{API}/problems/{t['id']}"), 404)


# ------------------------------------------------------ If-Match, idempotency


def test_if_match_with_an_old_version_is_412_and_changes_nothing(api):
    p = given_problem(api)
    api.ok(command(api, p["id"], "classify", {"category": "db"}, headers={"If-Match": etag(1)}))
    r = command(api, p["id"], "classify", {"category": "network"}, headers={"If-Match": etag(1)})
    body = assert_problem(r, 412)
    assert body["current_version"] == 2 and r.headers["etag"] == etag(2)
    assert api.client.get(f"{API}/problems/{p['id']}").json()["category"] == "db"


def test_an_idempotency_key_repeat_answers_the_first_and_records_nothing(api):
    t = api.given_ticket()
    key = {"Idempotency-Key": "prb-1"}
    first = record(api, t, headers=key)
    head = api.events()["head"]
    again = record(api, t, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert api.events()["head"] == head
    assert_problem(record(api, t, headers=key, title="another"), 422, field="Idempotency-Key")
    p = first.json()
    k2 = {"Idempotency-Key": "prb-2"}
    one = command(api, p["id"], "record_workaround", {"workaround": "重启"}, headers=k2)
    two = command(api, p["id"], "record_workaround", {"workaround": "重启"}, headers=k2)
    assert one.json() == two.json() and two.json()["version"] == 2


# --------------------------------------------------------------------- lists


def test_the_list_filters_by_status_category_ticket_and_known_error(api):
    t1, t2 = api.given_ticket(), api.given_ticket()
    a = given_problem(api, t1, category="database")
    b = given_problem(api, t1, t2, category="network")
    c = given_problem(api)
    api.ok(command(api, b["id"], "record_workaround", {"workaround": "切换备用线路"}))
    api.ok(command(api, b["id"], "mark_known_error"))
    api.ok(command(api, c["id"], "resolve", {"resolution": PRECISE}))
    assert listed(api) == [c["number"], b["number"], a["number"]]
    assert listed(api, status="recorded") == [a["number"]]
    assert listed(api, status="known_error,resolved") == [c["number"], b["number"]]
    assert listed(api, category="network") == [b["number"]]
    assert listed(api, ticket=t1["id"]) == [b["number"], a["number"]]
    assert listed(api, ticket=t2["number"], status="known_error") == [b["number"]]
    assert listed(api, known_error="true") == [b["number"]]
    page = api.client.get(f"{API}/problems", params={"limit": 2}).json()
    assert [i["number"] for i in page["items"]] == [c["number"], b["number"]]
    rest = api.client.get(f"{API}/problems", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [i["number"] for i in rest["items"]] == [a["number"]] and rest["next_cursor"] is None
    item = page["items"][1]
    assert item["tickets"] == [t1["id"], t2["id"]] and item["known_error"] is True
    assert_problem(api.client.get(f"{API}/problems", params={"status": "open"}), 400, field="status")
    assert_problem(api.client.get(f"{API}/problems", params={"ticket": "x"}), 400, field="ticket")
    assert_problem(api.client.get(f"{API}/problems", params={"limit": 0}), 400, field="limit")


def test_concurrent_links_over_http_all_land_on_both_sides(api):
    tickets = [api.given_ticket() for _ in range(6)]
    p = given_problem(api)

    def work(i: int) -> Any:
        t = tickets[i]
        if i % 2:
            return api.client.post(f"{API}/tickets/{t['id']}/link_problem",
                                   json={"problem_id": p["id"]})
        return command(api, p["id"], "link_ticket", {"ticket_id": t["number"]})

    assert [r.status_code for r in run_concurrently(len(tickets), work)] == [200] * len(tickets)
    view = api.client.get(f"{API}/problems/{p['id']}").json()
    assert sorted(x["id"] for x in view["tickets"]) == sorted(t["id"] for t in tickets)
    assert view["version"] == 1 + len(tickets)
    for t in tickets:
        assert api.view(t["id"])["problems"] == [{"id": p["id"], "number": p["number"]}]
