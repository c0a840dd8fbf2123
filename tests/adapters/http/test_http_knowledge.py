"""The knowledge base over HTTP (API.md ``GET /api/v1/knowledge?q=``, ADR 0020): an incident
becomes a problem, a known error and an entry a Chinese search finds; agents write, revise and
retire articles with ETags, If-Match, Idempotency-Key, ``?as_of=`` and history; every refusal
is a problem+json naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, Api, assert_problem, etag

ARTICLE = {"title": "Database connection timeout after failover",
           "symptoms": "Applications report a connection timeout after the primary fails over",
           "solution": "Point the pool at the cluster VIP and lower the DNS TTL",
           "tags": ["database"]}


def search(api: Api, q: str, **params: Any) -> dict[str, Any]:
    r = api.client.get(f"{API}/knowledge", params={"q": q, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["count"] == len(body["items"])
    return body


def numbers(api: Api, q: str) -> list[str]:
    return [i["number"] for i in search(api, q)["items"]]


def problem(api: Api, ref: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return api.ok(api.client.post(f"{API}/problems/{ref}/{name}", json=body or {}))


def write(api: Api, headers: dict[str, str] | None = None, **overrides: Any) -> Any:
    return api.client.post(f"{API}/knowledge", json={**ARTICLE, **overrides}, headers=headers)


def post(api: Api, ref: str, name: str, body: dict[str, Any],
         headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"{API}/knowledge/{ref}/{name}", json=body, headers=headers)


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_an_incident_becomes_a_known_error_that_a_chinese_search_finds(api: Api):
    t = api.given_ticket("in_progress", title="支付失败", description="应用连接超时")
    p = api.ok(api.client.post(f"{API}/problems", json={
        "title": "支付网关响应慢", "description": "高峰期应用连接超时，用户支付失败",
        "tickets": [t["id"]]}), 201)
    assert numbers(api, "数据库连接超时") == []  # recorded only: not yet knowledge
    assert_problem(api.client.get(f"{API}/knowledge/{p['number']}"), 404)
    recorded_at = api.clock.now()
    api.clock.advance(hours=1)

    problem(api, p["id"], "record_root_cause", {"root_cause": "连接池耗尽"})
    problem(api, p["id"], "record_workaround", {"workaround": "重启应用服务器"})
    problem(api, p["id"], "mark_known_error")
    [hit] = search(api, "数据库连接超时")["items"]
    assert (hit["source"], hit["number"], hit["status"]) == ("problem", p["number"], "known_error")
    assert (hit["cause"], hit["workaround"], hit["solution"]) == ("连接池耗尽", "重启应用服务器", "")
    assert hit["tickets"] == [{"id": t["id"], "number": t["number"]}]
    assert "应用<mark>连接超时</mark>" in hit["snippet"] and hit["score"] > 0

    problem(api, p["id"], "resolve", {"resolution": "连接池上限从 50 调到 200 并修复连接泄漏"})
    [hit] = search(api, "连接泄漏")["items"]
    assert (hit["status"], hit["solution"]) == ("resolved", "连接池上限从 50 调到 200 并修复连接泄漏")
    r = api.client.get(f"{API}/knowledge/{p['number']}")
    entry = api.ok(r)
    assert (entry["id"], entry["source"], entry["status"]) == (p["id"], "problem", "resolved")
    assert r.headers["etag"] == etag(5)
    then = {"as_of": recorded_at.isoformat()}
    assert_problem(api.client.get(f"{API}/knowledge/{p['number']}", params=then), 404)
    history = api.client.get(f"{API}/knowledge/{p['id']}/history").json()
    assert [h["type"] for h in history] == ["Recorded", "RootCauseRecorded",
                                            "WorkaroundRecorded", "KnownErrorMarked", "Resolved"]


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_an_article_is_written_revised_and_retired(api: Api):
    t = api.given_ticket()
    r = write(api, tickets=[t["number"]])
    a = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/knowledge/{a['id']}"
    assert (a["number"], a["source"], a["status"], a["revision"]) == (
        "KB-20261121-001", "article", "published", 1)
    assert a["tickets"] == [{"id": t["id"], "number": t["number"]}]
    [hit] = search(api, "database timeout")["items"]
    assert hit["id"] == a["id"] and "<mark>timeout</mark>" in hit["snippet"].lower()
    written_at = api.clock.now()

    api.clock.advance(hours=1)
    revision = {**ARTICLE, "solution": "Use the listener's service name", "note": "new listener"}
    assert_problem(post(api, a["id"], "revise", revision, {"If-Match": etag(7)}), 412)
    b = api.ok(post(api, a["number"], "revise", revision, {"If-Match": etag(1)}))
    assert (b["revision"], b["version"], b["note"]) == (2, 2, "new listener")
    assert b["tickets"] == []  # the revision names no tickets: the full text replaces
    assert numbers(api, "listener") == [a["number"]] and numbers(api, "DNS TTL") == []
    old = api.ok(api.client.get(f"{API}/knowledge/{a['id']}",
                                params={"as_of": written_at.isoformat()}))
    assert (old["solution"], old["version"]) == (ARTICLE["solution"], 1)

    api.clock.advance(hours=1)
    c = api.ok(post(api, a["id"], "retire", {"reason": "集群已下线"}))
    assert (c["status"], c["retired_reason"], c["note"]) == ("retired", "集群已下线", "new listener")
    assert numbers(api, "database timeout") == [] and numbers(api, "") == []
    assert api.ok(api.client.get(f"{API}/knowledge/{a['number']}"))["status"] == "retired"
    assert_problem(post(api, a["id"], "revise", revision), 409, detail_has="retired")
    history = api.client.get(f"{API}/knowledge/{a['number']}/history").json()
    assert [(h["type"], h["actor"]) for h in history] == [
        ("Created", "anonymous"), ("Revised", "anonymous"), ("Retired", "anonymous")]
    assert history[1]["data"]["solution"] == revision["solution"]


def test_writing_is_idempotent_with_a_key(api: Api):
    key = {"Idempotency-Key": "kb-1"}
    first = write(api, key)
    again = write(api, key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert_problem(write(api, key, title="另一篇"), 422)
    assert len(numbers(api, "")) == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"solution": ""}, "solution"),
    ({"symptoms": "  "}, "symptoms"),
    ({"tickets": ["SR-20261121-999"]}, "tickets"),
    ({"problem_id": "PRB-20261121-999"}, "problem_id"),
])
def test_bad_articles_are_refused_naming_the_field(api: Api, body: dict[str, Any], field: str):
    assert_problem(write(api, **body), 422, field=field)
    assert numbers(api, "") == []


@pytest.mark.parametrize(("params", "field"), [
    ({"q": "超" * 201}, "q"), ({"limit": "0"}, "limit"), ({"cursor": "x"}, "cursor")])
def test_bad_searches_are_refused_naming_the_parameter(api: Api, params: dict[str, str],
                                                        field: str):
    r = api.client.get(f"{API}/knowledge", params=params)
    assert r.status_code in (400, 422)
    assert_problem(r, r.status_code, field=field)


@pytest.mark.parametrize("q", ['"', "*", "NEAR(", "NOT", "-", '"数据库" OR *', "%", "_", "\\",
                               "'; DROP TABLE knowledge; --", "<script>", "超" * 200])
def test_hostile_queries_are_plain_text(api: Api, q: str):
    api.ok(write(api), 201)
    assert numbers(api, q) == []


def test_results_come_in_pages(api: Api):
    for i in range(3):
        api.ok(write(api, title=f"数据库连接超时 {i}"), 201)
    first = search(api, "连接超时", limit=2)
    assert first["count"] == 2 and first["next_cursor"] == "2"
    rest = search(api, "连接超时", limit=2, cursor=first["next_cursor"])
    assert rest["count"] == 1 and rest["next_cursor"] is None


def test_unknown_entries_are_404(api: Api):
    for ref in ("KB-20261121-404", "00000000-0000-0000-0000-000000000000", "nonsense"):
        assert_problem(api.client.get(f"{API}/knowledge/{ref}"), 404)
        assert_problem(api.client.get(f"{API}/knowledge/{ref}/history"), 404)
    t = api.given_ticket()
    assert_problem(api.client.get(f"{API}/knowledge/{t['id']}"), 404)  # a ticket is not one
    assert_problem(post(api, t["id"], "retire", {"reason": "x"}), 404)
