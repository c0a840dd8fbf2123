"""Smaller things users expect (issue 16, item 8; ADR 0045):

(a) ``/sla/compliance`` without a period is the current month in the service's zone;
(b) the API reference pages need no internet (no script or style from a CDN);
(c) ``/healthz`` says only up or down unless staff ask;
(d) a body is read as JSON only when it says so (``text/plain``, a form, no type: 415);
(e) an unknown ``assignee`` is a 422 once the store has users;
(f) an unknown query parameter is a 400 naming it (and an integer one takes ASCII digits).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fixtures_http import (
    ALL_STORES, API, PROBLEM, Api, assert_problem, ticket_body,
)

ADMIN_TOKEN = "s3cret"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MEMORY_ONLY = pytest.mark.parametrize("http_store", ["memory"])


def _user(api: Api, user: str, roles: list[str], **more: Any) -> dict[str, str]:
    """Registers ``user`` and returns the headers of a fresh token of theirs."""
    r = api.client.post(f"{API}/users", json={"id": user, "name": user, "roles": roles, **more},
                        headers=ADMIN)
    assert r.status_code == 201, r.text
    r = api.client.post(f"{API}/users/{user}/tokens", json={}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


# ------------------------------------------------------------ (a) compliance: this month


@MEMORY_ONLY
def test_compliance_without_a_period_is_the_current_month(api: Api):
    # the fixture's clock: 2026-11-20T17:00Z, in Asia/Shanghai 2026-11-21 01:00
    api.given_ticket("classified")
    r = api.client.get(f"{API}/sla/compliance")
    assert r.status_code == 200, r.text
    body = r.json()
    assert datetime.fromisoformat(body["period_start"]) == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert datetime.fromisoformat(body["period_end"]) == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert body["total"]["tickets"] == 1
    same = api.client.get(f"{API}/sla/compliance", params={"from": "2026-11-01",
                                                           "to": "2026-11-30"}).json()
    assert same["total"] == body["total"]


@MEMORY_ONLY
def test_the_current_month_is_the_month_in_the_service_zone(api: Api):
    api.clock.set(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))  # 2026-12-01 00:30 in Shanghai
    body = api.client.get(f"{API}/sla/compliance").json()
    assert datetime.fromisoformat(body["period_start"]) == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert datetime.fromisoformat(body["period_end"]) == datetime(2026, 12, 31, 16, tzinfo=UTC)


@MEMORY_ONLY
def test_compliance_with_half_a_period_names_the_missing_half(read_only_store_api: Api):
    api = read_only_store_api  # records nothing: one app per module and store
    assert_problem(api.client.get(f"{API}/sla/compliance?from=2026-11-01"), 400, field="to")
    assert_problem(api.client.get(f"{API}/sla/compliance?to=2026-11-30"), 400, field="from")


# ------------------------------------------------------------ (b) docs without internet

_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@MEMORY_ONLY
@pytest.mark.parametrize("path", ["/schema", "/schema/redoc", "/docs"])
def test_the_docs_pages_load_nothing_from_the_internet(read_only_store_api: Api, path: str):
    api = read_only_store_api  # records nothing: one app per module and store
    r = api.client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert not _EXTERNAL.search(page), _EXTERNAL.search(page)
    assert "/api/v1/tickets" in page and "/schema/openapi.json" in page


@MEMORY_ONLY
def test_the_openapi_document_is_still_served(read_only_store_api: Api):
    api = read_only_store_api  # records nothing: one app per module and store
    r = api.client.get("/schema/openapi.json")
    assert r.status_code == 200 and "paths" in r.json()


# ------------------------------------------------------------ (c) a quiet health probe


@MEMORY_ONLY
def test_healthz_says_only_up_or_down_unless_staff_ask(make_api: Callable[..., Api]):
    api = make_api(admin_token=ADMIN_TOKEN)
    requester = _user(api, "li", ["requester"], customer="客户A")
    auditor = _user(api, "audit-zhao", ["auditor"])
    for headers in ({}, requester, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": "Basic eDp5"}):
        r = api.client.get("/healthz", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ok"}, headers
    for headers in (ADMIN, auditor):
        body = api.client.get("/healthz", headers=headers).json()
        assert body["status"] == "ok" and body["store"] == "memory"
        assert body["head"] >= 1 and {"projections", "sla_watch", "notifications"} <= set(body)


@MEMORY_ONLY
def test_healthz_on_an_open_development_store_shows_everything(read_only_store_api: Api):
    api = read_only_store_api  # records nothing: one app per module and store
    # no admin token and no users: every caller is the admin there (ADR 0036)
    body = api.client.get("/healthz").json()
    assert body["status"] == "ok" and "projections" in body


# ------------------------------------------------------------ (d) JSON only when labelled


@MEMORY_ONLY
@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8",
                                          "application/x-www-form-urlencoded", None])
def test_a_json_body_not_labelled_json_is_a_415(api: Api, content_type: str | None):
    headers = {"content-type": content_type} if content_type else {}
    t = api.given_ticket("assigned")
    recorded = api.events()["head"]
    body = json.dumps(ticket_body()).encode()
    r = api.client.post(f"{API}/tickets", content=body, headers=headers)
    problem = assert_problem(r, 415, field="Content-Type")
    assert "application/json" in problem["detail"]
    r = api.client.post(f"{API}/tickets/{t['id']}/start", content=b"{}", headers=headers)
    assert_problem(r, 415, field="Content-Type")
    assert api.view(t["id"])["status"] == "assigned"
    assert api.events()["head"] == recorded  # nothing recorded


@MEMORY_ONLY
def test_a_command_without_a_body_needs_no_content_type(api: Api):
    t = api.given_ticket("assigned")
    r = api.client.post(f"{API}/tickets/{t['id']}/start")
    assert r.status_code == 200, r.text


# ------------------------------------------------------------ (e) assignees are users


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_an_unknown_assignee_is_a_422_once_users_exist(make_api: Callable[..., Api]):
    api = make_api(admin_token=ADMIN_TOKEN)
    api.client.headers.update(ADMIN)
    _user(api, "eng-li", ["engineer"])
    t = api.given_ticket("classified", assignee="eng-li")
    r = api.command(t["id"], "assign", {"assignee": "eng-nobody"})
    assert_problem(r, 422, field="assignee", detail_has="eng-nobody")
    assert api.view(t["id"])["version"] == t["version"]  # nothing recorded
    assert api.ok(api.command(t["id"], "assign", {"assignee": "eng-li"}))["assignee"] == "eng-li"
    assert api.ok(api.command(t["id"], "assign", {"group": "ops"}))["group"] == "ops"
    # a state that forbids the command answers first
    closed = api.given_ticket("closed", assignee="eng-li")
    assert_problem(api.command(closed["id"], "assign", {"assignee": "eng-nobody"}), 409)


@MEMORY_ONLY
def test_an_open_development_store_takes_any_assignee(api: Api):
    t = api.given_ticket("classified")
    assert api.ok(api.command(t["id"], "assign", {"assignee": "whoever"}))["assignee"] == "whoever"


# ------------------------------------------------------------ (f) unknown query parameters

LISTS = ["tickets", "queues/unassigned", "queues/by-assignee/eng-wang", "problems", "changes",
         "knowledge", "projects", "users", "customers", "calendars", "sla-policies",
         "standard-changes", "audit/events", "sla/compliance", "changes/calendar"]


@pytest.mark.parametrize("http_store", ALL_STORES)
@pytest.mark.parametrize("path", LISTS)
def test_an_unknown_query_parameter_is_a_400_naming_it(read_only_store_api: Api, path: str):
    r = read_only_store_api.client.get(f"{API}/{path}?statuss=open&bogus=1")
    problem = assert_problem(r, 400, field="statuss")
    assert sorted(e["field"] for e in problem["errors"]) == ["bogus", "statuss"]
    assert "statuss" in problem["detail"] and "bogus" in problem["detail"]


@MEMORY_ONLY
def test_known_query_parameters_still_work(api: Api):
    t = api.given_ticket()
    for path in ("tickets?status=registered&limit=5",
                 f"tickets/{t['id']}?as_of=2026-11-21T02:00:00%2B08:00",
                 "audit/events?after=0&limit=10", "audit/verify?from=1", "knowledge?q=ERP&limit=2"):
        r = api.client.get(f"{API}/{path}")
        assert r.status_code == 200, (path, r.text)
    r = api.client.get(f"{API}/tickets/{t['id']}?as_oof=2026-11-21")
    assert_problem(r, 400, field="as_oof")


@MEMORY_ONLY
@pytest.mark.parametrize("value", ["1e2", "%EF%BC%95", "5.0", "%2B5"])
def test_an_integer_query_parameter_takes_ascii_digits_only(read_only_store_api: Api, value: str):
    api = read_only_store_api  # records nothing: one app per module and store
    assert_problem(api.client.get(f"{API}/tickets?limit={value}"), 400, field="limit")
    assert_problem(api.client.get(f"{API}/audit/events?after={value}"), 400, field="after")


@MEMORY_ONLY
def test_the_problem_of_an_unknown_parameter_is_json(read_only_store_api: Api):
    api = read_only_store_api  # records nothing: one app per module and store
    r = api.client.get(f"{API}/tickets?x=1")
    assert r.headers["content-type"].startswith(PROBLEM)
