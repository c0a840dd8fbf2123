"""Laws of business-calendar arithmetic (issue 3 §6), checked with hypothesis.

They hold for every start instant (working or not, with microseconds), on the default China
5×8 calendar with a lunch break and on randomly drawn weekly hours with random holidays and
make-up days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.calendar import WEEKDAYS, BusinessCalendar, five_by_eight

SH = ZoneInfo("Asia/Shanghai")
LAWS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CHINA_LIKE = five_by_eight(
    lunch=("12:00", "13:30"),
    holidays=[date(2026, 10, d) for d in range(1, 8)] + [date(2026, 2, d) for d in range(15, 24)],
    workdays=[date(2026, 9, 20), date(2026, 10, 10), date(2026, 2, 14), date(2026, 2, 28)],
)

T0 = datetime(2025, 12, 1, tzinfo=SH)
instants = st.integers(0, 400 * 86400 * 1_000_000).map(lambda us: T0 + timedelta(microseconds=us))
amounts = st.integers(0, 30 * 8 * 3600)  # up to 30 working days of 8 h
days_2026 = st.dates(date(2025, 12, 1), date(2027, 3, 1))


@st.composite
def day_hours(draw):
    """0-3 sorted, non-overlapping intervals on a quarter-hour grid (end may be 24:00)."""
    cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    spans = []
    for s, e in zip(cuts[::2], cuts[1::2]):
        spans.append((f"{s // 4:02d}:{s % 4 * 15:02d}", f"{e // 4:02d}:{e % 4 * 15:02d}"))
    return spans


@st.composite
def calendars(draw):
    hours = {name: draw(day_hours()) for name in WEEKDAYS}
    if not any(hours.values()):
        hours["wed"] = [("09:00", "17:00")]
    holidays = draw(st.frozensets(days_2026, max_size=25))
    workdays = draw(st.frozensets(days_2026, max_size=10)) - holidays
    return BusinessCalendar.from_hours(hours, holidays=holidays, workdays=workdays,
                                       makeup_weekday=draw(st.sampled_from(WEEKDAYS)))


any_calendar = st.one_of(st.just(CHINA_LIKE), calendars())


@LAWS
@given(any_calendar, instants, amounts)
def test_measuring_what_was_added_gives_it_back(cal, t, s):
    due = cal.add_working(t, s)
    assert due >= t
    assert cal.working_seconds(t, due) == s


@LAWS
@given(any_calendar, instants, amounts, amounts)
def test_monotonic_in_the_amount(cal, t, a, b):
    lo, hi = sorted((a, b))
    assert cal.add_working(t, lo) <= cal.add_working(t, hi)


@LAWS
@given(any_calendar, instants, instants, amounts)
def test_monotonic_in_the_start(cal, t1, t2, s):
    t1, t2 = sorted((t1, t2))
    assert cal.add_working(t1, s) <= cal.add_working(t2, s)


@LAWS
@given(any_calendar, instants, amounts, amounts)
def test_splitting_a_duration_adds_up(cal, t, a, b):
    assert cal.add_working(cal.add_working(t, a), b) == cal.add_working(t, a + b)


@LAWS
@given(any_calendar, instants, amounts, st.frozensets(days_2026, min_size=1, max_size=15))
def test_more_holidays_only_move_a_deadline_later(cal, t, s, extra):
    later = cal.with_days(holidays=extra)
    assert later.add_working(t, s) >= cal.add_working(t, s)
    assert later.working_seconds(t, cal.add_working(t, s)) <= s


@LAWS
@given(instants, st.integers(0, 40))
def test_whole_days_are_whole_days_of_working_time(t, n):
    # Every working day of CHINA_LIKE has 7.5 h (make-up days work Monday's hours).
    due = CHINA_LIKE.add_working_days(t, n)
    assert CHINA_LIKE.working_seconds(t, due) == n * 27000
    assert due >= t


@LAWS
@given(any_calendar, instants)
def test_next_working_instant_is_working_and_costs_no_working_time(cal, t):
    nxt = cal.next_working_instant(t)
    assert nxt >= t
    assert cal.is_working(nxt)
    assert cal.working_seconds(t, nxt) == 0
    assert cal.add_working(t, 1) == cal.add_working(nxt, 1)
