"""China public holidays and make-up workdays (调休), from the `chinese-calendar` package (ADR 0013).

The package ships the State Council's published schedules as data (holidays *and* the weekend
days that are worked in exchange); it does not guess future years, it refuses them. So
:func:`china_days` returns what the package knows, and says which requested years it does not
cover (a logged warning and the ``missing_years`` field) — for those years a calendar has
only its weekly hours and its own listed days until the package is upgraded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import chinese_calendar
from chinese_calendar import constants as _cc

log = logging.getLogger(__name__)

SOURCE = f"chinese-calendar {getattr(chinese_calendar, '__version__', '?')}"


@dataclass(frozen=True)
class ChinaDays:
    """Days off and make-up workdays of the Chinese schedule for a year range.

    ``holidays`` includes the weekend days inside a holiday block (harmless for a 5×8 calendar,
    needed for a calendar that works on weekends). ``missing_years`` are requested years the
    package has no data for.
    """

    holidays: frozenset[date]
    workdays: frozenset[date]
    missing_years: tuple[int, ...]
    source: str = SOURCE

    # Unpacks as the (holidays, workdays) pair.
    def __iter__(self):
        return iter((self.holidays, self.workdays))


def covered_years() -> tuple[int, int]:
    """The first and last year the installed package has a published schedule for."""
    years = {d.year for d in _cc.holidays} | {d.year for d in _cc.workdays}
    return min(years), max(years)


def china_days(first_year: int, last_year: int) -> ChinaDays:
    """Holidays and make-up workdays for ``first_year..last_year`` (inclusive).

    ``holidays, workdays = china_days(2025, 2026)`` works; the result also carries
    ``missing_years``, which are logged as a warning too.
    """
    if last_year < first_year:
        raise ValueError("last_year must be >= first_year")
    lo, hi = covered_years()
    wanted = range(first_year, last_year + 1)
    holidays = frozenset(d for d in _cc.holidays if first_year <= d.year <= last_year)
    workdays = frozenset(d for d in _cc.workdays if first_year <= d.year <= last_year)
    missing = tuple(y for y in wanted if not lo <= y <= hi)
    if missing:
        log.warning("china holiday data: %s covers %d-%d; no data for %s", SOURCE, lo, hi,
                    ", ".join(map(str, missing)))
    return ChinaDays(holidays=holidays, workdays=workdays, missing_years=missing)


class ChinaHolidaySource:
    """The ``HolidaySource`` port (application/ports.py) over the installed package: every
    year it covers, loaded once."""

    source = SOURCE

    def __init__(self) -> None:
        self._days: tuple[frozenset[date], frozenset[date]] | None = None

    def china_days(self) -> tuple[frozenset[date], frozenset[date]]:
        if self._days is None:
            lo, hi = covered_years()
            days = china_days(lo, hi)
            self._days = (days.holidays, days.workdays)
        return self._days
