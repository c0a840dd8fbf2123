"""Repair orders over HTTP (设备送修单, issue 20 item 5, ADR 0065): 201 with the view and the
CI set in repair, the deadline "by the second weekend", the written progress report alarmed by
the watcher exactly once per gap of 3 working days on the ticket's calendar, the quote gate
(409 problem+json naming ``quote_approval``), the return and close, a requester reading and
deciding only their own organisation's orders, and the monthly repair summary
(``GET /reports/{period}?kind=repair``) due by the 10th of the next month and flagged late.

The clock stands at Saturday 2026-11-21 01:00 in Asia/Shanghai (``fixtures_http.START``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from application.commands.cis import CiFields, RegisterCi
from tests.fixtures_http import API, Api, assert_problem

ADMIN = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def http_store() -> str:
    return "memory"


def ci(api: Api, name: str, customer: str = "客户A", **fields: Any) -> dict[str, str]:
    r = api.services.desk.handle(RegisterCi(item=CiFields(
        name=name, ci_class="pc", customer=customer, **fields)), actor="admin")
    return {"id": str(r.aggregate.id), "number": r.aggregate.number}


def ci_status(api: Api, ref: str) -> str:
    from application.cis import get_ci
    return get_ci(api.services.desk, ref).status.value


def send(api: Api, headers: dict[str, str] | None = None, **over: Any) -> Any:
    ticket = over.pop("ticket", None) or api.ok(api.register(), 201)["number"]
    body = {"ticket": ticket, "ci": over.pop("ci"), "vendor": "联想授权维修站",
            "fault": "主板无法加电", "warranty": "in", **over}
    return api.client.post(f"{API}/repairs", json=body, headers=headers)


def act(api: Api, ref: str, verb: str, body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"{API}/repairs/{ref}/{verb}", json=body or {}, headers=headers)


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_send_answers_201_sets_the_ci_in_repair_and_the_loaner_in_use(api: Api) -> None:
    pc, spare = ci(api, "财务部 PC-01"), ci(api, "备机 PC-99", status="spare")
    r = send(api, ci=pc["number"], loaner_ci=spare["id"])
    view = ok(r, 201)
    assert r.headers["location"].endswith(f"/repairs/{view['id']}")
    assert view["number"].startswith("RP-20261121-")
    assert view["status"] == "at_vendor" and view["warranty"] == "in"
    assert view["ci"] == pc and view["loaner_ci"] == spare and view["ci_name"] == "财务部 PC-01"
    assert (ci_status(api, pc["id"]), ci_status(api, spare["id"])) == ("in_repair", "in_use")
    # Sent on Saturday 11-21 (Shanghai): that weekend does not count; the first is 11-28, the
    # equipment must be back before the second, 12-05 00:00.
    assert at(view["due"]) == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert view["overdue"] is False and view["on_time"] is None
    assert ok(api.client.get(f"{API}/repairs/{view['number']}"))["id"] == view["id"]
    history = ok(api.client.get(f"{API}/repairs/{view['id']}/history"))
    assert [h["type"] for h in history] == ["Sent"]
    listed = ok(api.client.get(f"{API}/repairs", params={"status": "at_vendor"}))
    assert [x["id"] for x in listed["items"]] == [view["id"]]
    for ticket in (view["ticket"]["number"], view["ticket"]["id"]):
        listed = ok(api.client.get(f"{API}/repairs", params={"ticket": ticket}))
        assert [x["id"] for x in listed["items"]] == [view["id"]]
    assert ok(api.client.get(f"{API}/repairs", params={"ticket": "nonsense"}))["items"] == []
    assert ok(api.client.get(f"{API}/repairs", params={"status": "closed"}))["items"] == []


def test_send_refuses_what_it_cannot_record_naming_the_field(api: Api) -> None:
    pc, other = ci(api, "PC-01"), ci(api, "PC-B", customer="客户B")
    assert_problem(send(api, ci="CI-20261121-999"), 422, field="ci")
    assert_problem(send(api, ci=other["id"]), 422, field="ci")  # another customer's CI
    assert_problem(send(api, ci=pc["id"], ticket="SR-20261121-999"), 422, field="ticket")
    assert_problem(send(api, ci=pc["id"], warranty="maybe", vendor=""), 422, field="vendor")
    assert_problem(send(api, ci=pc["id"], warranty=None), 422, field="warranty")  # no end
    assert_problem(send(api, ci=pc["id"], loaner_ci=pc["id"]), 422, field="loaner_ci")
    assert ci_status(api, pc["id"]) == "in_use"  # nothing recorded
    away = ok(send(api, ci=pc["id"]), 201)
    body = assert_problem(send(api, ci=pc["number"]), 422, field="ci")  # once at a time
    assert away["number"] in body["errors"][0]["message"]
    assert_problem(send(api, ci=ci(api, "PC-03")["id"], loaner_ci=pc["id"]), 422,
                   field="loaner_ci")
    spare = ci(api, "备机", status="spare")
    ok(send(api, ci=ci(api, "PC-04")["id"], loaner_ci=spare["id"]), 201)
    assert_problem(send(api, ci=ci(api, "PC-05")["id"], loaner_ci=spare["number"]), 422,
                   field="loaner_ci")  # lent already
    ok(act(api, away["id"], "return"))
    assert ok(send(api, ci=pc["id"]), 201)["ci"]["id"] == pc["id"]
    # The warranty left out: from the CI's warranty end.
    dated = ci(api, "PC-02", warranty_end=date(2026, 6, 30))
    assert ok(send(api, ci=dated["id"], warranty=None), 201)["warranty"] == "out"


DEADLINES = [  # sent (local time) → back before (the second Saturday, 00:00)
    ("2026-11-23T10:00:00+08:00", "2026-12-05T00:00:00+08:00"),  # Monday
    ("2026-11-27T17:59:00+08:00", "2026-12-05T00:00:00+08:00"),  # Friday
    ("2026-11-28T00:30:00+08:00", "2026-12-12T00:00:00+08:00"),  # Saturday (16:30Z Friday)
    ("2026-11-29T23:00:00+08:00", "2026-12-12T00:00:00+08:00"),  # Sunday
]


def test_the_deadline_is_before_the_second_weekend_after_sending(api: Api) -> None:
    pc = ci(api, "PC")["id"]
    for local, due in DEADLINES:
        api.clock.set(at(local))
        view = ok(send(api, ci=pc), 201)
        assert at(view["due"]) == at(due), local
        assert view["overdue"] is False
        api.clock.set(at(due))
        assert ok(api.client.get(f"{API}/repairs/{view['id']}"))["overdue"] is True
        assert [x["id"] for x in ok(api.client.get(f"{API}/repairs", params={
            "overdue": "true", "status": "at_vendor"}))["items"]][0] == view["id"]
        ok(act(api, view["id"], "return"))


def _tick(api: Api, when: str) -> list[str]:
    api.clock.set(at(when))
    api.services.watcher.tick(at(when))
    return [h["type"] for h in ok(api.client.get(f"{API}/repairs/{REF[0]}/history"))]


REF: list[str] = [""]


def test_the_watcher_alarms_once_per_gap_of_three_working_days(api: Api) -> None:
    """Sent Saturday 01:00: the working days of the ticket's calendar (china-5x8, 09:00-18:00)
    start Monday 09:00, so the first written report is due Thursday 11-26 09:00."""
    view = ok(send(api, ci=ci(api, "PC")["id"]), 201)
    REF[0] = view["id"]
    assert view["calendar"] == "china-5x8"
    assert at(view["progress_due"]) == at("2026-11-26T09:00:00+08:00")
    assert "ProgressOverdue" not in _tick(api, "2026-11-26T08:59:59+08:00")
    types = _tick(api, "2026-11-26T09:00:00+08:00")
    assert types.count("ProgressOverdue") == 1
    for when in ("2026-11-26T09:00:01+08:00", "2026-11-27T17:00:00+08:00"):
        assert _tick(api, when).count("ProgressOverdue") == 1  # exactly once
    # A report on Friday 11:00 opens a new gap: due three working days later, Wednesday.
    api.clock.set(at("2026-11-27T11:00:00+08:00"))
    reported = ok(act(api, REF[0], "report_progress", {"text": "厂商已更换主板，正在测试"}))
    assert at(reported["progress_due"]) == at("2026-12-02T11:00:00+08:00")
    assert reported["progress"][0]["text"] == "厂商已更换主板，正在测试"
    assert _tick(api, "2026-12-02T10:59:00+08:00").count("ProgressOverdue") == 1
    assert _tick(api, "2026-12-02T11:00:00+08:00").count("ProgressOverdue") == 2
    assert _tick(api, "2026-12-03T11:00:00+08:00").count("ProgressOverdue") == 2
    alarms = ok(api.client.get(f"{API}/repairs/{REF[0]}"))["progress_alarms"]
    assert [at(a) for a in alarms] == [at("2026-11-26T09:00:00+08:00"),
                                       at("2026-12-02T11:00:00+08:00")]
    # Back from the vendor: no more reports due, no more alarms.
    back = ok(act(api, REF[0], "return", {"note": "已送抵用户现场"}))
    assert back["status"] == "returned" and back["progress_due"] is None
    assert back["on_time"] is True  # before 12-05 00:00
    assert _tick(api, "2026-12-10T11:00:00+08:00").count("ProgressOverdue") == 2


def test_an_out_of_warranty_part_needs_the_customers_approved_quote(api: Api) -> None:
    view = ok(send(api, ci=ci(api, "PC")["id"], warranty="out"), 201)
    ref = view["id"]
    body = assert_problem(act(api, ref, "replace_part", {"part": "主板"}), 409)
    assert body["missing"] == ["quote", "quote_approval"]
    assert_problem(act(api, ref, "approve_quote", {"reference": "x"}), 409)  # nothing quoted
    assert_problem(act(api, ref, "quote", {"amount": "-5", "parts": []}), 422, field="amount")
    quoted = ok(act(api, ref, "quote", {"amount": "1200.5", "parts": ["主板"],
                                        "note": "原厂授权站检测报价"}))
    assert quoted["quote"]["amount"] == "1200.50" and quoted["quote"]["status"] == "pending"
    body = assert_problem(act(api, ref, "replace_part", {"part": "主板"}), 409)
    assert body["missing"] == ["quote_approval"] and "missing quote_approval" in body["detail"]
    # A manager records it for the customer only naming the written approval.
    assert_problem(act(api, ref, "approve_quote", {}), 422, field="reference")
    approved = ok(act(api, ref, "approve_quote", {"reference": "客户书面确认单 2026-11-21"}))
    assert approved["quote"]["status"] == "approved" and approved["quote"]["on_behalf"] is True
    replaced = ok(act(api, ref, "replace_part", {"part": "主板", "note": "同型号"}))
    assert [p["part"] for p in replaced["parts_replaced"]] == ["主板"]
    # In warranty: no quote at all.
    warm = ok(send(api, ci=ci(api, "PC2")["id"]), 201)["id"]
    assert_problem(act(api, warm, "quote", {"amount": "10", "parts": ["x"]}), 409)
    assert ok(act(api, warm, "replace_part", {"part": "硬盘"}))["parts_replaced"]


def test_return_and_close_put_the_cis_back(api: Api) -> None:
    pc, spare = ci(api, "PC"), ci(api, "备机", status="spare")
    ref = ok(send(api, ci=pc["id"], loaner_ci=spare["id"]), 201)["id"]
    assert_problem(act(api, ref, "close"), 409)
    api.clock.set(at("2026-12-05T09:00:00+08:00"))  # after the deadline
    late = ok(act(api, ref, "return", {"loaner_back": True}))
    assert late["on_time"] is False and late["overdue"] is True and late["loaner_back"] is True
    assert (ci_status(api, pc["id"]), ci_status(api, spare["id"])) == ("in_use", "spare")
    assert_problem(act(api, ref, "report_progress", {"text": "x"}), 409)
    closed = ok(act(api, ref, "close", {"note": "用户确认"}))
    assert closed["status"] == "closed"
    earlier = ok(api.client.get(f"{API}/repairs/{ref}",
                                params={"as_of": "2026-11-21T01:00:00+08:00"}))
    assert earlier["status"] == "at_vendor"


def test_a_requester_reads_and_decides_only_their_own_organisations_orders(make_api) -> None:
    api = make_api(admin_token="s3cret")
    for c in ("客户A", "客户B"):
        assert api.client.post(f"{API}/customers", json={"id": c, "name": c},
                               headers=ADMIN).status_code == 201
    tokens = {}
    for user, role, customer in (("ra", "requester", "客户A"), ("rb", "requester", "客户B"),
                                 ("eng", "engineer", None)):
        extra = {"customer": customer} if customer else {}
        ok(api.client.post(f"{API}/users", json={"id": user, "name": user, "roles": [role],
                                                 **extra}, headers=ADMIN), 201)
        tokens[user] = {"Authorization": "Bearer " + ok(api.client.post(
            f"{API}/users/{user}/tokens", json={}, headers=ADMIN), 201)["token"]}
    ticket = api.ok(api.register(headers=ADMIN), 201)["number"]
    ref = ok(send(api, ADMIN, ticket=ticket, ci=ci(api, "PC")["id"], warranty="out"), 201)["id"]
    ok(act(api, ref, "quote", {"amount": 300, "parts": ["电源"]}, tokens["eng"]))
    assert_problem(act(api, ref, "approve_quote", {}, tokens["eng"]), 403)
    assert_problem(act(api, ref, "approve_quote", {}, tokens["rb"]), 404)
    assert api.client.get(f"{API}/repairs/{ref}", headers=tokens["rb"]).status_code == 404
    assert ok(api.client.get(f"{API}/repairs", headers=tokens["rb"]))["items"] == []
    assert ok(api.client.get(f"{API}/reports/2026-11", params={"kind": "repair"},
                             headers=tokens["rb"]))["items"] == []
    mine = ok(act(api, ref, "approve_quote", {}, tokens["ra"]))
    assert mine["quote"]["status"] == "approved" and mine["quote"]["on_behalf"] is False
    assert mine["quote"]["decided_by"] == "ra"
    assert [x["id"] for x in ok(api.client.get(f"{API}/repairs", headers=tokens["ra"]))[
        "items"]] == [ref]


def test_the_monthly_summary_is_due_by_the_tenth_and_flagged_when_late(api: Api) -> None:
    pc, spare = ci(api, "PC"), ci(api, "备机", status="spare")
    one = ok(send(api, ci=pc["id"], loaner_ci=spare["id"]), 201)["id"]
    two = ok(send(api, ci=ci(api, "PC2")["id"], warranty="out", vendor="惠普"), 201)["id"]
    api.clock.set(at("2026-11-24T10:00:00+08:00"))
    ok(act(api, one, "return"))
    assert_problem(api.client.get(f"{API}/reports/2026-11"), 422, field="kind")
    assert_problem(api.client.get(f"{API}/reports/2026-13", params={"kind": "repair"}), 422,
                   field="period")
    report = ok(api.client.get(f"{API}/reports/2026-11", params={"kind": "repair"}))
    assert report["kind"] == "repair" and report["due"] == "2026-12-10"
    assert report["late"] is False and report["submitted_at"] is None
    t = report["totals"]
    assert (t["orders"], t["sent"], t["returned"], t["returned_on_time"], t["at_vendor"],
            t["in_warranty"], t["out_of_warranty"], t["with_loaner"]) == (2, 2, 1, 1, 1, 1, 1, 1)
    assert report["by_vendor"] == {"惠普": 1, "联想授权维修站": 1}
    assert [i["status"] for i in report["items"]] == ["returned", "at_vendor"]
    # The 11th of December, not handed in: late.
    api.clock.set(at("2026-12-11T09:00:00+08:00"))
    assert ok(api.client.get(f"{API}/reports/2026-11", params={"kind": "repair"}))["late"]
    # December's summary, handed in on the 9th of January: on time.
    api.clock.set(at("2027-01-09T09:00:00+08:00"))
    dec = ok(api.client.post(f"{API}/reports/2026-12/submit", json={"kind": "repair"}))
    assert dec["late"] is False and dec["submitted_at"] is not None
    assert dec["totals"]["orders"] == 1  # the second order, still at the vendor
    assert [i["number"] for i in dec["items"]] == [
        ok(api.client.get(f"{API}/repairs/{two}"))["number"]]
    # As it stood on 11-22: nothing back yet, nothing handed in, not late then.
    then = ok(api.client.get(f"{API}/reports/2026-11", params={
        "kind": "repair", "as_of": "2026-11-22T00:00:00+08:00"}))
    assert (then["totals"]["orders"], then["totals"]["returned"], then["late"]) == (2, 0, False)
    # November's, handed in now (January): late, and it stays so.
    late = ok(api.client.post(f"{API}/reports/2026-11/submit", json={"kind": "repair"}))
    assert late["late"] is True
    assert_problem(api.client.post(f"{API}/reports/2026-11/submit", json={"kind": "x"}), 422,
                   field="kind")


@pytest.mark.parametrize("http_store", ["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def test_two_watchers_at_once_record_one_alarm(api: Api) -> None:
    """Two watchers (two `serve` processes on one store) tick at the same instant: the second
    save conflicts, the retry reads the alarm already recorded and records nothing."""
    from application.repair_watch import watch_repairs
    from tests.support.threads import released_together

    ref = ok(send(api, ci=ci(api, "PC")["id"]), 201)["id"]
    when = at("2026-11-26T09:00:00+08:00")
    api.clock.set(when)
    counts = released_together(4, lambda _: watch_repairs(api.services.desk, when, "sla-watch"),
                               what="a watcher")
    assert sum(counts) == 1
    history = ok(api.client.get(f"{API}/repairs/{ref}/history"))
    assert [h["type"] for h in history].count("ProgressOverdue") == 1
