"""Hidden risks over HTTP (隐患, issue 21 item 4, ADR 0067): ``POST /api/v1/risks`` → 201 with
the few required fields, one 422 naming every refused field, follow-ups, removal, the
customer's acceptance (a requester of theirs, or a manager on their behalf), the 409 of a
closed risk, the overdue alarm recorded exactly once by the watcher, and a requester reading
only their own organisation's risks.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from typing import Any

import pytest

from application.record_watch import watch_risks
from tests.fixtures_http import API, Api, assert_problem, etag, user_token

ADMIN_TOKEN = "risk-admin"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BODY = {"customer": "客户A", "title": "核心交换机单电源运行", "severity": "high",
        "due": "2026-11-30"}


@pytest.fixture
def http_store() -> str:
    return "memory"


@pytest.fixture
def api(make_api: Any) -> Api:
    a = make_api(admin_token=ADMIN_TOKEN)
    for c in ("客户A", "客户B"):
        assert a.client.post(f"{API}/customers", json={"id": c, "name": c},
                             headers=ADMIN).status_code == 201
    return a


def user(api: Api, user_id: str, role: str, customer: str | None = None) -> dict[str, str]:
    return user_token(api.client, ADMIN, user_id, role, customer=customer)


def record(api: Api, headers: dict[str, str] = ADMIN, **over: Any) -> Any:
    return api.client.post(f"{API}/risks", json={**BODY, **over}, headers=headers)


def command(api: Api, ref: str, verb: str, body: dict[str, Any],
            headers: dict[str, str] = ADMIN) -> Any:
    return api.client.post(f"{API}/risks/{ref}/{verb}", json=body, headers=headers)


def read(api: Api, path: str, headers: dict[str, str] = ADMIN, **params: str) -> Any:
    return api.client.get(f"{API}{path}", params=params, headers=headers)


@pytest.mark.parametrize("http_store", ["sqlite"])
def test_record_answers_201_with_the_view_and_reads_it_back(api: Api) -> None:
    r = record(api)
    risk = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/risks/{risk['id']}"
    assert r.headers["etag"] == etag(1)
    assert risk["number"] == "RSK-20261121-001" and risk["status"] == "open"
    assert risk["severity"] == "high" and risk["customer"] == "客户A"
    # a day is due at its end in the service's zone (Asia/Shanghai)
    assert risk["due"] == "2026-11-30T16:00:00Z" and risk["overdue"] is False
    assert risk["owner"] == "admin" and risk["source"] == "other"
    assert api.ok(read(api, f"/risks/{risk['number']}")) == risk
    history = read(api, f"/risks/{risk['id']}/history").json()
    assert [h["type"] for h in history] == ["Recorded"]
    assert history[0]["topic"] == "opsledger.risk:Risk.Recorded"
    assert_problem(read(api, f"/risks/{risk['id']}", as_of="2026-11-20T00:00:00Z"), 404)


def test_missing_or_bad_fields_are_one_422_naming_each(api: Api) -> None:
    r = api.client.post(f"{API}/risks", json={}, headers=ADMIN)
    body = assert_problem(r, 422, field="customer")
    assert {e["field"] for e in body["errors"]} == {"customer", "title", "severity", "due"}
    assert_problem(record(api, severity="urgent"), 422, field="severity")
    assert_problem(record(api, due="next week"), 422, field="due")
    assert_problem(record(api, due="2026-11-30T18:00:00"), 422, field="due")  # no offset
    assert_problem(record(api, ticket="SR-20261121-999"), 422, field="ticket")
    assert_problem(record(api, source="rumour"), 422, field="source")
    assert api.ok(record(api, source="inspection"), 201)["source"] == "inspection"
    assert_problem(api.client.post(f"{API}/risks", json={**BODY, "colour": "red"},
                                   headers=ADMIN), 400)


def test_found_on_a_ticket_or_an_inspection_of_the_same_customer(api: Api) -> None:
    ticket = api.ok(api.register(customer="客户A", headers=ADMIN), 201)
    risk = api.ok(record(api, ticket=ticket["number"], owner="eng-wang",
                         due="2026-11-25T18:00:00+08:00", description="电源模块告警"), 201)
    assert risk["source"] == "ticket" and risk["ticket"]["number"] == ticket["number"]
    assert risk["owner"] == "eng-wang" and risk["due"] == "2026-11-25T10:00:00Z"
    other = api.ok(api.register(customer="客户B", headers=ADMIN), 201)
    assert_problem(record(api, ticket=other["id"]), 422, field="ticket")


def test_follow_up_then_remove_and_a_closed_risk_is_a_409(api: Api) -> None:
    risk = api.ok(record(api), 201)
    done = api.ok(command(api, risk["id"], "follow_up", {
        "note": "已申请备件", "severity": "critical", "due": "2026-11-27"}))
    assert done["severity"] == "critical" and done["due"] == "2026-11-27T16:00:00Z"
    assert [u["note"] for u in done["updates"]] == ["已申请备件"]
    assert_problem(command(api, risk["id"], "remove", {"how": " "}), 422, field="how")
    removed = api.ok(command(api, risk["number"], "remove", {"how": "加装第二电源模块"}))
    assert removed["status"] == "removed" and removed["closing_text"] == "加装第二电源模块"
    again = assert_problem(command(api, risk["id"], "accept", {"reason": "x"}), 409)
    assert "removed" in again["detail"]
    assert_problem(command(api, risk["id"], "follow_up", {"note": "x"}), 409)
    listed = read(api, "/risks", status="removed").json()
    assert [x["number"] for x in listed["items"]] == [risk["number"]]


def test_the_customer_accepts_and_a_manager_on_their_behalf(api: Api) -> None:
    mine, theirs = user(api, "req-a", "requester", customer="客户A"), user(
        api, "req-b", "requester", customer="客户B")
    manager = user(api, "mgr-wang", "manager")
    first, second = api.ok(record(api), 201), api.ok(record(api, title="机房空调老化"), 201)
    assert_problem(command(api, first["id"], "accept", {"reason": "x"}, theirs), 404)
    accepted = api.ok(command(api, first["id"], "accept", {"reason": "年底整体更换"}, mine))
    assert accepted["status"] == "accepted" and accepted["accepted_on_behalf"] is False
    assert accepted["closed_by"] == "req-a"
    by_manager = api.ok(command(api, second["id"], "accept",
                                {"reason": "客户电话确认接受"}, manager))
    assert by_manager["accepted_on_behalf"] is True
    engineer = user(api, "eng-li", "engineer")
    third = api.ok(record(api, headers=engineer), 201)
    assert_problem(command(api, third["id"], "accept", {"reason": "x"}, engineer), 403)
    assert_problem(record(api, headers=mine), 403)  # requesters do not record risks


def test_a_requester_reads_only_their_organisations_risks(api: Api) -> None:
    mine = user(api, "req-a", "requester", customer="客户A")
    a = api.ok(record(api), 201)
    b = api.ok(record(api, customer="客户B", title="客户B 防火墙策略过宽"), 201)
    listed = read(api, "/risks", mine, customer="客户B").json()
    assert [x["number"] for x in listed["items"]] == [a["number"]]
    assert "客户B" not in str(listed)
    assert read(api, f"/risks/{a['id']}", mine).status_code == 200
    for path in (f"/risks/{b['id']}", f"/risks/{b['number']}", f"/risks/{b['id']}/history"):
        assert_problem(read(api, path, mine), 404)
    staff = read(api, "/risks").json()
    assert {x["customer"] for x in staff["items"]} == {"客户A", "客户B"}


def test_an_overdue_risk_alarms_exactly_once_per_due_time(api: Api) -> None:
    risk = api.ok(record(api, due="2026-11-22T09:00:00+08:00"), 201)
    removed = api.ok(record(api, title="已整改", due="2026-11-21T09:00:00+08:00"), 201)
    api.ok(command(api, removed["id"], "remove", {"how": "已更换"}))
    desk = api.services.desk
    assert watch_risks(desk, api.clock.now()) == 0
    api.clock.advance(hours=32)  # 2026-11-22 09:00 Shanghai
    assert read(api, "/risks", overdue="true").json()["count"] == 1
    assert watch_risks(desk, api.clock.now()) == 1
    api.clock.advance(minutes=5)
    assert watch_risks(desk, api.clock.now()) == 0  # a second tick records nothing
    view = api.ok(read(api, f"/risks/{risk['id']}"))
    assert view["overdue"] is True and view["overdue_alarms"] == 1
    history = read(api, f"/risks/{risk['id']}/history").json()
    [alarm] = [h for h in history if h["type"] == "OverdueAlarmed"]
    assert alarm["data"]["occurred_at"] == "2026-11-22T01:00:00Z"
    assert alarm["actor"] == "system:record-watch"
    # a new due date may alarm again when it passes, once
    api.ok(command(api, risk["id"], "follow_up", {"note": "延期", "due": "2026-11-23"}))
    assert watch_risks(desk, api.clock.now()) == 0
    api.clock.advance(days=2)
    assert watch_risks(desk, api.clock.now()) == 1
    assert watch_risks(desk, api.clock.now()) == 0


def test_the_service_report_counts_risks_and_declared_major_incidents(api: Api) -> None:
    project = api.ok(api.client.post(f"{API}/projects", headers=ADMIN, json={
        "name": "客户A 2026 运维", "customer": "客户A",
        "contract": {"number": "HT-2026-001", "services": ["巡检"], "start": "2026-11-01",
                     "end": "2027-10-31"}, "sla_policy": "default", "calendar": "china-5x8"}),
        201)
    late = api.ok(record(api, due="2026-11-22T09:00:00+08:00"), 201)
    api.clock.advance(minutes=10)
    removed = api.ok(record(api, title="UPS 电池老化", project=project["number"]), 201)
    assert removed["source"] == "inspection" and removed["project"]["id"] == project["id"]
    api.ok(command(api, removed["id"], "remove", {"how": "更换电池组"}))
    accepted = api.ok(record(api, title="旧版操作系统"), 201)
    api.ok(command(api, accepted["id"], "accept", {"reason": "明年统一升级"}))
    api.ok(record(api, customer="客户B", title="客户B 的隐患"), 201)
    ticket = api.ok(api.register(customer="客户A", headers=ADMIN, type="fault",
                                 category="network", urgency="very_urgent", impact="all",
                                 importance="very_important"), 201)
    mi = api.ok(api.client.post(f"{API}/major-incidents", json={"ticket": ticket["id"]},
                                headers=ADMIN), 201)
    api.clock.advance(days=3)
    report = read(api, f"/projects/{project['id']}/reports/2026-11").json()
    assert report["risks"] == {
        "found": 3, "removed": 1, "accepted": 1, "open": 1, "overdue": 1,
        "open_items": [{"number": late["number"], "title": late["title"], "severity": "high",
                        "owner": "admin", "due": "2026-11-22T09:00:00+08:00",
                        "overdue": True}]}
    records = report["incident_records"]
    assert records["declared"] == 1 and records["closed"] == 0 and records["reviewed"] == 0
    assert records["items"][0]["number"] == mi["number"]
    assert records["items"][0]["missed_updates"] == 0  # no watcher tick ran
    before = read(api, f"/projects/{project['id']}/reports/2026-11",
                  as_of="2026-11-20T17:05:00Z").json()
    assert before["risks"]["found"] == 1 and before["incident_records"]["declared"] == 0
    md = read(api, f"/projects/{project['id']}/reports/2026-11", format="md").text
    assert "Hidden risks 隐患" in md and late["number"] in md and mi["number"] in md
    assert "客户B 的隐患" not in md
