"""The ticket's milestone events (ADR 0062): stable topics, each warning and breach of a run
recorded once, nothing recorded on refusal, and the trail the runs are read from."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from domain import milestone as m
from domain.calendar import five_by_eight
from domain.errors import InvalidCommand
from domain.sla import parse_milestones
from domain.ticket import Ticket
from tests.domain.test_ticket_sla_events import T0, ticket

[DISPATCH], _ = parse_milestones([{"name": "dispatch", "starts_on": "Registered",
                                   "stops_on": ["Assigned"], "target": "PT10M",
                                   "calendar": "24x7"}])


def with_milestones() -> Ticket:
    t = ticket()
    d = t.sla_deadlines
    assert d is not None
    t.set_sla_deadlines(replace(d, milestones=(DISPATCH,)), actor="system:sla", at=T0)
    t.collect_events()
    return t


def test_topics_are_explicit():
    assert Ticket.MilestoneWarningRaised.TOPIC == "opsledger.ticket:Ticket.MilestoneWarningRaised"
    assert Ticket.MilestoneBreached.TOPIC == "opsledger.ticket:Ticket.MilestoneBreached"


def test_a_milestone_warning_and_breach_are_recorded_once():
    t = with_milestones()
    due, now = T0 + timedelta(minutes=10), T0 + timedelta(minutes=11)
    kw = dict(milestone="dispatch", started_at=T0, due=due, actor="system:sla", at=now)
    half = T0 + timedelta(minutes=5)
    assert t.raise_milestone_warning(threshold=0.5, occurred_at=half, **kw) is True
    assert t.raise_milestone_warning(threshold=0.5, occurred_at=half, **kw) is False
    assert t.record_milestone_breach(**kw) is True
    assert t.record_milestone_breach(**kw) is False
    events = t.collect_events()
    assert [type(e).__name__ for e in events] == ["MilestoneWarningRaised", "MilestoneBreached"]
    assert (events[1].milestone, events[1].occurred_at, events[1].timestamp) == (
        "dispatch", due, now)
    # the marks are the ticket's: the pure reading finds nothing more to record
    [run] = m.runs(DISPATCH, t.trail, T0)
    assert m.reached(DISPATCH, five_by_eight(), run, now, (0.5,), t.milestone_marks) == []


def test_a_mark_of_an_unknown_milestone_or_not_yet_reached_is_refused_and_records_nothing():
    t = with_milestones()
    due = T0 + timedelta(minutes=10)
    with pytest.raises(InvalidCommand):
        t.record_milestone_breach(milestone="nope", started_at=T0, due=due, actor="x", at=due)
    with pytest.raises(InvalidCommand):  # the due is still ahead
        t.record_milestone_breach(milestone="dispatch", started_at=T0, due=due, actor="x", at=T0)
    with pytest.raises(InvalidCommand):  # no milestones on plain deadlines
        ticket().record_milestone_breach(milestone="dispatch", started_at=T0, due=due,
                                         actor="x", at=due)
    assert t.collect_events() == []


def test_the_trail_names_every_event_with_its_instant():
    t = with_milestones()
    later = T0 + timedelta(minutes=3)
    t.assign(assignee="eng-wang", actor="a", at=later)
    names = [n for n, _ in t.trail]
    assert names[0] == "Registered" and names[-1] == "Assigned"
    assert t.trail[0][1] == t.reported_at and t.trail[-1][1] == later
    [run] = m.runs(DISPATCH, t.trail, T0)
    assert (run.started_at, run.stopped_at, run.stopped_by) == (T0, later, "Assigned")
