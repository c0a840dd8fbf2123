"""Fixtures of the application tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.container import build
from adapters.demo.run import run_demo
from adapters.settings import Settings
from application.desk import ServiceDesk


@pytest.fixture(scope="session")
def demo_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceDesk]:
    """The desk of a store ``opsledger demo`` filled (12 tickets, seed 3), shared by the
    tests that read what the demo records (none of them writes)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}")
    assert run_demo(settings, tickets=12, seed=3) == 0
    services = build(settings)
    try:
        yield services.desk
    finally:
        services.close()
