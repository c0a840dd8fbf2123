"""The service catalogue on the console (ADR 0061): a manager defines a service from the
catalogue page (its form schema as JSON), the request form is drawn from that schema (one
input per property, of its type), a request submitted through it answers the API's 422
naming the form's field when it does not validate, else lands on the ticket awaiting
approval, whose page shows the form and offers approve / reject to the manager, and the
approval starts the clocks.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from adapters.http.console.pages.catalogue import form_fields, form_values
from tests.adapters.console.forms import hidden_fields
from tests.fixtures_http import API, Api
from tests.support.console import ADMIN, login, person, staffed

SCHEMA = {
    "type": "object",
    "required": ["hostname", "days"],
    "properties": {
        "hostname": {"type": "string", "title": "主机名", "maxLength": 100},
        "days": {"type": "integer", "title": "天数", "minimum": 1, "maximum": 90},
        "site": {"type": "string", "enum": ["北京", "上海"]},
        "urgent": {"type": "boolean"},
        "until": {"type": "string", "format": "date"},
        "users": {"type": "array", "items": {"type": "string"}},
    },
}


@pytest.fixture
def http_store() -> str:
    return "memory"  # the pages read what the API's tests check on every store


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"mgr": ("manager", "赵经理"), "agent": ("agent", "钱坐席")},
                   customers=("客户A",))


def test_the_form_is_drawn_from_the_schema_and_read_back_typed() -> None:
    fields = {f["key"]: f for f in form_fields(SCHEMA)}
    assert [(k, f["kind"], f["required"]) for k, f in fields.items()] == [
        ("hostname", "text", True), ("days", "integer", True), ("site", "choice", False),
        ("urgent", "boolean", False), ("until", "date", False), ("users", "list", False)]
    assert fields["hostname"]["label"] == "主机名" and fields["site"]["options"] == ["北京", "上海"]
    posted = {"form.hostname": " vpn.example.com ", "form.days": "30", "form.site": "上海",
              "form.until": "", "form.users": "li\nwang\n"}
    assert form_values(SCHEMA, posted) == {"hostname": "vpn.example.com", "days": 30,
                                           "site": "上海", "urgent": False,
                                           "users": ["li", "wang"]}
    assert form_values(SCHEMA, {"form.days": "lots"})["days"] == "lots"  # the check names it


def test_a_manager_defines_a_service_and_a_request_goes_through_approval(desk: Api) -> None:
    client = desk.client
    login(client, "mgr")
    page = client.get("/ui/catalogue")
    assert page.status_code == 200 and 'href="/ui/catalogue"' in page.text
    fields = {**hidden_fields(page.text, "/ui/catalogue"), "service_id": "vpn-access",
              "name": "VPN 开通", "class": "responsive", "approval": "manager",
              "sla_policy": "default", "priority": "P3", "deliverable": "日常维护单",
              "form_schema": json.dumps(SCHEMA, ensure_ascii=False)}
    r = client.post("/ui/catalogue", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/ui/catalogue/vpn-access"
    listed = client.get("/ui/catalogue").text
    assert 'data-service="vpn-access" data-approval="manager"' in listed and "响应式服务" in listed
    bad = {**fields, **hidden_fields(client.get("/ui/catalogue").text, "/ui/catalogue"),
           "form_schema": "{not json"}
    refused = client.post("/ui/catalogue", data=bad, follow_redirects=False)
    assert refused.status_code == 400 and "form_schema" in refused.text  # as the API's body

    login(client, "agent")
    form = client.get("/ui/catalogue/vpn-access")
    assert form.status_code == 200
    assert 'data-form-field="days"' in form.text and 'type="number"' in form.text
    assert '<option value="上海">' in form.text and 'type="date"' in form.text
    base = {**hidden_fields(form.text, "/ui/catalogue/vpn-access"), "customer": "客户A",
            "contact.name": "李四", "title": "VPN 开通"}
    refused = client.post("/ui/catalogue/vpn-access", data={**base, "form.days": "3"},
                          follow_redirects=False)
    assert refused.status_code == 422 and "form.hostname" in refused.text
    base = {**hidden_fields(client.get("/ui/catalogue/vpn-access").text,
                            "/ui/catalogue/vpn-access"), "customer": "客户A",
            "contact.name": "李四", "title": "VPN 开通"}
    r = client.post("/ui/catalogue/vpn-access", follow_redirects=False,
                    data={**base, "form.hostname": "vpn.example.com", "form.days": "30"})
    assert r.status_code == 303, r.text
    number = r.headers["location"].rsplit("/", 1)[1]
    ticket = client.get(f"/ui/tickets/{number}").text
    assert 'data-status="awaiting_approval"' in ticket and "待审批" in ticket
    assert 'data-form-value="hostname">vpn.example.com' in ticket
    assert 'data-command="approve"' not in ticket  # an agent does not approve

    login(client, "mgr")
    ticket = client.get(f"/ui/tickets/{number}").text
    assert 'data-command="approve"' in ticket and 'data-command="reject"' in ticket
    assert client.get(f"{API}/tickets/{number}", headers=ADMIN).json()["sla"] is None
    desk.clock.advance(hours=2)
    r = client.post(f"/ui/tickets/{number}/approve", follow_redirects=False,
                    data=hidden_fields(ticket, f"/ui/tickets/{number}/approve"))
    assert r.status_code == 303, r.text
    view: dict[str, Any] = client.get(f"{API}/tickets/{number}", headers=ADMIN).json()
    assert view["status"] == "registered" and view["service"]["approval"]["by"] == "mgr"
    assert view["sla"] is not None
    assert 'data-approval-state="approved"' in client.get(f"/ui/tickets/{number}").text


def test_the_customer_approves_in_the_portal(desk: Api) -> None:
    """A request whose service asks for the customer's approval: its requester sees it on
    the portal's open tab with the approve / reject forms and approves it there; a request
    needing a manager shows no such form."""
    client = desk.client
    person(client, ADMIN, "li", "requester", customer="客户A", name="李四")
    for slug, approval in (("new-laptop", "customer"), ("vpn-access", "manager")):
        r = client.put(f"{API}/catalogue/{slug}", headers=ADMIN, json={
            "name": slug, "class": "proactive", "approval": approval,
            "form_schema": {"type": "object", "properties": {"user": {"type": "string"}}}})
        assert r.status_code == 201, r.text
    numbers = {}
    for slug in ("new-laptop", "vpn-access"):
        r = client.post(f"{API}/tickets", headers=ADMIN, json={
            "customer": "客户A", "contact": {"name": "李四"}, "channel": "web", "title": slug,
            "service_id": slug, "form": {"user": "王五"}})
        assert r.status_code == 201 and r.json()["status"] == "awaiting_approval", r.text
        numbers[slug] = r.json()["number"]
    login(client, "li")
    home = client.get("/portal/?tab=open").text
    assert numbers["new-laptop"] in home and numbers["vpn-access"] in home
    mine = client.get(f"/portal/tickets/{numbers['new-laptop']}").text
    assert 'data-your-approval' in mine and 'data-form-value="user">王五' in mine
    assert "提交服务申请" in mine  # the timeline's event
    assert 'data-command="approve"' not in client.get(
        f"/portal/tickets/{numbers['vpn-access']}").text
    action = f"/portal/tickets/{numbers['new-laptop']}/approve"
    r = client.post(action, data=hidden_fields(mine, action), follow_redirects=False)
    assert r.status_code == 303, r.text
    view = client.get(f"{API}/tickets/{numbers['new-laptop']}", headers=ADMIN).json()
    assert view["status"] == "registered" and view["sla"] is not None
    assert view["service"]["approval"]["capacity"] == "customer"
    assert view["service"]["approval"]["by"] == "li"
    fresh = {**hidden_fields(mine, action), "_key": "another-form"}
    fresh.pop("_version")
    refused = client.post(f"/portal/tickets/{numbers['vpn-access']}/approve", data=fresh,
                          follow_redirects=False)
    assert refused.status_code == 409  # a manager's to decide


def test_a_requester_requests_from_the_portals_catalogue(desk: Api) -> None:
    client = desk.client
    person(client, ADMIN, "li", "requester", customer="客户A", name="李四")
    r = client.put(f"{API}/catalogue/vpn-access", headers=ADMIN, json={
        "name": "VPN 开通", "class": "responsive", "approval": "customer",
        "form_schema": SCHEMA})
    assert r.status_code == 201, r.text
    login(client, "li")
    listed = client.get("/portal/catalogue").text
    assert 'data-request="vpn-access"' in listed and 'href="/portal/catalogue"' in listed
    form = client.get("/portal/catalogue/vpn-access").text
    assert 'name="customer"' not in form and 'value="李四"' in form  # their own organisation
    action = "/portal/catalogue/vpn-access"
    r = client.post(action, follow_redirects=False, data={
        **hidden_fields(form, action), "contact.name": "李四", "title": "VPN 开通",
        "form.hostname": "vpn.example.com", "form.days": "7"})
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/portal/tickets/SR-")
    view = client.get(f"{API}/tickets/{r.headers['location'].rsplit('/', 1)[1]}",
                      headers=ADMIN).json()
    assert (view["customer"], view["status"]) == ("客户A", "awaiting_approval")
    assert view["service"]["form"] == {"hostname": "vpn.example.com", "days": 7,
                                       "urgent": False}
