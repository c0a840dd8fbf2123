"""Escalation over HTTP (API.md ``escalate``, ADR 0016): manual escalation from an open
status raises the priority and the ``sla.escalation_level``; closed and invalid tickets
answer 409; the body is strict. The watcher's escalations show in the same view."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures_http import CLASSIFICATION, Api, assert_problem

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


@pytest.mark.parametrize("status", ["registered", "in_progress", "waiting_customer", "resolved"])
def test_manual_escalation_from_an_open_status(api: Api, status: str):
    t = api.given_ticket(status)
    before = t["priority"]
    v = api.ok(api.command(t["id"], "escalate", {"reason": "客户投诉：影响生产"}))
    assert v["status"] == status
    if before is not None:
        assert v["priority"] == {"P3": "P2", "P2": "P1", "P1": "P1"}[before]
        assert v["sla"]["escalation_level"] == 1
    [esc] = [h for h in api.history(t["id"]) if h["type"] == "Escalated"]
    assert (esc["data"]["level"], esc["data"]["by"], esc["data"]["reason"]) == (
        1, esc["actor"], "客户投诉：影响生产")
    assert esc["data"]["actions"][1:] == ["manager_notified", "expert_notified"]


@pytest.mark.parametrize("status", ["closed", "invalid"])
def test_escalation_of_a_closed_or_invalid_ticket_is_409(api: Api, status: str):
    t = api.given_ticket(status)
    r = api.command(t["id"], "escalate", {"reason": "太晚了"})
    assert_problem(r, 409)
    assert api.view(t["id"])["version"] == t["version"]  # nothing recorded


def test_the_escalate_body_is_strict(api: Api):
    t = api.given_ticket("in_progress")
    assert api.command(t["id"], "escalate", {"reason": "x", "level": 3}).status_code in (400, 422)
    assert api.command(t["id"], "escalate", {}).status_code in (400, 422)


def test_the_watcher_breach_escalation_shows_in_the_view(api: Api):
    api.clock.set(MONDAY_10)
    body = {**CLASSIFICATION, "urgency": "not_urgent", "impact": "single",
            "importance": "important"}
    t = api.ok(api.register(reported_at=MONDAY_10.isoformat(), **body), 201)
    assert t["priority"] == "P3"
    api.clock.set(datetime(2026, 11, 23, 18, 1, tzinfo=SH))  # P3 response due 18:00
    counts = api.services.watcher.tick()
    assert (counts.breaches >= 1, counts.escalations) == (True, 1)
    v = api.view(t["id"])
    assert (v["priority"], v["sla"]["escalation_level"], v["sla"]["state"]) == ("P2", 1, "breached")
    health = api.client.get("/healthz").json()
    assert health["sla_watch"]["last_tick"]["escalations"] == 1
