"""Store fixtures: every contract runs on the in-memory store, an SQLite file and PostgreSQL.

Fixtures:
    store_url  (function)  "memory://", "sqlite:///<tmp>/x.sqlite3" or the URL of a fresh
                           PostgreSQL database (``postgres_url``; marked ``postgres``)
    services   (function)  ``adapters.container.build(Settings(database_url=store_url))``,
                           closed after the test
    store_kind (function)  "memory" | "sqlite" | "postgres", for the few checks that differ
    view_opener (function) opens read-model views on ``store_url``, closed after the test

``ON_DB_STORES`` (a test's mark) runs it on SQLite and PostgreSQL only (``DB_STORES``).
Helpers for the view contracts: ``open_view_fixture(factory)`` (a module's ``open_view``
fixture), ``apply_in_batches``, ``replayed`` and ``assert_replays_change_nothing``.

Registered in tests/conftest.py (``pytest_plugins``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from adapters.container import Services, build
from adapters.settings import Database, Settings
from projections.base import Positioned, TrackingConflict

STORE_PARAMS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
# The stores with a database of their own: what an in-memory store cannot show (a second
# instance or process on the same store, SQL tables, a stored older version) runs on these.
DB_STORES = STORE_PARAMS[1:]
ON_DB_STORES = pytest.mark.parametrize("store_kind", DB_STORES, indirect=True)


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'x.sqlite3'}"


@pytest.fixture(params=STORE_PARAMS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if store_kind == "memory":
        return "memory://"
    if store_kind == "sqlite":
        return sqlite_url(tmp_path)
    # Only PostgreSQL tests ask for the server (and a fresh database of their own).
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def view_opener(store_url: str) -> Iterator[Callable[[Callable[[Database], Any]], Any]]:
    """``view_opener(factory)`` opens ``factory(database)`` on the test's store, each call a
    new instance (new connections); every view opened is closed after the test."""
    opened: list[Any] = []

    def open_(factory: Callable[[Database], Any]) -> Any:
        view = factory(Settings(database_url=store_url).database)
        opened.append(view)
        return view

    yield open_
    for view in opened:
        view.close()


@pytest.fixture
def services(store_url: str) -> Iterator[Services]:
    built = build(Settings(database_url=store_url))
    try:
        yield built
    finally:
        built.close()


def open_view_fixture(factory: Callable[[Database], Any]) -> Any:
    """A module's ``open_view`` fixture: ``open_view()`` opens ``factory`` on the test's store,
    each call a new instance (new connections), all closed after the test."""

    @pytest.fixture
    def open_view(view_opener: Callable[[Callable[[Database], Any]], Any]) -> Callable[[], Any]:
        return lambda: view_opener(factory)

    return open_view


def apply_in_batches(view: Any, events: Sequence[Positioned], size: int) -> None:
    """Applies ``events`` from position 0 in batches of ``size``, as the runner hands them."""
    start = 0
    for i in range(0, len(events), size):
        chunk = events[i : i + size]
        view.apply(chunk, start=start, end=chunk[-1].position)
        start = chunk[-1].position


def replayed(events: Sequence[Positioned], after: int) -> list[Positioned]:
    """``events`` delivered again at new positions after ``after`` (a replay, a bug upstream)."""
    return [Positioned(after + i + 1, pe.event) for i, pe in enumerate(events)]


def assert_replays_change_nothing(view: Any, events: Sequence[Positioned],
                                  rows: Callable[[], Any],
                                  replay: Sequence[Positioned] | None = None) -> None:
    """With ``events`` applied from position 0: the same batch again is refused
    (``TrackingConflict``) and changes nothing, and ``replay`` (default: every event)
    delivered again at new positions leaves ``rows()`` as it was; the position moves past
    the replay."""
    head = events[-1].position
    before = rows()
    with pytest.raises(TrackingConflict):
        view.apply(events, start=0, end=head)
    assert (view.position(), rows()) == (head, before)
    again = replayed(events if replay is None else replay, head)
    view.apply(again, start=head, end=again[-1].position)
    assert rows() == before
    assert view.position() == again[-1].position
