"""Business calendar arithmetic: hand-checked vectors (DOMAIN.md §2, ADR 0013).

Every expected value below was worked out by hand on a wall calendar. 2026-11-16 is a Monday.
The China days are the published 2026 schedule as shipped by chinese-calendar 1.11 (checked in
tests/contracts/test_holiday_data.py): National Day 10-01..10-07 off, make-up workdays Sunday
09-20 and Saturday 10-10; Spring Festival 02-15..02-23 off, make-up Saturdays 02-14 and 02-28.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import BusinessCalendar, five_by_eight, parse_clock, seven_by_twenty_four

SH = ZoneInfo("Asia/Shanghai")
H = 3600

NATIONAL_DAY_2026 = [date(2026, 10, d) for d in range(1, 8)]
MAKEUP_2026 = [date(2026, 9, 20), date(2026, 10, 10), date(2026, 2, 14), date(2026, 2, 28)]
SPRING_2026 = [date(2026, 2, d) for d in range(15, 24)]


def at(y, mo, d, h=0, mi=0, s=0):
    return datetime(y, mo, d, h, mi, s, tzinfo=SH)


@pytest.fixture(scope="module")
def plain():
    return five_by_eight()  # 09:00-18:00, no lunch


@pytest.fixture(scope="module")
def lunch():
    return five_by_eight(lunch=("12:00", "13:30"),
                         holidays=NATIONAL_DAY_2026 + SPRING_2026, workdays=MAKEUP_2026)


# ---------------------------------------------------------------- add_working


@pytest.mark.parametrize(("start", "seconds", "due"), [
    (at(2026, 11, 16, 10), 2 * H, at(2026, 11, 16, 12)),
    (at(2026, 11, 16, 10), 8 * H, at(2026, 11, 16, 18)),           # exactly end of day
    (at(2026, 11, 16, 10), 8 * H + 1, at(2026, 11, 17, 9, 0, 1)),
    (at(2026, 11, 16, 9), 9 * H, at(2026, 11, 16, 18)),            # a whole day, ends 18:00
    (at(2026, 11, 20, 16), 2 * H, at(2026, 11, 20, 18)),           # Friday end, not Monday
    (at(2026, 11, 20, 16), 3 * H, at(2026, 11, 23, 10)),           # across the weekend
    (at(2026, 11, 21, 10), 1 * H, at(2026, 11, 23, 10)),           # from Saturday
    (at(2026, 11, 20, 18), 1 * H, at(2026, 11, 23, 10)),           # from 18:00 Friday
    (at(2026, 11, 16, 8), 1 * H, at(2026, 11, 16, 10)),            # from before opening
    (at(2026, 11, 16, 10), 3 * 9 * H, at(2026, 11, 19, 10)),       # 27 h = 3 days
])
def test_add_working_plain_5x8(plain, start, seconds, due):
    assert plain.add_working(start, seconds) == due
    assert plain.working_seconds(start, due) == seconds


@pytest.mark.parametrize(("start", "seconds", "due"), [
    (at(2026, 11, 16, 9), 3 * H, at(2026, 11, 16, 12)),            # ends at 12:00, not 13:30
    (at(2026, 11, 16, 11), 1 * H + 1, at(2026, 11, 16, 13, 30, 1)),
    (at(2026, 11, 16, 12), 1, at(2026, 11, 16, 13, 30, 1)),         # 12:00 is lunch
    (at(2026, 11, 16, 12, 30), 30 * 60, at(2026, 11, 16, 14)),
    (at(2026, 11, 16, 13, 30), int(4.5 * H), at(2026, 11, 16, 18)),
    (at(2026, 11, 16, 10), 4 * H, at(2026, 11, 16, 15, 30)),        # P1 resolve, over lunch
    (at(2026, 11, 16, 17), 2 * H, at(2026, 11, 17, 10)),
    # P2 resolve, 24 h: Mon 6.5 h left + Tue 7.5 + Wed 7.5 = 21.5 h, 2.5 h on Thursday.
    (at(2026, 11, 16, 10), 24 * H, at(2026, 11, 19, 11, 30)),
    # 2026-09-30 (Wed) 17:00 + 2 h: 1 h on the 30th, then the 1st..7th are off, 10-08 is Thu.
    (at(2026, 9, 30, 17), 2 * H, at(2026, 10, 8, 10)),
    # Friday 10-09 17:00 + 2 h: Saturday 10-10 is a make-up workday (Monday's hours).
    (at(2026, 10, 9, 17), 2 * H, at(2026, 10, 10, 10)),
    # Saturday 09-19 is a normal weekend; Sunday 09-20 is a make-up workday.
    (at(2026, 9, 19, 10), 1 * H, at(2026, 9, 20, 10)),
    # Friday 02-13 17:00 + 8.5 h: 1 h Fri, 7.5 h make-up Sat 02-14 ends at 18:00 exactly.
    (at(2026, 2, 13, 17), int(8.5 * H), at(2026, 2, 14, 18)),
    # ... one second more jumps the whole Spring Festival (02-15..02-23 off) to Tue 02-24.
    (at(2026, 2, 13, 17), int(8.5 * H) + 1, at(2026, 2, 24, 9, 0, 1)),
])
def test_add_working_lunch_and_china_days(lunch, start, seconds, due):
    assert lunch.add_working(start, seconds) == due
    assert lunch.working_seconds(start, due) == seconds


def test_add_zero_is_the_instant_itself(lunch):
    saturday = at(2026, 11, 21, 3)
    assert lunch.add_working(saturday, 0) == saturday
    assert lunch.add_working(at(2026, 11, 16, 12, 15), 0) == at(2026, 11, 16, 12, 15)


def test_results_are_in_the_calendars_zone_whatever_the_input_zone(plain):
    start = datetime(2026, 11, 16, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
    due = plain.add_working(start, 2 * H)
    assert due == at(2026, 11, 16, 12)
    assert due.utcoffset() == timedelta(hours=8)
    assert plain.add_working(start, 0).utcoffset() == timedelta(hours=8)


def test_sub_second_inputs_are_carried_through(plain):
    start = at(2026, 11, 16, 17, 59, 59).replace(microsecond=250_000)
    due = plain.add_working(start, 1)
    assert due == at(2026, 11, 17, 9, 0, 0).replace(microsecond=250_000)
    assert plain.working_seconds(start, due) == 1


# ---------------------------------------------------------------- working_seconds / next


@pytest.mark.parametrize(("a", "b", "seconds"), [
    (at(2026, 11, 16, 9), at(2026, 11, 16, 18), int(7.5 * H)),
    (at(2026, 11, 16, 12), at(2026, 11, 16, 13, 30), 0),
    (at(2026, 11, 16, 0), at(2026, 11, 23, 0), int(5 * 7.5 * H)),
    (at(2026, 11, 21, 0), at(2026, 11, 23, 0), 0),
    # 09-28 (Mon) .. 10-11: working days 09-28, 09-29, 09-30, 10-08, 10-09 and the make-up
    # Saturday 10-10; 10-01..10-07 are off.
    (at(2026, 9, 28, 0), at(2026, 10, 12, 0), int(6 * 7.5 * H)),
    (at(2026, 11, 16, 18), at(2026, 11, 16, 10), 0),               # b <= a
    (at(2026, 11, 16, 10), at(2026, 11, 16, 10), 0),
])
def test_working_seconds(lunch, a, b, seconds):
    assert lunch.working_seconds(a, b) == seconds


@pytest.mark.parametrize(("t", "nxt"), [
    (at(2026, 11, 16, 9), at(2026, 11, 16, 9)),          # 09:00 is working
    (at(2026, 11, 16, 11, 59, 59), at(2026, 11, 16, 11, 59, 59)),
    (at(2026, 11, 16, 12), at(2026, 11, 16, 13, 30)),    # 12:00 is not
    (at(2026, 11, 16, 13, 30), at(2026, 11, 16, 13, 30)),
    (at(2026, 11, 16, 18), at(2026, 11, 17, 9)),         # 18:00 is not
    (at(2026, 11, 20, 18), at(2026, 11, 23, 9)),
    (at(2026, 9, 30, 18), at(2026, 10, 8, 9)),
    (at(2026, 10, 9, 19), at(2026, 10, 10, 9)),          # make-up Saturday
])
def test_next_working_instant(lunch, t, nxt):
    assert lunch.next_working_instant(t) == nxt
    assert lunch.is_working(nxt)


# ---------------------------------------------------------------- whole working days


@pytest.mark.parametrize(("start", "n", "due"), [
    (at(2026, 11, 16, 10), 3, at(2026, 11, 19, 10)),           # API.md: Mon 10:00 + P3D = Thu 10:00
    (at(2026, 11, 19, 10), 3, at(2026, 11, 24, 10)),           # over the weekend
    (at(2026, 11, 16, 9), 1, at(2026, 11, 17, 9)),
    (at(2026, 11, 16, 18), 1, at(2026, 11, 18, 9)),            # 18:00 is off: counts from Tue 09:00
    (at(2026, 11, 16, 13, 30), 1, at(2026, 11, 17, 13, 30)),   # a break boundary keeps the later side
    (at(2026, 11, 16, 12, 30), 1, at(2026, 11, 17, 13, 30)),   # in the break = 13:30
    (at(2026, 11, 21, 10), 3, at(2026, 11, 26, 9)),            # Saturday: from Mon 09:00
    (at(2026, 9, 29, 10), 3, at(2026, 10, 9, 10)),             # 09-30, 10-08, 10-09
    (at(2026, 10, 9, 10), 1, at(2026, 10, 10, 10)),            # the make-up Saturday counts
    (at(2026, 11, 16, 10), 0, at(2026, 11, 16, 10)),
])
def test_add_working_days(lunch, start, n, due):
    assert lunch.add_working_days(start, n) == due


def test_add_working_days_onto_a_shorter_day_caps_at_its_end():
    cal = BusinessCalendar.from_hours({
        "mon": [("09:00", "18:00")], "tue": [("09:00", "12:00")], "wed": [("09:00", "18:00")]})
    assert cal.add_working_days(at(2026, 11, 16, 17), 1) == at(2026, 11, 17, 12)
    assert cal.add_working_days(at(2026, 11, 16, 10), 1) == at(2026, 11, 17, 10)
    assert cal.add_working_days(at(2026, 11, 16, 17), 2) == at(2026, 11, 18, 17)


def test_p3d_equals_three_working_days_of_hours_on_a_uniform_calendar(plain):
    start = at(2026, 11, 16, 10)
    assert plain.add_working_days(start, 3) == plain.add_working(start, 3 * 9 * H)


# ---------------------------------------------------------------- 7x24 and presets


def test_seven_by_twenty_four():
    cal = seven_by_twenty_four()
    start = at(2026, 10, 1, 23, 30)
    assert cal.add_working(start, H) == at(2026, 10, 2, 0, 30)
    assert cal.add_working(start, 30 * 60) == at(2026, 10, 2, 0, 0)
    assert cal.working_seconds(at(2026, 1, 1), at(2027, 1, 1)) == 365 * 86400
    assert cal.next_working_instant(at(2026, 2, 17, 3)) == at(2026, 2, 17, 3)
    assert cal.add_working_days(start, 2) == at(2026, 10, 3, 23, 30)
    # across a year boundary (the second year is built lazily)
    assert cal.add_working(at(2026, 12, 31, 23), 2 * H) == at(2027, 1, 1, 1)


def test_presets_and_api_shape():
    assert five_by_eight().working_hours()["mon"] == [["09:00", "18:00"]]
    assert five_by_eight(lunch=("12:00", "13:30")).working_hours()["fri"] == [
        ["09:00", "12:00"], ["13:30", "18:00"]]
    assert five_by_eight().working_hours()["sat"] == []
    assert seven_by_twenty_four().working_hours()["sun"] == [["00:00", "24:00"]]
    assert five_by_eight().timezone == "Asia/Shanghai"


def test_makeup_day_uses_the_named_weekdays_hours():
    hours = {"mon": [("09:00", "18:00")], "fri": [("09:00", "15:00")]}
    sat = date(2026, 11, 21)
    monday_like = BusinessCalendar.from_hours(hours, workdays=[sat])
    friday_like = BusinessCalendar.from_hours(hours, workdays=[sat], makeup_weekday="fri")
    assert monday_like.day_intervals(sat) == ((9 * H, 18 * H),)
    assert friday_like.day_intervals(sat) == ((9 * H, 15 * H),)


def test_with_days_adds_and_removes():
    base = five_by_eight(holidays=[date(2026, 12, 25)], workdays=[date(2026, 12, 26)])
    changed = base.with_days(holidays=[date(2026, 12, 26)], remove=[date(2026, 12, 25)])
    assert changed.is_working_day(date(2026, 12, 25))
    assert not changed.is_working_day(date(2026, 12, 26))
    assert base.is_working_day(date(2026, 12, 26))
    assert changed != base and hash(base) == hash(five_by_eight(
        holidays=[date(2026, 12, 25)], workdays=[date(2026, 12, 26)]))


def test_dst_zone_uses_wall_clock_hours():
    cal = five_by_eight(timezone="Europe/Berlin")
    # 2026-03-29 is the spring-forward Sunday; Friday 17:00 + 2 h = Monday 10:00 local.
    due = cal.add_working(datetime(2026, 3, 27, 17, tzinfo=ZoneInfo("Europe/Berlin")), 2 * H)
    assert due == datetime(2026, 3, 30, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    assert due.utcoffset() == timedelta(hours=2)


# ---------------------------------------------------------------- bad input


def test_naive_datetimes_are_refused(plain):
    naive = datetime(2026, 11, 16, 10)
    for call in (lambda: plain.add_working(naive, 1), lambda: plain.working_seconds(naive, naive),
                 lambda: plain.next_working_instant(naive), lambda: plain.add_working_days(naive, 1)):
        with pytest.raises(ValueError, match="naive"):
            call()


@pytest.mark.parametrize("kwargs", [
    {"working_hours": {"mon": [("18:00", "09:00")]}},
    {"working_hours": {"mon": [("09:00", "12:00"), ("11:00", "13:00")]}},
    {"working_hours": {"mon": [("09:00", "25:00")]}},
    {"working_hours": {"mon": [("9h", "10:00")]}},
    {"working_hours": {"monday!": []}},
    {"working_hours": {}, "timezone": "Mars/Olympus"},
    {"working_hours": {}, "holidays": [date(2026, 1, 1)], "workdays": [date(2026, 1, 1)]},
])
def test_bad_calendars_are_refused(kwargs):
    hours = kwargs.pop("working_hours")
    with pytest.raises(ValueError):
        BusinessCalendar.from_hours(hours, **kwargs)


def test_negative_amounts_and_empty_calendars(plain):
    with pytest.raises(ValueError):
        plain.add_working(at(2026, 11, 16, 10), -1)
    with pytest.raises(ValueError):
        plain.add_working_days(at(2026, 11, 16, 10), -1)
    empty = BusinessCalendar.from_hours({})
    with pytest.raises(ValueError, match="no working time"):
        empty.add_working(at(2026, 11, 16, 10), 1)


def test_parse_clock():
    assert parse_clock("09:00") == 9 * H
    assert parse_clock("13:30:15") == 13 * H + 30 * 60 + 15
    assert parse_clock("24:00") == 24 * H
