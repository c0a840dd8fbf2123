"""A fixture for the HTTP tests that record nothing, registered in tests/conftest.py.

Fixtures:
    read_only_api  (module) one ``Api`` (tests/fixtures_http.py) on an in-memory store, shared
                   by the tests of a module that write nothing: GETs, requests refused before
                   the store, the route table. Building the app is most of an HTTP test's time
                   (about 0.3 s of the ~0.35 s of a short test, adapters/http/app.py). A test
                   that records anything takes ``api`` or ``make_api``: a store of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from adapters.container import build
from adapters.http.app import create_app
from adapters.settings import Settings
from application.ports import FixedClock
from tests.fixtures_http import START, Api


@pytest.fixture(scope="module")
def read_only_api() -> Iterator[Api]:
    clock = FixedClock(START)
    services = build(Settings(database_url="memory://", sla_watch_seconds=0, rate_limit="off"),
                     clock=clock)
    client = TestClient(create_app(services))
    client.__enter__()
    try:
        yield Api(client=client, services=services, clock=clock)
    finally:
        try:
            client.__exit__(None, None, None)
        finally:
            services.close()
