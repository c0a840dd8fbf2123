"""Concurrent requests without If-Match never lose an update (API.md, Conventions).

Threads share one test client and are released together by a barrier; the app runs each
handler in its own worker thread, so the commands really race inside the store.
"""

from __future__ import annotations

import pytest

from tests.fixtures_http import (
    ALL_STORES,
    API,
    DAY,
    Api,
    assert_problem,
    run_concurrently,
    ticket_body,
)

THREADS = 8


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_concurrent_work_logs_all_land(api: Api):
    # given a ticket in progress
    t = api.given_ticket("in_progress")

    # when 8 engineers log work on it at the same moment
    responses = run_concurrently(THREADS, lambda i: api.command(
        t["id"], "log_work", {"action": f"step {i}", "hours": 1},
        headers={"X-Opsledger-Actor": f"eng-{i}"}))

    # then every command succeeded and every entry is there: no lost update
    assert [r.status_code for r in responses] == [200] * THREADS, [r.text for r in responses]
    view = api.view(t["id"])
    assert sorted(w["action"] for w in view["work_log"]) == sorted(
        f"step {i}" for i in range(THREADS))
    assert view["version"] == t["version"] + THREADS
    assert view["hours_logged"] == THREADS
    # each answer is the ticket right after its own command
    versions = sorted(r.json()["version"] for r in responses)
    assert versions == list(range(t["version"] + 1, t["version"] + THREADS + 1))
    for r in responses:
        assert r.headers["etag"] == f'"{r.json()["version"]}"'
    history = api.history(t["id"])
    assert [h["version"] for h in history] == list(range(1, view["version"] + 1))
    assert sorted(h["actor"] for h in history if h["type"] == "WorkLogged") == sorted(
        f"eng-{i}" for i in range(THREADS))


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_concurrent_conflicting_commands_one_wins_the_others_get_409(api: Api):
    # given an assigned ticket
    t = api.given_ticket("assigned")

    # when 8 engineers press "start" at once
    responses = run_concurrently(THREADS, lambda i: api.command(
        t["id"], "start", headers={"X-Opsledger-Actor": f"eng-{i}"}))

    # then exactly one started it; the others were told it is in progress now
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (THREADS - 1), [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            body = assert_problem(r, 409)
            assert body["state"] == "in_progress"
            assert "start" not in body["allowed_commands"]
    winner = next(r for r in responses if r.status_code == 200).json()
    history = api.history(t["id"])
    assert [h["type"] for h in history].count("Started") == 1
    assert history[-1]["type"] == "Started"
    assert history[-1]["actor"] in {f"eng-{i}" for i in range(THREADS)}
    assert api.view(t["id"])["version"] == winner["version"] == t["version"] + 1


def test_concurrent_mixed_commands_every_200_is_in_the_history(api: Api):
    # given a ticket in progress
    t = api.given_ticket("in_progress")
    commands = [
        ("log_work", {"action": "step a", "hours": 1}),
        ("log_work", {"action": "step b", "hours": 1}),
        ("await_customer", {"reason": "等待客户"}),
        ("resolve", {"resolution": "重启 ERP 应用服务器并清理会话表", "root_cause": "会话表已满"}),
        ("assign", {"assignee": "eng-zhao"}),
        ("classify", {"type": "fault", "category": "network", "urgency": "urgent",
                      "impact": "some", "importance": "important"}),
        ("log_work", {"action": "step c", "hours": 1}),
        ("log_work", {"action": "step d", "hours": 1}),
    ]

    # when they all arrive at once
    responses = run_concurrently(len(commands), lambda i: api.command(t["id"], *commands[i]))

    # then each answer is 200 or a 409 naming the state it met, and every 200 is recorded
    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
    ok = [r.json() for r in responses if r.status_code == 200]
    assert ok
    history = api.history(t["id"])
    recorded = {h["version"] for h in history}
    for v in ok:
        assert v["version"] in recorded
    # a priority change (classify) also records new SLA deadlines (ADR 0015)
    deadlines = [h for h in history
                 if h["version"] > t["version"] and h["type"] == "SlaDeadlinesSet"]
    assert len(history) == t["version"] + len(ok) + len(deadlines)
    assert api.view(t["id"])["version"] == max(v["version"] for v in ok)
    # a 409 names a state that another command reached first, where this one is not allowed
    for (name, _), r in zip(commands, responses, strict=True):
        if r.status_code == 409:
            body = assert_problem(r, 409)
            if body["type"].endswith("/concurrent-update"):
                continue  # retries ran out: also a 409, and nothing was recorded
            assert body["command"] == name
            assert body["state"] != "in_progress"
            assert name not in body["allowed_commands"]


@pytest.mark.parametrize("http_store", ["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def test_concurrent_registrations_get_distinct_consecutive_numbers(api: Api):
    n = 20
    responses = run_concurrently(n, lambda i: api.client.post(
        f"{API}/tickets", json=ticket_body(title=f"并发登记 {i}")))
    assert [r.status_code for r in responses] == [201] * n, [r.text for r in responses]
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == [f"SR-{DAY}-{k:03d}" for k in range(1, n + 1)]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == n
    # each is readable by its number, and listed once
    for r in responses[:3]:
        assert api.view(r.json()["number"])["id"] == r.json()["id"]
    listed = api.client.get(f"{API}/tickets", params={"limit": 100}).json()["items"]
    assert sorted(i["number"] for i in listed) == numbers
    # the next one continues the sequence
    assert api.register().json()["number"] == f"SR-{DAY}-{n + 1:03d}"


def test_concurrent_repeats_of_one_idempotent_registration_create_one_ticket(api: Api):
    # when a client's retries of one registration race each other
    key = {"Idempotency-Key": "retry-storm-1"}
    responses = run_concurrently(THREADS, lambda i: api.client.post(
        f"{API}/tickets", json=ticket_body(), headers=key))

    # then all got the same 201 answer and only one ticket exists
    assert [r.status_code for r in responses] == [201] * THREADS, [r.text for r in responses]
    assert {r.json()["number"] for r in responses} == {f"SR-{DAY}-001"}
    assert len({r.content for r in responses}) == 1
    registered = [e for e in api.events()["items"] if e["type"] == "Registered"]
    assert len(registered) == 1
    assert api.register().json()["number"] == f"SR-{DAY}-002"
