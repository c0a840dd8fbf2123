"""The ticket's time-driven SLA events (ADR 0016): stable topics, once per identity, the
escalation raising the priority through ``Classified``, nothing recorded on refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.priority import Priority
from domain.ticket import Channel, Contact, SlaDeadlines, Ticket

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def ticket(priority: str = "P3") -> Ticket:
    t = Ticket.register(id=uuid4(), number="SR-1", customer="C", contact=Contact("n"),
                        channel=Channel.WEB, title="t", description="", affected_system="",
                        reported_at=T0, actor="a", at=T0)
    t.classify(type="fault", category="c", urgency="not_urgent", impact="single",
               importance="important", priority=Priority(priority), override_reason="test",
               actor="a", at=T0)
    due = T0 + timedelta(hours=8)
    t.set_sla_deadlines(SlaDeadlines(
        policy="default", policy_version=1, calendar="c", calendar_version=1, holiday_data=None,
        priority=Priority(priority), response_target="PT8H", resolution_target="P3D",
        response_started_at=T0, response_due=due, response_target_seconds=28800,
        response_paused_seconds=0, resolution_started_at=T0, resolution_due=due,
        resolution_target_seconds=28800, resolution_paused_seconds=0,
        warning_thresholds=(0.5,), rule="same_start", reason="classified",
        response_warnings=(T0 + timedelta(hours=4),),
        resolution_warnings=(T0 + timedelta(hours=4),)), actor="system:sla", at=T0)
    t.collect_events()
    return t


def test_topics_are_explicit():
    assert Ticket.SlaWarningRaised.TOPIC == "opsledger.ticket:Ticket.SlaWarningRaised"
    assert Ticket.SlaBreached.TOPIC == "opsledger.ticket:Ticket.SlaBreached"
    assert Ticket.Escalated.TOPIC == "opsledger.ticket:Ticket.Escalated"


def test_a_warning_and_a_breach_are_recorded_once():
    t = ticket()
    due, half = T0 + timedelta(hours=8), T0 + timedelta(hours=4)
    now = T0 + timedelta(hours=9)
    kw = dict(clock="response", due=due, actor="system:sla", at=now)
    assert t.raise_sla_warning(threshold=0.5, occurred_at=half, **kw) is True
    assert t.raise_sla_warning(threshold=0.5, occurred_at=half, **kw) is False
    assert t.record_sla_breach(**kw) is True
    assert t.record_sla_breach(**kw) is False
    events = t.collect_events()
    assert [type(e).__name__ for e in events] == ["SlaWarningRaised", "SlaBreached"]
    assert (events[0].occurred_at, events[0].timestamp) == (half, now)
    with pytest.raises(InvalidCommand):  # not the current due
        t.record_sla_breach(clock="response", due=due - timedelta(hours=1), actor="x", at=now)
    with pytest.raises(InvalidCommand):  # not reached yet
        ticket().record_sla_breach(clock="response", due=due, actor="x", at=T0)


@pytest.mark.parametrize(("before", "after"), [("P3", "P2"), ("P2", "P1"), ("P1", "P1")])
def test_escalation_raises_the_priority_through_classified(before, after):
    t = ticket(before)
    t.escalate(reason="客户投诉", manager="m", expert="e", actor="lead", at=T0)
    events = t.collect_events()
    names = [type(e).__name__ for e in events]
    assert names == (["Classified", "Escalated"] if before != after else ["Escalated"])
    esc = events[-1]
    assert (esc.level, str(esc.priority_from), str(esc.priority_to), esc.by) == (
        1, before, after, "lead")
    assert (esc.manager, esc.expert) == ("m", "e") and len(esc.actions) == 3
    assert str(t.priority) == after and t.escalation_level == 1


def test_escalation_of_an_invalid_ticket_is_refused_and_records_nothing():
    t = ticket()
    t.invalidate(reason="重复报障", actor="lead", at=T0)
    t.collect_events()
    with pytest.raises(TransitionNotAllowed):
        t.escalate(reason="x", manager="m", expert="e", actor="lead", at=T0)
    assert t.collect_events() == []
    with pytest.raises(InvalidCommand):
        ticket().escalate(reason=" ", manager="m", expert="e", actor="lead", at=T0)
