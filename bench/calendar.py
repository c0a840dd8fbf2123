"""Due-date computations per second on a 10-year China 5×8 calendar (issue 3, target ≥ 100k/s).

    PYTHONPATH=. .venv/bin/python -m bench.calendar [--n 200000] [--seed 7]

Builds the default China calendar (09:00–18:00, lunch 12:00–13:30, public holidays and make-up
workdays of chinese-calendar) for 2017–2026, then times ``add_working`` from random instants
with mixed durations (2 h, 4 h, 24 working h, 3 working days of 7.5 h). Baselines in the same
run: the same number of plain ``datetime + timedelta`` additions, and a naive implementation
that steps minute by minute through the calendar (on a small sample; it gives the same answers,
which is checked).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.calendars.holidays import china_days
from bench.common import load_average, source_state
from domain.calendar import five_by_eight

SH = ZoneInfo("Asia/Shanghai")
FIRST, LAST = 2017, 2026
DURATIONS = (2 * 3600, 4 * 3600, 24 * 3600, 3 * 27000)


def minute_stepping(cal, start: datetime, seconds: int) -> datetime:
    """The obvious implementation: walk minute by minute (inputs on whole minutes)."""
    t = start.astimezone(SH)
    left = seconds // 60
    step = timedelta(minutes=1)
    while left:
        spans = cal.day_intervals(t.date())
        sod = t.hour * 3600 + t.minute * 60
        if any(s <= sod < e for s, e in spans):
            left -= 1
        t += step
    return t


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--naive", type=int, default=200, help="sample size of the minute-stepping baseline")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    rng = random.Random(args.seed)

    holidays, workdays = china_days(FIRST, LAST)
    t0 = time.perf_counter()
    cal = five_by_eight(lunch=("12:00", "13:30"), holidays=holidays, workdays=workdays)
    base = datetime(FIRST, 1, 1, tzinfo=SH)
    span_min = int((datetime(LAST, 12, 1, tzinfo=SH) - base).total_seconds() // 60)
    # warm the lazy per-year index over the whole range (counted separately)
    cal.working_seconds(base, datetime(LAST + 1, 2, 1, tzinfo=SH))
    build = time.perf_counter() - t0

    starts = [base + timedelta(minutes=rng.randrange(span_min)) for _ in range(args.n)]
    amounts = [rng.choice(DURATIONS) for _ in range(args.n)]

    add = cal.add_working
    t0 = time.perf_counter()
    dues = [add(s, a) for s, a in zip(starts, amounts)]
    ours = time.perf_counter() - t0

    deltas = [timedelta(seconds=a) for a in amounts]
    t0 = time.perf_counter()
    plain = [s + d for s, d in zip(starts, deltas)]
    baseline = time.perf_counter() - t0
    assert len(plain) == len(dues)

    sample = range(min(args.naive, args.n))
    t0 = time.perf_counter()
    naive = [minute_stepping(cal, starts[i], amounts[i]) for i in sample]
    naive_s = time.perf_counter() - t0
    mismatches = sum(1 for i, d in zip(sample, naive) if d != dues[i])

    ours_rate = args.n / ours
    plain_rate = args.n / baseline
    naive_rate = len(sample) / naive_s
    print(f"code: {source_state()}   load average: {load_average():.2f}")
    print(f"calendar: China 5x8 with lunch, {FIRST}-{LAST}, {len(holidays)} holidays, "
          f"{len(workdays)} make-up workdays; index built in {build * 1000:.1f} ms")
    print(f"add_working, mixed 2h/4h/24h/3d     : {ours_rate:12,.0f} computations/s  (n={args.n:,})")
    print(f"baseline datetime + timedelta       : {plain_rate:12,.0f} additions/s     "
          f"ratio ours/plain = {ours_rate / plain_rate:.3f}")
    print(f"baseline minute-stepping (sample)   : {naive_rate:12,.0f} computations/s  (n={len(sample)}) "
          f"ratio ours/naive = {ours_rate / naive_rate:,.0f}x; answers differ: {mismatches}")
    print(f"target >= 100,000/s: {'met' if ours_rate >= 100_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
