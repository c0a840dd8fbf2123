"""Agreements and complaints on the console (ADR 0066): a manager concludes an SLA from the
desk's form (targets per priority), sees it listed and flagged when it ends within 30 days,
reads its compliance and revises it; a complaint is filed from the portal by the customer's
requester, handled on the desk by a manager (the engineer concerned refused), confirmed by
the customer on the portal and closed; a requester sees only their organisation's
complaints.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.adapters.console.forms import submit
from tests.fixtures_http import API, CLASSIFICATION, Api, ticket_body
from tests.support.console import ADMIN, login, staffed


@pytest.fixture
def http_store() -> str:
    return "memory"


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"mgr": ("manager", "刘经理"), "eng": ("engineer",),
                              "li": ("requester", "李四", "客户A"),
                              "zhao": ("requester", "赵六", "客户B")},
                   customers=("客户A", "客户B"))


def test_a_manager_concludes_lists_and_revises_an_agreement(desk: Api) -> None:
    login(desk.client, "mgr")
    page = desk.client.get("/ui/agreements")
    assert page.status_code == 200 and 'href="/ui/agreements"' in page.text
    r = submit(desk, "/ui/agreements", "/ui/agreements", kind="sla", title="客户A 年度 SLA",
               customer="客户A", valid_from="2026-01-01", valid_to="2026-12-15",
               **{"target.P1.response": "2h", "target.P1.resolution": "PT4H"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/ui/agreements/AGR-20261121-001"
    view = desk.client.get(f"{API}/agreements/AGR-20261121-001").json()
    assert view["targets"] == [{"priority": "P1", "response": "PT2H", "resolution": "PT4H"}]
    listed = desk.client.get("/ui/agreements", params={"expiring": "true"}).text
    assert 'data-agreement="AGR-20261121-001"' in listed and 'data-flag="expiring"' in listed
    one = desk.client.get("/ui/agreements/AGR-20261121-001").text
    assert "24 天后到期" in one and "data-compliance" in one and 'data-command="revise"' in one
    r = submit(desk, "/ui/agreements/AGR-20261121-001", "/ui/agreements/AGR-20261121-001/revise",
               valid_to="2027-12-31", reason="续签")
    assert r.status_code == 303, r.text
    one = desk.client.get("/ui/agreements/AGR-20261121-001").text
    assert 'data-field="agreement_version">v2' in one and 'data-flag="expiring"' not in one
    r = submit(desk, "/ui/agreements", "/ui/agreements", kind="ola", title="x",
               valid_from="2026-01-01", valid_to="2026-12-31")
    assert r.status_code == 422 and "groups" in r.text


def test_an_engineer_reads_agreements_without_the_form(desk: Api) -> None:
    login(desk.client, "eng")
    page = desk.client.get("/ui/agreements")
    assert page.status_code == 200
    assert 'method="post" action="/ui/agreements"' not in page.text
    assert desk.client.post("/ui/agreements", data={}, follow_redirects=False).status_code == 403


def test_a_complaint_from_the_portal_to_its_close(desk: Api) -> None:
    ticket = desk.client.post(f"{API}/tickets", headers=ADMIN,
                              json=ticket_body(**CLASSIFICATION)).json()
    r = desk.client.post(f"{API}/tickets/{ticket['id']}/assign", json={"assignee": "eng"},
                         headers=ADMIN)
    assert r.status_code == 200, r.text
    login(desk.client, "li")
    r = submit(desk, "/portal/complaints", "/portal/complaints", about="ticket",
               ticket=ticket["number"], description="工程师两天没有回复",
               **{"contact.name": "李四", "contact.phone": "13800005678"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/portal/complaints/CMP-20261121-001"
    mine = desk.client.get("/portal/complaints").text
    assert 'data-complaint="CMP-20261121-001"' in mine
    login(desk.client, "zhao")
    assert "CMP-20261121-001" not in desk.client.get("/portal/complaints").text
    assert desk.client.get("/portal/complaints/CMP-20261121-001").status_code == 404
    login(desk.client, "mgr")
    page = "/ui/complaints/CMP-20261121-001"
    one = desk.client.get(page).text
    assert 'data-command="assign_handler"' in one and "13800005678" in one
    r = submit(desk, page, f"{page}/assign_handler", handler="eng")
    assert r.status_code == 409 and "engineer the complaint concerns" in r.text
    for verb, fields in (("assign_handler", {"handler": "mgr"}),
                         ("respond", {"message": "已致电客户"}),
                         ("resolve", {"resolution": "更换工程师并致歉"})):
        assert submit(desk, page, f"{page}/{verb}", **fields).status_code == 303, verb
    assert 'data-status="resolved"' in desk.client.get(page).text
    login(desk.client, "li")
    portal = "/portal/complaints/CMP-20261121-001"
    assert 'data-command="confirm"' in desk.client.get(portal).text
    assert submit(desk, portal, f"{portal}/confirm", note="满意").status_code == 303
    login(desk.client, "mgr")
    assert submit(desk, page, f"{page}/close").status_code == 303
    done = desk.client.get(page).text
    assert 'data-status="closed"' in done and "登记投诉" in done and "客户已确认" not in done
