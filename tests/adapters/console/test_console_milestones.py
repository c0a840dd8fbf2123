"""The milestone clocks on the console's ticket page (ADR 0062): each milestone of the default
policy (the source documents' time limits) with its state, in Chinese first."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.fixtures_http import CLASSIFICATION, Api

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
_STATE = re.compile(r'data-milestone="([a-z_]+)" data-state="([a-z_]+)"')


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
