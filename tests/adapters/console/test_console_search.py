"""The console's search page ``/ui/search?q=`` (issue 18, ADR 0050), through the test client
as a browser uses it (logged in by the login form).

The page finds tickets, problems, changes and knowledge and groups them by kind, each hit a
link to its page with the match marked in an escaped snippet; a dispatcher finds a ticket by
its contact's phone, an auditor does not (and sees no phone in a snippet); one kind shows more;
a requester's session is refused (the portal is theirs); words come from the catalogue.
On memory and SQLite; the main path on PostgreSQL too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, CLASSIFICATION, Api, ticket_body
from tests.support.console import ADMIN, login, person

PHONE = "13712345678"
_HIT = re.compile(r'<li data-kind="([a-z]+)" data-ref="([^"]+)">')


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> dict[str, Any]:
    api = make_api(admin_token="s3cret")
    c = api.client
    person(c, ADMIN, "wang", "dispatcher", name="王调度")
    person(c, ADMIN, "shen", "auditor")
    person(c, ADMIN, "kehu", "requester", customer="客户A")

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = c.post(f"/api/v1/{path}", json=body, headers=ADMIN)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    printer = post("tickets", ticket_body(
        **CLASSIFICATION, title="三楼打印机卡纸", affected_system="HP LaserJet",
        description="<b>打印机</b> jams & smudges",
        contact={"name": "李四", "phone": PHONE, "email": "li@example.com"}))
    erp = post("tickets", ticket_body(**CLASSIFICATION, customer="客户B"))
    problem = post("problems", {"title": "打印机搓纸轮老化", "description": "多台卡纸"})
    change = post("changes", {"kind": "normal", "origin": erp["id"], "title": "ERP 会话表扩容"})
    article = post("knowledge", {"title": "打印机卡纸的处理", "symptoms": "卡纸",
                                 "solution": "更换搓纸轮"})
    return {"api": api, "printer": printer, "erp": erp, "problem": problem, "change": change,
            "article": article}


def hits(html: str) -> list[tuple[str, str]]:
    return _HIT.findall(html)


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_results_are_grouped_by_kind_with_links_and_marked_snippets(desk) -> None:
    c = desk["api"].client
    login(c, "wang")
    r = c.get("/ui/search", params={"q": "打印机"})
    assert r.status_code == 200, r.text
    html = r.text
    assert hits(html) == [("ticket", desk["printer"]["number"]),
                          ("problem", desk["problem"]["number"]),
                          ("knowledge", desk["article"]["number"])]
    for kind, path in (("printer", "tickets"), ("problem", "problems"),
                       ("article", "knowledge")):
        assert f'href="/ui/{path}/{desk[kind]["number"]}"' in html
    assert 'id="results-ticket"' in html and 'id="results-change"' not in html
    # the description's markup is text; the only markup in a snippet is ours
    assert "&lt;b&gt;<mark>打印机</mark>&lt;/b&gt; jams &amp; smudges" in html
    assert "<b>打印机</b>" not in html
    assert 'value="打印机"' in html and "搜索" in html  # the box keeps the query
    assert "已登记" not in html and "已分类" in html  # the ticket's status in words


@pytest.mark.parametrize("http_store", ["memory", "sqlite"], indirect=True)
def test_a_dispatcher_finds_a_ticket_by_its_contacts_phone_and_an_auditor_does_not(desk):
    c = desk["api"].client
    login(c, "wang")
    html = c.get("/ui/search", params={"q": PHONE}).text
    assert hits(html) == [("ticket", desk["printer"]["number"])]
    assert "联系人的姓名、电话和邮箱也在搜索范围内" in html  # found by it, not shown in a snippet
    login(c, "shen")
    html = c.get("/ui/search", params={"q": PHONE}).text
    assert hits(html) == [] and 'id="search-none"' in html
    assert "联系人信息不在您的搜索范围内" in html
    html = c.get("/ui/search", params={"q": "打印机"}).text
    assert ("ticket", desk["printer"]["number"]) in hits(html)
    assert PHONE not in html and "li@example.com" not in html


@pytest.mark.parametrize("http_store", ["memory", "sqlite"], indirect=True)
def test_one_kind_and_its_tab(desk) -> None:
    c = desk["api"].client
    login(c, "wang")
    html = c.get("/ui/search", params={"q": "ERP", "kinds": "change"}).text
    assert hits(html) == [("change", desk["change"]["number"])]
    assert 'class="on"\n       data-kind-tab="change"' in html
    assert '<input type="hidden" name="kinds" value="change">' in html
    html = c.get("/ui/search", params={"q": "ERP"}).text
    assert ("ticket", desk["erp"]["number"]) in hits(html)
    assert c.get("/ui/search", params={"q": "x", "kinds": "nonsense"}).status_code == 400


@pytest.mark.parametrize("http_store", ["memory"], indirect=True)
def test_more_than_ten_of_a_kind_links_to_that_kind(desk) -> None:
    api = desk["api"]
    for i in range(11):
        r = api.client.post("/api/v1/tickets", json=ticket_body(title=f"VPN 断线 {i}"),
                            headers=ADMIN)
        assert r.status_code == 201, r.text
    login(api.client, "wang")
    html = api.client.get("/ui/search", params={"q": "VPN"}).text
    assert len(hits(html)) == 10 and "（前 10 条）" in html
    assert 'href="/ui/search?q=VPN&amp;kinds=ticket"' in html
    html = api.client.get("/ui/search", params={"q": "VPN", "kinds": "ticket"}).text
    assert len(hits(html)) == 11


@pytest.mark.parametrize("http_store", ["memory"], indirect=True)
def test_an_empty_query_shows_the_box_and_english_reads_english(desk) -> None:
    c = desk["api"].client
    login(c, "wang")
    html = c.get("/ui/search").text
    assert 'id="search-empty"' in html and hits(html) == []
    html = c.get("/ui/search", params={"q": "打印机"},
                 headers={"Accept-Language": "en"}).text
    assert "Results: 3" in html and "Tickets" in html and "搜索" not in html.split("<main")[1]


@pytest.mark.parametrize("http_store", ["memory"], indirect=True)
def test_a_requester_is_sent_to_the_portal_not_the_desks_search(desk) -> None:
    c = desk["api"].client
    login(c, "kehu")
    r = c.get("/ui/search", params={"q": "打印机"}, follow_redirects=False)
    assert r.status_code in (303, 403), r.status_code
    assert desk["printer"]["number"] not in r.text
