"""``opsledger demo`` also records hidden risks and major incidents (adapters/demo/risks.py,
ADR 0067): an overdue risk with its alarm, one removed, one accepted for the customer, one
open; a major incident closed after its review with a problem opened from it, and one
active."""

from __future__ import annotations

from application import major_incidents, risks
from application.desk import ServiceDesk


def test_the_demo_records_risks_and_major_incidents(demo_desk: ServiceDesk) -> None:
    desk = demo_desk
    found = sorted(risks.all_risks(desk), key=lambda r: r.number)
    assert [r.status.value for r in found] == ["open", "removed", "accepted", "open"]
    assert found[0].alarms == 1 and found[0].overdue(desk.clock.now())
    assert found[2].accepted_on_behalf and {r.source.value for r in found} >= {"inspection"}
    closed, active = sorted(major_incidents.all_incidents(desk), key=lambda m: m.number)
    assert closed.status.value == "closed" and closed.review is not None
    assert closed.problem_number.startswith("PRB-") and len(closed.updates) == 2
    assert active.status.value == "active" and len(active.updates) == 1
