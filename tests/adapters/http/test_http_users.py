"""Users and API tokens over HTTP (API.md "Identities", ADR 0035), as the bootstrap admin
(``OPSLEDGER_ADMIN_TOKEN``) and as the users themselves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.fixtures_http import ALL_STORES, API, START, Api, assert_problem, etag

USERS = f"{API}/users"
ADMIN = {"Authorization": "Bearer s3cret"}
WANG = {"id": "eng-wang", "name": "王工", "roles": ["engineer"], "skills": ["oracle"],
        "groups": ["dba"]}
LI = {"id": "li", "name": "李四", "roles": ["requester"], "customer": "客户A"}


@pytest.fixture
def admin(make_api: Callable[..., Api]) -> Api:
    a = make_api(admin_token="s3cret")
    a.client.headers.update(ADMIN)
    return a


def post(api: Api, path: str, body: Any = None, **headers: str) -> Any:
    return api.client.post(f"{USERS}{path}", json=body if body is not None else {},
                           headers=headers or None)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_a_user_is_registered_once_read_and_listed(admin: Api):
    r = post(admin, "", WANG)
    u = admin.ok(r, 201)
    assert r.headers["location"] == f"{USERS}/eng-wang"
    assert {k: u[k] for k in ("id", "name", "roles", "customer", "skills", "groups", "active",
                              "version", "registered_by")} == {
        **{k: v for k, v in WANG.items()}, "customer": None, "active": True, "version": 1,
        "registered_by": "admin"}
    assert u["registered_at"] == "2026-11-20T17:00:00Z"
    assert admin.ok(post(admin, "", WANG))["version"] == 1  # the same again: 200, nothing new
    assert_problem(post(admin, "", {**WANG, "name": "王五"}), 409, detail_has="eng-wang")
    admin.ok(post(admin, "", LI), 201)
    listed = admin.client.get(USERS).json()
    assert listed["count"] == 2 and [i["id"] for i in listed["items"]] == ["eng-wang", "li"]
    assert [i["id"] for i in admin.client.get(USERS, params={"role": "requester"})
            .json()["items"]] == ["li"]
    assert admin.client.get(f"{API}/customers/客户A").status_code == 200  # first use
    got = admin.client.get(f"{USERS}/li")
    assert got.status_code == 200 and got.headers["etag"] == etag(1)
    assert got.json()["customer"] == "客户A"
    assert_problem(admin.client.get(f"{USERS}/nobody"), 404)
    assert_problem(admin.client.get(USERS, params={"role": "boss"}), 400, field="role")


@pytest.mark.parametrize(("body", "status", "field"), [
    ({**LI, "customer": None}, 422, "customer"),
    ({**WANG, "customer": "客户A"}, 422, "customer"),
    ({**LI, "roles": ["requester", "engineer"]}, 422, "roles"),
    ({**WANG, "roles": ["boss"]}, 422, "roles"),
    ({**WANG, "roles": []}, 422, "roles"),
    ({**WANG, "id": "a\u0001b"}, 400, "id"),
    ({**WANG, "name": ""}, 400, "name"),
    ({**WANG, "roles": "engineer"}, 400, "roles"),
    ({**WANG, "password": "x"}, 400, "password"),
    ({k: v for k, v in WANG.items() if k != "name"}, 400, "name"),
])
def test_bad_registrations_name_the_field(admin: Api, body: dict[str, Any], status: int,
                                          field: str):
    assert_problem(post(admin, "", body), status, field=field)
    assert admin.client.get(USERS).json()["count"] == 0


def test_update_deactivate_reactivate_answer_the_view_with_etag(admin: Api):
    admin.ok(post(admin, "", WANG), 201)
    admin.clock.advance(minutes=1)
    u = admin.ok(post(admin, "/eng-wang/update", {"roles": ["engineer", "manager"]},
                      **{"If-Match": etag(1)}))
    assert (u["roles"], u["skills"], u["version"]) == (["engineer", "manager"], ["oracle"], 2)
    assert_problem(post(admin, "/eng-wang/update", {"name": "x"}, **{"If-Match": etag(1)}), 412)
    assert_problem(post(admin, "/eng-wang/update", {"customer": "客户A"}), 422,
                   field="customer")
    assert admin.ok(post(admin, "/eng-wang/deactivate", {"reason": "left"}))["active"] is False
    assert_problem(post(admin, "/eng-wang/deactivate"), 409, detail_has="inactive")
    assert admin.ok(post(admin, "/eng-wang/reactivate"))["active"] is True
    assert_problem(post(admin, "/nobody/deactivate"), 404)
    history = admin.client.get(f"{USERS}/eng-wang/history").json()
    assert [(h["type"], h["actor"]) for h in history] == [
        ("Registered", "admin"), ("Updated", "admin"), ("Deactivated", "admin"),
        ("Reactivated", "admin")]
    was = admin.client.get(f"{USERS}/eng-wang", params={"as_of": START.isoformat()}).json()
    assert (was["roles"], was["version"]) == (["engineer"], 1)


def test_an_idempotency_key_replays_a_registration(admin: Api):
    first = post(admin, "", WANG, **{"Idempotency-Key": "u-1"})
    again = post(admin, "", WANG, **{"Idempotency-Key": "u-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert_problem(post(admin, "", LI, **{"Idempotency-Key": "u-1"}), 422)


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_a_token_is_shown_once_listed_without_secrets_and_revoked(admin: Api):
    admin.ok(post(admin, "", WANG), 201)
    with capture_logs() as logs:
        r = post(admin, "/eng-wang/tokens", {"label": "laptop"})
    assert r.status_code == 201, r.text
    issued = r.json()
    token, token_id = issued["token"], issued["token_id"]
    assert set(issued) >= {"token_id", "token", "expires_at"} and token.startswith("olt_")
    assert issued["expires_at"] == "2027-02-18T17:00:00Z"  # 90 days
    assert r.headers["location"] == f"{USERS}/eng-wang/tokens/{token_id}"
    assert token not in repr(logs) and token.split("_", 3)[3] not in repr(logs)

    me = admin.client.get(f"{API}/me", headers=bearer(token)).json()
    assert (me["id"], me["roles"], me["token_id"], me["user"]["skills"]) == (
        "eng-wang", ["engineer"], token_id, ["oracle"])
    listed = admin.client.get(f"{USERS}/eng-wang/tokens")
    [item] = listed.json()["items"]
    assert (item["token_id"], item["label"], item["active"], item["revoked"]) == (
        token_id, "laptop", True, False)
    one = admin.client.get(f"{USERS}/eng-wang/tokens/{token_id}")
    for text in (listed.text, one.text):
        assert token.split("_", 3)[3] not in text and "digest" not in text
        assert "token\"" not in text.replace("token_id\"", "")

    revoked = post(admin, f"/eng-wang/tokens/{token_id}/revoke")
    assert revoked.status_code == 200 and revoked.headers["etag"] == etag(3)
    assert (revoked.json()["revoked"], revoked.json()["revoked_by"]) == (True, "admin")
    assert_problem(admin.client.get(f"{API}/me", headers=bearer(token)), 401)
    assert_problem(post(admin, f"/eng-wang/tokens/{token_id}/revoke"), 409)
    assert_problem(post(admin, "/eng-wang/tokens/0123456789abcdef/revoke"), 404)
    assert_problem(admin.client.get(f"{USERS}/eng-wang/tokens/0123456789abcdef"), 404)


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"expires_at": "2026-11-20T16:00:00Z"}, 422, "expires_at"),
    ({"expires_at": "2029-11-20T16:00:00Z"}, 422, "expires_at"),
    ({"expires_at": "2027-01-01T00:00:00"}, 400, "expires_at"),
    ({"expires_at": "soon"}, 400, "expires_at"),
    ({"label": "x" * 101}, 400, "label"),
    ({"secret": "mine"}, 400, "secret"),
])
def test_bad_token_requests_name_the_field(admin: Api, body: dict[str, Any], status: int,
                                           field: str):
    admin.ok(post(admin, "", WANG), 201)
    assert_problem(post(admin, "/eng-wang/tokens", body), status, field=field)
    assert admin.client.get(f"{USERS}/eng-wang/tokens").json()["count"] == 0


def test_a_token_expires_with_the_clock_and_dies_with_its_user(admin: Api):
    admin.ok(post(admin, "", LI), 201)
    expires = (START + timedelta(days=1)).isoformat()
    token = post(admin, "/li/tokens", {"expires_at": expires}).json()["token"]
    me = admin.client.get(f"{API}/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["customer"] == "客户A"
    admin.clock.advance(days=1)
    assert_problem(admin.client.get(f"{API}/me", headers=bearer(token)), 401)
    [item] = admin.client.get(f"{USERS}/li/tokens").json()["items"]
    assert (item["expired"], item["active"]) == (True, False)
    fresh = post(admin, "/li/tokens").json()["token"]
    assert admin.client.get(f"{API}/me", headers=bearer(fresh)).status_code == 200
    admin.ok(post(admin, "/li/deactivate"))
    assert_problem(admin.client.get(f"{API}/me", headers=bearer(fresh)), 401)
    assert_problem(post(admin, "/li/tokens"), 409)


def test_me_as_the_bootstrap_admin_has_no_user(admin: Api):
    me = admin.client.get(f"{API}/me").json()
    assert (me["id"], me["roles"], me["user"]) == ("admin", ["admin"], None)
