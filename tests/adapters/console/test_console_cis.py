"""Configuration items on the console (ADR 0063): a dispatcher registers CIs from the list's
form, relates one to another on the CI page, and sees what depends on it, the tickets naming
it with the repeat-fault suggestion, and each customer's library flag; an auditor reads but
gets no register form; a requester gets no desk page of CIs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.adapters.console.forms import hidden_fields
from tests.fixtures_http import API, Api
from tests.support.console import ADMIN, login, staffed


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"wang": ("dispatcher", "王调度"), "audit": ("auditor",),
                              "li": ("requester", "李四", "客户A")})


def register(api: Api, **fields: str) -> Any:
    html = api.client.get("/ui/cis").text
    return api.client.post("/ui/cis", data={**hidden_fields(html, "/ui/cis"), **fields},
                           follow_redirects=False)


@pytest.mark.parametrize("http_store", ["sqlite"])
def test_a_dispatcher_registers_relates_and_sees_the_impact(desk: Api) -> None:
    login(desk.client, "wang")
    page = desk.client.get("/ui/cis")
    assert page.status_code == 200 and "配置库/配置清单每月补充" in page.text
    assert 'href="/ui/cis"' in page.text.split("<nav>", 1)[1].split("</nav>", 1)[0]
    r = register(desk, name="esx-01", **{"class": "server"}, customer="客户A",
                 asset_tag="ZC-0001", warranty_end="2027-06-30")
    assert r.status_code == 303, r.text
    host = r.headers["location"].rsplit("/", 1)[1]
    assert host.startswith("CI-")
    r = register(desk, name="ERP", **{"class": "application"}, customer="客户A")
    erp = r.headers["location"].rsplit("/", 1)[1]
    html = desk.client.get(f"/ui/cis/{erp}").text
    assert 'data-command="relate"' in html and 'data-command="verify"' in html
    fields = {**hidden_fields(html, f"/ui/cis/{erp}/relate"), "type": "runs_on",
              "target": host}
    r = desk.client.post(f"/ui/cis/{erp}/relate", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    for i in range(3):
        t = desk.client.post(f"{API}/tickets", json={
            "customer": "客户A", "contact": {"name": "李四"}, "channel": "phone",
            "title": f"ERP 登录失败 {i}", "affected_cis": [host]}, headers=ADMIN)
        assert t.status_code == 201, t.text
    one = desk.client.get(f"/ui/cis/{host}").text
    assert f'data-affected="{erp}"' in one and 'data-count="1"' in one
    assert 'data-suggestion="open_problem"' in one and "ERP 登录失败 2" in one
    assert "运行于" in one and "保内" in one
    listed = desk.client.get("/ui/cis", params={"q": "esx"}).text
    assert f'data-ci="{host}"' in listed and f'data-ci="{erp}"' not in listed
    assert 'data-library="客户A" data-stale="false"' in listed
    r = register(desk, name="x", **{"class": "spaceship"}, customer="客户A")
    assert r.status_code == 422 and "class" in r.text


@pytest.mark.parametrize("http_store", ["memory"])
def test_an_auditor_reads_without_the_form_and_a_requester_has_no_page(desk: Api) -> None:
    login(desk.client, "audit")
    page = desk.client.get("/ui/cis")
    assert page.status_code == 200 and 'data-command="register"' not in page.text
    login(desk.client, "li")
    assert desk.client.get("/ui/cis", follow_redirects=False).status_code in (302, 303, 403)
