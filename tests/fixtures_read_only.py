"""A fixture for the HTTP tests that record nothing, registered in tests/conftest.py.

Fixtures:
    read_only_api  (module) one ``Api`` (tests/fixtures_http.py) on an in-memory store, shared
                   by the tests of a module that write nothing: GETs, requests refused before
                   the store, the route table. Building the app is most of an HTTP test's time
                   (about 0.3 s of the ~0.35 s of a short test, adapters/http/app.py). A test
                   that records anything takes ``api`` or ``make_api``: a store of its own.
    read_only_store_api  (function) the same on the test's ``http_store`` (a test parametrises
                   ``http_store``, e.g. with ``ALL_STORES``): one ``Api`` per store and module,
                   made when a test of the module first asks for that store (a fresh SQLite
                   file, a fresh PostgreSQL database dropped after the module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from litestar.testing import TestClient

from adapters.container import build
from adapters.http.app import create_app
from adapters.settings import Settings
from application.ports import FixedClock
from tests.fixtures_http import START, Api
from tests.support.postgres import create_database, drop_database, unique_database_name


def _opened(url: str) -> tuple[Api, Callable[[], None]]:
    """An ``Api`` on ``url`` and what closes it."""
    clock = FixedClock(START)
    services = build(Settings(database_url=url, sla_watch_seconds=0, rate_limit="off",
                              password_cost="test"), clock=clock)
    client = TestClient(create_app(services))
    client.__enter__()

    def close() -> None:
        try:
            client.__exit__(None, None, None)
        finally:
            services.close()
    return Api(client=client, services=services, clock=clock), close


@pytest.fixture(scope="module")
def read_only_api() -> Iterator[Api]:
    api, close = _opened("memory://")
    try:
        yield api
    finally:
        close()


@pytest.fixture(scope="module")
def _read_only_apps(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Api]]:
    """The module's ``Api`` of a store, made on first use."""
    apps: dict[str, Api] = {}
    closers: list[Callable[[], None]] = []

    def of(store: str) -> Api:
        if store in apps:
            return apps[store]
        if store == "memory":
            url = "memory://"
        elif store == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('read-only') / 'o.sqlite3'}"
        elif store == "postgres":
            server = str(request.getfixturevalue("postgres_server"))
            name = unique_database_name(request.module.__name__.rpartition(".")[2])
            url = create_database(server, name)
            closers.append(lambda: drop_database(server, name))
        else:
            raise ValueError(store)
        apps[store], close = _opened(url)
        closers.append(close)
        return apps[store]

    try:
        yield of
    finally:
        for close in reversed(closers):
            close()


@pytest.fixture
def read_only_store_api(http_store: str, _read_only_apps: Callable[[str], Api]) -> Api:
    return _read_only_apps(http_store)
