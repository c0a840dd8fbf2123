"""Milestone clocks over HTTP (issue 20 item 3, ADR 0062): a policy body's ``milestones``, the
watcher's ``MilestoneWarningRaised`` / ``MilestoneBreached`` in the ticket's history (once,
however often it ticks), the ``sla.milestones`` of the ticket view, the default policy's
milestones from the source documents, and compliance per milestone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures_http import API, CLASSIFICATION, Api, assert_problem

SH = ZoneInfo("Asia/Shanghai")
P1 = {**CLASSIFICATION, "importance": "important"}
OLA: dict[str, Any] = {
    "name": "OLA", "calendar": "china-5x8",
    "targets": {"P1": {"response": "PT2H", "resolution": "PT4H"},
                "P2": {"response": "PT4H", "resolution": "PT24H"},
                "P3": {"response": "PT8H", "resolution": "P3D"}},
    "warning_thresholds": [0.5],
    "escalation": {"manager": "mgr-wang", "expert": "exp-zhao"},
    "milestones": [{"name": "dispatch", "starts_on": "Registered", "stops_on": ["Assigned"],
                    "target": "PT10M"}],
}


def at(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)  # 23 Nov 2026 is a Monday


# The index matters to the first test (on every default store); the others read the same
# code on the in-memory store only.
MEMORY = pytest.mark.parametrize("http_store", ["memory"])


def marks(api: Api, ref: str) -> list[tuple[str, str]]:
    return [(h["type"], h["data"]["milestone"]) for h in api.history(ref)
            if h["type"].startswith("Milestone")]


def test_a_policy_accepts_milestones_and_the_watcher_records_the_breach_once(api: Api):
    # given a policy with a 10-minute dispatch milestone and a ticket on it
    r = api.client.put(f"{API}/sla-policies/ola", json=OLA)
    assert r.status_code == 201, r.text
    assert r.json()["milestones"] == [{"name": "dispatch", "starts_on": "Registered",
                                       "stops_on": ["Assigned"], "target": "PT10M",
                                       "calendar": "24x7"}]
    api.clock.set(at(10))
    t = api.ok(api.register(reported_at=at(10).isoformat(), sla_policy="ola", **P1), 201)
    [ms] = t["sla"]["milestones"]
    assert (ms["name"], ms["state"], ms["due"]) == ("dispatch", "ok", "2026-11-23T02:10:00Z")

    # when the watcher ticks at 10:04 nothing is due; at 10:05 the warning (50 %)
    api.clock.set(at(10, 4))
    api.services.watcher.tick()
    assert marks(api, t["id"]) == []
    api.clock.set(at(10, 5))
    assert api.services.watcher.tick().milestones == 1
    assert marks(api, t["id"]) == [("MilestoneWarningRaised", "dispatch")]
    assert api.view(t["id"])["sla"]["milestones"][0]["state"] == "warning"

    # then past the due the breach is recorded, once, however often the watcher ticks
    api.clock.set(at(10, 11))
    assert [api.services.watcher.tick().milestones for _ in range(3)] == [1, 0, 0]
    assert marks(api, t["id"]) == [("MilestoneWarningRaised", "dispatch"),
                                   ("MilestoneBreached", "dispatch")]
    [breach] = [h for h in api.history(t["id"]) if h["type"] == "MilestoneBreached"]
    assert breach["actor"] == "system:sla"
    assert breach["topic"] == "opsledger.ticket:Ticket.MilestoneBreached"
    assert breach["data"]["due"] == breach["data"]["occurred_at"] == "2026-11-23T02:10:00Z"
    ms = api.view(t["id"])["sla"]["milestones"][0]
    assert (ms["state"], ms["remaining_seconds"], ms["breaches"]) == ("breached", -60, 1)

    # and an assignment afterwards stops the run late: still breached, nothing more recorded
    api.ok(api.command(t["id"], "assign", {"assignee": "eng-wang"}))
    api.clock.set(at(12))
    api.services.watcher.tick()
    assert len(marks(api, t["id"])) == 2
    ms = api.view(t["id"])["sla"]["milestones"][0]
    assert (ms["state"], ms["stopped_by"]) == ("breached", "Assigned")


@MEMORY
def test_a_dispatch_in_time_is_met_and_records_nothing(api: Api):
    api.ok(api.client.put(f"{API}/sla-policies/ola", json=OLA), 201)
    api.clock.set(at(10))
    t = api.ok(api.register(reported_at=at(10).isoformat(), sla_policy="ola", **P1), 201)
    api.clock.set(at(10, 3))
    api.ok(api.command(t["id"], "assign", {"assignee": "eng-wang"}))
    api.clock.set(at(11))
    api.services.watcher.tick()
    assert marks(api, t["id"]) == []
    ms = api.view(t["id"])["sla"]["milestones"][0]
    assert (ms["state"], ms["stopped_at"], ms["remaining_seconds"]) == (
        "met", "2026-11-23T02:03:00Z", 420)
    r = api.client.get(f"{API}/sla/compliance", params={"from": "2026-11-01", "to": "2026-11-30"})
    assert r.status_code == 200, r.text
    assert r.json()["milestones"] == [
        {"milestone": "dispatch", "met": 1, "missed": 0, "pending": 0, "met_pct": 100.0}]


@MEMORY
def test_a_business_milestone_waits_for_working_hours_and_24x7_does_not(api: Api):
    # registered on Friday 17:55: the business dispatch is due Monday 09:05; the 24x7 one
    # at 18:05 the same evening
    policy = {**OLA, "milestones": [
        {"name": "dispatch", "starts_on": "Registered", "stops_on": ["Assigned"],
         "target": "PT10M", "calendar": "business"},
        {"name": "night", "starts_on": "Registered", "stops_on": ["Assigned"],
         "target": "PT10M", "calendar": "24x7"}]}
    api.ok(api.client.put(f"{API}/sla-policies/ola", json=policy), 201)
    api.clock.set(at(17, 55, day=27))
    t = api.ok(api.register(reported_at=at(17, 55, day=27).isoformat(), sla_policy="ola",
                            **P1), 201)
    assert [m["due"] for m in t["sla"]["milestones"]] == [
        "2026-11-30T01:05:00Z", "2026-11-27T10:05:00Z"]
    api.clock.set(at(23, day=28))
    api.services.watcher.tick()
    assert ("MilestoneBreached", "night") in marks(api, t["id"])
    assert ("MilestoneBreached", "dispatch") not in marks(api, t["id"])
    api.clock.set(at(9, 6, day=30))
    api.services.watcher.tick()
    assert ("MilestoneBreached", "dispatch") in marks(api, t["id"])


@MEMORY
def test_the_default_policy_has_the_source_documents_milestones(api: Api):
    p = api.ok(api.client.get(f"{API}/sla-policies/default"))
    assert [(m["name"], m["starts_on"], m["stops_on"], m["target"]) for m in p["milestones"]] == [
        ("dispatch", "Registered", ["Assigned"], "PT10M"),
        ("dispatch_followup", "Assigned", ["Started", "VisitArrived"], "PT30M"),
        ("rescheduling", "VisitRescheduled", ["CommentAdded"], "PT10M"),
        ("pm_escalation", "SlaWarningRaised", ["Escalated"], "PT20M"),
    ]
    assert p["calendar"] == "china-5x8"
    assert {m["calendar"] for m in p["milestones"]} == {"business"}  # the desk's working time


@MEMORY
def test_a_milestone_without_a_calendar_runs_around_the_clock(api: Api):
    # registered on Saturday 01:00 in Shanghai (the fixtures' start): 10 plain minutes later
    # the dispatch is breached, though no working minute has passed
    api.ok(api.client.put(f"{API}/sla-policies/ola", json=OLA), 201)
    t = api.ok(api.register(reported_at=api.clock.now().isoformat(), sla_policy="ola", **P1), 201)
    assert t["sla"]["milestones"][0]["calendar"] == "24x7"
    api.clock.set(api.clock.now() + timedelta(minutes=11))
    api.services.watcher.tick()
    assert ("MilestoneBreached", "dispatch") in marks(api, t["id"])


@MEMORY
def test_a_policy_without_milestones_keeps_working(api: Api):
    plain = {k: v for k, v in OLA.items() if k != "milestones"}
    r = api.client.put(f"{API}/sla-policies/plain", json=plain)
    assert r.status_code == 201 and r.json()["milestones"] == []
    api.clock.set(at(10))
    t = api.ok(api.register(reported_at=at(10).isoformat(), sla_policy="plain", **P1), 201)
    assert t["sla"]["milestones"] == [] and t["sla"]["state"] == "ok"
    api.clock.set(at(13))
    api.services.watcher.tick()
    assert marks(api, t["id"]) == []
    assert [h["type"] for h in api.history(t["id"])].count("SlaBreached") == 1


@MEMORY
def test_broken_milestones_are_a_422_naming_the_field(api: Api):
    def put(*milestones: dict[str, Any]) -> Any:
        return api.client.put(f"{API}/sla-policies/bad", json={**OLA, "milestones": milestones})

    ok = {"name": "dispatch", "starts_on": "Registered", "stops_on": ["Assigned"],
          "target": "PT10M"}
    assert_problem(put({**ok, "target": "10 minutes"}), 422, field="milestones[0].target")
    assert_problem(put({**ok, "stops_on": ["Registered"]}), 422,
                   field="milestones[0].stops_on[0]")
    assert_problem(put(ok, ok), 422, field="milestones[1].name")
    assert_problem(put({**ok, "name": "Dispatch Now"}), 422, field="milestones[0].name")
    assert_problem(put({**ok, "starts_on": "registered"}), 422, field="milestones[0].starts_on")
    assert api.client.get(f"{API}/sla-policies/bad").status_code == 404


@MEMORY
def test_a_milestone_started_by_the_watchers_own_warning_is_recorded_in_the_same_tick(api: Api):
    # the default policy's pm_escalation: SlaWarningRaised -> Escalated within 20 minutes
    api.clock.set(at(10))
    t = api.ok(api.register(reported_at=at(10).isoformat(), **P1), 201)
    api.ok(api.command(t["id"], "assign", {"assignee": "eng-wang"}))
    api.ok(api.command(t["id"], "start"))
    # the resolution clock's 50 % warning is at 12:00; the watcher first looks at 12:25
    api.clock.set(at(12, 25))
    api.services.watcher.tick()
    history = api.history(t["id"])
    [warning] = [h for h in history if h["type"] == "SlaWarningRaised"]
    assert warning["data"]["occurred_at"] == "2026-11-23T04:00:00Z"
    assert marks(api, t["id"]) == [("MilestoneWarningRaised", "pm_escalation")] * 2 + [
        ("MilestoneBreached", "pm_escalation")]  # 50 %, 75 % (12:10, 12:15), 12:20
    [breach] = [h for h in history if h["type"] == "MilestoneBreached"]
    assert breach["data"]["started_at"] == "2026-11-23T04:00:00Z"  # the warning's true time
    assert breach["data"]["due"] == "2026-11-23T04:20:00Z"
    # an escalation stops it (late); dispatch and its follow-up were met
    api.ok(api.command(t["id"], "escalate", {"reason": "上报项目经理"}))
    states = {m["name"]: m["state"] for m in api.view(t["id"])["sla"]["milestones"]}
    assert states == {"dispatch": "met", "dispatch_followup": "met",
                      "rescheduling": "not_started", "pm_escalation": "breached"}
