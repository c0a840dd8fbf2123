"""Races (issue 8, item 3): 50 conflicting commands on one ticket against a real server.

Each test starts ``opsledger serve`` as its own process (uvicorn, its worker threads, the
store on SQLite or PostgreSQL) and fires 50 requests released together by a barrier from
50 client threads. The checks compare the store's history with the answers the clients got:
no acknowledged command is lost, nothing that was refused is recorded, and a refusal is a
409 (the state moved on) or a 412 (the If-Match version is stale).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.fixtures_http import API, CLASSIFICATION, PRECISE, run_concurrently, ticket_body
from tests.support.serve import Process

N = 50
COMMAND_EVENT = {"log_work": "WorkLogged", "resolve": "Resolved", "await_customer": "CustomerAwaited"}


def race(n: int, work: Callable[[httpx.Client, int], httpx.Response], base: str) -> list[httpx.Response]:
    """``work(client, i)`` in ``n`` threads, each with its own open connection, released together."""
    clients = [httpx.Client(base_url=base, timeout=60) for _ in range(n)]
    try:
        for c in clients:
            c.get("/healthz")  # connect before the barrier
        return run_concurrently(n, lambda i: work(clients[i], i))
    finally:
        for c in clients:
            c.close()


def ticket_in_progress(base: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post(f"{API}/tickets", json=ticket_body(**CLASSIFICATION))
        assert r.status_code == 201, r.text
        t = r.json()
        for name, body in (("assign", {"assignee": "eng-wang"}), ("start", {})):
            r = c.post(f"{API}/tickets/{t['id']}/{name}", json=body)
            assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def history(base: str, ref: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{base}{API}/tickets/{ref}/history", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def is_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()  # type: ignore[no-any-return]


def test_50_commands_with_the_same_if_match_exactly_one_applies(server: Process):
    # given a ticket in progress at version v
    t = ticket_in_progress(server.url)
    v = t["version"]

    # when 50 engineers log work on it at once, each sending If-Match: "v"
    responses = race(N, lambda c, i: c.post(
        f"{API}/tickets/{t['id']}/log_work", json={"action": f"step {i}", "hours": 1},
        headers={"If-Match": f'"{v}"', "X-Opsledger-Actor": f"eng-{i}"}), server.url)

    # then exactly one applied; the 49 others got 412 naming the version they missed
    ok = [r for r in responses if r.status_code == 200]
    assert len(ok) == 1, sorted(r.status_code for r in responses)
    for r in responses:
        if r.status_code != 200:
            body = is_problem(r, 412)
            assert body["expected_version"] == v
            assert body["current_version"] >= v + 1
    winner = ok[0].json()
    assert ok[0].headers["etag"] == f'"{winner["version"]}"'
    # and the history holds exactly the acknowledged one
    logged = [h for h in history(server.url, t["id"]) if h["type"] == "WorkLogged"]
    assert [h["data"]["entry"]["action"] for h in logged] == [winner["work_log"][-1]["action"]]
    assert logged[0]["version"] == v + 1


def test_50_racing_commands_without_if_match_lose_no_update(server: Process):
    # given a ticket in progress
    t = ticket_in_progress(server.url)
    v = t["version"]
    commands: list[tuple[str, dict[str, Any]]] = []
    for i in range(N):
        if i % 10 == 3:
            commands.append(("resolve", {"resolution": f"{PRECISE} #{i}", "root_cause": "会话表已满"}))
        elif i % 10 == 7:
            commands.append(("await_customer", {"reason": f"等待客户 #{i}"}))
        else:
            commands.append(("log_work", {"action": f"step {i}", "hours": 1}))

    # when 50 different commands on it arrive together
    responses = race(N, lambda c, i: c.post(
        f"{API}/tickets/{t['id']}/{commands[i][0]}", json=commands[i][1],
        headers={"X-Opsledger-Actor": f"eng-{i}"}), server.url)

    # then each was applied (200) or refused with a 409
    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
    events = history(server.url, t["id"])
    by_version = {h["version"]: h for h in events}
    acknowledged = {}
    for i, ((name, body), r) in enumerate(zip(commands, responses, strict=True)):
        if r.status_code == 200:
            version = r.json()["version"]
            acknowledged[version] = i
            recorded = by_version[version]  # every 200 is in the history, as itself
            assert recorded["type"] == COMMAND_EVENT[name], (i, recorded)
            assert recorded["actor"] == f"eng-{i}"
        else:
            body409 = is_problem(r, 409)
            if not body409["type"].endswith("/concurrent-update"):
                assert body409["command"] == name
                assert name not in body409["allowed_commands"]
    assert acknowledged
    # and every command event after v is one of the acknowledged: nothing refused was recorded
    command_events = [h for h in events if h["version"] > v and h["type"] in COMMAND_EVENT.values()]
    assert sorted(h["version"] for h in command_events) == sorted(acknowledged)
    logged = sorted(h["data"]["entry"]["action"] for h in command_events if h["type"] == "WorkLogged")
    assert logged == sorted(commands[i][1]["action"] for i in acknowledged.values()
                            if commands[i][0] == "log_work")
    # the versions are contiguous, so no write overwrote another
    assert [h["version"] for h in events] == list(range(1, len(events) + 1))


def test_idempotency_keys_hold_under_retries_from_several_clients(server: Process):
    # given a ticket in progress, and 10 logical commands each with its own key
    t = ticket_in_progress(server.url)
    keys = 10

    # when each is sent 5 times by 5 different clients at once (50 requests)
    def send(c: httpx.Client, i: int) -> httpx.Response:
        k = i % keys
        return c.post(f"{API}/tickets/{t['id']}/log_work",
                      json={"action": f"retried step {k}", "hours": 1},
                      headers={"Idempotency-Key": f"race-key-{k}", "X-Opsledger-Actor": "eng-li"})

    responses = race(N, send, server.url)

    # then every request got 200, and all answers for one key are the same answer
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses]
    for k in range(keys):
        answers = [r for i, r in enumerate(responses) if i % keys == k]
        assert len({r.content for r in answers}) == 1, k
        assert len({r.headers["etag"] for r in answers}) == 1
        # exactly one of the five did the work; the others were replays of it
        assert sum(r.headers.get("idempotent-replayed") != "true" for r in answers) == 1
    # and each key recorded exactly one event
    logged = [h["data"]["entry"]["action"] for h in history(server.url, t["id"]) if h["type"] == "WorkLogged"]
    assert sorted(logged) == sorted(f"retried step {k}" for k in range(keys))


def test_one_registration_retried_by_many_clients_creates_one_ticket(server: Process):
    # when 50 clients retry one registration with the same key and body at once
    body = ticket_body(title="重试风暴")
    responses = race(N, lambda c, i: c.post(f"{API}/tickets", json=body,
                                            headers={"Idempotency-Key": "storm-1"}), server.url)

    # then all got the same 201 answer and only one ticket (one number) exists
    assert [r.status_code for r in responses] == [201] * N, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    listed = httpx.get(f"{server.url}{API}/tickets", params={"limit": 500}, timeout=30).json()
    assert [i["number"] for i in listed["items"]] == [responses[0].json()["number"]]
    # the same key with another body is refused, naming the header
    r = httpx.post(f"{server.url}{API}/tickets", json={**body, "title": "另一个"},
                   headers={"Idempotency-Key": "storm-1"}, timeout=30)
    assert is_problem(r, 422)["errors"][0]["field"] == "Idempotency-Key"
