"""Hidden risks and major incidents on the console (ADR 0067): an engineer records a risk
from the desk's form and follows it up; the requester of its customer sees it in the portal
and accepts it there, never another organisation's; a manager declares a major incident from
the desk, posts an update, sees the close refused until the review is recorded, then closes.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.adapters.console.forms import submit
from tests.fixtures_http import API, CLASSIFICATION, Api
from tests.support.console import ADMIN, login, staffed


@pytest.fixture
def http_store() -> str:
    return "memory"


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"eng": ("engineer", "李工"), "mgr": ("manager", "王主管"),
                              "li": ("requester", "李四", "客户A"),
                              "zhao": ("requester", "赵六", "客户B")},
                   customers=("客户A", "客户B"))


def test_a_risk_recorded_on_the_desk_and_accepted_in_the_portal(desk: Api) -> None:
    login(desk.client, "eng")
    page = desk.client.get("/ui/risks")
    assert page.status_code == 200 and 'href="/ui/risks"' in page.text
    r = submit(desk, "/ui/risks", "/ui/risks", customer="客户A", title="核心交换机单电源",
               severity="high", due="2026-11-30", description="电源模块告警")
    assert r.status_code == 303, r.text
    number = "RSK-20261121-001"
    assert r.headers["location"] == f"/ui/risks/{number}"
    r = submit(desk, f"/ui/risks/{number}", f"/ui/risks/{number}/follow_up",
               note="已申请备件", severity="", owner="", due="")
    assert r.status_code == 303, r.text
    one = desk.client.get(f"/ui/risks/{number}").text
    assert "已申请备件" in one and "跟踪更新" in one and 'data-command="remove"' in one
    assert 'data-command="accept"' not in one  # engineers do not accept for the customer
    other = desk.client.post(f"{API}/risks", headers=ADMIN, json={
        "customer": "客户B", "title": "客户B 防火墙策略过宽", "severity": "low",
        "due": "2026-12-31"}).json()
    login(desk.client, "li")
    portal = desk.client.get("/portal/risks").text
    assert number in portal and other["number"] not in portal and "客户B" not in portal
    assert desk.client.get(f"/portal/risks/{other['number']}").status_code == 404
    r = submit(desk, f"/portal/risks/{number}", f"/portal/risks/{number}/accept",
               reason="年底整体更换，暂不整改")
    assert r.status_code == 303, r.text
    view = desk.client.get(f"{API}/risks/{number}").json()
    assert view["status"] == "accepted" and view["accepted_on_behalf"] is False
    assert desk.client.get("/ui/risks", follow_redirects=False).status_code in (303, 403)


def test_a_major_incident_from_declaration_to_close(desk: Api) -> None:
    ticket = desk.client.post(f"{API}/tickets", headers=ADMIN, json={
        "customer": "客户A", "contact": {"name": "李四", "phone": "13800005678"},
        "channel": "phone", "title": "全网中断", "description": "核心交换机宕机",
        **CLASSIFICATION}).json()
    login(desk.client, "mgr")
    page = desk.client.get(f"/ui/major-incidents?ticket={ticket['number']}")
    assert page.status_code == 200 and f'value="{ticket["number"]}"' in page.text
    r = submit(desk, "/ui/major-incidents", "/ui/major-incidents", ticket=ticket["number"],
               title="", commander="", **{"communication.customers": "客户B",
                                          "communication.informed": "eng",
                                          "communication.interval_minutes": "15"})
    assert r.status_code == 303, r.text
    number = "MI-20261121-001"
    url = f"/ui/major-incidents/{number}"
    assert r.headers["location"] == url
    one = desk.client.get(url).text
    assert "每 15 分钟" in one and "客户A、客户B" in one and 'data-missing="review"' in one
    r = submit(desk, url, f"{url}/post_update", text="已切换备用链路")
    assert r.status_code == 303, r.text
    r = submit(desk, url, f"{url}/close", summary="")
    assert r.status_code in (303, 409), r.text
    assert desk.client.get(f"{API}/major-incidents/{number}").json()["status"] == "active"
    r = submit(desk, url, f"{url}/record_review", summary="交换机电源故障",
               root_cause="电源模块老化", actions="更换电源\n增加冗余")
    assert r.status_code == 303, r.text
    r = submit(desk, url, f"{url}/open_problem", title="")
    assert r.status_code == 303, r.text
    r = submit(desk, url, f"{url}/close", summary="已恢复")
    assert r.status_code == 303, r.text
    view = desk.client.get(f"{API}/major-incidents/{number}").json()
    assert view["status"] == "closed" and view["review"]["actions"] == ["更换电源", "增加冗余"]
    assert view["problem"]["number"].startswith("PRB-")
    one = desk.client.get(url).text
    assert "已切换备用链路" in one and "记录事后复盘" in one and view["problem"]["number"] in one
    listed = desk.client.get("/ui/major-incidents").text
    assert f'data-incident="{number}" data-status="closed"' in listed
