"""Laws of SLA deadlines with pauses (issue 3: "a pause only ever moves a deadline later")."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import five_by_eight
from domain.sla_clock import extend_by_pauses, target_due

CAL = five_by_eight()
SH = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 11, 2, 9, 0, tzinfo=SH)  # a Monday

starts = st.integers(0, 60 * 24 * 21).map(lambda m: BASE + timedelta(minutes=m))
targets = st.integers(1, 60 * 60 * 40)
pauses = st.lists(
    st.tuples(st.integers(0, 60 * 24 * 28), st.integers(1, 60 * 24 * 3)), max_size=4
).map(lambda ps: [(BASE + timedelta(minutes=a), BASE + timedelta(minutes=a + d)) for a, d in ps])


@settings(max_examples=150, deadline=None)
@given(starts, targets, pauses)
def test_pauses_only_ever_move_a_due_later(start: datetime, target: int, ps: list) -> None:
    due = target_due(CAL, start, 0, target)
    moved, paused = extend_by_pauses(CAL, start, due, ps)
    assert moved >= due
    assert paused >= 0
    assert CAL.working_seconds(due, moved) == paused


@settings(max_examples=150, deadline=None)
@given(starts, targets, pauses, pauses)
def test_more_pauses_never_move_a_due_earlier(start: datetime, target: int, ps: list, more: list) -> None:
    due = target_due(CAL, start, 0, target)
    fewer, _ = extend_by_pauses(CAL, start, due, ps)
    all_of_them, _ = extend_by_pauses(CAL, start, due, sorted(ps + more))
    assert all_of_them >= fewer
