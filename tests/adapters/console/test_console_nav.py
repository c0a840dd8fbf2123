"""The header's links are the pages' own operations, shown only to whom the matrix admits."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from litestar.routes import HTTPRoute

from adapters.http.access import OPERATION_OPT
from adapters.http.console.render import DESK_NAV, PORTAL_NAV
from tests.fixtures_http import Api
from tests.support.console import ADMIN, login, person


def _operation_of(app: Any, path: str) -> str | None:
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.rstrip("/") == path.rstrip("/"):
            handler = route.route_handler_map.get("GET", (None,))[0]
            if handler is not None:
                return handler.opt.get(OPERATION_OPT)
    return None


@pytest.mark.parametrize(("path", "key", "operation"), [*DESK_NAV, *PORTAL_NAV])
def test_each_link_names_the_operation_of_its_page(read_only_api: Api, path: str, key: str,
                                                   operation: str):
    # the route table: one app for all links (and no store variants: it has none)
    assert _operation_of(read_only_api.client.app, path) == operation


@pytest.mark.parametrize(("role", "shown", "hidden"), [
    ("engineer", ["/ui/problems", "/ui/search"], ["/ui/dashboard", "/ui/sla"]),
    ("manager", ["/ui/dashboard", "/ui/sla", "/ui/changes"], []),
])
def test_a_link_shows_only_to_roles_its_page_admits(make_api: Callable[..., Api], role: str,
                                                    shown: list[str], hidden: list[str]):
    api = make_api(admin_token="s3cret")
    person(api.client, ADMIN, "someone", role)
    login(api.client, "someone")
    page = api.client.get("/ui/").text
    nav = page.split("<nav>", 1)[1].split("</nav>", 1)[0]
    for path in shown:
        assert f'href="{path}"' in nav, path
    for path in hidden:
        assert f'href="{path}"' not in nav, path
