"""Fixtures for the reliability tests: a store URL per kind and a real ``opsledger serve``.

Fixtures:
    reliable_store  "sqlite" | "postgres" (the parameters; PostgreSQL is marked ``postgres``)
    reliable_url    a fresh SQLite file or PostgreSQL database of that kind
    server          a running ``opsledger serve`` child process on that store (``Process``)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serve import Process

RELIABLE_STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=RELIABLE_STORES)
def reliable_store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def reliable_url(reliable_store: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if reliable_store == "sqlite":
        return f"sqlite:///{tmp_path}/store.sqlite3"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def server(reliable_url: str, tmp_path: Path) -> Iterator[Process]:
    with Process(reliable_url, tmp_path / "serve.log", env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}) as p:
        yield p
