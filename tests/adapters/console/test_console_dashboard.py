"""The manager's pages (issue 18): the dashboard, the SLA compliance board and the service
report list, logged in through the form as a browser is, on memory and SQLite.

The desk: a Monday (2026-11-23, Shanghai) with a P1, two P2 and a P3 reported at 09:00 (the
default policy on china-5x8: P1 response 2 h, resolution 4 h; P2 4 h / 24 h; P3 8 h / three
working days), read at 11:30: the P1's response clock (due 11:00) has breached today, nothing
else has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.fixtures_http import PRECISE, Api, ticket_body
from tests.support.console import ADMIN, login, person
from tests.support.sla import P1, P2, P3, SH

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=SH)


class Desk:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.c = api.client
        self.numbers: dict[str, str] = {}

    def register(self, name: str, customer: str = "客户A", **fields: Any) -> str:
        r = self.c.post("/api/v1/tickets", headers=ADMIN, json=ticket_body(
            customer=customer, title=name, reported_at=self.api.clock.now().isoformat(),
            **fields))
        assert r.status_code == 201, r.text
        self.numbers[name] = r.json()["number"]
        return str(r.json()["number"])

    def do(self, name: str, command: str, **body: Any) -> None:
        r = self.c.post(f"/api/v1/tickets/{self.numbers[name]}/{command}", headers=ADMIN,
                        json=body)
        assert r.status_code == 200, r.text


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Desk:
    api = make_api(admin_token="s3cret")
    for user, role in (("mgr", "manager"), ("disp", "dispatcher"), ("aud", "auditor"),
                       ("eng-wang", "engineer"), ("eng-li", "engineer"), ("agent", "agent")):
        person(api.client, ADMIN, user, role)
    person(api.client, ADMIN, "req", "requester", customer="客户A")
    api.clock.set(MONDAY)
    d = Desk(api)
    d.register("p1", **P1)
    d.register("p2-wang", **P2)
    d.register("p2-li", customer="客户B", **P2)
    d.register("p3", customer="客户B", **P3)
    d.do("p2-wang", "assign", assignee="eng-wang")
    d.do("p2-li", "assign", assignee="eng-li")
    d.do("p3", "assign", assignee="eng-wang")
    d.do("p3", "start")
    d.do("p3", "resolve", resolution=PRECISE, root_cause="会话表已满")
    api.clock.set(datetime(2026, 11, 23, 11, 30, tzinfo=SH))
    return d


class Cells(HTMLParser):
    """Every element's ``data-*`` hooks: ``cells[(row hook, column hook)]`` = its text, for
    rows marked ``data-group`` / ``data-priority`` / ``data-assignee`` and cells marked
    ``data-col`` / ``data-open``; ``figures[name]`` for ``data-figure``."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.row: str | None = None
        self.open: list[tuple[str, str]] = []
        self.cells: dict[tuple[str, str], str] = {}
        self.figures: dict[str, str] = {}
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr":
            self.row = a.get("data-group") or a.get("data-priority") or a.get("data-assignee")
        key = a.get("data-col") or ("open" if "data-open" in a else None)
        if key and self.row:
            self.open.append(("cell", key))
            self.text = []
        elif a.get("data-figure"):
            self.open.append(("figure", str(a["data-figure"])))
            self.text = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self.open and tag in ("td", "b", "a"):
            kind, key = self.open.pop()
            value = "".join(self.text).strip()
            if kind == "cell":
                self.cells[(str(self.row), key)] = value
            else:
                self.figures[key] = value


def number(text: str) -> float | int | None:
    if text in ("–", ""):
        return None
    return float(text.rstrip("%")) if "%" in text or "." in text else int(text)


# ------------------------------------------------------------------ the dashboard


def test_the_dashboard_counts_open_tickets_by_priority_breaches_today_and_load(desk: Desk):
    login(desk.c, "mgr")
    r = desk.c.get("/ui/dashboard")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = Cells(r.text)
    assert page.figures == {"open": "4", "unresolved": "3", "breaches": "1", "unassigned": "1"}
    assert {p: page.cells[(p, "open")] for p in ("P1", "P2", "P3", "P4")} == {
        "P1": "1", "P2": "2", "P3": "1", "P4": "0"}
    # the P1's response clock (due 11:00) is today's one breach; nothing else has breached
    breaches = r.text.split('data-section="breaches"')[1].split("</section>")[0]
    assert re.findall(r'data-ticket="([^"]+)"', breaches) == [desk.numbers["p1"]]
    assert "响应" in breaches and "2026-11-23 11:00" in breaches
    # the engineers' load: eng-wang has a P2 and a P3 (resolved, not yet accepted)
    assert page.cells[("eng-wang", "open")] == "2" and page.cells[("eng-li", "open")] == "1"
    # charts: an SVG per figure, with its title, values and a table beside it
    for chart in ("chart-priority", "chart-flow", "chart-backlog", "chart-load"):
        svg = r.text.split(f'id="{chart}"')[1].split("</figure>")[0]
        assert "<svg" in svg and "<title" in svg and "<table" in svg, chart
    assert 'data-value="2"' in r.text.split('id="chart-priority"')[1].split("</svg>")[0]
    # today's flow: four reported, none resolved but the P3
    flow = r.text.split('id="chart-flow"')[1].split("</figure>")[0]
    assert "11-23: 新增 4, 解决 1" in flow


def test_the_dashboard_links_lead_to_the_queues_it_counts(desk: Desk):
    login(desk.c, "mgr")
    r = desk.c.get("/ui/dashboard")
    link = re.search(r'<tr data-assignee="eng-wang"><th scope="row"><a href="([^"]+)"', r.text)
    assert link is not None
    queue = desk.c.get(link.group(1).replace("&amp;", "&"))
    assert queue.status_code == 200
    rows = re.findall(r'<tr data-ticket="([^"]+)"', queue.text)
    assert sorted(rows) == sorted([desk.numbers["p2-wang"], desk.numbers["p3"]])
    unassigned = desk.c.get("/ui/?queue=unassigned")
    assert re.findall(r'<tr data-ticket="([^"]+)"', unassigned.text) == [desk.numbers["p1"]]


def test_the_trend_reads_the_days_of_the_service_zone_and_30_days_on_request(desk: Desk):
    login(desk.c, "disp")
    r = desk.c.get("/ui/dashboard?days=30")
    assert r.status_code == 200
    table = r.text.split('id="chart-backlog"')[1].split("</figure>")[0]
    days = re.findall(r'<th scope="row">(\d\d-\d\d)</th><td>(\d+)</td>', table)
    assert len(days) == 30 and days[-1] == ("11-23", "3") and days[0] == ("10-25", "0")
    assert desk.c.get("/ui/dashboard?days=7").status_code == 400


# ------------------------------------------------------------------ the SLA board


@pytest.mark.parametrize("by", ["priority", "customer"])
@pytest.mark.parametrize("period", [{}, {"from": "2026-11-01", "to": "2026-11-30"},
                                    {"from": "2026-11-23", "to": "2026-11-23"}])
def test_the_sla_board_shows_the_api_s_figures_for_the_same_period(desk: Desk, by: str,
                                                                   period: dict[str, str]):
    api = desk.c.get("/api/v1/sla/compliance", params=period, headers=ADMIN).json()
    login(desk.c, "mgr")
    r = desk.c.get("/ui/sla", params={**period, "by": by})
    assert r.status_code == 200
    cells = Cells(r.text).cells
    groups = api["by_priority"] if by == "priority" else api["by_customer"]
    assert groups and api["total"]["tickets"] == 4
    fields = ("tickets", "response_met", "response_missed", "response_met_pct",
              "resolution_met", "resolution_missed", "resolution_met_pct")
    for g in [*groups, api["total"]]:
        key = "total" if g is api["total"] else g[by]
        shown = {f: number(cells[(key, f)]) for f in fields}
        assert shown == {f: g[f] if f.endswith("pct") and g[f] is None else g[f] for f in fields}
    # the P1's response is missed (due 11:00, nobody answered): the board says so in red
    assert api["total"]["response_missed"] == 1 and "s-missed" in r.text
    assert r.text.count("<svg") == 2


def test_the_sla_board_refuses_a_bad_period_or_grouping_as_the_api_does(desk: Desk):
    login(desk.c, "mgr")
    page = desk.c.get("/ui/sla?from=2026-11-30&to=2026-11-01")
    api = desk.c.get("/api/v1/sla/compliance?from=2026-11-30&to=2026-11-01", headers=ADMIN)
    assert page.status_code == api.status_code == 400
    assert "must be later than from" in page.text and page.headers["content-type"].startswith(
        "text/html")
    assert desk.c.get("/ui/sla?by=engineer").status_code == 400
    assert desk.c.get("/ui/sla?from=2026-13-01&to=2026-11-01").status_code == 400


# ------------------------------------------------------------------ who sees them


@pytest.mark.parametrize("path", ["/ui/dashboard", "/ui/sla"])
def test_engineers_and_agents_are_refused_requesters_sent_to_the_portal(desk: Desk, path: str):
    for user in ("eng-wang", "agent"):  # GET /api/v1/sla/compliance is not theirs
        login(desk.c, user)
        assert desk.c.get("/api/v1/sla/compliance").status_code == 403
        r = desk.c.get(path)
        assert r.status_code == 403 and "无权访问" in r.text
    login(desk.c, "req")
    r = desk.c.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal/"
    desk.c.cookies.delete("opsledger_session")
    r = desk.c.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login?next=")


@pytest.mark.parametrize("path", ["/ui/dashboard", "/ui/sla", "/ui/reports"])
def test_an_auditor_sees_the_figures_and_no_command_form(desk: Desk, path: str):
    login(desk.c, "aud")
    r = desk.c.get(path)
    assert r.status_code == 200
    assert r.text.count('method="post"') == 1 and 'action="/ui/logout"' in r.text
    assert 'name="_key"' not in r.text and 'name="_version"' not in r.text


def test_the_tabs_show_only_the_pages_the_caller_may_open(desk: Desk):
    login(desk.c, "eng-wang")
    tabs = desk.c.get("/ui/reports").text.split('class="tabs"')[1].split("</nav>")[0]
    assert "/ui/reports" in tabs and "/ui/dashboard" not in tabs and "/ui/sla" not in tabs
    login(desk.c, "mgr")
    tabs = desk.c.get("/ui/reports").text.split('class="tabs"')[1].split("</nav>")[0]
    assert all(p in tabs for p in ("/ui/dashboard", "/ui/sla", "/ui/reports"))


# ------------------------------------------------------------------ reports in the browser


def test_a_report_opens_from_the_session_and_prints(desk: Desk):
    r = desk.c.post("/api/v1/projects", headers={**ADMIN}, json={
        "name": "客户A 2026 运维", "customer": "客户A",
        "contract": {"number": "HT-2026-001", "services": ["巡检"], "start": "2026-10-01",
                     "end": "2027-09-30"},
        "sla_policy": "default", "calendar": "china-5x8"})
    assert r.status_code == 201, r.text
    project = r.json()["number"]
    login(desk.c, "mgr")
    page = desk.c.get("/ui/reports")
    assert page.status_code == 200
    links = re.findall(r'href="(/api/v1/projects/[^"]+)"', page.text)
    month = f"/api/v1/projects/{project}/reports/2026-11?format=html"
    assert month in [x.replace("&amp;", "&") for x in links]
    assert f"/api/v1/projects/{project}/reports/2026-10?format=html" in page.text
    assert f"/api/v1/projects/{project}/reports/2026-12?format=html" not in page.text  # later
    assert f"/api/v1/projects/{project}/reports/2026-Q4?format=html" in page.text
    # the browser sends its cookie, no bearer header
    assert "authorization" not in {k.lower() for k in desk.c.headers}
    report = desk.c.get(month)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "@media print" in report.text and "<svg" in report.text and project in report.text
    assert "HT-2026-001" in report.text
    desk.c.cookies.delete("opsledger_session")
    assert desk.c.get(month).status_code == 401  # no session, no report


def test_the_pages_print_cleanly(desk: Desk):
    css = desk.c.get("/ui/static/console.css").text
    printing = css[css.rindex("@media print"):]
    for rule in ("print-color-adjust: exact", "break-inside: avoid", "details.chart-data"):
        assert rule in printing, rule
    login(desk.c, "mgr")
    r = desk.c.get("/ui/sla")
    assert 'class="filters"' in r.text and "no-print" in r.text  # hidden in print (console.css)


def test_english_words_on_request(desk: Desk):
    login(desk.c, "mgr")
    desk.c.cookies.set("lang", "en")
    r = desk.c.get("/ui/dashboard")
    assert "Open tickets by priority" in r.text and "Breached today" in r.text
    assert "未关闭工单" not in r.text
    r = desk.c.get("/ui/sla")
    assert "SLA compliance" in r.text and "Response clocks met and missed, by priority" in r.text
