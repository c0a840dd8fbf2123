"""Configuration items over HTTP (issue 20 item 1, ADR 0063): the black-box contract --
``POST /cis`` → 201 with id and number, ``/relate {type: runs_on, target}``, ``/impact``
listing every CI that depends on it transitively with their customers (a cycle handled),
``POST /tickets {affected_cis}`` -- plus as_of, 422s naming the field, the CI page's records
with the repeat-fault suggestion, and a requester seeing only their organisation's CIs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_http import API, Api, assert_problem, user_token


#: The store matters for the contract (both stores); the rest runs in memory (test time).
MEMORY = pytest.mark.parametrize("http_store", ["memory"])


def ci(api: Api, name: str, cls: str = "server", customer: str = "客户A",
       headers: dict[str, str] | None = None, **more: Any) -> dict[str, Any]:
    r = api.client.post(f"{API}/cis", json={"class": cls, "name": name, "customer": customer,
                                            **more}, headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert body["id"] and body["number"].startswith("CI-")
    return body


def relate(api: Api, source: dict[str, Any], target: dict[str, Any], kind: str = "runs_on",
           headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"{API}/cis/{source['id']}/relate",
                           json={"type": kind, "target": target["id"]}, headers=headers)


def test_contract_register_relate_impact_and_ticket(api: Api) -> None:
    storage = ci(api, "san-01", "storage", customer="客户B")
    host = ci(api, "esx-01")
    vm = ci(api, "vm-erp", "virtual_machine")
    erp = ci(api, "ERP", "application")
    crm = ci(api, "CRM", "application", customer="客户B")
    other = ci(api, "printer-9", "printer")
    for s, t, k in ((host, storage, "depends_on"), (vm, host, "runs_on"),
                    (erp, vm, "runs_on"), (crm, erp, "depends_on"),
                    (host, crm, "connected_to")):  # a cycle: host → crm → erp → vm → host
        r = relate(api, s, t, k)
        assert r.status_code == 200, r.text
    assert any(x["type"] == "runs_on" and x["target"]["id"] == host["id"]
               for x in relate(api, vm, host).json()["relations"])  # a repeat adds nothing
    r = api.client.get(f"{API}/cis/{storage['id']}/impact")
    assert r.status_code == 200, r.text
    body = r.json()
    ids = {a["id"]: a for a in body["affected"]}
    assert set(ids) == {host["id"], vm["id"], erp["id"], crm["id"]}  # never itself, nor 9
    assert other["id"] not in r.text
    assert ids[erp["id"]]["customer"] == "客户A" and ids[erp["id"]]["depth"] == 3
    assert ids[erp["id"]]["via"] == "runs_on" and ids[erp["id"]]["depends_on"] == vm["number"]
    assert set(body["customers"]) == {"客户A", "客户B"}
    assert {x["number"] for x in body["systems"]} == {erp["number"], crm["number"]}
    shallow = api.client.get(f"{API}/cis/{storage['id']}/impact", params={"depth": 1}).json()
    assert [a["id"] for a in shallow["affected"]] == [host["id"]] and shallow["truncated"]

    t = api.register(affected_cis=[erp["id"], vm["number"]])
    assert t.status_code == 201, t.text
    assert [x["number"] for x in t.json()["affected_cis"]] == [erp["number"], vm["number"]]
    history = api.history(t.json()["id"])
    assert "CisAffected" in [h["type"] for h in history]
    assert_problem(api.register(affected_cis=["CI-20200101-999"]), 422, field="affected_cis.0")
    other = api.register(affected_cis=[crm["id"]])  # staff: a shared CI of another customer
    assert other.status_code == 201 and other.json()["affected_cis"][0]["id"] == crm["id"]


@MEMORY
def test_errors_name_the_field_and_as_of_reads_the_past(api: Api) -> None:
    r = api.client.post(f"{API}/cis", json={"class": "spaceship", "name": "x", "customer": "A"})
    assert_problem(r, 422, field="class")
    r = api.client.post(f"{API}/cis", json={"class": "server", "name": "", "customer": "A"})
    assert_problem(r, 422, field="name")
    a = ci(api, "db-01", "database")
    assert_problem(relate(api, a, {"id": "CI-20200101-001"}), 422, field="target")
    assert_problem(relate(api, a, a), 422, field="target")
    assert_problem(relate(api, a, a, "near"), 422, field="type")
    before = api.clock.now().isoformat()
    api.clock.advance(hours=1)
    r = api.client.post(f"{API}/cis/{a['number']}/change_status",
                        json={"status": "in_repair", "reason": "RP-送修"})
    assert r.status_code == 200 and r.json()["status"] == "in_repair", r.text
    r = api.client.post(f"{API}/cis/{a['id']}/update", json={"location": "机房 B",
                                                             "warranty_end": "bad"})
    assert_problem(r, 422, field="warranty_end")
    assert api.client.get(f"{API}/cis/{a['id']}", params={"as_of": before}).json()[
        "status"] == "in_use"
    assert api.client.get(f"{API}/cis/{a['id']}").json()["status"] == "in_repair"
    assert_problem(api.client.get(f"{API}/cis/CI-20200101-001"), 404)
    types = [h["type"] for h in api.client.get(f"{API}/cis/{a['id']}/history").json()]
    assert types == ["Registered", "StatusChanged"]
    r = api.client.post(f"{API}/cis/{a['id']}/verify", json={"round": "2026-H2",
                                                             "verdict": "missing"})
    assert_problem(r, 422, field="note")


@MEMORY
def test_ci_records_and_the_repeat_fault_suggestion(api: Api) -> None:
    a = ci(api, "core-sw", "network")
    for i in range(2):
        api.register(affected_cis=[a["number"]], title=f"断网 {i}")
        r = api.client.get(f"{API}/cis/{a['id']}/records").json()
        assert r["suggestion"] is None and len(r["tickets"]) == i + 1
    api.register(affected_cis=[a["id"]])
    r = api.client.get(f"{API}/cis/{a['id']}/records").json()
    assert r["suggestion"]["kind"] == "open_problem" and len(r["suggestion"]["tickets"]) == 3
    assert {t["title"] for t in r["tickets"]} >= {"断网 0", "断网 1"}
    libs = api.client.get(f"{API}/cis/libraries").json()["items"]
    assert [(x["customer"], x["count"], x["stale"]) for x in libs] == [("客户A", 1, False)]
    api.clock.advance(days=70)
    libs = api.client.get(f"{API}/cis/libraries").json()["items"]
    assert libs[0]["stale"] is True


@MEMORY
def test_requesters_see_only_their_organisations_cis(make_api: Any) -> None:
    admin = {"Authorization": "Bearer s3cret"}
    api = make_api(admin_token="s3cret")
    tokens = {}
    for user, role, customer in (("req-a", "requester", "客户A"), ("disp", "dispatcher", None)):
        tokens[user] = user_token(api.client, admin, user, role, customer=customer)
    d = tokens["disp"]
    host = ci(api, "host-b", customer="客户B", headers=d)
    mine = ci(api, "app-a", "application", headers=d)
    theirs = ci(api, "app-b", "application", customer="客户B", headers=d)
    for s in (mine, theirs):
        assert relate(api, s, host, headers=d).status_code == 200
    req = tokens["req-a"]
    r = api.client.post(f"{API}/cis", json={"class": "server", "name": "x", "customer": "客户A"},
                        headers=req)
    assert r.status_code == 403
    listed = api.client.get(f"{API}/cis", headers=req).json()
    assert [x["number"] for x in listed["items"]] == [mine["number"]]
    assert_problem(api.client.get(f"{API}/cis/{theirs['id']}", headers=req), 404)
    assert_problem(api.client.get(f"{API}/cis/{host['id']}/impact", headers=req), 404)
    r = api.client.get(f"{API}/cis/{mine['id']}/impact", headers=req)
    assert r.status_code == 200 and r.json()["affected"] == []
    assert "app-b" not in api.client.get(f"{API}/cis", headers=req).text
    body = {"contact": {"name": "李四"}, "channel": "web", "title": "app-a 无法访问"}
    r = api.client.post(f"{API}/tickets", json={**body, "affected_cis": [mine["id"]]},
                        headers=req)
    assert r.status_code == 201, r.text
    r = api.client.post(f"{API}/tickets", json={**body, "affected_cis": [theirs["id"]]},
                        headers=req)  # a requester names their organisation's CIs only
    assert_problem(r, 422, field="affected_cis.0")
    assert "app-b" not in r.text and theirs["number"] not in r.text


@MEMORY
def test_problems_and_changes_name_cis_their_tickets_by_default(api: Api) -> None:
    a, b = ci(api, "core-sw", "network"), ci(api, "esx-02")
    t = api.register(affected_cis=[a["id"]]).json()
    r = api.client.post(f"{API}/problems", json={"title": "反复断网", "description": "交换机",
                                                 "tickets": [t["id"]]})
    assert r.status_code == 201, r.text
    problem = r.json()
    assert [x["number"] for x in problem["affected_cis"]] == [a["number"]]
    r = api.client.post(f"{API}/changes", json={"kind": "normal", "origin": problem["id"],
                                                "title": "更换交换机"})
    assert [x["number"] for x in r.json()["affected_cis"]] == [a["number"]], r.text
    r = api.client.post(f"{API}/changes", json={"kind": "normal", "origin": problem["id"],
                                                "title": "扩容", "affected_cis": [b["number"]]})
    change = r.json()
    assert [x["number"] for x in change["affected_cis"]] == [b["number"]], r.text
    r = api.client.post(f"{API}/problems", json={"title": "x", "description": "y",
                                                 "affected_cis": ["nope"]})
    assert_problem(r, 422, field="affected_cis.0")
    page = api.client.get(f"{API}/cis/{a['id']}/records").json()
    assert [p["number"] for p in page["problems"]] == [problem["number"]]
    assert len(page["changes"]) == 1 and len(page["tickets"]) == 1
    page = api.client.get(f"{API}/cis/{b['id']}/records").json()
    assert [c["number"] for c in page["changes"]] == [change["number"]]


@MEMORY
def test_a_ticket_names_its_cis_after_registration(api: Api) -> None:
    a, b = ci(api, "pc-01", "pc"), ci(api, "pc-b", "pc", customer="客户B")
    t = api.given_ticket("assigned")
    r = api.client.post(f"{API}/tickets/{t['id']}/name_cis", json={"cis": [a["number"]]})
    assert r.status_code == 200, r.text
    assert [x["number"] for x in r.json()["affected_cis"]] == [a["number"]]
    again = api.client.post(f"{API}/tickets/{t['id']}/name_cis", json={"cis": [a["id"]]})
    assert again.json()["version"] == r.json()["version"]  # the same set: nothing recorded
    assert_problem(api.client.post(f"{API}/tickets/{t['id']}/name_cis",
                                   json={"cis": [b["id"], "CI-20200101-404"]}), 422,
                   field="cis.1")
    records = api.client.get(f"{API}/cis/{a['id']}/records").json()
    assert [x["number"] for x in records["tickets"]] == [t["number"]]


@MEMORY
def test_a_verification_round_records_verdicts_and_lists_what_is_pending(api: Api) -> None:
    a, b, c = (ci(api, n) for n in ("srv-a", "srv-b", "srv-c"))
    ci(api, "srv-other", customer="客户B")
    r = api.client.post(f"{API}/cis/verification", json={"round": "2026-H2", "verdicts": [
        {"ci": a["number"], "verdict": "confirmed"},
        {"ci": b["id"], "verdict": "missing", "note": "机柜内未找到"}]})
    assert r.status_code == 200, r.text
    assert r.json()["recorded"] == 2
    bad = api.client.post(f"{API}/cis/verification", json={"round": "2026-H2", "verdicts": [
        {"ci": c["id"], "verdict": "confirmed"}, {"ci": a["id"], "verdict": "corrected"}]})
    assert_problem(bad, 422, field="verdicts.1.note")
    got = api.client.get(f"{API}/cis/verification", params={"customer": "客户A"}).json()
    assert got["round"] == "2026-H2" and got["counts"]["missing"] == 1
    assert [x["ci"]["number"] for x in got["verified"]] == [a["number"], b["number"]]
    assert [x["number"] for x in got["pending"]] == [c["number"]]  # nothing saved of the 422
    assert [v["verdict"] for v in api.client.get(f"{API}/cis/{b['id']}").json()[
        "verifications"]] == ["missing"]
