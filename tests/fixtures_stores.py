"""Store fixtures: every contract runs on the in-memory store, an SQLite file and PostgreSQL.

Fixtures:
    store_url  (function)  "memory://", "sqlite:///<tmp>/x.sqlite3" or the URL of a fresh
                           PostgreSQL database (``postgres_url``; marked ``postgres``)
    services   (function)  ``adapters.container.build(Settings(database_url=store_url))``,
                           closed after the test
    store_kind (function)  "memory" | "sqlite" | "postgres", for the few checks that differ
    view_opener (function) opens read-model views on ``store_url``, closed after the test

Registered in tests/conftest.py (``pytest_plugins``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.container import Services, build
from adapters.settings import Database, Settings

STORE_PARAMS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


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
