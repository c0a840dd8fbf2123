"""Laws of the milestone clocks (ADR 0062), like the SLA clock laws: runs never overlap and
never start before the ticket's clocks; the due is never sooner than the target in plain
time (the watcher's index may look early, never late); whatever the ticks, each warning and
breach of a run is reached once; a breached run stays breached."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import milestone as m
from domain.calendar import five_by_eight
from domain.sla import parse_milestones
from domain.sla_clock import BREACHED

CAL = five_by_eight()
SH = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 11, 2, 9, 0, tzinfo=SH)  # a Monday
NAMES = ("Registered", "Assigned", "Started", "WorkLogged", "VisitArrived")
THRESHOLDS = (0.5, 0.75)


def milestone(target: str, calendar: str) -> m.Milestone:
    [ms], errors = parse_milestones([{"name": "dispatch", "starts_on": "Assigned",
                                      "stops_on": ["Started", "VisitArrived"],
                                      "target": target, "calendar": calendar}])
    assert not errors
    return ms


minutes = st.integers(0, 60 * 24 * 10)
trails = st.lists(st.tuples(st.sampled_from(NAMES), st.integers(0, 60 * 24 * 3)), max_size=12).map(
    lambda xs: [(n, BASE + timedelta(minutes=sum(d for _, d in xs[:i + 1])))
                for i, (n, _) in enumerate(xs)])
milestones = st.builds(
    milestone,
    st.sampled_from(["PT10M", "PT30M", "PT20M", "PT2H", "P1D", "P1DT1H"]),
    st.sampled_from(["business", "24x7"]))
instants = minutes.map(lambda x: BASE + timedelta(minutes=x))


@settings(max_examples=50, deadline=None)
@given(milestones, trails, instants)
def test_runs_are_ordered_never_overlap_and_start_with_the_clocks(
        ms: m.Milestone, trail: list, clocks: datetime) -> None:
    runs = m.runs(ms, trail, clocks)
    for r in runs:
        assert r.started_at >= clocks
        assert r.stopped_at is None or r.stopped_at >= r.started_at
        assert r.stopped_by is None or r.stopped_by in ms.stops_on
    for a, b in zip(runs, runs[1:]):
        assert a.stopped_at is not None and a.stopped_at <= b.started_at
    assert all(r.stopped_at is not None for r in runs[:-1])
    assert len(runs) <= sum(1 for n, _ in trail if n == ms.starts_on)


@settings(max_examples=50, deadline=None)
@given(milestones, instants)
def test_the_index_never_looks_later_than_anything_is_due(ms: m.Milestone, start: datetime):
    due = m.due_of(ms, CAL, start)
    warnings = m.warning_instants(ms, CAL, start, THRESHOLDS)
    first = m.earliest_check(ms, start, THRESHOLDS)
    assert first <= min((*warnings, due))
    assert due >= start + timedelta(seconds=ms.target.seconds)
    assert all(start <= w <= due for w in warnings)


@settings(max_examples=50, deadline=None)
@given(milestones, instants, st.lists(st.integers(0, 60 * 24 * 6), min_size=1, max_size=6))
def test_each_mark_is_reached_once_whatever_the_ticks(ms: m.Milestone, start: datetime,
                                                      ticks: list[int]) -> None:
    run = m.Run(ms.name, start)
    recorded: list[m.MilestoneMark] = []
    for tick in sorted(ticks):
        now = start + timedelta(minutes=tick)
        new = m.reached(ms, CAL, run, now, THRESHOLDS, {x.key for x in recorded})
        assert not {x.key for x in new} & {x.key for x in recorded}
        recorded += new
        # a second tick at the same time reaches nothing more
        assert m.reached(ms, CAL, run, now, THRESHOLDS, {x.key for x in recorded}) == []
    last = start + timedelta(minutes=max(ticks))
    assert sorted(recorded) == m.reached(ms, CAL, run, last, THRESHOLDS)
    assert len({x.key for x in recorded}) == len(recorded)


@settings(max_examples=50, deadline=None)
@given(milestones, instants, st.integers(0, 60 * 24 * 6), st.integers(0, 60 * 24 * 6))
def test_a_breached_run_stays_breached(ms: m.Milestone, start: datetime, a: int, b: int):
    run = m.Run(ms.name, start)
    early, late = sorted((a, b))
    first = m.read_run(ms, CAL, run, start + timedelta(minutes=early), THRESHOLDS)
    then = m.read_run(ms, CAL, run, start + timedelta(minutes=late), THRESHOLDS)
    if first.state == BREACHED:
        assert then.state == BREACHED
    assert then.remaining_seconds <= first.remaining_seconds


@settings(max_examples=50, deadline=None)
@given(milestones, instants, st.integers(0, 60 * 24 * 6))
def test_a_stopped_run_reaches_nothing_and_is_met_exactly_when_in_time(
        ms: m.Milestone, start: datetime, after: int) -> None:
    stop = start + timedelta(minutes=after)
    run = m.Run(ms.name, start, stop, "Started")
    assert m.reached(ms, CAL, run, stop + timedelta(days=30), THRESHOLDS) == []
    reading = m.read_run(ms, CAL, run, stop + timedelta(days=30), THRESHOLDS)
    assert reading.state == ("met" if stop <= reading.due else BREACHED)
    assert not reading.running
