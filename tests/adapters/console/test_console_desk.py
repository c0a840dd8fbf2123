"""The desk's home (issue 18): the work queues with their tickets, filters kept in the URL,
pages by the read model's cursor, bulk assign and classify ticket by ticket, and the table's
live refresh (adapters/http/console/pages/desk.py)."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest

from tests.fixtures_http import ALL_STORES, API, CLASSIFICATION, Api, path_to, ticket_body
from tests.support.console import ADMIN, csrf_of, login, staffed

HTMX = {"HX-Request": "true"}
_ROW = re.compile(r'<tr data-ticket="([^"]+)"')
_KEY = re.compile(r'name="_key" value="([^"]+)"')
_BOX = re.compile(r'name="ticket" value="([^"]+)"')


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"wang": ("dispatcher", "王调度"),
                              "eng": ("engineer", "李工", None, ("net",)),
                              "zhao": ("engineer", "赵工", None, ("db",)),
                              "audit": ("auditor", "审计"), "li": ("requester", "李四", "客户A")})


def register(api: Api, **overrides: Any) -> dict[str, Any]:
    r = api.client.post(f"{API}/tickets", json=ticket_body(**overrides), headers=ADMIN)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def command(api: Api, ref: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = api.client.post(f"{API}/tickets/{ref}/{name}", json=body or {}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def ticket(api: Api, status: str, assignee: str = "eng", **overrides: Any) -> str:
    """A ticket taken along the ordinary path to ``status``; its number."""
    classified = status not in ("registered", "invalid")
    t = register(api, **{**(CLASSIFICATION if classified else {}), **overrides})
    for name, body in path_to(status, assignee):
        t = command(api, t["number"], name, body)
    assert t["status"] == status
    return str(t["number"])


def queue_of(html: str) -> str:
    """The queue's table (the ``#queue`` fragment) of a page."""
    assert '<div id="queue"' in html, html[:300]
    return html.split('<div id="queue"', 1)[1]


def numbers(html: str) -> list[str]:
    """The ticket numbers of the queue's rows, in order."""
    return _ROW.findall(queue_of(html))


def shown(api: Api, url: str) -> list[str]:
    r = api.client.get(url)
    assert r.status_code == 200, r.text[:500]
    return numbers(r.text)


# ------------------------------------------------------------------ the queues


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_a_new_ticket_waits_in_unassigned_and_after_assignment_is_in_the_assignees_queue(
        desk: Api):
    number = register(desk)["number"]
    c = desk.client
    login(c, "wang")
    page = c.get("/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-queue="unassigned" aria-current="page"' in page.text  # a dispatcher's start
    assert numbers(page.text) == [number]
    assert f'<a href="/ui/tickets/{number}">{number}</a>' in page.text
    assert "已登记" in queue_of(page.text)  # the status's label, not its code
    command(desk, number, "classify", CLASSIFICATION)
    command(desk, number, "assign", {"assignee": "eng"})
    assert shown(desk, "/ui/?queue=unassigned") == []
    assert shown(desk, "/ui/?queue=mine") == []  # the dispatcher's own: none
    assert shown(desk, "/ui/?queue=all") == [number]
    login(c, "eng")
    page = c.get("/ui/")  # an engineer starts at their own tickets
    assert 'data-queue="mine" aria-current="page"' in page.text
    assert numbers(page.text) == [number]
    assert shown(desk, "/ui/?queue=unassigned") == []
    login(c, "zhao")
    assert shown(desk, "/ui/?queue=mine") == []


def test_each_queue_holds_its_tickets(desk: Api):
    registered = ticket(desk, "registered")
    classified = ticket(desk, "classified")
    mine = ticket(desk, "in_progress", assignee="eng")
    other = ticket(desk, "assigned", assignee="zhao")
    grouped = register(desk, **CLASSIFICATION)["number"]
    command(desk, grouped, "assign", {"group": "net"})
    waiting = ticket(desk, "waiting_customer", assignee="eng")
    resolved = ticket(desk, "resolved", assignee="eng")
    closed = ticket(desk, "closed", assignee="eng")
    login(desk.client, "eng")
    assert set(shown(desk, "/ui/?queue=unassigned")) == {registered, classified}
    assert set(shown(desk, "/ui/?queue=mine")) == {mine, waiting, resolved}  # open ones
    assert shown(desk, "/ui/?queue=groups") == [grouped]
    assert shown(desk, "/ui/?queue=waiting") == [waiting]
    assert shown(desk, "/ui/?queue=acceptance") == [resolved]
    everything = shown(desk, "/ui/?queue=all")
    assert everything[0] == closed and everything[-1] == registered  # newest first
    assert other in everything and len(everything) == 8
    login(desk.client, "wang")  # in no group
    page = desk.client.get("/ui/?queue=groups")
    assert numbers(page.text) == [] and "您不属于任何处理组" in page.text


def test_the_breaching_queue_lists_warned_and_breached_tickets_most_urgent_first(desk: Api):
    p1 = ticket(desk, "classified")
    later = ticket(desk, "classified", urgency="urgent", impact="some", importance="important")
    quiet = ticket(desk, "registered")
    login(desk.client, "wang")
    assert shown(desk, "/ui/?queue=breaching") == []
    page = desk.client.get("/ui/?queue=all")
    row = queue_of(page.text).split(f'data-ticket="{p1}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-sla="ok"' in page.text and "剩余" in row  # time left to the response due
    desk.clock.advance(days=10)
    login(desk.client, "wang")  # the session of 12 hours has ended
    page = desk.client.get("/ui/?queue=breaching")
    assert numbers(page.text) == [p1, later]
    assert quiet not in numbers(page.text)
    row = queue_of(page.text).split(f'data-ticket="{p1}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-sla="breached"' in row and 'class="nowrap sla-breached"' in row
    assert "已超时" in row and "已超时" in re.sub(r"<[^>]+>", "", row)


def test_filters_in_the_url_narrow_the_queue(desk: Api):
    p1 = ticket(desk, "classified")
    p3 = ticket(desk, "classified", urgency="not_urgent", impact="single",
                importance="not_important")
    other_customer = ticket(desk, "classified", customer="客户B")
    network = ticket(desk, "classified", category="network")
    waiting = ticket(desk, "waiting_customer", assignee="eng")
    login(desk.client, "wang")
    assert shown(desk, "/ui/?queue=unassigned&priority=P3") == [p3]
    assert shown(desk, "/ui/?queue=unassigned&customer=客户B") == [other_customer]
    assert shown(desk, "/ui/?queue=unassigned&category=network") == [network]
    assert set(shown(desk, "/ui/?queue=unassigned&category=software")) == {
        p1, p3, other_customer}
    assert shown(desk, "/ui/?queue=all&status=waiting_customer") == [waiting]
    assert shown(desk, "/ui/?queue=all&assignee=eng") == [waiting]
    # a filter never widens a queue: a closed status within the open tickets is nothing
    assert shown(desk, "/ui/?queue=unassigned&status=waiting_customer") == []
    assert shown(desk, "/ui/?queue=unassigned&assignee=eng") == []
    # empty fields of the filter form filter nothing
    assert len(shown(desk, "/ui/?queue=unassigned&status=&priority=&customer=&sort=")) == 4
    # the sort: queue order puts P1 first, newest order the last registered first
    assert shown(desk, "/ui/?queue=unassigned&sort=queue")[0] == p1
    assert shown(desk, "/ui/?queue=unassigned&sort=newest")[0] == network
    page = desk.client.get("/ui/?queue=unassigned&priority=P3&customer=客户A")
    # the form shows the view it asked for, and the tabs do not carry filters along
    assert '<option value="P3" selected>' in page.text
    assert 'name="customer" value="客户A"' in page.text
    assert 'href="/ui/?queue=mine"' in page.text
    for bad in ("status=lost", "priority=P9", "sla_state=late", "sort=random", "queue=x"):
        r = desk.client.get(f"/ui/?{bad}")
        assert r.status_code == 400, bad
        assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_pages_follow_the_read_models_cursor(desk: Api):
    made = [register(desk, title=f"工单 {i}")["number"] for i in range(53)]
    login(desk.client, "wang")
    first = desk.client.get("/ui/?queue=all&customer=客户A")
    rows = numbers(first.text)
    assert rows == made[::-1][:50]
    assert 'data-page="first"' not in first.text
    found = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert found
    following = found.group(1).replace("&amp;", "&")
    assert "cursor=" in following and "customer=" in following  # the view stays
    second = desk.client.get(following)
    assert numbers(second.text) == made[::-1][50:]
    assert 'rel="next"' not in second.text
    assert 'href="/ui/?queue=all&amp;customer=%E5%AE%A2%E6%88%B7A" data-page="first"' in second.text
    # the unassigned queue pages in queue order (unclassified: oldest first)
    later = numbers(desk.client.get(re.search(  # type: ignore[union-attr]
        r'href="([^"]+)" rel="next"', desk.client.get("/ui/?queue=unassigned").text
    ).group(1).replace("&amp;", "&")).text)
    assert later == made[50:]


def test_a_requester_is_sent_to_the_portal(desk: Api):
    login(desk.client, "li")
    r = desk.client.get("/ui/?queue=all", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal/"


# ------------------------------------------------------------------ roles


def test_an_auditor_reads_the_queues_without_forms_or_contacts(desk: Api):
    number = ticket(desk, "classified")
    login(desk.client, "audit")
    page = desk.client.get("/ui/?queue=unassigned")
    assert numbers(page.text) == [number]
    assert 'id="bulk"' not in page.text and 'name="ticket"' not in page.text
    assert "/ui/bulk/" not in page.text
    # the list shows no contact: neither in clear nor masked
    assert "13800005678" not in page.text and "138****5678" not in page.text
    assert "李四" not in page.text


def test_an_engineer_gets_no_bulk_form_and_a_bulk_post_is_refused(desk: Api):
    number = ticket(desk, "classified")
    c = desk.client
    login(c, "eng")
    page = c.get("/ui/?queue=unassigned")
    assert numbers(page.text) == [number]
    assert 'id="bulk"' not in page.text and 'name="ticket"' not in page.text
    r = c.post("/ui/bulk/assign", data={"ticket": f"{number}:2", "assignee": "eng",
                                        "_csrf_token": csrf_of(page.text), "_key": "k1"},
               follow_redirects=False)
    assert r.status_code == 403  # the API's assign is for dispatchers and managers
    assert c.get(f"{API}/tickets/{number}").json()["assignee"] is None


# ------------------------------------------------------------------ bulk actions


def _bulk_form(api: Api, url: str = "/ui/?queue=unassigned") -> tuple[str, dict[str, str]]:
    """The page's CSRF token and key, and each row's checkbox value by ticket number."""
    page = api.client.get(url)
    boxes = {v.split(":")[0]: v for v in _BOX.findall(page.text)}
    key = _KEY.search(page.text)
    assert key, "no bulk form"
    return csrf_of(page.text) + "|" + key.group(1), boxes


def _post(api: Api, verb: str, token: str, tickets: list[str], **fields: str) -> Any:
    csrf, key = token.split("|")
    return api.client.post(f"/ui/bulk/{verb}", data={
        "ticket": tickets, "_csrf_token": csrf, "_key": key, "back": "/ui/?queue=unassigned",
        **fields}, follow_redirects=False)


def _results(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-ticket="([^"]+)" data-result="([^"]+)"', html))


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_a_bulk_assignment_runs_one_command_per_ticket_and_shows_each_result(desk: Api):
    ready = [ticket(desk, "classified") for _ in range(2)]
    unclassified = ticket(desk, "registered")
    stale = ticket(desk, "classified")
    login(desk.client, "wang")
    token, boxes = _bulk_form(desk)
    assert set(boxes) == {*ready, unclassified, stale}
    command(desk, stale, "classify", {**CLASSIFICATION, "category": "network"})  # changed since
    chosen = [boxes[n] for n in (*ready, unclassified, stale)]
    r = _post(desk, "assign", token, chosen, assignee="eng", group="net")
    assert r.status_code == 200, r.text[:500]
    results = _results(r.text)
    assert results == {ready[0]: "ok", ready[1]: "ok", unclassified: "409", stale: "412"}
    assert "成功 2 张，共 4 张" in r.text
    assert "assign" in r.text.split(f'data-ticket="{unclassified}"', 1)[1].split("</tr>")[0]
    assert 'href="/ui/?queue=unassigned"' in r.text  # back to the queue
    for number in ready:
        view = desk.client.get(f"{API}/tickets/{number}").json()
        assert (view["assignee"], view["group"], view["status"]) == ("eng", "net", "assigned")
        assigned = [e for e in desk.client.get(f"{API}/tickets/{number}/history").json()
                    if e["type"] == "Assigned"]
        assert [e["actor"] for e in assigned] == ["wang"]
    assert desk.client.get(f"{API}/tickets/{stale}").json()["assignee"] is None
    # the same form sent again (a reload): each ticket's own key answers its first result
    again = _post(desk, "assign", token, chosen, assignee="eng", group="net")
    assert _results(again.text) == results
    assert "重复提交" in again.text
    for number in ready:
        history = desk.client.get(f"{API}/tickets/{number}/history").json()
        assert [e["type"] for e in history].count("Assigned") == 1
    assert shown(desk, "/ui/?queue=unassigned") == [stale, unclassified]  # P1, then none


def test_a_bulk_classification_gives_each_ticket_its_priority(desk: Api):
    fresh = [ticket(desk, "registered") for _ in range(2)]
    gone = ticket(desk, "invalid")
    login(desk.client, "wang")
    token, boxes = _bulk_form(desk, "/ui/?queue=all")
    r = _post(desk, "classify", token, [boxes[n] for n in (*fresh, gone)], **CLASSIFICATION)
    assert r.status_code == 200, r.text[:500]
    assert _results(r.text) == {fresh[0]: "ok", fresh[1]: "ok", gone: "409"}
    for number in fresh:
        view = desk.client.get(f"{API}/tickets/{number}").json()
        assert (view["status"], view["priority"]) == ("classified", "P1")
    # a classification without its fields is the API's 400, for every ticket at once
    token, boxes = _bulk_form(desk, "/ui/?queue=all")
    r = _post(desk, "classify", token, [boxes[fresh[0]]], type="fault")
    assert r.status_code == 400 and "category" in r.text
    r = _post(desk, "classify", token, [], **CLASSIFICATION)
    assert r.status_code == 400 and "ticket" in r.text


def test_a_bulk_post_without_the_csrf_token_is_refused(desk: Api):
    number = ticket(desk, "classified")
    login(desk.client, "wang")
    r = desk.client.post("/ui/bulk/assign", data={"ticket": f"{number}:2", "assignee": "eng",
                                                  "_key": "k"}, follow_redirects=False)
    assert r.status_code == 403
    assert desk.client.get(f"{API}/tickets/{number}").json()["assignee"] is None


def test_a_bulk_action_by_htmx_answers_the_results_a_fresh_key_and_refreshes_the_queue(
        desk: Api):
    number = ticket(desk, "classified")
    login(desk.client, "wang")
    token, boxes = _bulk_form(desk)
    csrf, key = token.split("|")
    r = desk.client.post("/ui/bulk/assign", headers=HTMX, data={
        "ticket": [boxes[number]], "_csrf_token": csrf, "_key": key, "assignee": "eng"})
    assert r.status_code == 200
    assert "<html" not in r.text and _results(r.text) == {number: "ok"}
    assert r.headers["hx-trigger"] == "desk-changed"
    fresh = _KEY.search(r.text)
    assert fresh and fresh.group(1) != key and 'hx-swap-oob="outerHTML:#bulk' in r.text


# ------------------------------------------------------------------ live updates


def test_the_live_table_answers_only_the_table_and_nothing_while_nothing_changed(desk: Api):
    first = ticket(desk, "classified")
    c = desk.client
    login(c, "wang")
    page = c.get("/ui/?queue=unassigned&priority=P1")
    position = re.search(r'data-position="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert 'hx-get="/ui/?queue=unassigned&amp;priority=P1"' in page.text  # the view's own URL
    assert 'hx-trigger="every 10s' in page.text
    fragment = c.get("/ui/?queue=unassigned&priority=P1", headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="filters"' not in fragment.text
    assert fragment.text.strip().startswith('<div id="queue"')
    assert numbers(fragment.text) == [first]
    same = c.get("/ui/", params={"queue": "unassigned", "priority": "P1", "seen": position},
                 headers=HTMX)
    assert same.status_code == 204 and same.headers["hx-reswap"] == "none"
    second = ticket(desk, "classified")
    moved = c.get("/ui/", params={"queue": "unassigned", "priority": "P1", "seen": position},
                  headers=HTMX)
    assert moved.status_code == 200 and numbers(moved.text) == [first, second]
    assert f'data-position="{position}"' not in moved.text
    # the countdowns read in minutes: a minute later the table is drawn again
    now = re.search(r'data-position="([^"]+)"', moved.text).group(1)  # type: ignore[union-attr]
    desk.clock.advance(minutes=1)
    later = c.get("/ui/", params={"queue": "unassigned", "priority": "P1", "seen": now},
                  headers=HTMX)
    assert later.status_code == 200
    # a full page load ignores seen: it always draws the page
    assert c.get("/ui/", params={"queue": "unassigned", "seen": now}).status_code == 200
