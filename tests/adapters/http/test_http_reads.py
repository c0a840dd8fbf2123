"""Reads over HTTP: as_of, history, the audit log, lists, queues, health, the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from tests.fixtures_http import (
    ALL_STORES,
    API,
    CLASSIFICATION,
    START,
    Api,
    assert_problem,
)

# ------------------------------------------------------------------- as_of


def test_as_of_shows_the_ticket_as_it_stood_between_two_commands(api: Api):
    # given a ticket registered at START, assigned an hour later, started an hour after that
    t = api.given_ticket("classified")
    api.clock.advance(hours=1)
    api.ok(api.command(t["id"], "assign", {"assignee": "eng-wang"}))
    api.clock.advance(hours=1)
    now = api.ok(api.command(t["id"], "start"))
    assert now["status"] == "in_progress"

    def as_of(when: str) -> dict[str, Any]:
        r = api.get(t["id"], as_of=when)
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == f'"{r.json()["version"]}"'
        return r.json()

    # when asked about the time between registration and assignment
    v = as_of((START + timedelta(minutes=30)).isoformat())
    # then the earlier state shows
    assert (v["status"], v["assignee"], v["version"]) == ("classified", None, 3)
    # at the exact time of a command, that command counts
    v = as_of((START + timedelta(hours=1)).isoformat())
    assert (v["status"], v["assignee"], v["version"]) == ("assigned", "eng-wang", 4)
    v = as_of((START + timedelta(hours=1, minutes=59)).isoformat())
    assert v["status"] == "assigned"
    # later than everything: the current view
    assert as_of((START + timedelta(days=1)).isoformat()) == now
    # by SR number too
    assert api.get(t["number"], as_of=(START + timedelta(minutes=1)).isoformat()).json()[
        "status"] == "classified"


def test_as_of_before_registration_is_a_404(api: Api):
    t = api.given_ticket()
    earlier = (START - timedelta(seconds=1)).isoformat()
    assert_problem(api.get(t["id"], as_of=earlier), 404)
    assert_problem(api.get(t["number"], as_of=earlier), 404)


def test_as_of_with_a_plus_eight_offset_encoded_and_unencoded(api: Api):
    # START is 2026-11-21 01:00 in +08:00; assignment at 02:00 +08:00
    t = api.given_ticket("classified")
    api.clock.advance(hours=1)
    api.ok(api.command(t["id"], "assign", {"assignee": "eng-wang"}))
    between = "2026-11-21T01:30:00+08:00"
    after = "2026-11-21T02:00:00+08:00"
    for when, status in ((between, "classified"), (after, "assigned")):
        encoded = api.client.get(f"{API}/tickets/{t['id']}?as_of={quote(when, safe='')}")
        unencoded = api.client.get(f"{API}/tickets/{t['id']}?as_of={when}")
        with_params = api.get(t["id"], as_of=when)
        for r in (encoded, unencoded, with_params):
            assert r.status_code == 200, r.text
            assert r.json()["status"] == status
    # Z and a fractional second are fine too
    r = api.get(t["id"], as_of="2026-11-20T17:30:00.5Z")
    assert r.json()["status"] == "classified"


# ----------------------------------------------------------------- history


def test_history_is_every_event_oldest_first(api: Api):
    other = api.given_ticket()  # interleave another ticket's events in the log
    t = api.given_ticket("classified")
    api.client.post(f"{API}/tickets/{other['id']}/invalidate", json={"reason": "重复"})
    api.clock.advance(minutes=5)
    api.ok(api.command(t["id"], "assign", {"assignee": "eng-wang"},
                       headers={"X-Opsledger-Actor": "dispatcher-li"}))
    api.clock.advance(minutes=5)
    api.ok(api.command(t["id"], "start", headers={"X-Opsledger-Actor": "eng-wang"}))

    history = api.history(t["id"])
    assert [h["type"] for h in history] == [
        "Registered", "Classified", "SlaDeadlinesSet", "Assigned", "Started"]
    assert [h["version"] for h in history] == [1, 2, 3, 4, 5]
    for h in history:
        assert set(h) >= {"version", "position", "type", "recorded_at", "actor", "data"}
        assert isinstance(h["position"], int)
    positions = [h["position"] for h in history]
    assert positions == sorted(positions) and len(set(positions)) == 5
    assert [h["actor"] for h in history] == [
        "anonymous", "anonymous", "system:sla", "dispatcher-li", "eng-wang"]
    assert history[0]["recorded_at"] == "2026-11-20T17:00:00Z"
    assert history[4]["recorded_at"] == "2026-11-20T17:10:00Z"
    assert history[0]["data"]["number"] == t["number"]
    assert history[3]["data"]["assignee"] == "eng-wang"
    # the positions are the audit log's
    log = {(e["originator_id"], e["version"]): e["position"] for e in api.events()["items"]}
    assert positions == [log[(t["id"], h["version"])] for h in history]
    # by SR number too
    assert api.history(t["number"]) == history


# ------------------------------------------------------------------- audit


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_the_audit_log_pages_without_gaps_or_duplicates(api: Api):
    # given a few tickets with some history each
    for i in range(4):
        t = api.given_ticket("in_progress", title=f"ticket {i}")
        api.ok(api.command(t["id"], "log_work", {"action": f"step {i}", "hours": 1}))
    everything = api.events()
    items = everything["items"]
    positions = [e["position"] for e in items]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert everything["last_position"] == positions[-1] == everything["head"]
    ticket_events = [e for e in items if e["topic"].startswith("opsledger.ticket:")]
    assert len(ticket_events) == 4 * 6  # with SlaDeadlinesSet
    for e in items:
        assert set(e) >= {"position", "originator_id", "version", "type", "topic",
                          "recorded_at", "data"}

    # when a reader resumes after the last position it saw, 3 at a time
    seen: list[int] = []
    after = 0
    while True:
        page = api.events(after=after, limit=3)
        assert len(page["items"]) <= 3
        if not page["items"]:
            assert page["last_position"] is None
            break
        seen += [e["position"] for e in page["items"]]
        after = page["last_position"]

    # then it saw every event once, in order
    assert seen == positions
    # and a page in the middle starts right after the given position
    middle = positions[len(positions) // 2]
    assert api.events(after=middle, limit=500)["items"] == items[len(positions) // 2 + 1:]


# ------------------------------------------------------------------- lists


def _ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


@pytest.fixture
def desk_of_tickets(api: Api) -> dict[str, dict[str, Any]]:
    """Tickets in various states, priorities, assignees and customers."""
    return {
        "reg_a": api.given_ticket("registered", customer="客户A"),
        "cls_p1_a": api.given_ticket("classified", customer="客户A"),
        "cls_p3_b": api.given_ticket("classified", customer="客户B", urgency="not_urgent",
                                     impact="single", importance="not_important"),
        "asg_wang_p2": api.given_ticket("assigned", assignee="eng-wang", urgency="urgent",
                                        impact="some", importance="important"),
        "prog_wang_b": api.given_ticket("in_progress", assignee="eng-wang", customer="客户B"),
        "prog_zhao": api.given_ticket("in_progress", assignee="eng-zhao"),
        "closed_wang": api.given_ticket("closed", assignee="eng-wang"),
        "invalid": api.given_ticket("invalid"),
    }


def test_list_filters(api: Api, desk_of_tickets):
    d = {k: v["id"] for k, v in desk_of_tickets.items()}

    def listed(query: str) -> set[str]:
        return set(_ids(api.client.get(f"{API}/tickets?{query}")))

    assert listed("") == set(d.values())
    assert listed("status=in_progress") == {d["prog_wang_b"], d["prog_zhao"]}
    assert listed("status=registered,invalid") == {d["reg_a"], d["invalid"]}
    assert listed("status=closed") == {d["closed_wang"]}
    assert listed("priority=P3") == {d["cls_p3_b"]}
    assert listed("priority=P2,P3") == {d["cls_p3_b"], d["asg_wang_p2"]}
    assert listed("assignee=eng-wang") == {d["asg_wang_p2"], d["prog_wang_b"], d["closed_wang"]}
    assert listed("assignee=eng-wang&status=in_progress,closed") == {d["prog_wang_b"],
                                                                      d["closed_wang"]}
    assert listed(f"customer={quote('客户B')}") == {d["cls_p3_b"], d["prog_wang_b"]}
    assert listed(f"customer={quote('客户B')}&priority=P1") == {d["prog_wang_b"]}
    assert listed("assignee=nobody") == set()
    item = api.client.get(f"{API}/tickets?status=closed").json()["items"][0]
    v = desk_of_tickets["closed_wang"]
    assert {k: item[k] for k in ("number", "status", "priority", "assignee", "customer",
                                 "version")} == {k: v[k] for k in ("number", "status",
                                                                    "priority", "assignee",
                                                                    "customer", "version")}


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_list_paging_returns_every_ticket_exactly_once(api: Api):
    ids = {api.ok(api.register(title=f"t{i}"), 201)["id"] for i in range(7)}
    for limit in (1, 3, 7, 50):
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            r = api.client.get(f"{API}/tickets", params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            assert page["count"] == len(page["items"]) <= limit
            seen += [i["id"] for i in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 7
        assert set(seen) == ids
        assert pages == -(-7 // limit)
    # newest first
    numbers = [i["number"] for i in api.client.get(f"{API}/tickets").json()["items"]]
    assert numbers == sorted(numbers, reverse=True)


def test_queues(api: Api, desk_of_tickets):
    d = {k: v["id"] for k, v in desk_of_tickets.items()}
    # a group-only assignment leaves the assignee empty but is not unassigned
    group_only = api.ok(api.command(api.given_ticket("classified")["id"], "assign",
                                    {"group": "network"}))

    # unassigned: registered/classified without assignee, P1 first, then P3, then unprioritised
    r = api.client.get(f"{API}/queues/unassigned")
    assert _ids(r) == [d["cls_p1_a"], d["cls_p3_b"], d["reg_a"]]
    assert group_only["id"] not in _ids(r)
    # paging the queue keeps the order
    first = api.client.get(f"{API}/queues/unassigned", params={"limit": 2}).json()
    rest = api.client.get(f"{API}/queues/unassigned",
                          params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in first["items"] + rest["items"]] == _ids(r)
    assert rest["next_cursor"] is None

    # mine: the caller's open tickets, most urgent first
    mine = api.client.get(f"{API}/queues/mine", headers={"X-Opsledger-Actor": "eng-wang"})
    assert _ids(mine) == [d["prog_wang_b"], d["asg_wang_p2"]]
    zhao = api.client.get(f"{API}/queues/mine", headers={"X-Opsledger-Actor": "eng-zhao"})
    assert _ids(zhao) == [d["prog_zhao"]]
    assert _ids(api.client.get(f"{API}/queues/mine")) == []  # anonymous has none

    # by-assignee/{id}: the same as that engineer's mine
    assert _ids(api.client.get(f"{API}/queues/by-assignee/eng-wang")) == _ids(mine)
    assert _ids(api.client.get(f"{API}/queues/by-assignee/nobody")) == []


def test_an_unknown_queue_is_a_404_problem(api: Api):
    body = assert_problem(api.client.get(f"{API}/queues/everything"), 404)
    assert "unassigned" in body["detail"]
    assert_problem(api.client.get(f"{API}/queues/by-assignee"), 404)


def test_lists_read_their_own_writes(api: Api):
    # every registration shows in the very next list call (read your own writes)
    for i in range(5):
        t = api.ok(api.register(title=f"t{i}"), 201)
        assert _ids(api.client.get(f"{API}/tickets", params={"limit": 1})) == [t["id"]]
        t = api.ok(api.command(t["id"], "classify", CLASSIFICATION))
        row = api.client.get(f"{API}/tickets", params={"limit": 1}).json()["items"][0]
        assert (row["status"], row["version"]) == ("classified", t["version"])


# ------------------------------------------------- health, schema, docs


def test_healthz(api: Api):
    api.given_ticket()
    r = api.client.get("/healthz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["head"] >= 1
    names = [p["name"] for p in body["projections"]]
    assert names[:2] == ["ticket_list", "sla_due"] and "problem_list" in names  # + issue 4's
    assert body["notifications"]["failed"] == 0 and "sla_watch" in body
    for p in body["projections"]:
        assert p["healthy"] is True
        assert set(p) >= {"position", "head", "lag"}


def test_the_openapi_document_lists_every_ticket_command(api: Api):
    r = api.client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    paths = r.json()["paths"]
    for command in ("invalidate", "classify", "assign", "start", "log_work", "await_customer",
                    "resume", "resolve", "confirm", "close", "reopen", "feedback"):
        assert "post" in paths[f"{API}/tickets/{{ref}}/{command}"], command
    assert "post" in paths[f"{API}/tickets"] and "get" in paths[f"{API}/tickets"]
    for path in (f"{API}/tickets/{{ref}}", f"{API}/tickets/{{ref}}/history",
                 f"{API}/queues/{{name}}", f"{API}/audit/events", "/healthz"):
        assert "get" in paths[path], path


def test_docs_is_html(api: Api):
    r = api.client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text.lower()
    assert "log_work" in r.text
