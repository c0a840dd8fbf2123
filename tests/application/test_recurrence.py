"""When routines fall due (ADR 0027): RFC 5545 rules people use, read in the calendar's zone
(Asia/Shanghai has no DST), Chinese holidays skipped or moved to the next working day, make-up
workdays (调休) working, month ends and leap days."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from adapters.calendars.holidays import ChinaHolidaySource
from application.commands.catalog import default_calendar
from application.recurrence import grace_end, is_occurrence, occurrences
from domain.calendar import seven_by_twenty_four
from domain.errors import InvalidCommand

SH = ZoneInfo("Asia/Shanghai")
CHINA = default_calendar().calendar(*ChinaHolidaySource().china_days())
ALL_DAYS = seven_by_twenty_four()


def local(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SH)


def runs(rule: str, *, on_holiday: str = "skip", calendar=CHINA, starts=None, until=None,
         before=None, after=None) -> list[datetime]:
    return occurrences(rule, starts=starts or local(2026, 1, 1), until=until,
                       on_holiday=on_holiday, calendar=calendar,
                       before=before or local(2027, 1, 1, 0), after=after)


def days(values: list[datetime]) -> list[date]:
    return [v.date() for v in values]


def test_weekdays_at_nine_skip_national_day_and_are_0100_utc():
    got = runs("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0",
               after=local(2026, 9, 28, 0), before=local(2026, 10, 13, 0))
    assert days(got) == [date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30),
                         date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 12)]
    assert got[0].astimezone(ZoneInfo("UTC")).hour == 1


def test_a_daily_rule_runs_on_make_up_saturdays_and_sundays():
    got = runs("FREQ=DAILY;BYHOUR=9", after=local(2026, 9, 19, 0), before=local(2026, 9, 22, 0))
    assert days(got) == [date(2026, 9, 20), date(2026, 9, 21)]  # Sep 20 (Sun) is 调休
    got = runs("FREQ=DAILY;BYHOUR=9", after=local(2026, 10, 9, 0), before=local(2026, 10, 12, 0))
    assert days(got) == [date(2026, 10, 9), date(2026, 10, 10)]  # Oct 10 (Sat) works


def test_next_workday_moves_holiday_runs_and_merges_them():
    got = runs("FREQ=DAILY;BYHOUR=9", on_holiday="next_workday",
               after=local(2026, 9, 30, 0), before=local(2026, 10, 10, 0))
    # Oct 1-7 all land on Oct 8 09:00: one run, not eight.
    assert got == [local(2026, 9, 30), local(2026, 10, 8), local(2026, 10, 9)]


def test_quarterly_on_the_first_moves_or_skips_new_year_and_national_day():
    rule = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"
    moved = runs(rule, on_holiday="next_workday")
    # Jan 1-3 are holidays and Sunday Jan 4 is a make-up workday.
    assert days(moved) == [date(2026, 1, 4), date(2026, 4, 1), date(2026, 7, 1),
                           date(2026, 10, 8)]
    assert all(t.hour == 9 for t in moved)  # DTSTART's time of day (the opening hour)
    assert days(runs(rule)) == [date(2026, 4, 1), date(2026, 7, 1)]


def test_first_monday_of_each_month():
    rule = "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9"
    # Apr 6 (清明) and May 4 (劳动节) are holidays: skipped, or moved to the next workday.
    assert days(runs(rule, before=local(2026, 6, 1, 0))) == [
        date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2)]
    assert days(runs(rule, on_holiday="next_workday", before=local(2026, 6, 1, 0))) == [
        date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2), date(2026, 4, 7),
        date(2026, 5, 6)]


def test_month_ends_and_leap_days():
    assert days(runs("FREQ=MONTHLY;BYMONTHDAY=31", calendar=ALL_DAYS,
                     before=local(2026, 8, 1, 0))) == [
        date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31), date(2026, 7, 31)]
    last = runs("FREQ=MONTHLY;BYMONTHDAY=-1", calendar=ALL_DAYS, starts=local(2028, 1, 1),
                before=local(2028, 4, 1, 0))
    assert days(last) == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]
    leap = runs("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", calendar=ALL_DAYS,
                before=local(2033, 1, 1, 0))
    assert days(leap) == [date(2028, 2, 29), date(2032, 2, 29)]
    # On a 5x8 calendar the last day of Jan 2026 is a Saturday: moved to Monday Feb 2,
    # where February's own run (Feb 28, a make-up Saturday) stays.
    assert days(runs("FREQ=MONTHLY;BYMONTHDAY=-1", on_holiday="next_workday",
                     before=local(2026, 3, 1, 0))) == [date(2026, 2, 2), date(2026, 2, 28)]


def test_until_is_inclusive_and_occurrence_checks_follow_the_holiday_rule():
    rule = "FREQ=DAILY;BYHOUR=9"
    got = runs(rule, calendar=ALL_DAYS, until=local(2026, 1, 3), before=local(2026, 2, 1, 0))
    assert days(got) == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    kw = dict(starts=local(2026, 1, 1), until=None, calendar=CHINA)
    assert is_occurrence(rule, local(2026, 10, 8), on_holiday="next_workday", **kw)
    assert not is_occurrence(rule, local(2026, 10, 2), on_holiday="next_workday", **kw)
    assert not is_occurrence(rule, local(2026, 10, 8, 10), on_holiday="skip", **kw)
    assert is_occurrence(rule, local(2026, 10, 8).astimezone(ZoneInfo("UTC")),
                         on_holiday="skip", **kw)


@pytest.mark.parametrize("rule", [
    "EVERY MONDAY", "FREQ=SOMETIMES", "FREQ=MINUTELY", "BYDAY=MO",
    "DTSTART:20260101T090000\nRRULE:FREQ=DAILY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;BYHOUR=25", "",
])
def test_rules_that_cannot_be_used_are_422s_naming_rrule(rule):
    with pytest.raises(InvalidCommand) as e:
        runs(rule)
    assert [f.field for f in e.value.errors] == ["rrule"]


def test_rrule_prefix_is_accepted():
    assert runs("RRULE:FREQ=DAILY;COUNT=2", calendar=ALL_DAYS) == [local(2026, 1, 1),
                                                                  local(2026, 1, 2)]


def test_a_run_is_overdue_after_its_working_day():
    assert grace_end(CHINA, local(2026, 11, 2, 9)) == local(2026, 11, 2, 18)
    assert grace_end(CHINA, local(2026, 11, 2, 20)) == local(2026, 11, 3, 0)
    assert grace_end(CHINA, local(2026, 11, 7, 9)) == local(2026, 11, 8, 0)  # a Saturday
