"""Idempotency-Key and the admin bearer token over HTTP (API.md, Conventions)."""

from __future__ import annotations

import pytest

from tests.fixtures_http import ALL_STORES, API, DAY, Api, assert_problem, etag, ticket_body

# ------------------------------------------------------------- idempotency


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_repeated_registration_returns_the_first_answer_and_records_nothing(api: Api):
    # given a registration sent with an Idempotency-Key
    key = {"Idempotency-Key": "call-20261121-0001"}
    first = api.register(headers=key)
    assert first.status_code == 201, first.text
    before = api.events()

    # when the client repeats it (say after a timeout)
    api.clock.advance(minutes=1)
    again = api.register(headers=key)

    # then the same answer: same status code, ticket, number, headers
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.json()["number"] == f"SR-{DAY}-001"
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    # and nothing new in the log
    assert api.events() == before
    # the same body with its fields in another order is the same request
    reordered = dict(reversed(list(ticket_body().items())))
    r = api.client.post(f"{API}/tickets", json=reordered, headers=key)
    assert (r.status_code, r.json()) == (201, first.json())
    assert api.events() == before
    # while a new key is a new ticket
    other = api.register(headers={"Idempotency-Key": "call-20261121-0002"})
    assert other.json()["number"] == f"SR-{DAY}-002"


def test_the_same_key_with_a_different_body_is_a_422(api: Api):
    key = {"Idempotency-Key": "k-1"}
    first = api.ok(api.register(headers=key), 201)
    head = api.events()["head"]
    body = assert_problem(api.register(headers=key, title="另一个问题"), 422,
                          field="Idempotency-Key")
    assert "k-1" in body["detail"]
    assert api.events()["head"] == head
    # the same key on another command path is a different request, too
    assert_problem(api.command(first["id"], "invalidate", {"reason": "重复"}, headers=key), 422,
                   field="Idempotency-Key")
    assert api.view(first["id"])["status"] == "registered"


def test_a_repeated_command_returns_the_first_answer(api: Api):
    t = api.given_ticket("in_progress")
    key = {"Idempotency-Key": "work-1"}
    body = {"action": "重启应用服务器", "hours": 1.5}
    first = api.command(t["id"], "log_work", body, headers=key)
    assert first.status_code == 200, first.text
    head = api.events()["head"]
    api.clock.advance(minutes=10)
    # the ticket moves on in between
    api.ok(api.command(t["id"], "log_work", {"action": "查日志", "hours": 1}))
    again = api.command(t["id"], "log_work", body, headers=key)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()  # the view as the first answer gave it
    assert again.headers["etag"] == etag(first.json()["version"])
    assert len(api.view(t["id"])["work_log"]) == 2
    assert api.events()["head"] == head + 1  # only the other log_work was recorded


@pytest.mark.parametrize("key", ["", "   ", "k" * 201])
def test_a_bad_idempotency_key_is_a_400(api: Api, key):
    assert_problem(api.register(headers={"Idempotency-Key": key}), 400, field="Idempotency-Key")


def test_a_refused_command_does_not_use_up_its_key(api: Api):
    t = api.given_ticket("assigned")
    key = {"Idempotency-Key": "resolve-1"}
    body = {"resolution": "done", "root_cause": "x"}
    assert_problem(api.command(t["id"], "resolve", body, headers=key), 422, field="resolution")
    assert_problem(api.command(t["id"], "resolve", body, headers=key), 422, field="resolution")


# -------------------------------------------------------------------- auth


@pytest.fixture
def secured(make_api) -> Api:
    return make_api(admin_token="s3cret")


@pytest.mark.parametrize("http_store", ["memory"])  # the middleware answers before any store
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", "Basic czNjcmV0", "s3cret", "Bearer s3cret2",
     "Bearer S3CRET"],
)
def test_without_a_valid_bearer_token_it_is_a_401(secured: Api, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    c = secured.client
    for r in (
        c.get(f"{API}/tickets", headers=headers),
        c.post(f"{API}/tickets", json=ticket_body(), headers=headers),
        c.get(f"{API}/queues/mine", headers=headers),
        c.get(f"{API}/audit/events", headers=headers),
        c.get(f"{API}/tickets/SR-{DAY}-001", headers=headers),
    ):
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].lower().startswith("bearer")
    admin = {"Authorization": "Bearer s3cret"}  # /healthz tells staff the head (ADR 0045)
    assert c.get("/healthz", headers=admin).json()["head"] == 0  # nothing was recorded


def test_with_the_admin_token_it_works(secured: Api):
    auth = {"Authorization": "Bearer s3cret"}
    c = secured.client
    r = c.post(f"{API}/tickets", json=ticket_body(), headers=auth)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["registered_by"] == "admin"
    assert c.get(f"{API}/tickets/{t['id']}", headers=auth).status_code == 200
    assert c.get(f"{API}/tickets", headers=auth).status_code == 200
    assert c.get(f"{API}/tickets", headers={"Authorization": "bearer s3cret"}).status_code == 200
    r = c.post(f"{API}/tickets/{t['id']}/invalidate", json={"reason": "重复"}, headers=auth)
    assert r.status_code == 200, r.text
    # the actor header does not override the token's identity
    r = c.post(f"{API}/tickets", json=ticket_body(),
               headers={**auth, "X-Opsledger-Actor": "someone-else"})
    assert r.json()["registered_by"] == "admin"


def test_health_and_docs_are_open_without_a_token(secured: Api):
    c = secured.client
    r = c.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert c.get("/schema/openapi.json").status_code == 200
    assert c.get("/docs").status_code == 200


def test_without_a_configured_token_the_actor_header_names_the_caller(api: Api):
    t = api.ok(api.register(headers={"X-Opsledger-Actor": "agent-zhang"}), 201)
    assert t["registered_by"] == "agent-zhang"
    assert api.history(t["id"])[0]["actor"] == "agent-zhang"
    assert api.ok(api.register(), 201)["registered_by"] == "anonymous"
