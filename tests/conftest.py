"""Root conftest: the real PostgreSQL server for the test session.

Fixtures:
    postgres_server  (session)  base URL of a real PostgreSQL 15 server,
                                e.g. ``postgresql://postgres@127.0.0.1:PORT/postgres``
    postgres_url     (function) URL of a fresh, empty database (unique per test),
                                dropped again after the test

Set ``OPSLEDGER_TEST_POSTGRES_URL`` to use an existing server instead of starting one
(see tests/support/postgres.py for the other ``OPSLEDGER_TEST_POSTGRES_*`` variables).
Under pytest-xdist each worker starts its own server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Make ``tests.*`` importable however pytest is launched (python -m pytest adds the
# cwd to sys.path; a bare ``pytest`` from another directory does not).
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.postgres import (  # noqa: E402
    PostgresServer,
    create_database,
    drop_database,
    unique_database_name,
)

# Fixture plugins: other modules append their fixture modules here, e.g.
# "tests.fixtures_http".  Keep fixtures out of this file.
pytest_plugins: list[str] = [
    "tests.fixtures_stores", "tests.fixtures_http", "tests.fixtures_read_only",
]


#: Files whose tests take many seconds each (servers started and killed, benchmarks, the
#: fuzzer): they run first, so that the two xdist workers end on short tests and end together
#: (collected last, they kept one worker busy ~90 s after the other's last test).
LONG_FIRST = ("tests/reliability/", "tests/test_bench_smoke.py",
              "tests/adapters/http/test_schemathesis.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first (``LONG_FIRST``); browser tests run last. Their session-wide Playwright
    (sync API) keeps an event loop running in the worker's main thread until the session ends,
    so a later test of the same worker that runs a loop of its own (``asyncio.run``, the
    bench's client) would fail."""
    def rank(item: pytest.Item) -> int:
        if "tests/browser/" in item.nodeid:
            return 2
        return 0 if item.nodeid.startswith(LONG_FIRST) else 1
    items.sort(key=rank)  # stable: collection order within each rank


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with PostgresServer() as server:
        yield server.url


@pytest.fixture
def postgres_url(postgres_server: str, request: pytest.FixtureRequest) -> Iterator[str]:
    name = unique_database_name(request.node.name)
    url = create_database(postgres_server, name)
    yield url
    drop_database(postgres_server, name)
