"""Repair orders on the console (ADR 0065): an engineer sends a PC to a vendor from the desk's
form, sees it listed with its deadline, reports progress, is not offered the customer's
approval of a quote; a manager records the approval for the customer naming the written
approval, and the part replaced before it was approved is the API's 409 on the page's form too.

The clock stands at Saturday 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from application.commands.cis import CiFields, RegisterCi
from tests.adapters.console.forms import hidden_fields
from tests.fixtures_http import API, Api
from tests.support.console import ADMIN, login, person


@pytest.fixture
def http_store() -> str:
    return "memory"


def test_an_engineer_sends_and_follows_a_repair_a_manager_approves_the_quote(
        make_api: Callable[..., Api]) -> None:
    api = make_api(admin_token="s3cret")
    assert api.client.post(f"{API}/customers", json={"id": "客户A", "name": "客户A"},
                           headers=ADMIN).status_code == 201
    person(api.client, ADMIN, "eng", "engineer")
    person(api.client, ADMIN, "boss", "manager")
    person(api.client, ADMIN, "li", "requester", customer="客户A", name="李四")
    ticket = api.client.post(f"{API}/tickets", headers=ADMIN, json={
        "customer": "客户A", "contact": {"name": "李四", "phone": "13800005678"},
        "channel": "phone", "title": "财务 PC 无法开机", "description": "按电源键无反应"}).json()
    pc = api.services.desk.handle(RegisterCi(item=CiFields(
        name="财务部 PC-01", ci_class="pc", customer="客户A")), actor="admin").aggregate
    login(api.client, "eng")
    page = api.client.get("/ui/repairs")
    assert page.status_code == 200 and "第二个周末前" in page.text
    assert 'href="/ui/repairs"' in page.text.split("<nav>", 1)[1].split("</nav>", 1)[0]
    fields = {**hidden_fields(page.text, "/ui/repairs"), "ticket": ticket["number"],
              "ci": pc.number, "vendor": "联想授权维修站", "fault": "主板无法加电",
              "warranty": "out"}
    r = api.client.post("/ui/repairs", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    number = r.headers["location"].rsplit("/", 1)[1]
    assert number.startswith("RP-20261121-")
    listed = api.client.get("/ui/repairs").text
    assert f'data-repair="{number}"' in listed and "2026-12-05 00:00" in listed
    html = api.client.get(f"/ui/repairs/{number}").text
    assert 'data-command="report_progress"' in html and 'data-command="quote"' in html
    assert 'data-command="approve_quote"' not in html  # nothing quoted, and not the engineer's
    r = api.client.post(f"/ui/repairs/{number}/report_progress", follow_redirects=False,
                        data={**hidden_fields(html, f"/ui/repairs/{number}/report_progress"),
                              "text": "已送抵维修点，等待检测"})
    assert r.status_code == 303, r.text
    html = api.client.get(f"/ui/repairs/{number}").text
    assert "已送抵维修点，等待检测" in html
    r = api.client.post(f"/ui/repairs/{number}/replace_part", follow_redirects=False,
                        data={**hidden_fields(html, f"/ui/repairs/{number}/replace_part"),
                              "part": "主板"})
    assert r.status_code == 409 and "quote_approval" in r.text
    r = api.client.post(f"/ui/repairs/{number}/quote", follow_redirects=False,
                        data={**hidden_fields(html, f"/ui/repairs/{number}/quote"),
                              "amount": "850", "parts": "主板\n电源", "currency": "CNY"})
    assert r.status_code == 303, r.text
    login(api.client, "boss")
    html = api.client.get(f"/ui/repairs/{number}").text
    assert "850.00 CNY" in html and 'data-command="approve_quote"' in html
    r = api.client.post(f"/ui/repairs/{number}/approve_quote", follow_redirects=False,
                        data={**hidden_fields(html, f"/ui/repairs/{number}/approve_quote"),
                              "reference": "客户书面确认单 11-21"})
    assert r.status_code == 303, r.text
    view = api.client.get(f"{API}/repairs/{number}", headers=ADMIN).json()
    assert view["quote"]["status"] == "approved" and view["quote"]["decided_by"] == "boss"
    assert view["quote"]["parts"] == ["主板", "电源"]
    assert "客户已认可" in api.client.get(f"/ui/repairs/{number}").text
    # The customer's requester approves the next quote in the portal, as their own decision.
    pc2 = api.services.desk.handle(RegisterCi(item=CiFields(
        name="财务部 PC-02", ci_class="pc", customer="客户A")), actor="admin").aggregate
    second = api.client.post(f"{API}/repairs", headers=ADMIN, json={
        "ticket": ticket["number"], "ci": pc2.number, "vendor": "戴尔", "fault": "硬盘坏道",
        "warranty": "out"}).json()["number"]
    assert api.client.post(f"{API}/repairs/{second}/quote", headers=ADMIN, json={
        "amount": "420", "parts": ["硬盘"]}).status_code == 200
    login(api.client, "li")
    listed = api.client.get("/portal/repairs").text
    assert f'data-repair="{number}"' in listed and f'data-repair="{second}"' in listed
    html = api.client.get(f"/portal/repairs/{second}").text
    assert "420.00 CNY" in html and 'data-command="approve_quote"' in html
    assert 'data-command="approve_quote"' not in api.client.get(f"/portal/repairs/{number}").text
    r = api.client.post(f"/portal/repairs/{second}/approve_quote", follow_redirects=False,
                        data=hidden_fields(html, f"/portal/repairs/{second}/approve_quote"))
    assert r.status_code == 303 and r.headers["location"] == f"/portal/repairs/{second}", r.text
    quote = api.client.get(f"{API}/repairs/{second}", headers=ADMIN).json()["quote"]
    assert quote["status"] == "approved" and quote["on_behalf"] is False
    assert quote["decided_by"] == "li"
    desk_page = api.client.get(f"/ui/repairs/{second}", follow_redirects=False)
    assert desk_page.status_code in (302, 303, 403)  # the desk is for staff
