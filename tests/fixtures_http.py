"""Fixtures and helpers for the HTTP tests (tests/adapters/http/), registered in tests/conftest.py.

Fixtures:
    http_store         "memory" | "sqlite" (the default parameters); a test parametrises
                       ``http_store`` itself with ``ALL_STORES`` to run on PostgreSQL too
    http_database_url  the store's URL (a fresh SQLite file, or a fresh PostgreSQL database
                       copied from ``http_postgres_template``: the schema ``build`` makes)
    http_clock         a ``FixedClock`` at ``START``, shared with the app (``api.clock``)
    make_api           builds an app on that store: ``make_api(admin_token="s3cret")``
    api                an ``Api`` (client + helpers) over the default app
    client             the ``TestClient`` of ``api``

Every app is closed at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from httpx import Response
from litestar.testing import TestClient

from adapters.container import Services, build
from adapters.http.app import create_app
from adapters.settings import Settings
from application.ports import FixedClock
from tests.support.postgres import create_database, drop_database, unique_database_name
from tests.support.threads import released_together

API = "/api/v1"
PROBLEM = "application/problem+json"

# 2026-11-20T17:00Z is 2026-11-21 01:00 in Asia/Shanghai: numbers take the local date.
START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
DAY = "20261121"

STORES = ["memory", "sqlite"]
ALL_STORES = [*STORES, pytest.param("postgres", marks=pytest.mark.postgres)]

CLASSIFICATION: dict[str, str] = {
    "type": "fault",
    "category": "software",
    "urgency": "very_urgent",
    "impact": "all",
    "importance": "very_important",
}
PRECISE = "重启 ERP 应用服务器并清理会话表，用户已可正常登录"


def ticket_body(**overrides: Any) -> dict[str, Any]:
    """A registration body without classification (status ``registered``)."""
    body: dict[str, Any] = {
        "customer": "客户A",
        "contact": {"name": "李四", "phone": "13800005678", "email": "li@example.com"},
        "channel": "phone",
        "title": "生产系统无法登录",
        "description": "所有用户登录 ERP 报 500",
        "affected_system": "ERP",
        "reported_at": "2026-11-21T00:30:00+08:00",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def user_token(client: TestClient[Any], admin: dict[str, str] | None, user: str, role: str, *,
               customer: str | None = None) -> dict[str, str]:
    """Registers ``user`` with ``role`` (a requester of ``customer``) and issues an API token;
    returns its ``Authorization`` header. ``admin``: the headers of the caller allowed to."""
    body: dict[str, Any] = {"id": user, "name": user, "roles": [role]}
    if customer is not None:
        body["customer"] = customer
    r = client.post(f"{API}/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/users/{user}/tokens", json={}, headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def etag(version: int) -> str:
    return f'"{version}"'


def assert_problem(
    r: Response, status: int, *, field: str | None = None, detail_has: str | None = None
) -> dict[str, Any]:
    """``r`` is an RFC 9457 problem with ``status``; ``field`` (if given) is named in ``errors``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers.get("content-type")
    body = r.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, (key, body)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if field is not None:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, body
        for e in errors:
            assert set(e) >= {"field", "message"}, e
            assert e["message"], e
        assert field in [e["field"] for e in errors], (field, errors)
    if detail_has is not None:
        assert detail_has in body["detail"], body["detail"]
    return body


@dataclass
class Api:
    """A thin given/when/then vocabulary over one test client."""

    client: TestClient[Any]
    services: Services
    clock: FixedClock

    # ---------------------------------------------------------------- raw calls

    def register(self, headers: dict[str, str] | None = None, **overrides: Any) -> Response:
        return self.client.post(f"{API}/tickets", json=ticket_body(**overrides), headers=headers)

    def command(
        self,
        ref: str,
        name: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return self.client.post(f"{API}/tickets/{ref}/{name}", json=body or {}, headers=headers)

    def get(self, ref: str, **params: str) -> Response:
        return self.client.get(f"{API}/tickets/{ref}", params=params)

    def view(self, ref: str) -> dict[str, Any]:
        r = self.get(ref)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def history(self, ref: str) -> list[dict[str, Any]]:
        r = self.client.get(f"{API}/tickets/{ref}/history")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def events(self, after: int = 0, limit: int = 500) -> dict[str, Any]:
        r = self.client.get(f"{API}/audit/events", params={"after": after, "limit": limit})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    # ---------------------------------------------------------------- givens

    def ok(self, r: Response, status: int = 200) -> dict[str, Any]:
        assert r.status_code == status, r.text
        body: dict[str, Any] = r.json()
        assert r.headers["etag"] == etag(body["version"])
        return body

    def given_ticket(
        self, status: str = "registered", *, assignee: str = "eng-wang", **overrides: Any
    ) -> dict[str, Any]:
        """A ticket driven along the ordinary path to ``status``; returns its view."""
        classified = status not in ("registered", "invalid")
        t = self.ok(self.register(**{**(CLASSIFICATION if classified else {}), **overrides}), 201)
        for name, payload in path_to(status, assignee):
            t = self.ok(self.command(t["id"], name, payload))
        assert t["status"] == status, t
        return t


def path_to(status: str, assignee: str = "eng-wang") -> list[tuple[str, dict[str, Any]]]:
    """The commands that take a just-registered ticket to ``status``."""
    assign = ("assign", {"assignee": assignee})
    start = ("start", {})
    resolve = ("resolve", {"resolution": PRECISE, "root_cause": "会话表已满"})
    return {
        "registered": [],
        "classified": [],
        "invalid": [("invalidate", {"reason": "重复报障"})],
        "assigned": [assign],
        "in_progress": [assign, start],
        "waiting_customer": [assign, start, ("await_customer", {"reason": "等待客户提供日志"})],
        "resolved": [assign, start, resolve],
        "closed": [assign, start, resolve, ("confirm", confirm_body())],
    }[status]


def confirm_body(passed: bool = True, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "signer": "王经理",
        "items": ["ERP 登录恢复"],
        "criteria": ["全部用户可登录"],
        "passed": passed,
    }
    body.update(overrides)
    return body


def run_concurrently(n: int, work: Callable[[int], Response]) -> list[Response]:
    """``work(i)`` in ``n`` threads released together; every response, in thread order."""
    return released_together(n, work, what="a request")


# ------------------------------------------------------------------ fixtures


@pytest.fixture(params=STORES)
def http_store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def http_postgres_template(postgres_server: str) -> Iterator[str]:
    """A database with the store's schema as ``build`` leaves it on a new database (its tables,
    functions and the read models' tracking rows; no events), made once per session: copying it
    (``CREATE DATABASE … TEMPLATE``) took ~50 ms where a new database and its schema took
    ~700 ms (~160 + ~550) a test."""
    name = unique_database_name("http_template")
    build(Settings(database_url=create_database(postgres_server, name),
                   sla_watch_seconds=0)).close()
    yield name
    drop_database(postgres_server, name)


@pytest.fixture
def http_database_url(http_store: str, tmp_path: Path,
                      request: pytest.FixtureRequest) -> Iterator[str]:
    if http_store == "memory":
        yield "memory://"
    elif http_store == "sqlite":
        yield f"sqlite:///{tmp_path}/o.sqlite3"
    elif http_store == "postgres":
        # Only PostgreSQL tests ask for the server, and a database of their own: a copy of the
        # session's template (the state a new database has after ``build``).
        server = str(request.getfixturevalue("postgres_server"))
        template = str(request.getfixturevalue("http_postgres_template"))
        name = unique_database_name(request.node.name)
        url = create_database(server, name, template=template)
        yield url
        drop_database(server, name)
    else:
        raise ValueError(http_store)


@pytest.fixture
def http_clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def make_api(http_database_url: str, http_clock: FixedClock) -> Iterator[Callable[..., Api]]:
    opened: list[tuple[Services, TestClient[Any]]] = []

    def make(**settings: Any) -> Api:
        # The SLA watcher thread stays off unless a test asks for it: tests tick it by hand.
        settings.setdefault("sla_watch_seconds", 0)
        # No rate limit either (ADR 0037): in-process clients send hundreds of requests a
        # second with one token; the limit's own tests set ``rate_limit``.
        settings.setdefault("rate_limit", "off")
        # Console passwords at argon2id's test cost (ADR 0078): ~1 ms a hash instead of ~30.
        settings.setdefault("password_cost", "test")
        services = build(Settings(database_url=http_database_url, **settings), clock=http_clock)
        client = TestClient(create_app(services))
        opened.append((services, client))
        client.__enter__()
        return Api(client=client, services=services, clock=http_clock)

    yield make
    for services, client in reversed(opened):
        try:
            client.__exit__(None, None, None)
        finally:
            services.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture
def client(api: Api) -> TestClient[Any]:
    return api.client
