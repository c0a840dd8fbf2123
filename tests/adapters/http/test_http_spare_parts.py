"""Spare parts over HTTP (issue 20 item 2, ADR 0064): a warehouse with its project's arrival
target, receipts into stock, a requisition (BJ-…) for a ticket issued from stock with its
dispatched / arrived / installed / returned-faulty steps, the arrival time measured against
the target, the 409 naming ``stock`` when too few are left (stock never negative), 422s
naming the field, reads as of a past time, and who may do what.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_http import API, DAY, Api, assert_problem

#: The store does not matter here: the in-memory one (the main flows run on every store).
MEMORY = pytest.mark.parametrize("http_store", ["memory"])

WAREHOUSE = {"name": "客户A 项目备件库", "location": "广州机房 B1", "arrival_target_hours": 2}


def stocked(api: Api, quantity: int = 3) -> dict[str, Any]:
    r = api.client.put(f"{API}/warehouses/gz-main", json=WAREHOUSE)
    assert r.status_code == 201, r.text
    r = api.client.post(f"{API}/warehouses/gz-main/receive", json={
        "part_number": "hdd-600g-sas", "description": "600G SAS 硬盘", "quantity": quantity,
        "location": "A-03"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def requisition(api: Api, ticket: str, quantity: int = 1) -> Any:
    return api.client.post(f"{API}/requisitions", json={
        "ticket": ticket, "warehouse": "gz-main", "part_number": "HDD-600G-SAS",
        "quantity": quantity, "note": "RAID 5 第 3 块盘故障"})


def test_a_requisition_issues_from_stock_and_measures_arrival(api: Api) -> None:
    line = stocked(api)
    assert (line["part_number"], line["quantity"], line["location"]) == ("HDD-600G-SAS", 3,
                                                                         "A-03")
    t = api.given_ticket("in_progress")
    r = api.ok(requisition(api, t["number"], 2), 201)
    assert r["number"] == f"BJ-{DAY}-001" and r["status"] == "requested"
    assert r["ticket"] == {"id": t["id"], "number": t["number"]}
    assert (r["quantity"], r["arrival_target_hours"], r["arrival_met"]) == (2, 2.0, None)
    stock = api.client.get(f"{API}/warehouses/gz-main/stock").json()
    assert [(x["part_number"], x["quantity"], x["issued"]) for x in stock["items"]] == [
        ("HDD-600G-SAS", 1, 2)]
    api.clock.advance(minutes=30)
    r = api.ok(api.client.post(f"{API}/requisitions/{r['number']}/dispatch", json={}))
    assert r["status"] == "dispatched"
    api.clock.advance(minutes=60)
    r = api.ok(api.client.post(f"{API}/requisitions/{r['id']}/arrive", json={}))
    assert (r["status"], r["arrival_minutes"], r["arrival_met"]) == ("arrived", 90.0, True)
    r = api.ok(api.client.post(f"{API}/requisitions/{r['id']}/install", json={"note": "已更换"}))
    assert r["status"] == "installed"
    r = api.ok(api.client.post(f"{API}/requisitions/{r['id']}/return_faulty",
                               json={"reason": "新盘重建 RAID 时报错"}))
    assert (r["status"], r["fault"]) == ("returned_faulty", "新盘重建 RAID 时报错")
    assert_problem(api.client.post(f"{API}/requisitions/{r['id']}/install", json={}), 409)
    history = api.client.get(f"{API}/requisitions/{r['number']}/history").json()
    assert [h["type"] for h in history] == ["Requested", "Dispatched", "Arrived", "Installed",
                                            "ReturnedFaulty"]
    before = api.client.get(f"{API}/requisitions/{r['id']}",
                            params={"as_of": history[1]["recorded_at"]}).json()
    assert before["status"] == "dispatched"
    listed = api.client.get(f"{API}/requisitions", params={"ticket": t["number"]}).json()
    assert [x["number"] for x in listed["items"]] == [r["number"]]
    assert api.client.get(f"{API}/requisitions", params={"ticket": "SR-19990101-001"}
                          ).json()["items"] == []


@MEMORY
def test_a_late_arrival_misses_the_target(api: Api) -> None:
    stocked(api)
    t = api.given_ticket("assigned")
    r = api.ok(requisition(api, t["id"]), 201)
    api.clock.advance(hours=3)
    assert api.client.get(f"{API}/requisitions/{r['id']}").json()["arrival_met"] is False
    api.ok(api.client.post(f"{API}/requisitions/{r['id']}/dispatch", json={}))
    r = api.ok(api.client.post(f"{API}/requisitions/{r['id']}/arrive", json={}))
    assert (r["arrival_minutes"], r["arrival_met"]) == (180.0, False)


@MEMORY
def test_too_few_in_stock_is_a_409_naming_stock_and_nothing_is_issued(api: Api) -> None:
    stocked(api, quantity=2)
    t = api.given_ticket("in_progress")
    body = assert_problem(requisition(api, t["id"], 3), 409)
    assert "stock" in body.get("missing", []), body
    api.ok(requisition(api, t["id"], 2), 201)
    assert_problem(requisition(api, t["id"], 1), 409)
    stock = api.client.get(f"{API}/warehouses/gz-main/stock").json()
    assert stock["items"][0]["quantity"] == 0
    # a receipt makes it available again; the next number follows without a gap
    api.client.post(f"{API}/warehouses/gz-main/receive",
                    json={"part_number": "HDD-600G-SAS", "quantity": 1})
    assert api.ok(requisition(api, t["id"]), 201)["number"] == f"BJ-{DAY}-002"


@MEMORY
def test_unknown_things_are_422s_naming_the_field(api: Api) -> None:
    stocked(api)
    t = api.given_ticket("in_progress")
    assert_problem(requisition(api, "SR-19990101-001"), 422, field="ticket")
    r = api.client.post(f"{API}/requisitions", json={
        "ticket": t["id"], "warehouse": "nowhere", "part_number": "X"})
    assert_problem(r, 422, field="warehouse")
    r = api.client.post(f"{API}/requisitions", json={
        "ticket": t["id"], "warehouse": "gz-main", "part_number": "NO-SUCH"})
    assert_problem(r, 422, field="part_number")
    r = api.client.post(f"{API}/requisitions", json={
        "ticket": t["id"], "warehouse": "gz-main", "part_number": "HDD-600G-SAS",
        "quantity": 0})
    assert_problem(r, 400 if r.status_code == 400 else 422, field="quantity")
    r = api.client.post(f"{API}/warehouses/gz-main/receive",
                        json={"part_number": "NEW-PART", "quantity": 1})
    assert_problem(r, 422, field="description")
    assert_problem(api.client.post(f"{API}/warehouses/none/receive", json={
        "part_number": "X", "description": "x", "quantity": 1}), 404)
    r = api.client.put(f"{API}/warehouses/other", json={**WAREHOUSE, "project": "PRJ-1"})
    assert_problem(r, 422, field="project")
    closed = api.given_ticket("closed")
    assert_problem(requisition(api, closed["id"]), 409)


@MEMORY
def test_warehouses_list_and_redefine(api: Api) -> None:
    stocked(api)
    r = api.client.put(f"{API}/warehouses/gz-main", json={**WAREHOUSE, "arrival_target_hours": 4})
    assert r.status_code == 200 and r.json()["arrival_target_hours"] == 4.0
    listed = api.client.get(f"{API}/warehouses").json()
    assert [(w["slug"], w["parts"]) for w in listed["items"]] == [("gz-main", 1)]


@MEMORY
def test_a_step_recorded_later_claims_its_time_and_arrival_is_measured_by_it(api: Api) -> None:
    stocked(api)
    t = api.given_ticket("in_progress")
    r = api.ok(requisition(api, t["id"]), 201)
    api.clock.advance(hours=5)
    api.ok(api.client.post(f"{API}/requisitions/{r['id']}/dispatch",
                           json={"occurred_at": "2026-11-21T01:20:00+08:00"}))
    assert_problem(api.client.post(f"{API}/requisitions/{r['id']}/arrive",
                                   json={"occurred_at": "2026-11-21T01:10:00+08:00"}), 422,
                   field="occurred_at")
    r = api.ok(api.client.post(f"{API}/requisitions/{r['id']}/arrive",
                               json={"occurred_at": "2026-11-21T02:30:00+08:00"}))
    assert (r["arrival_minutes"], r["arrival_met"]) == (90.0, True)


@MEMORY
def test_a_step_the_state_forbids_is_a_409_before_its_bad_fields(api: Api) -> None:
    stocked(api)
    r = api.ok(requisition(api, api.given_ticket("in_progress")["id"]), 201)
    body = assert_problem(api.client.post(f"{API}/requisitions/{r['id']}/install",
                                          json={"note": 5}), 409)
    assert "dispatch" in body["detail"]
    assert_problem(api.client.post(f"{API}/requisitions/BJ-19990101-001/dispatch", json={}), 404)
