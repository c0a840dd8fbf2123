"""Building the app (adapters/http/app.py): the map of its routes by path and method is kept as
the handlers register, not made afresh from every route for each of them, and it is the map
Litestar makes itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, Router, get, patch, post
from litestar.testing import TestClient

from adapters.container import Services, build
from adapters.http.app import create_app
from adapters.settings import Settings
from application.ports import FixedClock
from tests.fixtures_http import API, START

LITESTARS_MAP = Router.route_handler_method_map.fget  # type: ignore[attr-defined]


@pytest.fixture
def services() -> Iterator[Services]:
    services = build(Settings(database_url="memory://", sla_watch_seconds=0, rate_limit="off"),
                     clock=FixedClock(START))
    yield services
    services.close()


def same_map(app: Litestar) -> None:
    """The app's map is Litestar's own of the app's routes: the same paths in the same order,
    each with the same handlers by method."""
    kept, made = app.route_handler_method_map, LITESTARS_MAP(app)
    assert list(kept) == list(made)
    for path, item in made.items():
        assert list(kept[path]) == list(item), path
        assert all(kept[path][method] is handler for method, handler in item.items()), path


def test_the_apps_route_map_is_litestars_also_after_later_registrations(services: Services):
    app = create_app(services, run_projections=False)
    same_map(app)

    @get("/build-test/new", sync_to_thread=False)
    def new_path() -> str:
        return "new"

    @post("/build-test/new", sync_to_thread=False)
    def same_path() -> str:
        return "same"

    @patch(f"{API}/tickets", sync_to_thread=False)
    def beside_ours() -> str:
        return "beside"

    app.register(new_path)  # a route added
    same_map(app)
    app.register(same_path)  # that route replaced by one with both handlers
    same_map(app)
    app.register(beside_ours)  # one of the app's routes replaced
    same_map(app)
    with TestClient(app) as client:
        assert client.get("/build-test/new").text == "new"
        assert client.post("/build-test/new").text == "same"


def test_a_build_maps_each_route_a_bounded_number_of_times(services: Services,
                                                           monkeypatch: pytest.MonkeyPatch):
    """Litestar made the map from every route so far for each handler: about 400 maps of up to
    350 routes, 70,000 routes mapped a build. Kept, each route is mapped about once."""
    mapped: list[int] = []

    def counting(router: Any) -> Any:
        mapped.append(len(router.routes))
        return LITESTARS_MAP(router)

    monkeypatch.setattr(Router, "route_handler_method_map", property(counting))
    app = create_app(services, run_projections=False)
    assert len(app.routes) > 300
    assert sum(mapped) <= 2 * len(app.routes), (len(mapped), sum(mapped))


def test_the_built_app_answers(services: Services):
    with TestClient(create_app(services, run_projections=False)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get(f"{API}/tickets").status_code in (200, 401)


def test_the_collector_is_paused_while_the_app_is_built_and_as_it_was_after(services: Services):
    """ADR 0079: no automatic collection inside Litestar's build of the app (one ran every 700
    new objects through the build's hundreds of thousands); a collector that was off stays off."""
    import gc
    import sys

    inside: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        frame = sys._getframe(1) if phase == "start" else None
        while frame is not None:
            code = frame.f_code
            if code.co_name == "__init__" and code.co_filename.endswith("litestar/app.py"):
                inside.append(info["generation"])
                return
            frame = frame.f_back  # type: ignore[assignment]

    assert gc.isenabled()
    gc.callbacks.append(count)
    try:
        create_app(services, run_projections=False)
    finally:
        gc.callbacks.remove(count)
    assert inside == [] and gc.isenabled(), inside
    gc.disable()
    try:
        create_app(services, run_projections=False)
        assert not gc.isenabled()
    finally:
        gc.enable()
