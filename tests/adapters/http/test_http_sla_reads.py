"""The SLA read side over HTTP (API.md, ADR 0017): the list's ``sla_state`` filter and SLA
columns, the ``breaching`` queue (most urgent first, cursor paging) and
``GET /api/v1/sla/compliance`` on a small hand-checked set, with a controlled clock.

Default policy on china-5x8 (Mon-Fri 09:00-18:00): P1 2 h / 4 h, P3 8 h / 3 working days,
warnings from 50 %. 2026-11-23 is a Monday.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.fixtures_http import API, CLASSIFICATION, PRECISE, Api, assert_problem

SH = ZoneInfo("Asia/Shanghai")
P3 = {**CLASSIFICATION, "urgency": "not_urgent", "impact": "single", "importance": "important"}


def at(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def register(api: Api, reported: datetime, title: str, classified: dict[str, str] | None = None,
             **more: Any) -> str:
    api.clock.set(reported)
    body = CLASSIFICATION if classified is None else classified
    t = api.ok(api.register(reported_at=reported.isoformat(), title=title, **body, **more), 201)
    return str(t["id"])


def do(api: Api, ref: str, when: datetime, name: str, body: dict[str, Any] | None = None) -> None:
    api.clock.set(when)
    api.ok(api.command(ref, name, body))


def listed(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = api.client.get(f"{API}/tickets", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [i["title"] for i in items]


def test_the_sla_state_filter_follows_the_ticket_view(api: Api):
    a = register(api, at(10), "A")  # P1: response due 12:00 (warning from 11:00)
    b = register(api, at(10), "B")
    do(api, b, at(10, 30), "assign", {"assignee": "eng-wang"})  # response met
    register(api, at(10), "C", classified={})  # no priority: no SLA state
    api.clock.set(at(11, 10))
    assert titles(listed(api, sla_state="warning")) == ["A"]
    assert titles(listed(api, sla_state="ok")) == ["B"]
    assert sorted(titles(listed(api, sla_state="ok,warning"))) == ["A", "B"]
    assert listed(api, sla_state="met") == [] and listed(api, sla_state="breached") == []
    [item] = listed(api, sla_state="warning")
    assert item["sla_state"] == api.view(a)["sla"]["state"] == "warning"
    assert item["sla_recorded_state"] == "ok"  # the watcher has recorded nothing yet
    assert item["response_due"].startswith("2026-11-23T04:00:00")  # 12:00 in Shanghai
    assert (item["responded_at"], item["paused"], item["escalation_level"]) == (None, False, 0)
    c = [i for i in listed(api) if i["title"] == "C"][0]
    assert (c["sla_state"], c["response_due"]) == (None, None)
    # later: A breached, B's resolution (due 14:00) past 50 % -> warning
    api.clock.set(at(12, 30))
    assert titles(listed(api, sla_state="breached")) == ["A"]
    assert titles(listed(api, sla_state="warning")) == ["B"]
    for ref in (a, b):
        v = api.view(ref)
        assert [i["sla_state"] for i in listed(api) if i["id"] == ref] == [v["sla"]["state"]]
    assert_problem(api.client.get(f"{API}/tickets", params={"sla_state": "late"}), 400)


def test_the_breaching_queue_lists_the_most_urgent_first_with_cursor_paging(api: Api):
    x = register(api, at(10), "X")  # response due 12:00
    register(api, at(9, 30), "Y")  # response due 11:30
    z = register(api, at(10), "Z")
    do(api, z, at(10, 5), "assign", {"assignee": "eng-wang"})  # resolution 14:00: ok at 11:40
    w = register(api, at(9, 0), "W")  # due 11:00, resolved in time: met, not listed
    for name, body in (("assign", {"assignee": "eng-li"}), ("start", {}),
                       ("resolve", {"resolution": PRECISE, "root_cause": "会话表已满"})):
        do(api, w, at(9, 10), name, body)
    api.clock.set(at(11, 40))
    r = api.client.get(f"{API}/queues/breaching")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(i["title"], i["sla_state"]) for i in items] == [("Y", "breached"), ("X", "warning")]
    assert r.json()["next_cursor"] is None
    # paging, one at a time
    first = api.client.get(f"{API}/queues/breaching", params={"limit": 1}).json()
    assert titles(first["items"]) == ["Y"] and first["next_cursor"]
    second = api.client.get(f"{API}/queues/breaching",
                            params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert titles(second["items"]) == ["X"] and second["next_cursor"] is None
    assert api.view(x)["sla"]["state"] == "warning"
    body = assert_problem(api.client.get(f"{API}/queues/nope"), 404)
    assert "breaching" in body["detail"]


def test_compliance_figures_by_priority_and_customer(api: Api):
    a = register(api, at(10), "A")
    for name, body in (("assign", {"assignee": "eng-li"}), ("start", {}),
                       ("resolve", {"resolution": PRECISE, "root_cause": "会话表已满"})):
        do(api, a, at(10, 30) if name == "assign" else at(11), name, body)
    register(api, at(10), "B")  # untouched: response due 12:00
    c = register(api, at(10), "C", classified=P3, customer="客户B")
    do(api, c, at(10, 5), "assign", {"assignee": "eng-wang"})
    api.clock.set(at(12, 30))

    def figures(**params: str) -> dict[str, Any]:
        r = api.client.get(f"{API}/sla/compliance", params=params)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    got = figures(**{"from": "2026-11-23", "to": "2026-11-23"})
    # response: A met (10:30), C met (10:05), B missed (12:00 passed) -> 2 / 3
    # resolution: A met (11:00 <= 14:00); B (14:00) and C (3 working days) still pending
    t = got["total"]
    assert (t["tickets"], t["response_met"], t["response_missed"], t["response_met_pct"]) == (
        3, 2, 1, 66.67)
    assert (t["resolution_met"], t["resolution_missed"], t["resolution_met_pct"]) == (1, 0, 100.0)
    by_p = {f["priority"]: f for f in got["by_priority"]}
    assert (by_p["P1"]["tickets"], by_p["P1"]["response_met_pct"]) == (2, 50.0)
    assert (by_p["P3"]["tickets"], by_p["P3"]["response_met_pct"],
            by_p["P3"]["resolution_met_pct"]) == (1, 100.0, None)
    by_c = {f["customer"]: f for f in got["by_customer"]}
    assert (by_c["客户A"]["tickets"], by_c["客户B"]["tickets"]) == (2, 1)
    # times with offsets: [from, to)
    assert figures(**{"from": "2026-11-23T10:00:00+08:00",
                      "to": "2026-11-23T10:00:01+08:00"})["total"]["tickets"] == 3
    assert figures(**{"from": "2026-11-23T10:00:01+08:00",
                      "to": "2026-11-24"})["total"]["tickets"] == 0
    assert figures(**{"from": "2026-11-24", "to": "2026-11-30"})["by_priority"] == []
    for bad in ({"to": "2026-11-23"}, {"from": "2026-11-23"}, {"from": "yesterday", "to": "2026-11-23"},
                {"from": "2026-11-23T10:00:00", "to": "2026-11-24"},
                {"from": "2026-11-24", "to": "2026-11-23"}):
        assert_problem(api.client.get(f"{API}/sla/compliance", params=bad), 400)
