"""The China holiday package (ADR 0013) says what our calendars rely on."""

from __future__ import annotations

import logging
from datetime import date

from adapters.calendars.holidays import china_days, covered_years


def test_2026_national_day_is_a_holiday():
    holidays, workdays = china_days(2026, 2026)
    assert date(2026, 10, 1) in holidays
    assert {date(2026, 10, d) for d in range(1, 8)} <= holidays  # the published 2026 block
    assert date(2026, 10, 1) not in workdays


def test_2026_has_make_up_workdays_on_weekends():
    _, workdays = china_days(2026, 2026)
    weekend_workdays = {d for d in workdays if d.weekday() >= 5}
    assert weekend_workdays, "no make-up workday known for 2026"
    assert date(2026, 10, 10) in weekend_workdays  # Saturday after National Day


def test_only_the_requested_years_and_no_overlap():
    days = china_days(2025, 2026)
    assert {d.year for d in days.holidays | days.workdays} == {2025, 2026}
    assert not days.holidays & days.workdays
    assert days.missing_years == ()


def test_years_the_package_does_not_cover_are_reported(caplog):
    first, last = covered_years()
    assert first <= 2026 <= last
    with caplog.at_level(logging.WARNING, logger="adapters.calendars.holidays"):
        days = china_days(last, last + 2)
    assert days.missing_years == (last + 1, last + 2)
    assert "no data for" in caplog.text
    assert {d.year for d in days.holidays} == {last}
