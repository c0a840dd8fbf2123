"""Spare parts and field visits on the console (ADR 0064): the stock page lists each
warehouse's parts, a dispatcher receives stock and requests a part for a ticket from its
forms, the requisition's page takes it through its steps; the ticket page shows its visits
and takes a visit from dispatch to the service sheet (an engineer records their own visit's
steps); the out-of-office register lists who is out; the pages are in the navigation.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.adapters.console.forms import hidden_fields
from tests.adapters.console.forms import submit as send
from tests.fixtures_http import API, CLASSIFICATION, Api, ticket_body
from tests.support.console import ADMIN, login, person

#: The store does not matter here: the in-memory one (the main flows run on every store).
MEMORY = pytest.mark.parametrize("http_store", ["memory"])


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    api = make_api(admin_token="s3cret")
    r = api.client.post(f"{API}/customers", json={"id": "客户A", "name": "客户A"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    person(api.client, ADMIN, "wang", "dispatcher", name="王调度")
    person(api.client, ADMIN, "eng", "engineer")
    person(api.client, ADMIN, "eng2", "engineer")
    r = api.client.put(f"{API}/warehouses/gz", json={"name": "广州备件库",
                                                     "arrival_target_hours": 2}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return api


def submit(api: Api, page: str, action: str, **fields: str) -> str:
    r = send(api, page, action, **fields)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def ticket(api: Api) -> dict:
    t = api.client.post(f"{API}/tickets", json=ticket_body(**CLASSIFICATION), headers=ADMIN)
    r = api.client.post(f"{API}/tickets/{t.json()['id']}/assign", json={"assignee": "eng"},
                        headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@MEMORY
def test_stock_receipts_and_a_requisition_through_its_steps(desk: Api) -> None:
    t = ticket(desk)
    login(desk.client, "wang")
    page = desk.client.get("/ui/spare-parts")
    assert page.status_code == 200 and "广州备件库" in page.text
    assert 'href="/ui/spare-parts"' in page.text and 'href="/ui/visits"' in page.text
    submit(desk, "/ui/spare-parts", "/ui/spare-parts/receive", warehouse="gz",
           part_number="hdd-600g", description="600G SAS 硬盘", quantity="2", location="A-03")
    page = desk.client.get("/ui/spare-parts").text
    assert 'data-part="HDD-600G" data-quantity="2"' in page
    where = submit(desk, "/ui/spare-parts", "/ui/requisitions", ticket=t["number"],
                   warehouse="gz", part_number="HDD-600G", quantity="2")
    assert re.fullmatch(r"/ui/requisitions/BJ-\d{8}-001", where)
    page = desk.client.get("/ui/spare-parts").text
    assert 'data-part="HDD-600G" data-quantity="0"' in page
    one = desk.client.get(where).text
    assert 'data-status="requested"' in one and "填写领用单（出库）" in one
    number = where.rsplit("/", 1)[1]
    for step in ("dispatch", "arrive", "install"):
        submit(desk, where, f"/ui/requisitions/{number}/{step}")
    one = desk.client.get(where).text
    assert 'data-status="installed"' in one and "按时到场" in one
    assert 'data-command="return_faulty"' in one
    # too few left: the API's 409 on the console's form
    html = desk.client.get("/ui/spare-parts").text
    r = desk.client.post("/ui/requisitions", data={
        **hidden_fields(html, "/ui/requisitions"), "ticket": t["number"], "warehouse": "gz",
        "part_number": "HDD-600G", "quantity": "1"}, follow_redirects=False)
    assert r.status_code == 409


@MEMORY
def test_a_visit_from_the_ticket_page(desk: Api) -> None:
    t = ticket(desk)
    here = f"/ui/tickets/{t['number']}"
    login(desk.client, "wang")
    page = desk.client.get(here).text
    assert 'data-command="visit-plan"' in page
    assert submit(desk, here, f"{here}/visits", engineer="eng",
                  planned_arrival="2026-11-21T03:00", note="带硬盘") == f"{here}#visits"
    visit = desk.client.get(f"{API}/tickets/{t['id']}/visits", headers=ADMIN).json()[0]
    assert visit["planned_arrival"] == "2026-11-20T19:00:00Z"  # 03:00 in Beijing
    pg = visit["number"]
    page = desk.client.get(here).text
    assert f'data-visit="{pg}" data-status="planned"' in page and "带硬盘" in page
    assert 'data-command="visit-depart"' not in page  # the dispatcher plans, engineers go
    login(desk.client, "eng2")
    assert 'data-command="visit-depart"' not in desk.client.get(here).text  # not theirs
    login(desk.client, "eng")
    submit(desk, here, f"{here}/visits/{pg}/depart")
    submit(desk, here, f"{here}/visits/{pg}/arrive")
    desk.clock.advance(minutes=75)
    submit(desk, here, f"{here}/visits/{pg}/leave", work_done="更换硬盘并重建 RAID",
           parts_used="600G SAS 硬盘 ×1", signer="王经理")
    page = desk.client.get(here).text
    assert f'data-visit="{pg}" data-status="left"' in page and "1小时15分" in page
    assert "工程师离场（技术服务单）" in page and "王经理" in page
    register = desk.client.get("/ui/visits").text
    assert f'data-visit="{pg}" data-status="left"' in register
    assert desk.client.get("/ui/visits", params={"away": "true"}).text.count("data-visit=") == 0
