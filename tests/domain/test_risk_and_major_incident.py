"""Hidden risks and major incidents in the domain (ADR 0067): given events, when a command,
then new events or a named error -- and nothing recorded on refusal; the clocks' laws: an
alarm (a risk past due, a missed update) is recorded at most once per due time, whatever
times the watcher ticks at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.major_incident import MajorIncident
from domain.risk import Risk

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def risk(due: datetime = T0 + timedelta(days=2)) -> Risk:
    return Risk.record(id=uuid4(), number="RSK-20261120-001", customer=" 客户A ", title="单电源",
                       severity="high", due=due, owner="", actor="eng-li", at=T0)


def incident(interval: int = 30) -> MajorIncident:
    return MajorIncident.declare(id=uuid4(), number="MI-20261120-001", ticket_id="t",
                                 ticket_number="SR-20261120-001", customer="客户A", title="断网",
                                 commander="", actor="mgr-wang", at=T0,
                                 interval_minutes=interval)


def pending(record: object) -> list[str]:
    return [type(e).__name__ for e in record.collect_events()]  # type: ignore[attr-defined]


def test_a_risk_names_every_refused_field_and_records_nothing() -> None:
    with pytest.raises(InvalidCommand) as e:
        Risk.record(id=uuid4(), number="RSK-1", customer="", title=" ", severity="urgent",
                    due=None, owner="", actor="eng-li", at=T0)
    assert [f.field for f in e.value.errors] == ["customer", "title", "severity", "due"]
    r = risk()
    assert r.customer == "客户A" and r.owner == "eng-li" and pending(r) == ["Recorded"]


def test_a_closed_risk_refuses_every_command() -> None:
    r = risk()
    r.remove(how="加装电源", actor="eng-li", at=T0)
    pending(r)
    with pytest.raises(TransitionNotAllowed) as e:
        r.accept(reason="x", on_behalf=True, actor="mgr", at=T0)
    assert e.value.state == "removed" and e.value.record == "risk"
    assert not r.alarm_overdue(now=T0 + timedelta(days=9), actor="w", at=T0)
    assert pending(r) == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=96 * 60), max_size=12))
def test_a_risk_alarms_at_most_once_per_due_time(minutes: list[int]) -> None:
    r = risk()
    for m in sorted(minutes):
        r.alarm_overdue(now=T0 + timedelta(minutes=m), actor="w", at=T0 + timedelta(minutes=m))
    alarms = pending(r).count("OverdueAlarmed")
    assert alarms == int(any(m >= 48 * 60 for m in minutes))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["tick", "update"]),
                          st.integers(min_value=1, max_value=40)), max_size=15))
def test_a_missed_update_is_recorded_once_per_due_time(steps: list[tuple[str, int]]) -> None:
    m = incident()
    now, misses = T0, set()
    for what, minutes in steps:
        now += timedelta(minutes=minutes)
        if what == "update":
            m.post_update(text="进展", actor="mgr", at=now)
        else:
            due = m.next_update_due
            if m.record_missed_update(now=now, actor="w", at=now):
                assert due not in misses and now >= due
                misses.add(due)
        assert not m.record_missed_update(now=now, actor="w", at=now)  # again: nothing
    assert len(m.missed) == len(set(m.missed))


def test_close_names_the_missing_review_then_closes() -> None:
    m = incident()
    with pytest.raises(TransitionNotAllowed) as e:
        m.close(summary="", actor="mgr", at=T0)
    assert e.value.missing == ("review",) and "review" in str(e.value)
    m.record_review(summary="交换机故障", root_cause="电源老化", actions=("更换", "更换"),
                    actor="mgr", at=T0)
    m.close(summary="", actor="mgr", at=T0)
    assert m.review is not None and m.review.actions == ("更换",)
    assert pending(m) == ["Declared", "ReviewRecorded", "Closed"]
    assert m.commander == "mgr-wang" and m.customers == ("客户A",)
