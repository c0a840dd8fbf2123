"""SLA deadlines on the ticket and the pure clock maths (ADR 0015): given events, when a
command, then new events or a named error, and nothing recorded on refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import five_by_eight
from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.priority import Impact, Importance, Priority, Urgency
from domain.sla_clock import (
    BREACHED,
    MET,
    OK,
    WARNING,
    extend_by_pauses,
    overall_state,
    read_clock,
    target_due,
)
from domain.ticket import ClockPause, SlaDeadlines, Ticket
from tests.domain.test_ticket import (
    REPORTED,
    assign,
    at,
    classify,
    confirm,
    register,
    resolve,
)

SH = ZoneInfo("Asia/Shanghai")
CAL = five_by_eight()  # Mon-Fri 09:00-18:00, no holidays


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def deadlines(**overrides: object) -> SlaDeadlines:
    fields: dict[str, object] = dict(
        policy="default", policy_version=1, calendar="china-5x8", calendar_version=1,
        holiday_data="chinese-calendar 1.11.0", priority=Priority.P1,
        response_target="PT2H", resolution_target="PT4H",
        response_started_at=REPORTED, response_due=REPORTED + timedelta(hours=2),
        response_target_seconds=7200, response_paused_seconds=0,
        resolution_started_at=REPORTED, resolution_due=REPORTED + timedelta(hours=4),
        resolution_target_seconds=14400, resolution_paused_seconds=0,
        warning_thresholds=(0.5, 0.75), rule="same_start", reason="classified",
    )
    fields.update(overrides)
    return SlaDeadlines(**fields)  # type: ignore[arg-type]


def pending(t: Ticket) -> list[object]:
    return list(t.collect_events())


# ---------------------------------------------------------- SlaDeadlinesSet


def test_a_classified_ticket_records_the_deadlines_it_is_given():
    t = register()
    classify(t, at(1))
    pending(t)
    d = deadlines()
    t.set_sla_deadlines(d, actor="system:sla", at=at(1))
    [e] = pending(t)
    assert isinstance(e, Ticket.SlaDeadlinesSet)
    assert type(e).TOPIC == "opsledger.ticket:Ticket.SlaDeadlinesSet"
    assert (e.deadlines, e.actor, e.timestamp) == (d, "system:sla", at(1))
    assert t.sla_deadlines == d


def test_a_ticket_without_a_priority_gets_no_deadlines_and_nothing_is_recorded():
    t = register()
    pending(t)
    with pytest.raises(TransitionNotAllowed):
        t.set_sla_deadlines(deadlines(), actor="system:sla", at=at(1))
    assert pending(t) == [] and t.sla_deadlines is None


def test_deadlines_for_another_priority_or_before_their_start_are_refused():
    t = register()
    classify(t, at(1))
    pending(t)
    with pytest.raises(InvalidCommand) as e:
        t.set_sla_deadlines(deadlines(priority=Priority.P3), actor="system:sla", at=at(1))
    assert [f.field for f in e.value.errors] == ["priority"]
    with pytest.raises(InvalidCommand) as e:
        t.set_sla_deadlines(deadlines(resolution_due=REPORTED - timedelta(minutes=1)),
                            actor="system:sla", at=at(1))
    assert [f.field for f in e.value.errors] == ["resolution_due"]
    assert pending(t) == []


def test_the_ticket_keeps_its_pauses_waiting_and_reopened():
    t = register()
    classify(t, at(1), urgency=Urgency.URGENT, impact=Impact.SOME,
             importance=Importance.IMPORTANT)
    assign(t, at(2))
    t.start(actor="eng-li", at=at(3))
    t.await_customer(reason="等待客户日志", actor="eng-li", at=at(10))
    t.resume(actor="eng-li", at=at(40))
    resolve(t, at(50))
    assert t.sla_resolved_at == at(50)
    confirm(t, at(70), passed=False, unmet_items=("报表",))
    assert t.sla_resolved_at is None  # the resolution clock runs again
    resolve(t, at(80))
    confirm(t, at(90))
    t.reopen(reason="又坏了", actor="agent", at=at(100))
    assert t.clock_pauses == (
        ClockPause(at(10), at(40), "waiting_customer"),
        ClockPause(at(50), at(70), "acceptance_rejected"),
        ClockPause(at(80), at(100), "reopened"),
    )
    # a replay rebuilds the same
    events = pending(t)
    copy = None
    for e in events:
        copy = e.mutate(copy)
    assert copy.clock_pauses == t.clock_pauses


# ---------------------------------------------------------------- the maths


def test_a_target_counts_working_time_and_whole_working_days():
    monday_10 = local(2026, 11, 23, 10, 0)
    assert target_due(CAL, monday_10, 0, 2 * 3600) == local(2026, 11, 23, 12, 0)
    assert target_due(CAL, monday_10, 3, 0) == local(2026, 11, 26, 10, 0)
    assert target_due(CAL, local(2026, 11, 27, 17, 0), 0, 4 * 3600) == local(2026, 11, 30, 12)


def test_a_two_working_hour_pause_on_tuesday_moves_both_dues_two_hours():
    start = local(2026, 11, 23, 10, 0)
    pause = [(local(2026, 11, 24, 10, 0), local(2026, 11, 24, 12, 0))]
    response = target_due(CAL, start, 0, 24 * 3600)  # Wed 16:00
    resolution = target_due(CAL, start, 3, 0)  # Thu 10:00
    assert extend_by_pauses(CAL, start, response, pause) == (local(2026, 11, 25, 18, 0), 7200)
    assert extend_by_pauses(CAL, start, resolution, pause) == (local(2026, 11, 26, 12, 0), 7200)


def test_a_pause_counts_only_its_working_time_and_never_after_the_due_or_the_stop():
    start = local(2026, 11, 27, 17, 0)  # Friday
    due = target_due(CAL, start, 0, 2 * 3600)  # Monday 10:00
    weekend = [(local(2026, 11, 27, 17, 30), local(2026, 11, 30, 9, 30))]  # 30 + 30 minutes
    assert extend_by_pauses(CAL, start, due, weekend) == (local(2026, 11, 30, 11, 0), 3600)
    late = [(local(2026, 11, 30, 10, 0), local(2026, 11, 30, 11, 0))]  # begins at the due
    assert extend_by_pauses(CAL, start, due, late) == (due, 0)
    stopped = local(2026, 11, 30, 9, 15)
    after_stop = [(local(2026, 11, 30, 9, 30), local(2026, 11, 30, 9, 45))]
    assert extend_by_pauses(CAL, start, due, after_stop, stopped) == (due, 0)


def test_a_pause_only_ever_moves_a_due_later():
    start = local(2026, 11, 23, 10, 0)
    due = target_due(CAL, start, 0, 4 * 3600)
    for minutes in range(0, 600, 37):
        p = (start + timedelta(minutes=minutes), start + timedelta(minutes=minutes + 95))
        assert extend_by_pauses(CAL, start, due, [p])[0] >= due


def test_the_clock_states_over_time():
    due = local(2026, 11, 23, 12, 0)  # P1 response from Monday 10:00, warn at 50 %
    th = (0.5, 0.75)
    assert read_clock(CAL, due, 7200, local(2026, 11, 23, 10, 59), None, th).state == OK
    r = read_clock(CAL, due, 7200, local(2026, 11, 23, 11, 0), None, th)
    assert (r.state, r.remaining_seconds, r.running) == (WARNING, 3600, True)
    r = read_clock(CAL, due, 7200, local(2026, 11, 23, 12, 0), None, th)
    assert (r.state, r.remaining_seconds) == (BREACHED, 0)
    r = read_clock(CAL, due, 7200, local(2026, 11, 23, 13, 0), None, th)
    assert (r.state, r.remaining_seconds) == (BREACHED, -3600)
    # stopped: measured at the stop, whatever "now" is
    met = read_clock(CAL, due, 7200, local(2026, 12, 1), local(2026, 11, 23, 12, 0), th)
    assert (met.state, met.remaining_seconds, met.running) == (MET, 0, False)
    late = read_clock(CAL, due, 7200, local(2026, 12, 1), local(2026, 11, 23, 12, 30), th)
    assert (late.state, late.remaining_seconds) == (BREACHED, -1800)
    assert overall_state(met, r) == BREACHED
    ok = read_clock(CAL, due, 7200, local(2026, 11, 23, 10, 0), None, th)
    assert overall_state(met, ok) == OK
    assert overall_state(met, replace(met)) == MET
