"""When routine operations (例行操作) fall due: RFC 5545 rules read with ``python-dateutil``
(ADR 0027) in a business calendar's time zone, moved or dropped on its non-working days.

Pure functions: the calendar, the window and "now" come in as arguments (no clock reads),
so the same inputs always give the same runs (the routine list, ``record_routine``'s check and
the tests agree by construction).

* ``parse_rule`` accepts the ``RRULE`` value people write (``FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;
  BYHOUR=9;BYMINUTE=0``, ``FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9``, ``FREQ=MONTHLY;INTERVAL=3;
  BYMONTHDAY=1``), optionally prefixed ``RRULE:``; anything else is a 422 naming ``rrule``.
  Rules finer than hourly are refused (a routine is not a monitoring probe), and so is a rule
  that never occurs (``BYMONTH=2;BYMONTHDAY=30``).
* Times of day the rule leaves open come from ``DTSTART`` (``starts``), read in the calendar's
  zone: ``BYHOUR=9`` means 09:00 Beijing time for an ``Asia/Shanghai`` calendar.
* ``on_holiday``: ``skip`` drops runs on non-working days of the calendar (Chinese public
  holidays included; make-up workdays 调休 count as working); ``next_workday`` moves them to
  the next working day at the same wall-clock time, two runs landing on one instant being one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import MINUTELY, SECONDLY, rrule, rrulestr

from domain.calendar import BusinessCalendar
from domain.errors import InvalidCommand
from domain.project import OnHoliday

MAX_RUNS = 20_000  # raw occurrences looked at in one computation (hourly for two years)
MAX_SHIFT_DAYS = 60  # a next_workday move never goes further than this
NEVER_YEARS = 10  # a rule with no run in its first ten years is refused as never occurring
_FIELD = "rrule"


def _rule_text(text: str) -> str:
    body = text.strip() if isinstance(text, str) else ""
    if body.upper().startswith("RRULE:"):
        body = body[6:].strip()
    if not body or any(c in body for c in "\r\n:") or "FREQ=" not in body.upper():
        raise InvalidCommand.field(_FIELD, "an RFC 5545 RRULE value such as "
                                   "'FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9'")
    return body


def parse_rule(text: str, starts: datetime, timezone: str) -> rrule:
    """The rule ``text`` from ``starts`` (DTSTART) read in ``timezone``; a 422 naming
    ``rrule`` when it is not a usable rule."""
    body = _rule_text(text)
    dtstart = starts.astimezone(ZoneInfo(timezone))
    try:
        rule = rrulestr(body, dtstart=dtstart, forceset=False)
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise InvalidCommand.field(_FIELD, f"not a valid RRULE: {e}") from None
    if not isinstance(rule, rrule):  # pragma: no cover - forceset=False, one RRULE
        raise InvalidCommand.field(_FIELD, "exactly one RRULE")
    if rule._freq in (MINUTELY, SECONDLY):  # noqa: SLF001 - dateutil has no public getter
        raise InvalidCommand.field(_FIELD, "at most hourly (FREQ=HOURLY or coarser)")
    if next(_raw(rule, None, dtstart + timedelta(days=NEVER_YEARS * 366)), None) is None:
        raise InvalidCommand.field(_FIELD, "the rule never occurs")
    return rule


def _shift(calendar: BusinessCalendar, t: datetime) -> datetime | None:
    """``t`` moved to the next working day of ``calendar`` at the same wall-clock time."""
    tz = ZoneInfo(calendar.timezone)
    local = t.astimezone(tz)
    day = local.date()
    for _ in range(MAX_SHIFT_DAYS):
        if calendar.is_working_day(day):
            return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)
        day += timedelta(days=1)
    return None


def occurrences(
    rule_text: str,
    *,
    starts: datetime,
    until: datetime | None,
    on_holiday: str,
    calendar: BusinessCalendar,
    before: datetime,
    after: datetime | None = None,
) -> list[datetime]:
    """The runs of a routine with ``after <= run < before`` (and ``run <= until``), in the
    calendar's zone, oldest first, after the holiday rule."""
    rule = parse_rule(rule_text, starts, calendar.timezone)
    stop = before if until is None else min(before, until + timedelta(microseconds=1))
    tz = ZoneInfo(calendar.timezone)
    # A run moved forward may come from up to MAX_SHIFT_DAYS before the window.
    lead = timedelta(days=MAX_SHIFT_DAYS if on_holiday == OnHoliday.NEXT_WORKDAY else 0)
    lower = None if after is None else after - lead
    runs: set[datetime] = set()
    for raw in _raw(rule, lower, stop):
        if calendar.is_working_day(raw.astimezone(tz).date()):
            moved: datetime | None = raw
        elif on_holiday == OnHoliday.NEXT_WORKDAY:
            moved = _shift(calendar, raw)
        else:
            moved = None
        if moved is None or moved >= before or (until is not None and moved > until):
            continue
        if after is not None and moved < after:
            continue
        runs.add(moved.astimezone(tz))
    return sorted(runs)


def _raw(rule: rrule, lower: datetime | None, stop: datetime) -> Iterator[datetime]:
    """The rule's own occurrences from ``lower`` (inclusive) to ``stop`` (exclusive)."""
    start = rule._dtstart if lower is None else max(lower, rule._dtstart)  # noqa: SLF001
    t = rule.after(start, inc=True)
    n = 0
    while t is not None and t < stop and n < MAX_RUNS:
        yield t
        n += 1
        t = rule.after(t)


def is_occurrence(rule_text: str, run_at: datetime, *, starts: datetime,
                  until: datetime | None, on_holiday: str,
                  calendar: BusinessCalendar) -> bool:
    """Whether ``run_at`` is one of the routine's runs (after the holiday rule)."""
    window = occurrences(rule_text, starts=starts, until=until, on_holiday=on_holiday,
                         calendar=calendar, before=run_at + timedelta(microseconds=1),
                         after=run_at)
    return run_at in window


def grace_end(calendar: BusinessCalendar, run_at: datetime) -> datetime:
    """Until when a run is *due* rather than *overdue* (ADR 0028): the end of the working
    hours of its day, or, when it is scheduled after them (or on a day without any), the end
    of that calendar day."""
    tz = ZoneInfo(calendar.timezone)
    local = run_at.astimezone(tz)
    day: date = local.date()
    spans = calendar.day_intervals(day)
    midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    if spans:
        end = datetime.combine(day, time(), tzinfo=tz) + timedelta(seconds=spans[-1][1])
        if end > local:
            return end
    return midnight


def default_start(calendar: BusinessCalendar, day: date) -> datetime:
    """DTSTART when a routine gives none: ``day`` at the start of the calendar's first
    working hours of the week (09:00 for the 5×8 calendars), in its zone."""
    first = next((spans[0][0] for spans in calendar.week if spans), 9 * 3600)
    tz = ZoneInfo(calendar.timezone)
    return datetime.combine(day, time(), tzinfo=tz) + timedelta(seconds=first)
