"""Fixtures for the reliability tests: stores of each kept kind and a real ``opsledger serve``.

Fixtures:
    http_store      overridden here: "sqlite" | "postgres" (PostgreSQL is marked ``postgres``)
    reliable_url    a fresh SQLite file or an empty PostgreSQL database (``postgres_url``)
    server          a running ``opsledger serve`` child process on that store (``Process``)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serve import Process

RELIABLE_STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=RELIABLE_STORES)
def http_store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def reliable_url(http_store: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if http_store == "sqlite":
        return f"sqlite:///{tmp_path}/o.sqlite3"
    # an empty database (``postgres_url``), not the HTTP tests' copy of a built schema: backups
    # restore into it and servers start on it as on a new deployment's
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def server(reliable_url: str, tmp_path: Path) -> Iterator[Process]:
    with Process(reliable_url, tmp_path / "serve.log", env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}) as p:
        yield p
