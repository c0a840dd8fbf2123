"""The service report's field-work block (ADR 0064): the on-site time of the period's field
visits and the spare parts' arrival time against the warehouse's target, as of a time.
"""

from __future__ import annotations

import pytest

from tests.fixtures_http import API, Api

#: The store does not matter here: the in-memory one (the main flows run on every store).
MEMORY = pytest.mark.parametrize("http_store", ["memory"])

PROJECT = {"name": "客户A 2026 运维", "customer": "客户A",
           "contract": {"number": "HT-2026-001", "services": ["巡检"], "start": "2026-11-01",
                        "end": "2027-10-31"},
           "sla_policy": "default", "calendar": "china-5x8"}


def post(api: Api, path: str, body: dict, status: int = 200) -> dict:
    r = api.client.post(f"{API}{path}", json=body)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


@MEMORY
def test_the_report_shows_on_site_time_and_spare_part_arrival(api: Api) -> None:
    project = post(api, "/projects", PROJECT, 201)
    assert api.client.put(f"{API}/warehouses/gz", json={
        "name": "广州备件库", "project": project["number"],
        "arrival_target_hours": 1}).status_code == 201
    post(api, "/warehouses/gz/receive", {"part_number": "FAN-01", "description": "风扇",
                                          "quantity": 4})
    t = api.given_ticket("in_progress")
    v = post(api, f"/tickets/{t['id']}/visits", {"engineer": "eng-wang",
                                                 "planned_arrival": "2026-11-21T02:00:00+08:00"},
             201)
    fast = post(api, "/requisitions", {"ticket": t["id"], "warehouse": "gz",
                                       "part_number": "FAN-01", "quantity": 2}, 201)
    slow = post(api, "/requisitions", {"ticket": t["id"], "warehouse": "gz",
                                       "part_number": "FAN-01"}, 201)
    api.clock.advance(minutes=39)
    early = api.clock.now().isoformat()  # before the arrivals
    api.clock.advance(minutes=1)
    post(api, f"/tickets/{t['id']}/visits/{v['number']}/arrive", {})
    for step in ("dispatch", "arrive"):
        post(api, f"/requisitions/{fast['id']}/{step}", {})
    api.clock.advance(minutes=80)
    post(api, f"/tickets/{t['id']}/visits/{v['number']}/leave", {
        "work_done": "更换风扇 2 个", "parts_used": ["风扇 ×2"], "signer": "王经理"})
    api.clock.advance(minutes=1)
    report = api.client.get(f"{API}/projects/{project['id']}/reports/2026-11").json()
    work = report["field_work"]
    assert work["visits"] == {"planned": 1, "completed": 1, "on_site_hours": 1.33,
                              "on_site_minutes_mean": 80.0, "late_arrivals": 0,
                              "rescheduled": 0, "numbers": [v["number"]]}
    parts = work["spare_parts"]
    assert (parts["requisitions"], parts["quantity"], parts["arrived"]) == (2, 3, 1)
    assert (parts["arrival_minutes_mean"], parts["arrival_met"], parts["arrival_missed"],
            parts["arrival_pending"], parts["arrival_met_pct"]) == (40.0, 1, 1, 0, 50.0)
    assert parts["numbers"] == [fast["number"], slow["number"]]
    earlier = api.client.get(f"{API}/projects/{project['id']}/reports/2026-11",
                             params={"as_of": early}).json()
    assert earlier["field_work"]["visits"]["completed"] == 0
    assert earlier["field_work"]["spare_parts"]["arrival_pending"] == 2


@MEMORY
def test_the_markdown_and_html_reports_show_the_field_work(api: Api) -> None:
    project = post(api, "/projects", PROJECT, 201)
    t = api.given_ticket("in_progress")
    v = post(api, f"/tickets/{t['id']}/visits", {"engineer": "eng-wang",
                                                 "planned_arrival": "2026-11-21T02:00:00+08:00"},
             201)
    for form in ("md", "html"):
        r = api.client.get(f"{API}/projects/{project['id']}/reports/2026-11",
                           params={"format": form})
        assert r.status_code == 200 and "现场服务" in r.text and v["number"] in r.text, r.text
        assert "备件" in r.text
