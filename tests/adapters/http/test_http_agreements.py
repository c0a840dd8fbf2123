"""Agreements -- SLA / OLA / UC over HTTP (issue 21 item 2, ADR 0066): ``POST /agreements``
answers 201 with the view, one 422 names every field refused, versions are events, an
agreement ending within 30 days is flagged and warned of exactly once by the watcher, a
ticket's applicable agreements come from its customer, group and service, each agreement's
compliance counts the tickets it covers, and a requester reads only their organisation's
SLAs.

The clock stands at 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.adapters.http.test_http_announcements import customers
from tests.fixtures_http import (ALL_STORES, API, CLASSIFICATION, Api, assert_problem, etag,
                                  user_token)

ADMIN = {"Authorization": "Bearer s3cret"}
SLA = {"kind": "sla", "title": "客户A 年度运维 SLA", "customer": "客户A",
       "valid_from": "2026-01-01", "valid_to": "2027-06-30",
       "targets": {"P1": {"response": "PT2H", "resolution": "PT4H"},
                   "P2": {"response": "4h", "resolution": "24h"}}}


@pytest.fixture
def http_store() -> str:
    """In memory (fast); the first test runs on every store."""
    return "memory"


def conclude(api: Api, headers: dict[str, str] | None = None, **over: Any) -> Any:
    return api.client.post(f"{API}/agreements", json={**SLA, **over}, headers=headers)


def ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_conclude_answers_201_with_the_view_and_reads_it_back(api: Api) -> None:
    customers(api, "客户A")
    r = conclude(api)
    a = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/agreements/{a['id']}"
    assert r.headers["etag"] == etag(1)
    assert a["number"] == "AGR-20261121-001" and a["kind"] == "sla"
    assert a["parties"] == ["provider", "客户A"] and a["phase"] == "in_force"
    assert a["targets"] == [{"priority": "P1", "response": "PT2H", "resolution": "PT4H"},
                            {"priority": "P2", "response": "PT4H", "resolution": "P1D"}]
    assert a["expiring"] is False and a["agreement_version"] == 1
    assert api.ok(api.client.get(f"{API}/agreements/{a['number']}")) == a
    history = ok(api.client.get(f"{API}/agreements/{a['id']}/history"))
    assert [h["type"] for h in history] == ["Concluded"]
    before = api.client.get(f"{API}/agreements/{a['id']}", params={
        "as_of": "2026-11-20T00:00:00Z"})
    assert_problem(before, 404)


def test_minimal_bodies_of_each_kind(api: Api) -> None:
    customers(api, "客户A")
    base = {"valid_from": "2026-11-01", "valid_to": "2027-10-31"}
    sla = api.ok(api.client.post(f"{API}/agreements", json={
        "kind": "sla", "title": "SLA", "customer": "客户A", **base}), 201)
    ola = api.ok(api.client.post(f"{API}/agreements", json={
        "kind": "ola", "title": "服务台与二线 OLA", "groups": ["desk", "ops"], **base}), 201)
    uc = api.ok(api.client.post(f"{API}/agreements", json={
        "kind": "uc", "title": "联想保修", "parties": ["联想"], "sla_policy": "default",
        "valid_from": "2026-11-01T00:00:00+08:00", "valid_to": "2027-10-31"}), 201)
    assert (sla["parties"], ola["parties"], uc["parties"]) == (
        ["provider", "客户A"], ["desk", "ops"], ["联想", "provider"])
    assert uc["vendor"] == "联想" and uc["sla_policy"] == "default"
    fewest = api.ok(api.client.post(f"{API}/agreements", json={
        "customer": "客户A", "valid_to": "2027-10-31"}), 201)  # kind, title, start inferred
    assert (fewest["kind"], fewest["title"], fewest["valid_from"]) == (
        "sla", "SLA 客户A", "2026-11-21")


def test_one_422_names_every_field_refused(api: Api) -> None:
    customers(api, "客户A")
    r = api.client.post(f"{API}/agreements", json={
        "kind": "sla", "title": "", "valid_from": "2026-12-01", "valid_to": "2026-11-01",
        "targets": {"P9": {"response": "PT1H"}}})
    problem = assert_problem(r, 422)
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"title", "customer", "valid_to", "targets.P9"}, problem
    for body, field in ((dict(kind="ola", title="x", valid_from="2026-01-01",
                              valid_to="2027-01-01"), "groups"),
                        (dict(kind="uc", title="x", valid_from="2026-01-01",
                              valid_to="2027-01-01"), "vendor"),
                        (dict(kind="xla", title="x", valid_from="2026-01-01",
                              valid_to="2027-01-01"), "kind"),
                        ({**SLA, "customer": "无此客户"}, "customer"),
                        ({**SLA, "valid_to": "明年"}, "valid_to"),
                        ({**SLA, "targets": {"P1": {"response": "soon"}}},
                         "targets.P1.response")):
        problem = assert_problem(api.client.post(f"{API}/agreements", json=body), 422)
        assert field in {e["field"] for e in problem["errors"]}, (body, problem)


def test_revisions_are_versions_and_a_terminated_agreement_takes_no_more(api: Api) -> None:
    customers(api, "客户A")
    a = api.ok(conclude(api), 201)
    api.clock.advance(hours=1)
    r = api.ok(api.client.post(f"{API}/agreements/{a['id']}/revise", json={
        "valid_to": "2027-12-31", "targets": {"P1": {"response": "PT1H"}},
        "reason": "续签"}))
    assert r["agreement_version"] == 2 and r["valid_to"] == "2027-12-31"
    assert r["targets"] == [{"priority": "P1", "response": "PT1H", "resolution": None}]
    same = api.ok(api.client.post(f"{API}/agreements/{a['id']}/revise", json={
        "valid_to": "2027-12-31"}))
    assert same["version"] == r["version"]  # nothing differs: nothing recorded
    old = api.ok(api.client.get(f"{API}/agreements/{a['id']}", params={
        "as_of": a["concluded_at"]}))
    assert old["agreement_version"] == 1 and old["valid_to"] == "2027-06-30"
    assert_problem(api.client.post(f"{API}/agreements/{a['id']}/terminate", json={
        "reason": " "}), 422)
    t = api.ok(api.client.post(f"{API}/agreements/{a['id']}/terminate", json={
        "reason": "客户合同提前终止"}))
    assert t["phase"] == "terminated" and t["status"] == "terminated"
    assert_problem(api.client.post(f"{API}/agreements/{a['id']}/revise", json={
        "title": "x"}), 409)
    history = ok(api.client.get(f"{API}/agreements/{a['id']}/history"))
    assert [h["type"] for h in history] == ["Concluded", "Revised", "Terminated"]


def test_expiring_within_30_days_is_flagged_and_warned_once(api: Api) -> None:
    customers(api, "客户A")
    soon = api.ok(conclude(api, valid_to="2026-12-20", title="即将到期"), 201)
    later = api.ok(conclude(api, valid_to="2027-06-30"), 201)
    assert soon["expiring"] is True and soon["days_left"] == 29
    assert later["expiring"] is False
    listed = ok(api.client.get(f"{API}/agreements", params={"expiring": "true"}))
    assert [a["number"] for a in listed["items"]] == [soon["number"]]
    everything = ok(api.client.get(f"{API}/agreements"))
    assert [a["number"] for a in everything["items"]] == [soon["number"], later["number"]]
    api.services.watcher.tick()
    api.services.watcher.tick()
    events = [h["type"] for h in ok(api.client.get(f"{API}/agreements/{soon['id']}/history"))]
    assert events == ["Concluded", "ExpiryWarned"]
    assert api.ok(api.client.get(f"{API}/agreements/{soon['id']}"))["expiry_warned"] is True
    assert [h["type"] for h in ok(api.client.get(
        f"{API}/agreements/{later['id']}/history"))] == ["Concluded"]
    # renewed: no longer expiring; when the new end comes near, warned once more
    api.ok(api.client.post(f"{API}/agreements/{soon['id']}/revise", json={
        "valid_to": "2027-01-15"}))
    assert ok(api.client.get(f"{API}/agreements", params={"expiring": "true"}))["items"] == []
    api.clock.advance(days=30)
    api.services.watcher.tick()
    api.services.watcher.tick()
    events = [h["type"] for h in ok(api.client.get(f"{API}/agreements/{soon['id']}/history"))]
    assert events == ["Concluded", "ExpiryWarned", "Revised", "ExpiryWarned"]
    api.clock.advance(days=40)  # past its end: expired, not expiring
    gone = api.ok(api.client.get(f"{API}/agreements/{soon['id']}"))
    assert gone["phase"] == "expired" and gone["expiring"] is False


def test_a_tickets_agreements_come_from_its_customer_group_and_service(api: Api) -> None:
    customers(api, "客户A", "客户B")
    sla = api.ok(conclude(api), 201)
    api.ok(conclude(api, customer="客户B", title="客户B SLA"), 201)
    ola = api.ok(api.client.post(f"{API}/agreements", json={
        "kind": "ola", "title": "二线支持 OLA", "groups": ["ops"],
        "valid_from": "2026-01-01", "valid_to": "2027-12-31"}), 201)
    uc = api.ok(api.client.post(f"{API}/agreements", json={
        "kind": "uc", "title": "ERP 原厂支持", "vendor": "用友", "services": ["erp"],
        "valid_from": "2026-01-01", "valid_to": "2027-12-31"}), 201)
    api.ok(conclude(api, title="已过期", valid_from="2025-01-01", valid_to="2025-12-31"), 201)
    t = api.given_ticket("assigned", affected_system="ERP")
    api.ok(api.command(t["id"], "assign", {"group": "ops"}))
    found = ok(api.client.get(f"{API}/tickets/{t['number']}/agreements"))
    assert found["ticket"]["number"] == t["number"]
    assert [a["number"] for a in found["agreements"]] == [sla["number"], ola["number"],
                                                          uc["number"]]
    other = api.ok(api.register(customer="客户B", affected_system="打印机"), 201)
    found = ok(api.client.get(f"{API}/tickets/{other['id']}/agreements"))
    assert [a["title"] for a in found["agreements"]] == ["客户B SLA"]
    assert_problem(api.client.get(f"{API}/tickets/SR-20261121-999/agreements"), 404)


def test_compliance_counts_the_tickets_the_agreement_covers(api: Api) -> None:
    customers(api, "客户A", "客户B")
    sla = api.ok(conclude(api), 201)
    met = api.given_ticket("assigned")  # assigned at once: the response clock met
    late = api.ok(api.register(**CLASSIFICATION), 201)  # never answered
    api.ok(api.register(customer="客户B", **CLASSIFICATION), 201)  # another customer's
    api.clock.advance(days=7)
    c = ok(api.client.get(f"{API}/agreements/{sla['id']}/compliance"))
    assert c["tickets"] == 2
    assert c["response"] == {"met": 1, "breached": 1, "pending": 0, "met_pct": 50.0}
    assert c["resolution"]["breached"] == 2
    assert c["breached_tickets"] == sorted([met["number"], late["number"]])
    outside = ok(api.client.get(f"{API}/agreements/{sla['id']}/compliance", params={
        "from": "2026-10-01", "to": "2026-10-31"}))
    assert outside["tickets"] == 0 and outside["response"]["met_pct"] is None
    assert_problem(api.client.get(f"{API}/agreements/{sla['id']}/compliance", params={
        "from": "2026-11-30", "to": "2026-11-01"}), 400)


def test_requesters_read_only_their_organisations_slas(make_api: Any) -> None:
    api = make_api(admin_token="s3cret")
    customers(api, "客户A", "客户B", headers=ADMIN)
    tokens = {}
    for user, role, customer in (("req-a", "requester", "客户A"), ("mgr", "manager", None),
                                 ("eng", "engineer", None)):
        tokens[user] = user_token(api.client, ADMIN, user, role, customer=customer)
    mine = api.ok(conclude(api, headers=tokens["mgr"]), 201)
    theirs = api.ok(conclude(api, headers=tokens["mgr"], customer="客户B",
                             title="客户B SLA"), 201)
    ola = api.ok(conclude(api, headers=tokens["mgr"], kind="ola", customer="",
                          groups=["ops"], title="OLA"), 201)
    assert conclude(api, headers=tokens["eng"]).status_code == 403
    assert conclude(api, headers=tokens["req-a"]).status_code == 403
    req = tokens["req-a"]
    listed = ok(api.client.get(f"{API}/agreements", headers=req,
                               params={"customer": "客户B", "kind": "ola"}))
    assert [a["number"] for a in listed["items"]] == [mine["number"]]
    assert api.client.get(f"{API}/agreements/{mine['id']}", headers=req).status_code == 200
    for other in (theirs, ola):
        for path in ("", "/compliance"):
            r = api.client.get(f"{API}/agreements/{other['id']}{path}", headers=req)
            assert r.status_code == 404, (other["number"], path, r.text)
    assert api.client.get(f"{API}/agreements/{mine['id']}/history",
                          headers=req).status_code == 403
    staff = ok(api.client.get(f"{API}/agreements", headers=tokens["eng"]))
    assert staff["count"] == 3


def test_the_vendors_uc_clock_runs_on_a_repair_order(api: Api) -> None:
    from application.commands.cis import CiFields, RegisterCi

    customers(api, "客户A")
    uc = api.ok(api.client.post(f"{API}/agreements", json={
        "kind": "uc", "title": "联想保内维修", "vendor": "联想授权维修站",
        "targets": {"P1": {"response": "PT4H", "resolution": "P3D"},
                    "P3": {"resolution": "P7D"}},
        "valid_from": "2026-01-01", "valid_to": "2027-12-31"}), 201)
    api.ok(api.client.post(f"{API}/agreements", json={
        "kind": "uc", "title": "别家", "vendor": "戴尔", "targets": {"P1": {"resolution": "P1D"}},
        "valid_from": "2026-01-01", "valid_to": "2027-12-31"}), 201)
    pc = api.services.desk.handle(RegisterCi(item=CiFields(
        name="财务部 PC-01", ci_class="pc", customer="客户A")), actor="admin").aggregate
    ticket = api.given_ticket("assigned")  # P1
    sent = api.client.post(f"{API}/repairs", json={
        "ticket": ticket["number"], "ci": pc.number, "vendor": "联想授权维修站",
        "fault": "主板无法加电", "warranty": "in"})
    repair = sent.json()
    assert sent.status_code == 201, sent.text
    clocks = ok(api.client.get(f"{API}/repairs/{repair['number']}/agreements"))
    assert clocks["vendor"] == "联想授权维修站"
    [clock] = clocks["clocks"]
    assert clock["agreement"]["number"] == uc["number"] and clock["priority"] == "P1"
    assert clock["target"] == "P3D" and clock["state"] == "running"
    assert clock["due"] == "2026-11-23T17:00:00Z" and clock["stopped"] is None
    api.clock.advance(days=4)
    assert ok(api.client.get(f"{API}/repairs/{repair['id']}/agreements"))["clocks"][0][
        "state"] == "breached"
    r = api.client.post(f"{API}/repairs/{repair['id']}/return", json={})
    assert r.status_code == 200, r.text
    back = ok(api.client.get(f"{API}/repairs/{repair['id']}/agreements"))["clocks"][0]
    assert back["state"] == "breached" and back["stopped"] == "2026-11-24T17:00:00Z"


def test_a_catalogue_request_is_covered_by_the_agreements_of_its_service(api: Api) -> None:
    customers(api, "客户A")
    r = api.client.put(f"{API}/catalogue/vpn-access", json={
        "name": "VPN 开通", "class": "responsive", "form_schema": {"type": "object"},
        "approval": "none", "sla_policy": "default"})
    assert r.status_code == 201, r.text
    ola = api.ok(api.client.post(f"{API}/agreements", json={
        "kind": "ola", "title": "网络组 VPN OLA", "groups": ["net"], "services": ["VPN-ACCESS"],
        "valid_to": "2027-12-31"}), 201)
    api.ok(api.client.post(f"{API}/agreements", json={
        "kind": "ola", "title": "别的服务", "groups": ["net"], "services": ["email"],
        "valid_to": "2027-12-31"}), 201)
    t = api.ok(api.register(service_id="vpn-access", form={}), 201)
    api.ok(api.command(t["id"], "classify", CLASSIFICATION))
    api.ok(api.command(t["id"], "assign", {"group": "net"}))
    found = ok(api.client.get(f"{API}/tickets/{t['id']}/agreements"))
    assert [a["number"] for a in found["agreements"]] == [ola["number"]]
