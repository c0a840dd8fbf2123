"""Business calendars: working time arithmetic for SLA clocks (DOMAIN.md §2, ADR 0013).

A :class:`BusinessCalendar` is a frozen value object: a time zone, working intervals per
weekday (wall-clock times, breaks are the gaps), extra holidays (dates that are off) and extra
workdays (make-up working days, 调休). Pure: no I/O, no clock; where the China holiday data
comes from is an adapter's business (``adapters/calendars/holidays.py``).

Rules (the ADR has the reasons):

* Working intervals are half-open ``[start, end)`` in local wall-clock time. 09:00 is working,
  18:00 is not. Endpoints are turned into instants day by day through the zone, so DST zones
  work (a wall time that does not exist is read the way ``zoneinfo`` reads ``fold=0``).
* A holiday has no working time, whatever its weekday. A make-up workday works the hours of
  ``makeup_weekday`` (default Monday, i.e. a normal weekday), whatever its own weekday. A date
  cannot be both.
* ``add_working(t, s)`` is the **earliest** instant at which ``s`` working seconds have passed
  since ``t``: a deadline that ends exactly at the end of a working day is that instant
  (18:00), not the next morning; at the end of a morning it is 12:00, not 13:30. Adding 0
  returns ``t`` itself, even when ``t`` is outside working time.
* ``working_seconds(a, b)`` is the working time in ``[a, b)``, in whole seconds (truncated),
  0 when ``b <= a``.
* ``next_working_instant(t)`` is ``t`` when ``t`` is working time, else the start of the next
  working interval (so 18:00 Friday gives 09:00 Monday).
* ``add_working_days(t, n)``: the same point of the working day on the n-th following working
  day. ``t`` outside working time first moves to ``next_working_instant(t)``; the point of the
  day is the working time elapsed that day before ``t``; on a day with fewer working hours it
  is capped at that day's end; where that elapsed time falls on a break the later side is
  taken (13:30 Monday + 1 day = 13:30 Tuesday). So Monday 10:00 + 3 days = Thursday 10:00, and
  a start before, after or between working days counts from the next working day's start.
  ``n == 0`` returns ``t`` itself.

Aware datetimes in, aware datetimes out in the calendar's zone; naive datetimes are a
``ValueError``. Internally everything is integer epoch microseconds: per-day working
intervals are precomputed lazily per year, with cumulative working time, and the operations
are a few ``bisect`` calls (no minute loops).
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Asia/Shanghai"
_US = 1_000_000
_DAY_S = 86_400
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
# Years scanned ahead for working time before giving up (a calendar whose week has no hours
# and whose make-up days have run out never reaches a deadline).
_MAX_EMPTY_YEARS = 30

Interval = tuple[int, int]  # seconds since local midnight, [start, end)


def parse_clock(text: str) -> int:
    """``"09:00"`` / ``"13:30:15"`` / ``"24:00"`` -> seconds since midnight."""
    m = _HHMM.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if mi > 59 or s > 59 or h > 24 or (h == 24 and (mi or s)):
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return h * 3600 + mi * 60 + s


def format_clock(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _weekday_index(name: str | int) -> int:
    if isinstance(name, int) and 0 <= name <= 6:
        return name
    if isinstance(name, str) and name.lower()[:3] in WEEKDAYS:
        return WEEKDAYS.index(name.lower()[:3])
    raise ValueError(f"not a weekday: {name!r}")


def _check_day(intervals: tuple[Interval, ...], day: str) -> None:
    previous_end = -1
    for start, end in intervals:
        if not (0 <= start < end <= _DAY_S):
            raise ValueError(f"{day}: working interval {format_clock(start)}-{format_clock(end)} "
                             "must have 00:00 <= start < end <= 24:00")
        if start < previous_end:
            raise ValueError(f"{day}: working intervals must be sorted and must not overlap")
        previous_end = end


class _Index:
    """Flat, sorted working intervals (epoch µs) of the loaded years, with cumulative time."""

    __slots__ = ("first_year", "last_year", "lo", "hi", "starts", "ends", "cum", "cum_end",
                 "day_ords", "day_first", "day_last")

    def __init__(self, first_year: int, last_year: int, lo: int, hi: int,
                 days: list[tuple[int, list[Interval]]]) -> None:
        self.first_year, self.last_year, self.lo, self.hi = first_year, last_year, lo, hi
        starts: list[int] = []
        ends: list[int] = []
        cum: list[int] = []
        cum_end: list[int] = []
        day_ords: list[int] = []
        day_first: list[int] = []
        day_last: list[int] = []
        total = 0
        for ordinal, spans in days:
            day_ords.append(ordinal)
            day_first.append(len(starts))
            for s, e in spans:
                starts.append(s)
                ends.append(e)
                cum.append(total)
                total += e - s
                cum_end.append(total)
            day_last.append(len(starts) - 1)
        self.starts, self.ends, self.cum, self.cum_end = starts, ends, cum, cum_end
        self.day_ords, self.day_first, self.day_last = day_ords, day_first, day_last

    def position(self, t: int) -> int:
        """Cumulative working µs before instant ``t`` (``lo <= t < hi``)."""
        i = bisect.bisect_right(self.ends, t)
        if i == len(self.ends):
            return self.cum_end[-1] if self.ends else 0
        start = self.starts[i]
        return self.cum[i] + (t - start if t > start else 0)


class _Cache:
    __slots__ = ("lock", "years", "index")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.years: dict[int, list[tuple[int, list[Interval]]]] = {}
        self.index: _Index | None = None


@dataclass(frozen=True)
class BusinessCalendar:
    """Working time in a time zone. Build with :meth:`from_hours` or the presets.

    ``week`` holds seven tuples (Monday first) of ``(start, end)`` seconds since local
    midnight. ``makeup_weekday`` (0 = Monday) names whose hours a make-up workday works.
    """

    week: tuple[tuple[Interval, ...], ...]
    timezone: str = DEFAULT_TIMEZONE
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    makeup_weekday: int = 0
    _cache: _Cache = field(init=False, repr=False, compare=False, hash=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown time zone: {self.timezone!r}") from exc
        week = tuple(tuple((int(s), int(e)) for s, e in day) for day in self.week)
        if len(week) != 7:
            raise ValueError("week must have seven days, Monday first")
        for name, day in zip(WEEKDAYS, week):
            _check_day(day, name)
        holidays = frozenset(self.holidays)
        workdays = frozenset(self.workdays)
        for d in holidays | workdays:
            if not isinstance(d, date) or isinstance(d, datetime):
                raise ValueError(f"holidays and workdays are dates, got {d!r}")
        both = holidays & workdays
        if both:
            raise ValueError(f"dates both holiday and workday: {sorted(both)}")
        makeup = _weekday_index(self.makeup_weekday)
        object.__setattr__(self, "week", week)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "workdays", workdays)
        object.__setattr__(self, "makeup_weekday", makeup)
        object.__setattr__(self, "_cache", _Cache())
        object.__setattr__(self, "_tz", tz)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_hours(cls, working_hours: Mapping[str, Iterable[Iterable[str]]], *,
                   timezone: str = DEFAULT_TIMEZONE, holidays: Iterable[date] = (),
                   workdays: Iterable[date] = (), makeup_weekday: str | int = "mon",
                   ) -> BusinessCalendar:
        """From the API.md shape: ``{"mon": [["09:00", "12:00"], ["13:30", "18:00"]], ...}``.

        Missing weekdays have no working hours.
        """
        unknown = set(working_hours) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"unknown weekday keys: {sorted(unknown)}")
        week = []
        for name in WEEKDAYS:
            spans = []
            for pair in working_hours.get(name, ()):
                pair = tuple(pair)
                if len(pair) != 2:
                    raise ValueError(f"{name}: a working interval is [start, end], got {pair!r}")
                spans.append((parse_clock(pair[0]), parse_clock(pair[1])))
            week.append(tuple(spans))
        return cls(week=tuple(week), timezone=timezone, holidays=frozenset(holidays),
                   workdays=frozenset(workdays), makeup_weekday=_weekday_index(makeup_weekday))

    def working_hours(self) -> dict[str, list[list[str]]]:
        """The API.md shape of :attr:`week`."""
        return {name: [[format_clock(s), format_clock(e)] for s, e in day]
                for name, day in zip(WEEKDAYS, self.week)}

    def with_days(self, *, holidays: Iterable[date] = (), workdays: Iterable[date] = (),
                  remove: Iterable[date] = ()) -> BusinessCalendar:
        """A new calendar with more holidays / workdays; ``remove`` drops dates from both."""
        removed = frozenset(remove)
        new_h = frozenset(holidays)
        new_w = frozenset(workdays)
        return BusinessCalendar(
            week=self.week, timezone=self.timezone, makeup_weekday=self.makeup_weekday,
            holidays=((self.holidays - removed - new_w) | new_h),
            workdays=((self.workdays - removed - new_h) | new_w),
        )

    # ------------------------------------------------------------------ queries on dates

    def day_intervals(self, d: date) -> tuple[Interval, ...]:
        """The working intervals (seconds since local midnight) of date ``d``."""
        if d in self.holidays:
            return ()
        if d in self.workdays:
            return self.week[self.makeup_weekday]
        return self.week[d.weekday()]

    def is_working_day(self, d: date) -> bool:
        return bool(self.day_intervals(d))

    # ------------------------------------------------------------------ instant arithmetic

    def add_working(self, start: datetime, seconds: int) -> datetime:
        """The earliest instant by which ``seconds`` of working time have passed since ``start``."""
        t = self._us(start)
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        if seconds == 0:
            return start.astimezone(self._tz)
        amount = int(seconds * _US) if isinstance(seconds, int) else round(seconds * _US)
        idx = self._index_for(t)
        target = idx.position(t) + amount
        while not idx.cum_end or target > idx.cum_end[-1]:
            idx = self._extend_forward(idx)
            target = idx.position(t) + amount
        j = bisect.bisect_left(idx.cum_end, target)
        return self._dt(idx.starts[j] + (target - idx.cum[j]))

    def working_seconds(self, a: datetime, b: datetime) -> int:
        """Working time in ``[a, b)`` in whole seconds (truncated); 0 when ``b <= a``."""
        ta, tb = self._us(a), self._us(b)
        if tb <= ta:
            return 0
        self._index_for(ta)
        idx = self._index_for(tb)
        return (idx.position(tb) - idx.position(ta)) // _US

    def next_working_instant(self, t: datetime) -> datetime:
        """``t`` itself when it is working time, else the start of the next working interval."""
        u = self._us(t)
        idx = self._index_for(u)
        i = bisect.bisect_right(idx.ends, u)
        while i >= len(idx.ends):
            idx = self._extend_forward(idx)
            i = bisect.bisect_right(idx.ends, u)
        if u >= idx.starts[i]:
            return t.astimezone(self._tz)
        return self._dt(idx.starts[i])

    def is_working(self, t: datetime) -> bool:
        u = self._us(t)
        idx = self._index_for(u)
        i = bisect.bisect_right(idx.ends, u)
        return i < len(idx.ends) and u >= idx.starts[i]

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Same point of the working day on the ``n``-th following working day (module docs)."""
        self._us(start)  # rejects naive datetimes before anything else
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return start.astimezone(self._tz)
        t = self._us(self.next_working_instant(start))
        idx = self._index_for(t)
        i = bisect.bisect_right(idx.ends, t)  # the working interval holding t
        k = bisect.bisect_right(idx.day_first, i) - 1  # the working day holding it
        elapsed = idx.position(t) - idx.cum[idx.day_first[k]]
        day_ord = idx.day_ords[k]
        while k + n >= len(idx.day_ords):
            idx = self._extend_forward(idx)
            k = bisect.bisect_left(idx.day_ords, day_ord)
        m = k + n
        first, last = idx.day_first[m], idx.day_last[m]
        day_total = idx.cum_end[last] - idx.cum[first]
        target = idx.cum[first] + min(elapsed, day_total)
        j = bisect.bisect_right(idx.cum, target, first, last + 1) - 1
        return self._dt(min(idx.starts[j] + (target - idx.cum[j]), idx.ends[j]))

    # ------------------------------------------------------------------ internals

    def _us(self, t: datetime) -> int:
        if not isinstance(t, datetime):
            raise TypeError(f"expected a datetime, got {type(t).__name__}")
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"naive datetime (no time zone): {t.isoformat()}")
        return round(t.timestamp() * _US)

    def _dt(self, us: int) -> datetime:
        s, micro = divmod(us, _US)
        d = datetime.fromtimestamp(s, self._tz)
        return d.replace(microsecond=micro) if micro else d

    def _local_midnight_us(self, d: date) -> int:
        return round(datetime.combine(d, time(), self._tz).timestamp() * _US)

    def _build_year(self, year: int) -> list[tuple[int, list[Interval]]]:
        days: list[tuple[int, list[Interval]]] = []
        d = date(year, 1, 1)
        one = timedelta(days=1)
        tz = self._tz
        while d.year == year:
            spans = self.day_intervals(d)
            if spans:
                out = []
                for s, e in spans:
                    su = self._wall_us(d, s, tz)
                    eu = self._wall_us(d, e, tz)
                    if eu > su:
                        out.append((su, eu))
                if out:
                    days.append((d.toordinal(), out))
            d += one
        return days

    @staticmethod
    def _wall_us(d: date, seconds: int, tz: ZoneInfo) -> int:
        if seconds == _DAY_S:
            return round(datetime.combine(d + timedelta(days=1), time(), tz).timestamp() * _US)
        h, rest = divmod(seconds, 3600)
        m, s = divmod(rest, 60)
        return round(datetime.combine(d, time(h, m, s), tz).timestamp() * _US)

    def _rebuild(self, first_year: int, last_year: int) -> _Index:
        cache = self._cache
        days: list[tuple[int, list[Interval]]] = []
        for y in range(first_year, last_year + 1):
            if y not in cache.years:
                cache.years[y] = self._build_year(y)
            days.extend(cache.years[y])
        lo = self._local_midnight_us(date(first_year, 1, 1))
        hi = (self._local_midnight_us(date(last_year + 1, 1, 1)) if last_year < 9999
              else round(datetime.max.replace(tzinfo=dt_timezone.utc).timestamp() * _US))
        idx = _Index(first_year, last_year, lo, hi, days)
        cache.index = idx
        return idx

    def _index_for(self, t: int) -> _Index:
        idx = self._cache.index
        if idx is not None and idx.lo <= t < idx.hi:
            return idx
        year = datetime.fromtimestamp(t // _US, self._tz).year
        with self._cache.lock:
            idx = self._cache.index
            if idx is None:
                return self._rebuild(year, year)
            if idx.lo <= t < idx.hi:
                return idx
            return self._rebuild(min(idx.first_year, year), max(idx.last_year, year))

    def _extend_forward(self, idx: _Index) -> _Index:
        with self._cache.lock:
            current = self._cache.index
            assert current is not None
            first, last = current.first_year, current.last_year
            if current.last_year > idx.last_year or current.first_year < idx.first_year:
                return current  # another thread already extended
            if last >= 9999:
                raise ValueError("no working time left in the calendar")
            # Give up when no working time exists far ahead (empty week, make-up days used up).
            if last - first >= _MAX_EMPTY_YEARS and not any(
                    self._cache.years.get(y) for y in range(last - _MAX_EMPTY_YEARS + 1, last + 1)):
                raise ValueError("no working time in the calendar within "
                                 f"{_MAX_EMPTY_YEARS} years after {last - _MAX_EMPTY_YEARS}")
            return self._rebuild(first, last + 1)


def five_by_eight(*, timezone: str = DEFAULT_TIMEZONE, start: str = "09:00", end: str = "18:00",
                  lunch: tuple[str, str] | None = None, holidays: Iterable[date] = (),
                  workdays: Iterable[date] = ()) -> BusinessCalendar:
    """Monday–Friday ``start``–``end`` (default 09:00–18:00), with an optional lunch break."""
    day = [(start, lunch[0]), (lunch[1], end)] if lunch else [(start, end)]
    hours = {name: day for name in WEEKDAYS[:5]}
    return BusinessCalendar.from_hours(hours, timezone=timezone, holidays=holidays,
                                       workdays=workdays)


def seven_by_twenty_four(*, timezone: str = DEFAULT_TIMEZONE) -> BusinessCalendar:
    """Every instant is working time."""
    return BusinessCalendar.from_hours({name: [("00:00", "24:00")] for name in WEEKDAYS},
                                       timezone=timezone)
