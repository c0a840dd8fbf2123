"""``GET /api/v1/projects/{id}/reports/{period}`` (API.md "projects", ADR 0029): the JSON
fields API.md names, content negotiation (HTML with SVG, Markdown), as-of stability and the
refusals. The data set is ``tests/application/report_scenario.py``, driven through the use
cases on the app's own store and clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from adapters.render.report import to_json
from application.commands.projects import Contract, ContractProject
from application.ports import FixedClock
from application.reports import ReportBuilder
from tests.application.report_scenario import (
    REPORT_AT,
    START,
    Scenario,
    build_scenario,
    later_events,
    local,
)
from tests.fixtures_http import ALL_STORES, API, Api, assert_problem


@pytest.fixture
def http_clock() -> FixedClock:
    return FixedClock(START)


def settle(api: Api) -> None:
    """Let the runner (and the routine-ticket process manager it drives) reach the head."""
    for _ in range(3):
        assert api.services.runner.wait_for(api.services.desk.max_position(), 10)


@pytest.fixture
def scenario(api: Api) -> Scenario:
    s = build_scenario(api.services.desk, api.clock)
    settle(api)
    return s


def url(project: Any, period: str = "2026-11") -> str:
    return f"{API}/projects/{project}/reports/{period}"


def at(when: datetime) -> str:
    return when.isoformat()


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_json_has_the_api_fields_and_is_the_builders_report(api: Api, scenario: Scenario) -> None:
    r = api.client.get(url(scenario.project))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["tickets"]["total"] >= 7  # + the ticket the abnormal backup opened
    assert body["tickets"]["by_priority"]["P1"] == 2
    assert body["sla"]["response_met_pct"] is not None
    assert body["sla"]["resolution_met_pct"] is not None
    assert body["first_contact_resolution_pct"] == 40.0
    assert body["satisfaction"]["mean"] == 4.08
    assert body["changes"]["total"] == 3
    assert (body["routines"]["done"], body["routines"]["abnormal"]) == (3, 1)
    # The abnormal run's ticket is the project's too, and the report says which it is.
    [run] = body["routines"]["abnormal_runs"]
    assert run["ticket_number"].startswith("SR-")
    services = api.services
    built = ReportBuilder(services.desk, services.tickets, services.changes).build(
        str(scenario.project), "2026-11")
    assert r.content == to_json(built)
    # The project's number works as well as its id.
    number = body["project"]["number"]
    assert api.client.get(url(number)).content == r.content


def test_html_has_svg_charts_and_escapes_text(api: Api, scenario: Scenario) -> None:
    api.clock.set(local(23, 12))
    contract = Contract(number="HT-<9>", services=["response"], start=REPORT_AT.date(),
                        end=REPORT_AT.date())
    odd = api.services.desk.handle(ContractProject(
        name="<script>alert(1)</script> & co", customer="客户X", contract=contract,
        sla_policy="default", calendar="china-5x8"), actor="mgr").aggregate
    settle(api)
    for headers, params in (({"Accept": "text/html"}, {}), ({}, {"format": "html"})):
        r = api.client.get(url(scenario.project), headers=headers, params=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/html; charset=utf-8"  # one charset
        assert r.text.count("<svg") >= 4 and "@media print" in r.text
        assert "<script" not in r.text and "http://" not in r.text.replace(
            'xmlns="http://www.w3.org/2000/svg"', "")
    r = api.client.get(url(odd.id), headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert "<script>" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in r.text
    md = api.client.get(url(scenario.project), params={"format": "md"})
    assert md.headers["content-type"] == "text/markdown; charset=utf-8"
    assert "| P1 | 2 |" in md.text


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_as_of_report_does_not_change_when_later_events_arrive(
        api: Api, scenario: Scenario) -> None:
    first = api.client.get(url(scenario.project), params={"as_of": at(REPORT_AT)})
    assert first.status_code == 200, first.text
    later_events(scenario)
    api.clock.set(local(24, 9))
    settle(api)
    again = api.client.get(url(scenario.project), params={"as_of": at(REPORT_AT)})
    assert again.content == first.content
    html = [api.client.get(url(scenario.project), params={"as_of": at(REPORT_AT)},
                           headers={"Accept": "text/html"}).text for _ in range(2)]
    assert html[0] == html[1]
    now = api.client.get(url(scenario.project)).json()
    assert now["tickets"]["total"] == first.json()["tickets"]["total"] + 1
    assert now["as_of"] == "2026-11-24T09:00:00+08:00"


def test_refusals(api: Api, scenario: Scenario) -> None:
    assert_problem(api.client.get(url("PRJ-20991231-001")), 404)
    assert_problem(api.client.get(url("not-a-project")), 404)
    for bad in ("2026-13", "2026-Q0", "2026-1", "november"):
        assert_problem(api.client.get(url(scenario.project, bad)), 422, field="period")
    for bad in ("yesterday", "2026-11-20T10:00:00", at(local(30, 9))):
        assert_problem(api.client.get(url(scenario.project), params={"as_of": bad}), 422,
                       field="as_of")
    assert_problem(api.client.get(url(scenario.project), params={"format": "pdf"}), 422,
                   field="format")
    # Before the project was contracted it did not exist.
    assert_problem(api.client.get(url(scenario.project), params={"as_of": at(local(1, 9))}), 404)
