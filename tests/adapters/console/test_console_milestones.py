"""The milestone clocks on the console's ticket page (ADR 0062): each milestone of the default
policy (the source documents' time limits) with its state, in Chinese first."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures_http import CLASSIFICATION, Api

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
_STATE = re.compile(r'data-milestone="([a-z_]+)" data-state="([a-z_]+)"')


@pytest.mark.parametrize("http_store", ["memory"])
def test_the_ticket_page_shows_each_milestone_and_its_state(api: Api):
    api.clock.set(MONDAY_10)
    t = api.ok(api.register(reported_at=MONDAY_10.isoformat(), **CLASSIFICATION), 201)
    api.clock.set(datetime(2026, 11, 23, 10, 12, tzinfo=SH))
    api.services.watcher.tick()
    r = api.client.get(f"/ui/tickets/{t['number']}")
    assert r.status_code == 200, r.text
    assert dict(_STATE.findall(r.text)) == {
        "dispatch": "breached", "dispatch_followup": "not_started",
        "rescheduling": "not_started", "pm_escalation": "not_started"}
    assert "内部时限（OLA）" in r.text and "派单（10 分钟内）" in r.text
    assert "已超时" in r.text


@pytest.mark.parametrize("http_store", ["memory"])
def test_the_sla_board_shows_compliance_per_milestone(api: Api):
    api.clock.set(MONDAY_10)
    t = api.ok(api.register(reported_at=MONDAY_10.isoformat(), **CLASSIFICATION), 201)
    api.clock.set(datetime(2026, 11, 23, 10, 4, tzinfo=SH))
    api.ok(api.command(t["id"], "assign", {"assignee": "eng-wang"}))
    api.clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=SH))
    r = api.client.get("/ui/sla", params={"from": "2026-11-01", "to": "2026-11-30"})
    assert r.status_code == 200, r.text
    rows = re.findall(r'<tr data-milestone="([a-z_]+)">\s*<th scope="row">[^<]*</th>\s*'
                      r'<td class="ok" data-col="met">(\d+)</td>\s*<td class="[a-z]*" '
                      r'data-col="missed">(\d+)</td>', r.text)
    # dispatch met (4 minutes); the follow-up (30 working minutes from 10:04) missed by 11:00
    assert rows == [("dispatch", "1", "0"), ("dispatch_followup", "0", "1")]
    assert "各内部时限达成情况" in r.text
