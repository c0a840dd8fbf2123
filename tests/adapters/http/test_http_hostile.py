"""Hostile input (issue 7, ADR 0037): whatever a client sends is a 4xx problem+json naming
the field, never a 500, and nothing is recorded. Also the per-token rate limit (429).

The plain shape checks of every body live in test_http_errors.py; this module covers what an
attacker sends: control characters, lone surrogates, invalid UTF-8, deep nesting, absurd
times and numbers, wrong media types, chunked bodies over the limit, overlong path ids and
query values, and floods.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.settings import Settings, SettingsError
from tests.fixtures_http import ALL_STORES, API, Api, assert_problem, ticket_body

MEMORY_ONLY = pytest.mark.parametrize("http_store", ["memory"])
JSON = {"content-type": "application/json"}


def _raw(api: Api, path: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"{API}/{path}", content=body, headers=headers or JSON)


# ------------------------------------------------------------ text fields

CONTROL_IN_BODIES = {
    # short fields (names, ids, titles): no control character at all
    "CR in a title": ("tickets", ticket_body(title="登录\r失败"), "title"),
    "newline in a title": ("tickets", ticket_body(title="登录\n失败"), "title"),
    "tab in a customer": ("tickets", ticket_body(customer="客户\tA"), "customer"),
    "C1 control in a title": ("tickets", ticket_body(title="登录\x85失败"), "title"),
    "DEL in a category": ("tickets", ticket_body(category="soft\x7fware"), "category"),
    "line separator in a contact": ("tickets", ticket_body(contact={"name": "李\u2028四"}),
                                    "contact.name"),
    "NUL in a problem title": ("problems", {"title": "a\x00", "description": "d"}, "title"),
    "newline in a change origin": ("changes", {"kind": "normal", "origin": "x\ny", "title": "t"},
                                   "origin"),
    "escape in a knowledge tag": ("knowledge", {"title": "t", "symptoms": "s",
                                                "tags": ["a\x1b[31m"]}, "tags[0]"),
    "NUL in a customer id": ("customers", {"id": "c\x00", "name": "C"}, "id"),
    # free text: tab and newline are fine, other controls are not
    "NUL in a description": ("tickets", ticket_body(description="日志\x00"), "description"),
    "CR in a description": ("tickets", ticket_body(description="a\r\nb"), "description"),
    "bell in a problem description": ("problems", {"title": "t", "description": "\x07"},
                                      "description"),
}


@MEMORY_ONLY
@pytest.mark.parametrize(("path", "body", "field"), CONTROL_IN_BODIES.values(),
                         ids=CONTROL_IN_BODIES)
def test_control_characters_are_refused_naming_the_field(read_only_store_api: Api,
                                                         path, body, field):
    api = read_only_store_api  # refused, records nothing: one app per module and store
    problem = assert_problem(api.client.post(f"{API}/{path}", json=body), 400, field=field)
    assert "control characters" in problem["detail"]
    assert api.events()["items"] == []


@MEMORY_ONLY
def test_tab_and_newline_are_kept_in_free_text(api: Api):
    t = api.ok(api.register(description="第一行\n\t第二行"), 201)
    assert t["description"] == "第一行\n\t第二行"


@MEMORY_ONLY
@pytest.mark.parametrize(("body", "detail"), [
    (b'{"customer": "\\ud800"}', None),  # a lone surrogate is not text
    (b'{"customer": "\xff\xfe"}', "not valid UTF-8"),
    (b'{"customer": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    (b"[" * 100_000, None),
    (b'{"customer": NaN}', None),
    (b"\xef\xbb\xbf{}", None),  # a byte order mark
])
def test_undecodable_bodies_are_400(api: Api, body: bytes, detail: str | None):
    problem = assert_problem(_raw(api, "tickets", body), 400, field="body")
    assert detail is None or detail in problem["detail"]
    assert api.events()["items"] == []


# ------------------------------------------------------------ times and numbers


@MEMORY_ONLY
@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                  "1969-12-31T23:59:59Z", "2300-01-01T00:00:00+08:00"])
def test_absurd_times_are_400(api: Api, when: str):
    assert_problem(api.register(reported_at=when), 400, field="reported_at")
    t = api.given_ticket("in_progress")
    body = {"action": "重启", "hours": 1, "performed_at": when}
    assert_problem(api.command(t["id"], "log_work", body), 400, field="performed_at")
    plan = {"schedule": {"start": when}}
    change = api.client.post(f"{API}/changes", json={"kind": "normal", "origin": t["id"],
                                                      "title": "扩容"})
    assert change.status_code == 201, change.text
    r = api.client.post(f"{API}/changes/{change.json()['id']}/plan", json=plan)
    assert_problem(r, 400, field="schedule.start")


@MEMORY_ONLY
@pytest.mark.parametrize(("hours", "field"), [(-1, "hours"), (1e9, "hours"), (1e400, "body")])
def test_absurd_hours_are_400(api: Api, hours: float, field: str):
    t = api.given_ticket("in_progress")
    body = b'{"action": "a", "hours": %s}' % repr(hours).encode().replace(b"inf", b"1e400")
    assert_problem(_raw(api, f"tickets/{t['id']}/log_work", body), 400, field=field)


@MEMORY_ONLY
@pytest.mark.parametrize("budget", [-5, 10**16, 1e300])
def test_absurd_budgets_are_400(api: Api, budget: float):
    t = api.given_ticket()
    change = api.client.post(f"{API}/changes", json={"kind": "normal", "origin": t["id"],
                                                      "title": "扩容"}).json()
    r = api.client.post(f"{API}/changes/{change['id']}/plan", json={"budget": budget})
    assert_problem(r, 400, field="budget")


@pytest.mark.parametrize("query", ["from=0001-01-01&to=9999-12-31",
                                   "from=9999-12-31&to=9999-12-31"])
def test_absurd_query_periods_are_400(read_only_api: Api, query: str):
    assert_problem(read_only_api.client.get(f"{API}/sla/compliance?{query}"), 400)
    assert_problem(read_only_api.client.get(f"{API}/changes/calendar?{query}"), 400)


# ------------------------------------------------------------ media types and sizes


@MEMORY_ONLY
@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "application/xml",
                                          "image/png"])
def test_a_body_in_another_format_is_a_415(api: Api, content_type: str):
    body = ticket_body()
    r = api.client.post(f"{API}/tickets", content=json.dumps(body).encode(),
                        headers={"content-type": content_type})
    assert_problem(r, 415, field="Content-Type")
    assert api.events()["items"] == []


@MEMORY_ONLY
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_not_labelled_json_is_a_415_even_when_it_is_json(
        api: Api, content_type: str | None):
    # e.g. curl -d '{...}' without -H 'content-type: application/json' (ADR 0045)
    headers = {"content-type": content_type} if content_type else {}
    r = api.client.post(f"{API}/tickets", content=json.dumps(ticket_body()).encode(), headers=headers)
    assert_problem(r, 415, field="Content-Type")
    r = api.client.post(f"{API}/tickets", content=b"customer=a&title=b", headers=headers)
    assert_problem(r, 415, field="Content-Type")
    assert api.events()["items"] == []


@MEMORY_ONLY
@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8",
                                          "Application/JSON", "application/merge-patch+json"])
def test_json_media_types_are_accepted(api: Api, content_type: str):
    r = api.client.post(f"{API}/tickets", content=json.dumps(ticket_body()).encode(),
                        headers={"content-type": content_type})
    assert r.status_code == 201, r.text


@MEMORY_ONLY
def test_a_chunked_body_over_one_mib_is_a_413(api: Api):
    def chunks() -> Iterator[bytes]:
        yield b'{"customer": "'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"}'

    r = api.client.post(f"{API}/tickets", content=chunks(), headers=JSON)
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in r.request.headers
    assert_problem(r, 413)
    assert api.events()["items"] == []


# ------------------------------------------------------------ path ids and queries

COLLECTIONS = ["tickets", "problems", "changes", "projects", "knowledge"]


@pytest.mark.parametrize("http_store", ALL_STORES)
@pytest.mark.parametrize("collection", COLLECTIONS)
def test_overlong_or_control_path_ids_are_400_naming_them(read_only_store_api: Api,
                                                          collection: str):
    api = read_only_store_api  # refused, records nothing: one app per module and store
    for ref in ("x" * 10_000, "a%00b", "%1b[2J", "%C2%85"):
        assert_problem(api.client.get(f"{API}/{collection}/{ref}"), 400, field="ref")
        assert_problem(api.client.get(f"{API}/{collection}/{ref}/history"), 400, field="ref")
    # a plain unknown id is still a 404
    assert_problem(api.client.get(f"{API}/{collection}/SR-20261121-999"), 404)
    assert_problem(api.client.get(f"{API}/customers/%00"), 400, field="customer")


@pytest.mark.parametrize("http_store", ALL_STORES)
@pytest.mark.parametrize(("path", "param"), [
    ("tickets", "assignee"), ("tickets", "customer"), ("tickets", "group"),
    ("problems", "category"), ("changes", "system"), ("knowledge", "q"),
    ("projects", "customer"), ("audit/verify", "from"),
])
def test_control_characters_and_overlong_query_values_are_400(read_only_store_api: Api,
                                                              path: str, param: str):
    api = read_only_store_api  # refused, records nothing: one app per module and store
    assert_problem(api.client.get(f"{API}/{path}", params={param: "a\x00b"}), 400, field=param)
    assert_problem(api.client.get(f"{API}/{path}", params={param: "x" * 10_000}), 400,
                   field=param)


@MEMORY_ONLY
def test_a_query_that_is_not_utf8_is_400(read_only_store_api: Api):
    api = read_only_store_api  # refused, records nothing: one app per module and store
    assert_problem(api.client.get(f"{API}/tickets?assignee=%ff%fe"), 400, field="query")
    assert_problem(api.client.get(f"{API}/tickets?" + "a=1&" * 10_000), 400, field="query")


# ------------------------------------------------------------ rate limit

ADMIN = "s3cret"


def _get(api: Api, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.client.get(f"{API}/tickets", headers=headers)


def _tokens(api: Api, *users: str) -> list[str]:
    """A fresh API token for each of ``users`` (auditors: they may list tickets)."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    tokens = []
    for user in users:
        r = api.client.post(f"{API}/users", json={"id": user, "name": user, "roles": ["auditor"]},
                            headers=admin)
        assert r.status_code == 201, r.text
        r = api.client.post(f"{API}/users/{user}/tokens", json={}, headers=admin)
        assert r.status_code == 201, r.text
        tokens.append(r.json()["token"])
    return tokens


@MEMORY_ONLY
def test_requests_over_the_limit_are_429_per_token(make_api: Callable[..., Api]):
    api = make_api(admin_token=ADMIN, rate_limit="3/minute")
    a, b = _tokens(api, "audit-a", "audit-b")
    for _ in range(3):
        r = _get(api, a)
        assert r.status_code == 200, r.text
    assert r.headers["ratelimit-remaining"] == "0"
    problem = assert_problem(_get(api, a), 429)
    assert "3 requests per minute" in problem["detail"]
    assert 1 <= int(_get(api, a).headers["retry-after"]) <= 60
    assert _get(api, b).status_code == 200  # another token has its own budget
    # the operator's bootstrap token is never limited, nor is the health probe
    for _ in range(10):
        r = _get(api, ADMIN)
        assert r.status_code == 200, r.text
        assert "ratelimit-limit" not in r.headers
        assert api.client.get("/healthz").status_code == 200


@MEMORY_ONLY
def test_callers_of_an_open_development_store_are_not_limited(make_api: Callable[..., Api]):
    api = make_api(rate_limit="2/hour")  # no token at all: eight load clients share one address
    assert [_get(api).status_code for _ in range(5)] == [200] * 5


@MEMORY_ONLY
def test_the_limit_can_be_turned_off(make_api: Callable[..., Api]):
    api = make_api(rate_limit="off")
    for _ in range(150):
        assert _get(api).status_code == 200


def test_the_rate_limit_setting():
    assert Settings().rate_limit_rule == ("second", 100)
    assert Settings.from_env({"OPSLEDGER_RATE_LIMIT": "20/minute"}).rate_limit_rule == ("minute", 20)
    assert Settings.from_env({"OPSLEDGER_RATE_LIMIT": "OFF"}).rate_limit_rule is None
    for bad in ("100", "0/second", "ten/second", "5/fortnight", "-1/day"):
        with pytest.raises(SettingsError, match="OPSLEDGER_RATE_LIMIT"):
            Settings(rate_limit=bad)


@MEMORY_ONLY
@pytest.mark.parametrize("after", ["9421882539381877712617472", "-1"])
def test_a_log_position_beyond_64_bits_is_400(read_only_store_api: Api, after: str):
    api = read_only_store_api  # refused, records nothing: one app per module and store
    assert_problem(api.client.get(f"{API}/audit/events", params={"after": after}), 400, field="after")


@MEMORY_ONLY
def test_answers_refused_at_the_edge_carry_the_request_id(make_api: Callable[..., Api]):
    api = make_api(admin_token=ADMIN, rate_limit="1/minute")
    (token,) = _tokens(api, "audit-rid")
    given = {"X-Request-Id": "rid-from-the-caller"}
    for headers, status in (
        ({}, 401),  # no token
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": f"Bearer {token}"}, 200),
        ({"Authorization": f"Bearer {token}"}, 429),  # over its one request a minute
    ):
        r = api.client.get(f"{API}/tickets", headers={**headers, **given})
        assert r.status_code == status, r.text
        assert r.headers["x-request-id"] == "rid-from-the-caller"
        r = api.client.get(f"{API}/tickets", headers=headers)
        assert len(r.headers["x-request-id"]) == 32  # one of its own when none is given
    r = api.client.post(f"{API}/tickets", content=b"<ticket/>",
                        headers={"content-type": "application/xml", "Authorization": f"Bearer {ADMIN}",
                                 **given})
    assert_problem(r, 415, field="Content-Type")
    assert r.headers["x-request-id"] == "rid-from-the-caller"
