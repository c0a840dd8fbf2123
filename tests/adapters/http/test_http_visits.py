"""Field visits over HTTP (issue 20 item 4, ADR 0064): a dispatch order (PG-…) planned on a
ticket, rescheduled, departed, arrived and left with the technical service sheet; the
``Ticket.Visit*`` events in the ticket's history (the milestone clocks match them by class
name); on-site time; the out-of-office register; the ticket's visits as of a past time;
who may do what (engineers their own visits; requesters their organisation's visits
without the desk's internal notes, the signer masked); the signer sealed and erased with
the customer's personal data.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.adapters.http.test_http_complaints import users
from tests.fixtures_http import API, DAY, Api, assert_problem

#: The store does not matter here: the in-memory one (the main flows run on every store).
MEMORY = pytest.mark.parametrize("http_store", ["memory"])

ARRIVAL = "2026-11-21T03:00:00+08:00"
SHEET = {"work_done": "更换 RAID 第 3 块硬盘并重建阵列，ERP 恢复", "parts_used": ["600G SAS 硬盘 ×1"],
         "signer": "司马签收人"}
ADMIN = {"Authorization": "Bearer s3cret"}


def visits(api: Api, ref: str, headers: dict[str, str] | None = None) -> str:
    return f"{API}/tickets/{ref}/visits"


def plan(api: Api, ticket: dict[str, Any], headers: dict[str, str] | None = None,
         **over: Any) -> Any:
    body = {"engineer": "eng-wang", "planned_arrival": ARRIVAL, "note": "带 600G 硬盘", **over}
    return api.client.post(f"{API}/tickets/{ticket['id']}/visits", json=body, headers=headers)


def step(api: Api, ticket: dict[str, Any], visit: str, name: str,
         body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"{API}/tickets/{ticket['id']}/visits/{visit}/{name}",
                           json=body or {}, headers=headers)


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_a_visit_from_plan_to_service_sheet(api: Api) -> None:
    t = api.given_ticket("assigned")
    r = plan(api, t)
    v = ok(r, 201)
    assert v["number"] == f"PG-{DAY}-001" and r.headers["location"] == f"{API}/visits/{v['number']}"
    assert (v["status"], v["engineer"], v["note"], v["away"]) == ("planned", "eng-wang",
                                                                   "带 600G 硬盘", False)
    pg = v["number"]
    api.clock.advance(minutes=5)
    v = ok(step(api, t, pg, "reschedule", {"planned_arrival": "2026-11-21T04:00:00+08:00",
                                             "reason": "客户机房 3 点前不开放"}))
    assert [x["reason"] for x in v["reschedules"]] == ["客户机房 3 点前不开放"]
    api.clock.advance(minutes=10)
    v = ok(step(api, t, pg.lower(), "depart"))
    assert (v["status"], v["away"]) == ("departed", True)
    api.clock.advance(minutes=45)
    v = ok(step(api, t, pg, "arrive"))
    assert (v["status"], v["late"]) == ("on_site", False)
    api.clock.advance(minutes=90)
    v = ok(step(api, t, pg, "leave", SHEET))
    assert (v["status"], v["on_site_minutes"], v["away"]) == ("left", 90.0, False)
    assert v["sheet"] == SHEET
    types = [h["type"] for h in api.history(t["id"])]
    assert types[-5:] == ["VisitPlanned", "VisitRescheduled", "VisitDeparted", "VisitArrived",
                          "VisitLeft"]
    # as of the arrival the visit was on site
    arrived_at = api.history(t["id"])[-2]["recorded_at"]
    past = ok(api.client.get(visits(api, t["id"]), params={"as_of": arrived_at}))
    assert [x["status"] for x in past] == ["on_site"]
    assert ok(api.client.get(f"{API}/visits/{pg}"))["status"] == "left"
    assert_problem(step(api, t, pg, "arrive"), 409)


@MEMORY
def test_rules_are_409s_and_422s(api: Api) -> None:
    fresh = api.ok(api.register(), 201)
    assert_problem(plan(api, fresh), 409)
    t = api.given_ticket("in_progress")
    assert_problem(plan(api, t, planned_arrival=None), 422, field="planned_arrival")
    pg = ok(plan(api, t), 201)["number"]
    assert_problem(step(api, t, pg, "leave", SHEET), 409)  # not on site yet
    assert_problem(step(api, t, "PG-19990101-001", "depart"), 422, field="visit")
    assert_problem(step(api, t, pg, "reschedule", {"planned_arrival": ARRIVAL}), 422,
                   field="reason")
    ok(step(api, t, pg, "arrive"))  # arriving without a recorded departure is allowed
    body = assert_problem(step(api, t, pg, "leave", {"parts_used": []}), 422)
    assert {e["field"] for e in body["errors"]} == {"work_done", "signer"}


@MEMORY
def test_the_out_of_office_register(api: Api) -> None:
    a = api.given_ticket("assigned")
    b = api.given_ticket("assigned", customer="客户B")
    pa = ok(plan(api, a), 201)["number"]
    pb = ok(plan(api, b, engineer="eng-li"), 201)["number"]
    ok(step(api, a, pa, "depart"))
    register = ok(api.client.get(f"{API}/visits"))
    assert {x["number"] for x in register["items"]} == {pa, pb}
    away = ok(api.client.get(f"{API}/visits", params={"away": "true"}))
    assert [x["number"] for x in away["items"]] == [pa]
    mine = ok(api.client.get(f"{API}/visits", params={"engineer": "eng-li"}))
    assert [x["number"] for x in mine["items"]] == [pb]
    planned = ok(api.client.get(f"{API}/visits", params={"status": "planned"}))
    assert [x["number"] for x in planned["items"]] == [pb]
    later = ok(api.client.get(f"{API}/visits", params={"from": "2026-11-22T00:00:00+08:00"}))
    assert later["items"] == []
    assert_problem(api.client.get(f"{API}/visits", params={"status": "nowhere"}), 400)


@MEMORY
def test_who_may_do_what(make_api: Callable[..., Api]) -> None:
    api = make_api(admin_token="s3cret")
    api.client.headers.update(ADMIN)
    for name in ("客户A", "客户B"):
        api.client.post(f"{API}/customers", json={"id": name, "name": name})
    tokens = users(api, ("eng-wang", "engineer", None), ("eng-li", "engineer", None),
                   ("disp", "dispatcher", None), ("req-a", "requester", "客户A"),
                   ("req-b", "requester", "客户B"))
    t = api.given_ticket("assigned")
    assert_problem(plan(api, t, headers=tokens["eng-wang"]), 403)
    assert_problem(plan(api, t, headers=tokens["disp"], engineer="nobody"), 422,
                   field="engineer")
    pg = ok(plan(api, t, headers=tokens["disp"]), 201)["number"]
    assert_problem(step(api, t, pg, "depart", headers=tokens["eng-li"]), 403)
    assert_problem(step(api, t, pg, "depart", headers=tokens["req-a"]), 403)
    ok(step(api, t, pg, "arrive", headers=tokens["eng-wang"]))
    ok(step(api, t, pg, "leave", SHEET, headers=tokens["eng-wang"]))
    mine = ok(api.client.get(visits(api, t["id"]), headers=tokens["req-a"]))
    assert [x["number"] for x in mine] == [pg]
    assert mine[0]["note"] is None and mine[0]["planned_by"] is None
    assert mine[0]["sheet"]["signer"] == "司****"
    assert "带 600G 硬盘" not in str(ok(api.client.get(f"{API}/visits/{pg}",
                                                       headers=tokens["req-a"])))
    assert_problem(api.client.get(visits(api, t["id"]), headers=tokens["req-b"]), 404)
    history = ok(api.client.get(f"{API}/tickets/{t['id']}/history", headers=tokens["req-a"]))
    assert "VisitPlanned" in str(history) and "带 600G 硬盘" not in str(history)
    assert_problem(api.client.get(f"{API}/visits/{pg}", headers=tokens["req-b"]), 404)
    assert ok(api.client.get(f"{API}/visits", headers=tokens["req-b"]))["items"] == []
    listed = ok(api.client.get(f"{API}/visits", headers=tokens["req-a"],
                               params={"customer": "客户B"}))
    assert [x["number"] for x in listed["items"]] == [pg]
    assert ok(api.client.get(f"{API}/visits/{pg}", headers=tokens["disp"]))["sheet"][
        "signer"] == SHEET["signer"]


@pytest.mark.parametrize("http_store", ["sqlite"])  # the bytes of a real file
def test_the_signer_is_sealed_and_erased(make_api: Callable[..., Api]) -> None:
    api = make_api(admin_token="s3cret")
    api.client.headers.update(ADMIN)
    api.client.post(f"{API}/customers", json={"id": "客户A", "name": "客户A"})
    t = api.given_ticket("assigned", assignee="admin")
    pg = ok(plan(api, t, engineer="admin"), 201)["number"]
    ok(step(api, t, pg, "arrive"))
    ok(step(api, t, pg, "leave", SHEET))
    events = api.events()["items"]
    left = next(e for e in events if e["topic"].endswith("VisitLeft"))
    assert SHEET["signer"] in str(left)  # the audit log reads it opened ...
    raw = [n.state for n in api.services.desk.recorder.select_notifications(start=1, limit=1000)]
    assert not any(SHEET["signer"].encode() in bytes(state) for state in raw)  # ... sealed
    api.clock.advance(hours=1)
    ok(api.client.post(f"{API}/customers/客户A/erase_personal_data",
                       json={"reason": "个人信息删除", "requested_by": "客户A 法务部"}))
    assert SHEET["signer"] not in api.client.get(visits(api, t["id"])).text
    assert SHEET["signer"] not in str(api.history(t["id"]))
    assert ok(api.client.get(visits(api, t["id"])))[0]["sheet"]["signer"] == "[erased]"


@MEMORY
def test_steps_recorded_later_claim_their_time(api: Api) -> None:
    t = api.given_ticket("in_progress")
    pg = ok(plan(api, t), 201)["number"]
    api.clock.advance(hours=3)  # the engineer had no network on site
    assert_problem(step(api, t, pg, "depart", {"occurred_at": "2026-11-21T05:00:00+08:00"}),
                   422, field="occurred_at")  # in the future
    ok(step(api, t, pg, "depart", {"occurred_at": "2026-11-21T01:30:00+08:00"}))
    assert_problem(step(api, t, pg, "arrive", {"occurred_at": "2026-11-21T01:00:00+08:00"}),
                   422, field="occurred_at")  # before the departure
    ok(step(api, t, pg, "arrive", {"occurred_at": "2026-11-21T02:10:00+08:00"}))
    body = assert_problem(step(api, t, pg, "leave", {
        **SHEET, "occurred_at": "2026-11-21T02:00:00+08:00"}), 422, field="occurred_at")
    assert "arrival" in str(body)
    v = ok(step(api, t, pg, "leave", {**SHEET, "occurred_at": "2026-11-21T03:40:00+08:00"}))
    assert (v["departed_at"], v["arrived_at"], v["on_site_minutes"]) == (
        "2026-11-20T17:30:00Z", "2026-11-20T18:10:00Z", 90.0)
