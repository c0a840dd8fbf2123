"""The ticket view's ``sla`` block over HTTP (API.md, ADR 0015): due times, remaining working
seconds and the state as the server's clock moves; ``as_of`` reads the clocks at that time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.fixtures_http import API, CLASSIFICATION, PRECISE, Api, assert_problem

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
P1 = {**CLASSIFICATION, "importance": "important"}


def at(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def test_the_sla_block_shows_due_times_and_moves_from_ok_to_warning_to_breached(api: Api):
    api.clock.set(MONDAY_10)
    t = api.ok(api.register(reported_at=MONDAY_10.isoformat(), **P1), 201)
    sla = t["sla"]
    assert {"policy", "calendar", "response_due", "resolution_due", "responded_at",
            "resolved_at", "paused", "state", "escalation_level", "policy_version",
            "calendar_version", "paused_seconds", "response_remaining_seconds",
            "resolution_remaining_seconds"} <= set(sla)
    assert (sla["policy"], sla["policy_version"], sla["calendar"], sla["calendar_version"]) == (
        "default", 1, "china-5x8", 1)
    assert (sla["response_due"], sla["resolution_due"]) == (
        "2026-11-23T04:00:00Z", "2026-11-23T06:00:00Z")  # 12:00 and 14:00 in Shanghai
    assert (sla["state"], sla["paused"], sla["escalation_level"]) == ("ok", False, 0)
    assert (sla["response_remaining_seconds"], sla["resolution_remaining_seconds"]) == (
        7200, 14400)

    api.clock.set(at(10, 59))
    assert api.view(t["id"])["sla"]["state"] == "ok"
    api.clock.set(at(11, 0))  # half of the 2 h response target: the first threshold (50 %)
    sla = api.view(t["id"])["sla"]
    assert (sla["state"], sla["response_remaining_seconds"]) == ("warning", 3600)
    api.clock.set(at(12, 0))
    sla = api.view(t["id"])["sla"]
    assert (sla["state"], sla["response_remaining_seconds"]) == ("breached", 0)
    api.clock.set(at(12, 30))
    assert api.view(t["id"])["sla"]["response_remaining_seconds"] == -1800

    # as_of reads the clocks at that time, not the server's
    past = api.get(t["id"], as_of=at(11, 30).isoformat())
    assert past.status_code == 200 and past.json()["sla"]["state"] == "warning"
    # the history shows the deadlines event with its sources
    [h] = [h for h in api.history(t["id"]) if h["type"] == "SlaDeadlinesSet"]
    assert h["actor"] == "system:sla" and h["topic"] == "opsledger.ticket:Ticket.SlaDeadlinesSet"
    d = h["data"]["deadlines"]
    assert (d["policy"], d["policy_version"], d["calendar"], d["calendar_version"]) == (
        "default", 1, "china-5x8", 1)
    assert d["holiday_data"].startswith("chinese-calendar ")
    assert d["response_due"] == "2026-11-23T04:00:00Z"


def test_a_ticket_resolved_in_time_is_met(api: Api):
    api.clock.set(MONDAY_10)
    t = api.ok(api.register(reported_at=MONDAY_10.isoformat(), **P1), 201)
    api.clock.set(at(10, 20))
    t = api.ok(api.command(t["id"], "assign", {"assignee": "eng-wang"}))
    assert t["sla"]["responded_at"] == "2026-11-23T02:20:00Z"
    api.ok(api.command(t["id"], "start"))
    api.clock.set(at(13, 0))
    t = api.ok(api.command(t["id"], "resolve", {"resolution": PRECISE, "root_cause": "会话表"}))
    assert t["sla"]["resolved_at"] == "2026-11-23T05:00:00Z"
    api.clock.set(at(18, 0, day=30))
    sla = api.view(t["id"])["sla"]
    assert (sla["state"], sla["resolution_remaining_seconds"]) == ("met", 3600)


def test_waiting_for_the_customer_pauses_and_extends_the_resolution_due(api: Api):
    api.clock.set(MONDAY_10)
    t = api.ok(api.register(reported_at=MONDAY_10.isoformat(), **P1), 201)
    for name in ("assign", "start"):
        api.ok(api.command(t["id"], name, {"assignee": "eng-wang"} if name == "assign" else {}))
    api.clock.set(at(11, 0))
    t = api.ok(api.command(t["id"], "await_customer", {"reason": "等待客户日志"}))
    assert t["sla"]["paused"] is True
    api.clock.set(at(12, 30))
    sla = api.view(t["id"])["sla"]
    assert (sla["paused"], sla["paused_seconds"], sla["state"]) == (True, 5400, "ok")
    api.clock.set(at(13, 0))
    t = api.ok(api.command(t["id"], "resume"))
    assert t["sla"]["resolution_due"] == "2026-11-23T08:00:00Z"  # 14:00 + 2 h = 16:00
    assert (t["sla"]["paused"], t["sla"]["paused_seconds"]) == (False, 7200)


def test_an_unknown_sla_policy_is_a_422_naming_it(api: Api):
    r = api.register(sla_policy="no-such-policy", **P1)
    assert_problem(r, 422, field="sla_policy")
    r = api.client.get(f"{API}/tickets")
    assert r.status_code == 200 and r.json()["count"] == 0


def test_a_ticket_without_priority_has_no_sla_block_yet(api: Api):
    t = api.ok(api.register(), 201)
    assert t["sla"] is None


def test_a_repeated_command_answers_the_clocks_of_its_first_answer(api: Api):
    # given a ticket whose clocks run, registered with an Idempotency-Key
    api.clock.set(MONDAY_10)
    key = {"Idempotency-Key": "sla-repeat-1"}
    first = api.register(headers=key, reported_at=MONDAY_10.isoformat(), **P1)
    assert first.status_code == 201

    # when the same request comes again a minute later (a client's retry)
    api.clock.set(at(10, 1))
    again = api.register(headers=key, reported_at=MONDAY_10.isoformat(), **P1)

    # then it answers the first answer byte for byte: the clocks as read when it was decided
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.json()["sla"]["response_remaining_seconds"] == 7200
    # while a read shows them now
    assert api.view(first.json()["id"])["sla"]["response_remaining_seconds"] == 7140
