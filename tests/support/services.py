"""The service of a store, built for a test and closed at the end of its ``with``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adapters.container import Services, build
from adapters.settings import Settings


@contextmanager
def built(settings: Settings, **kw: Any) -> Iterator[Services]:
    """``build(settings, **kw)``, closed at the end of the ``with``."""
    services = build(settings, **kw)
    try:
        yield services
    finally:
        services.close()


@contextmanager
def two_processes(url: str, **settings: Any) -> Iterator[tuple[Services, Services]]:
    """Two services on one store, standing for two processes (two servers, or a server and
    its projections worker); closed at the end of the ``with``."""
    with built(Settings(database_url=url, **settings)) as first, \
            built(Settings(database_url=url, **settings)) as second:
        yield first, second
