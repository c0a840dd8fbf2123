"""The service catalogue over HTTP (issue 21 item 1, ADR 0061), the black-box contract:
``PUT /catalogue/{service_id}`` (201, then 200; versioned, readable ``?as_of=``), a request
through it (``POST /tickets {…, service_id, form}``: 422 naming the form's field, 201
``awaiting_approval`` when the service needs an approval, no SLA clock until then),
``approve`` (the clocks start at the approval, not the registration) and ``reject``, with
their gates (409 on a ticket not awaiting approval, 403 for the wrong role).

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, Api, assert_problem, ticket_body, user_token

VPN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["hostname", "days"],
    "properties": {
        "hostname": {"type": "string", "pattern": "^[a-z0-9.-]+$"},
        "days": {"type": "integer", "minimum": 1, "maximum": 90},
        "email": {"type": "string", "format": "email"},
    },
    "additionalProperties": False,
}


@pytest.fixture
def http_store() -> str:
    """In memory, but where a store's own code is read (the list and search views, the
    versions ``as_of``): those tests name every store."""
    return "memory"


def service(**over: Any) -> dict[str, Any]:
    return {"name": "VPN 开通", "class": "responsive", "form_schema": VPN_SCHEMA,
            "approval": "manager", "sla_policy": "default", **over}


def put(api: Api, slug: str = "vpn-access", headers: dict[str, str] | None = None,
        **over: Any) -> Any:
    return api.client.put(f"{API}/catalogue/{slug}", json=service(**over), headers=headers)


def request(api: Api, form: Any, slug: str = "vpn-access", **over: Any) -> Any:
    return api.register(service_id=slug, form=form, **over)


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_service_is_defined_201_then_redefined_200_and_read_as_of(api: Api) -> None:
    first = put(api)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["id"], body["class"], body["approval"], body["version"]) == (
        "vpn-access", "responsive", "manager", 1)
    assert body["form_schema"] == VPN_SCHEMA
    assert put(api).status_code == 200  # the same body: nothing recorded
    assert api.client.get(f"{API}/catalogue/vpn-access").json()["version"] == 1
    before = api.clock.now()
    api.clock.advance(minutes=5)
    second = put(api, approval="customer")
    assert second.status_code == 200 and second.json()["version"] == 2
    listed = api.client.get(f"{API}/catalogue").json()
    assert [(s["id"], s["approval"]) for s in listed["items"]] == [("vpn-access", "customer")]
    old = api.client.get(f"{API}/catalogue/vpn-access",
                         params={"as_of": before.isoformat()}).json()
    assert (old["approval"], old["version"]) == ("manager", 1)
    assert_problem(api.client.get(f"{API}/catalogue/nothing-here"), 404)
    both = put(api, slug="vpn-2", name={"zh": "VPN 开通", "en": "VPN access"}).json()
    assert (both["name"], both["name_en"]) == ("VPN 开通", "VPN access")


def test_a_bad_definition_is_refused_naming_the_field(api: Api) -> None:
    assert_problem(put(api, form_schema={"type": "object", "properties": {"a": {"type": 5}}}),
                   422, field="form_schema.properties.a.type")
    assert_problem(put(api, form_schema={"type": "string"}), 422, field="form_schema.type")
    assert_problem(put(api, sla_policy="no-such-policy"), 422, field="sla_policy")
    assert_problem(put(api, approval="sometimes"), 400, field="approval")
    assert_problem(put(api, **{"class": "other"}), 400, field="class")
    assert_problem(put(api, slug="Bad Slug"), 400)


def test_a_form_that_does_not_validate_is_a_422_naming_the_form_field(api: Api) -> None:
    put(api)
    assert_problem(request(api, {"days": 3}), 422, field="form.hostname")
    body = assert_problem(request(api, {"hostname": "Bad Host!", "days": 300}), 422,
                          field="form.hostname")
    assert "form.days" in [e["field"] for e in body["errors"]]
    assert_problem(request(api, {"hostname": "a", "days": 1, "colour": "red"}), 422,
                   field="form.colour")
    assert_problem(request(api, {"hostname": "a", "days": 1, "email": "not-an-email"}), 422,
                   field="form.email")
    assert_problem(request(api, {"hostname": "a", "days": 1}, slug="no-such-service"), 422,
                   field="service_id")
    assert_problem(api.register(form={"hostname": "a"}), 422, field="service_id")
    # nothing was registered by the refused requests
    assert api.client.get(f"{API}/tickets").json()["count"] == 0


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_request_awaits_approval_and_its_clocks_start_at_the_approval(api: Api) -> None:
    put(api)
    r = request(api, {"hostname": "vpn.example.com", "days": 30})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["status"] == "awaiting_approval"
    assert t["sla"] is None and t["priority"] == "P3" and t["sla_policy"] == "default"
    assert t["allowed_commands"] == ["approve", "reject"]
    assert t["service"]["service_id"] == "vpn-access"
    assert t["service"]["form"] == {"hostname": "vpn.example.com", "days": 30}
    assert t["service"]["approval"] == {"required": "manager", "state": "awaiting", "by": None,
                                        "capacity": None, "at": None, "reason": None}
    listed = api.client.get(f"{API}/tickets", params={"status": "awaiting_approval"}).json()
    assert [i["number"] for i in listed["items"]] == [t["number"]]
    api.clock.advance(days=3)  # approved three days after it was registered
    approved_at = api.clock.now()
    a = api.ok(api.command(t["id"], "approve", {}))
    assert a["status"] == "registered"
    assert a["service"]["approval"]["state"] == "approved"
    assert a["service"]["approval"]["capacity"] == "manager"
    assert a["sla"] is not None
    deadlines = [h for h in api.history(t["id"]) if h["type"] == "SlaDeadlinesSet"]
    assert len(deadlines) == 1
    started = deadlines[0]["data"]["deadlines"]["response_started_at"]
    assert started.replace("Z", "+00:00") == approved_at.isoformat()
    # before the approval the ticket had no clock, as of any time
    past = api.get(t["id"], as_of=(approved_at - timedelta(hours=1)).isoformat()).json()
    assert past["status"] == "awaiting_approval" and past["sla"] is None


def test_a_request_of_a_service_without_approval_starts_at_once(api: Api) -> None:
    put(api, slug="password-reset", approval="none", form_schema={"type": "object"})
    t = api.ok(request(api, {}, slug="password-reset"), 201)
    assert t["status"] == "registered" and t["sla"] is not None
    assert t["service"]["approval"]["state"] == "not_required"
    assert_problem(api.command(t["id"], "approve", {}), 409)


def test_reject_ends_the_request_with_its_reason(api: Api) -> None:
    put(api)
    t = api.ok(request(api, {"hostname": "h", "days": 1}), 201)
    assert_problem(api.command(t["id"], "reject", {"reason": " "}), 422, field="reason")
    done = api.ok(api.command(t["id"], "reject", {"reason": "无合同覆盖"}))
    assert done["status"] == "invalid" and done["invalid_reason"] == "无合同覆盖"
    assert done["service"]["approval"]["state"] == "rejected"
    assert done["sla"] is None
    assert_problem(api.command(t["id"], "approve", {}), 409)


def test_approve_of_a_ticket_not_awaiting_approval_is_a_409(api: Api) -> None:
    plain = api.ok(api.register(), 201)
    body = assert_problem(api.command(plain["id"], "approve", {}), 409)
    assert "approve" in body["detail"]
    assert_problem(api.command(plain["id"], "reject", {"reason": "x"}), 409)


def test_who_may_define_services_and_decide_requests(make_api: Any) -> None:
    """Managers define services; a request needing a manager's approval is decided by a
    manager only (a requester: 403); one needing the customer's by a requester of its
    organisation (or a manager for them); another organisation's request answers 404; an
    engineer decides none (403)."""
    api = make_api(admin_token="s3cret")
    admin = {"Authorization": "Bearer s3cret"}
    for c in ("客户A", "客户B"):
        assert api.client.post(f"{API}/customers", json={"id": c, "name": c},
                               headers=admin).status_code == 201
    tokens = {}
    for user, role, customer in (("mgr", "manager", None), ("eng", "engineer", None),
                                 ("req-a", "requester", "客户A"),
                                 ("req-b", "requester", "客户B")):
        tokens[user] = user_token(api.client, admin, user, role, customer=customer)
    assert put(api, headers=tokens["eng"]).status_code == 403
    assert put(api, headers=tokens["req-a"]).status_code == 403
    assert put(api, headers=tokens["mgr"]).status_code == 201
    assert put(api, slug="new-laptop", headers=tokens["mgr"], approval="customer").status_code \
        == 201
    assert api.client.get(f"{API}/catalogue", headers=tokens["req-b"]).json()["count"] == 2

    def submit(slug: str) -> dict[str, Any]:
        r = api.client.post(f"{API}/tickets", headers=tokens["req-a"], json=ticket_body(
            customer="客户A", service_id=slug, form={"hostname": "h", "days": 1}))
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "awaiting_approval"
        return r.json()  # type: ignore[no-any-return]

    def decide(t: dict[str, Any], who: str, verb: str = "approve") -> Any:
        body = {"reason": "预算不足"} if verb == "reject" else {}
        return api.client.post(f"{API}/tickets/{t['id']}/{verb}", json=body,
                               headers=tokens[who])

    by_manager = submit("vpn-access")
    assert_problem(decide(by_manager, "req-a"), 403)
    assert_problem(decide(by_manager, "req-a", "reject"), 403)
    assert_problem(decide(by_manager, "eng"), 403)
    assert decide(by_manager, "mgr").json()["service"]["approval"]["by"] == "mgr"

    by_customer = submit("new-laptop")
    assert_problem(decide(by_customer, "req-b"), 404)  # another organisation's
    approved = decide(by_customer, "req-a")
    assert approved.status_code == 200, approved.text
    assert approved.json()["service"]["approval"]["capacity"] == "customer"
    assert_problem(decide(by_customer, "req-a"), 409)  # not awaiting approval any more

    for_them = submit("new-laptop")
    rejected = decide(for_them, "mgr", "reject")  # a manager on the customer's behalf
    assert rejected.status_code == 200 and rejected.json()["status"] == "invalid"


@pytest.mark.parametrize("http_store", ["memory", "sqlite"])
def test_the_search_follows_the_approval(api: Api) -> None:
    put(api)
    t = api.ok(request(api, {"hostname": "vpn.example.com", "days": 30},
                       title="VPN 开通 出差"), 201)

    def found() -> list[tuple[str, str]]:
        r = api.client.get(f"{API}/search", params={"q": "出差", "kinds": "ticket"})
        assert r.status_code == 200, r.text
        return [(i["number"], i["status"]) for g in r.json()["groups"] for i in g["items"]]

    assert found() == [(t["number"], "awaiting_approval")]
    api.ok(api.command(t["id"], "approve", {}))
    assert found() == [(t["number"], "registered")]
