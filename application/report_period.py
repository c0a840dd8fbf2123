"""Report periods (ADR 0029): ``2026-11`` (a month), ``2026-Q4`` (a quarter), ``2026`` (a
year), as ``[start, end)`` in the project calendar's time zone, and the monthly-summary due
date of DOMAIN §5 ("a monthly summary is due by the 5th of the next month" [001]), applied
to every period: the 5th of the month after the period ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from domain.errors import InvalidCommand

_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|[Qq](\d)))?$")
SUMMARY_DUE_DAY = 5


@dataclass(frozen=True)
class Period:
    label: str  # normalised: ``2026-11``, ``2026-Q4``, ``2026``
    kind: str  # month | quarter | year
    first_day: date
    end_day: date  # the first day after the period
    timezone: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=ZoneInfo(self.timezone))

    @property
    def end(self) -> datetime:
        return datetime.combine(self.end_day, time(), tzinfo=ZoneInfo(self.timezone))

    @property
    def summary_due(self) -> date:
        return self.end_day.replace(day=SUMMARY_DUE_DAY)


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def parse_period(text: str, timezone: str) -> Period:
    """The period named by ``text``; a malformed one is an ``InvalidCommand`` naming
    ``period`` (a 422)."""
    m = _PERIOD.match(text.strip())
    year = int(m.group(1)) if m else 0
    if m is None or not 1970 <= year <= 9998:
        raise InvalidCommand.field(
            "period", "a month (2026-11), a quarter (2026-Q4) or a year (2026) from 1970 to 9998")
    month, quarter = m.group(2), m.group(3)
    if month is not None:
        if not 1 <= int(month) <= 12:
            raise InvalidCommand.field("period", "the month must be 01 to 12")
        first, months, label, kind = int(month), 1, f"{year}-{month}", "month"
    elif quarter is not None:
        if not 1 <= int(quarter) <= 4:
            raise InvalidCommand.field("period", "the quarter must be Q1 to Q4")
        first, months, label, kind = 3 * int(quarter) - 2, 3, f"{year}-Q{quarter}", "quarter"
    else:
        first, months, label, kind = 1, 12, str(year), "year"
    return Period(label, kind, date(year, first, 1), _month_start(year, first + months), timezone)


def periods_between(first: date, last: date, kind: str = "month") -> list[str]:
    """The labels of the months (``2026-11``), quarters (``2026-Q4``) or years (``2026``)
    that ``[first, last]`` touches, latest first: the reports a contract has had so far."""
    if last < first:
        return []
    labels: list[str] = []
    month = first.replace(day=1)
    while month <= last:
        label = {"month": f"{month:%Y-%m}", "quarter": f"{month.year}-Q{(month.month + 2) // 3}",
                 "year": str(month.year)}[kind]
        if not labels or labels[-1] != label:
            labels.append(label)
        month = _month_start(month.year, month.month + 1)
    return labels[::-1]
