"""The problem list view contract, run against the memory, SQLite and PostgreSQL views.

``apply`` commits rows, links and position together or not at all, refuses a batch that does
not start at the stored position and never moves a row back in version; the filters (status,
category, linked ticket, known error) and cursor paging answer the same on every adapter;
``reset`` empties the view. Events reach the view as the runner hands them over: stored by
the msgspec mapper and decoded with only the projection's ``FIELDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.stores.persistence import problem_list_view
from application.encoding import MsgspecMapper
from domain.problem import Problem
from projections.base import Positioned, TrackingConflict
from projections.problem_list import projection
from projections.problem_list.view import ProblemListView, ProblemQuery
from tests.fixtures_stores import ON_DB_STORES, assert_replays_change_nothing, open_view_fixture

BASE = datetime(2031, 5, 6, 1, 0, tzinfo=UTC)
TICKETS = [str(UUID(int=0xA000 + i)) for i in range(6)]


@dataclass(frozen=True)
class Spec:
    n: int
    status: str
    category: str | None
    tickets: tuple[int, ...]  # recorded with the first, the rest linked later
    priority: str | None = None


SPECS = (
    Spec(1, "recorded", "database", (0, 1)),
    Spec(2, "known_error", "database", (1,), "P1"),
    Spec(3, "resolved", "network", (2, 3, 0)),
    Spec(4, "closed", None, ()),
    Spec(5, "recorded", "network", (4,), "P3"),
    Spec(6, "known_error", None, (5, 0)),
    Spec(7, "resolved", "database", ()),
    Spec(8, "recorded", None, (3,)),
)


def problem_in(spec: Spec) -> Problem:
    at = BASE + timedelta(hours=spec.n)
    first, *later = spec.tickets or (None,)
    p = Problem.record(
        id=UUID(int=spec.n), number=f"PRB-20310506-{spec.n:03d}", title=f"problem {spec.n}",
        description="d", actor="eng", at=at, category=spec.category,
        tickets=((TICKETS[first], f"SR-{first}"),) if first is not None else ())
    for i in later:
        if i is not None:
            p.link_ticket(ticket_id=TICKETS[i], ticket_number=f"SR-{i}", actor="eng", at=at)
    if spec.priority:
        p.classify(priority=spec.priority, actor="disp", at=at)
    if spec.status != "recorded":
        p.record_workaround(workaround="w", actor="eng", at=at)
    if spec.status in ("known_error", "closed"):
        p.mark_known_error(actor="eng", at=at)
    if spec.status in ("resolved", "closed"):
        p.resolve(resolution="更换故障硬盘", change_id=f"c-{spec.n}", actor="eng", at=at)
    if spec.status == "closed":
        p.close(actor="mgr", at=at)
    return p


@dataclass
class Dataset:
    events: list[Positioned]
    problems: dict[str, Problem]
    specs: dict[str, Spec]
    seq: dict[str, int]

    @property
    def head(self) -> int:
        return self.events[-1].position


def as_the_runner_reads(mapper: MsgspecMapper, event: Any) -> Any:
    stored = mapper.to_stored_event(event)
    return mapper.event_from_row(stored.topic, stored.originator_id, stored.originator_version,
                                 stored.state, projection.FIELDS.get(stored.topic))


@pytest.fixture(scope="module")
def data() -> Dataset:
    mapper = MsgspecMapper()
    problems = {str(UUID(int=s.n)): problem_in(s) for s in SPECS}
    queues = [list(p.collect_events()) for p in problems.values()]
    events: list[Positioned] = []
    seq: dict[str, int] = {}
    position = 0
    while any(queues):  # round robin; positions step by 2 as if other records sat between
        for queue in queues:
            if queue:
                position += 2
                e = queue.pop(0)
                events.append(Positioned(position, as_the_runner_reads(mapper, e)))
                if isinstance(e, Problem.Recorded):
                    seq[str(e.originator_id)] = position
    return Dataset(events, problems, {str(UUID(int=s.n)): s for s in SPECS}, seq)


open_view = open_view_fixture(problem_list_view)


@pytest.fixture
def view(open_view) -> ProblemListView:
    return open_view()


ALL = ProblemQuery(limit=500)


def rows(view: ProblemListView) -> dict[str, dict[str, Any]]:
    return {r["id"]: dict(r) for r in view.query(ALL).rows}


def state(view: ProblemListView) -> tuple[int, dict[str, dict[str, Any]]]:
    return view.position(), rows(view)


def assert_rows_match(data: Dataset, got: dict[str, dict[str, Any]]) -> None:
    assert set(got) == set(data.specs)
    for row_id, row in got.items():
        spec, p = data.specs[row_id], data.problems[row_id]
        assert set(row) == set(projection.COLUMNS)
        assert {k: row[k] for k in ("number", "status", "category", "priority", "version",
                                    "seq", "ticket_count", "known_error", "change_id")} == {
            "number": p.number, "status": spec.status, "category": spec.category,
            "priority": spec.priority, "version": p.version, "seq": data.seq[row_id],
            "ticket_count": len(spec.tickets), "known_error": int(p.known_error),
            "change_id": p.change_id}
        assert projection.ticket_ids(row) == [i for i, _ in p.linked()]  # type: ignore[arg-type]


# ------------------------------------------------------------------- apply


def test_apply_moves_rows_and_position_together(view, data):
    assert state(view) == (0, {})
    half = len(data.events) // 2
    middle = data.events[half - 1].position
    view.apply(data.events[:half], start=0, end=middle)
    assert view.position() == middle and 0 < len(rows(view)) <= len(data.specs)
    view.apply(data.events[half:], start=middle, end=data.head + 5)
    assert view.position() == data.head + 5
    assert_rows_match(data, rows(view))
    view.apply([], start=data.head + 5, end=data.head + 9)  # other records' notifications
    assert view.position() == data.head + 9
    some = next(iter(data.specs))
    assert view.get(some) == rows(view)[some]
    assert view.get(str(UUID(int=999))) is None


def test_apply_with_a_wrong_start_raises_and_changes_nothing(view, data):
    first, middle = data.events[:10], data.events[9].position
    view.apply(first, start=0, end=middle)
    before = state(view)
    for wrong in (0, middle - 1, middle + 1):
        with pytest.raises(TrackingConflict):
            view.apply(data.events[10:], start=wrong, end=data.head)
        assert state(view) == before


class Crash(Exception):
    pass


@pytest.mark.parametrize("crash_at", [1, 5, 14])
def test_a_crash_in_the_middle_of_a_batch_leaves_everything_unchanged(view, data, monkeypatch, crash_at):
    first, middle = data.events[:12], data.events[11].position
    view.apply(first, start=0, end=middle)
    before = state(view)
    before_links = view.query(ProblemQuery(ticket=TICKETS[0])).rows
    real, calls = projection.apply, 0

    def crashing(row: Any, event: Any, position: int) -> Any:
        nonlocal calls
        calls += 1
        if calls == crash_at:
            raise Crash()
        return real(row, event, position)

    monkeypatch.setattr(projection, "apply", crashing)
    with pytest.raises(Crash):
        view.apply(data.events[12:], start=middle, end=data.head)
    assert state(view) == before
    assert view.query(ProblemQuery(ticket=TICKETS[0])).rows == before_links
    monkeypatch.setattr(projection, "apply", real)
    view.apply(data.events[12:], start=middle, end=data.head)
    assert_rows_match(data, rows(view))


def test_the_same_events_twice_are_refused_and_rows_never_go_back(view, data):
    view.apply(data.events, start=0, end=data.head)
    assert_replays_change_nothing(view, data.events, lambda: rows(view))


@ON_DB_STORES  # an in-memory view is not shared between instances
def test_a_second_instance_on_the_same_store_cannot_apply_a_batch_twice(open_view, store_kind, data):
    a, b = open_view(), open_view()
    a.apply(data.events, start=0, end=data.head)
    with pytest.raises(TrackingConflict):
        b.apply(data.events, start=0, end=data.head)
    assert_rows_match(data, rows(b))


def test_reset_empties_rows_links_and_position(view, data):
    view.apply(data.events, start=0, end=data.head)
    view.reset()
    assert state(view) == (0, {})
    assert view.query(ProblemQuery(ticket=TICKETS[0])).rows == []
    view.apply(data.events, start=0, end=data.head)
    assert_rows_match(data, rows(view))


@ON_DB_STORES  # an in-memory view starts empty anyway
def test_a_view_stored_by_an_older_projection_version_is_rebuilt(open_view, store_kind, data):
    old = open_view()
    old.apply(data.events, start=0, end=data.head)
    with old.store.transaction() as cur:
        cur.execute("UPDATE projection_tracking SET version = version - 1 WHERE name = 'problem_list'")
    new = open_view()
    assert state(new) == (0, {})
    new.apply(data.events, start=0, end=data.head)
    assert_rows_match(data, rows(open_view()))


# ----------------------------------------------------------------- queries

QUERIES: dict[str, tuple[ProblemQuery, Callable[[Spec], bool]]] = {
    "all": (ProblemQuery(), lambda s: True),
    "one status": (ProblemQuery(statuses=("recorded",)), lambda s: s.status == "recorded"),
    "two statuses": (ProblemQuery(statuses=("known_error", "closed")),
                     lambda s: s.status in ("known_error", "closed")),
    "category": (ProblemQuery(categories=("database",)), lambda s: s.category == "database"),
    "ticket 0": (ProblemQuery(ticket=TICKETS[0]), lambda s: 0 in s.tickets),
    "ticket 3 open": (ProblemQuery(ticket=TICKETS[3], statuses=("recorded",)),
                      lambda s: 3 in s.tickets and s.status == "recorded"),
    "known errors": (ProblemQuery(known_error=True), lambda s: s.status in ("known_error", "closed")),
    "not known": (ProblemQuery(known_error=False),
                  lambda s: s.status not in ("known_error", "closed")),
    "nobody": (ProblemQuery(ticket=str(UUID(int=1))), lambda s: False),
}


def expected(data: Dataset, keep: Callable[[Spec], bool]) -> list[str]:
    return sorted((i for i, s in data.specs.items() if keep(s)), key=lambda i: -data.seq[i])


@pytest.fixture
def filled(view, data) -> ProblemListView:
    view.apply(data.events, start=0, end=data.head)
    return view


def test_queries_filter_newest_first(filled, data):
    for name, (q, keep) in QUERIES.items():
        page = filled.query(q)
        assert [r["id"] for r in page.rows] == expected(data, keep), name
        assert page.next_cursor is None, name


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_paging_with_cursors_returns_each_row_once(filled, data, limit):
    for name in ("all", "category", "ticket 0"):
        q, keep = QUERIES[name]
        q = replace(q, limit=limit)
        seen: list[str] = []
        for _ in range(len(data.specs) + 1):
            page = filled.query(q)
            seen += [r["id"] for r in page.rows]
            if page.next_cursor is None:
                break
            assert len(page.rows) == limit
            q = replace(q, after=int(page.next_cursor))
        assert seen == expected(data, keep), (name, limit)
