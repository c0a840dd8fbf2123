"""Customers over HTTP and the policy a ticket takes (API.md "Identities", ADR 0018); and the
recompute of open tickets after a policy or calendar redefinition (watcher tick)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures_http import ALL_STORES, API, CLASSIFICATION, Api, assert_problem
from tests.adapters.http.test_http_catalog import ACME_CALENDAR, ACME_POLICY, body, put_calendar, put_policy

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
P3 = {**CLASSIFICATION, "urgency": "not_urgent", "impact": "single", "importance": "important"}
SLOW_ACME = body(ACME_POLICY, targets={
    "P1": {"response": "PT2H", "resolution": "PT4H"},
    "P2": {"response": "PT4H", "resolution": "PT24H"},
    "P3": {"response": "PT1H", "resolution": "P10D"}})


def post_customer(api: Api, **data: Any) -> Any:
    return api.client.post(f"{API}/customers", json=data)


def given_acme(api: Api) -> None:
    assert put_calendar(api, "acme-5x8", ACME_CALENDAR).status_code == 201
    assert put_policy(api, "acme", SLOW_ACME).status_code == 201


def p3_ticket(api: Api, **overrides: Any) -> dict[str, Any]:
    api.clock.set(MONDAY_10)
    return api.ok(api.register(reported_at=MONDAY_10.isoformat(), **{**P3, **overrides}), 201)


def deadline_events(api: Api, ref: str) -> list[dict[str, Any]]:
    return [h["data"]["deadlines"] for h in api.history(ref) if h["type"] == "SlaDeadlinesSet"]


# ------------------------------------------------------------------ customers


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_register_read_list_and_assign(api: Api):
    given_acme(api)
    r = post_customer(api, id="acme", name="ACME 有限公司", sla_policy="acme")
    c = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/customers/acme"
    assert (c["id"], c["name"], c["sla_policy"], c["version"]) == (
        "acme", "ACME 有限公司", "acme", 1)
    assert api.ok(post_customer(api, id="acme", name="ACME 有限公司", sla_policy="acme")) == c
    api.ok(post_customer(api, id="客户A", name="客户A"), 201)
    got = api.ok(api.client.get(f"{API}/customers/{quote('客户A')}"))
    assert (got["id"], got["sla_policy"]) == ("客户A", None)
    listed = api.client.get(f"{API}/customers").json()
    assert [x["id"] for x in listed["items"]] == ["acme", "客户A"] and listed["count"] == 2
    a = api.ok(api.client.post(f"{API}/customers/{quote('客户A')}/assign_sla_policy",
                               json={"sla_policy": "acme"}))
    assert (a["sla_policy"], a["version"]) == ("acme", 2)
    again = api.client.post(f"{API}/customers/{quote('客户A')}/assign_sla_policy",
                            json={"sla_policy": "acme"})
    assert api.ok(again)["version"] == 2  # the same policy: nothing recorded


def test_a_repeat_with_other_data_is_409(api: Api):
    api.ok(post_customer(api, id="acme", name="ACME"), 201)
    assert_problem(post_customer(api, id="acme", name="ACME Ltd"), 409)
    assert_problem(post_customer(api, id="acme", name="ACME", sla_policy="default"), 409)
    assert api.ok(api.client.get(f"{API}/customers/acme"))["version"] == 1


def test_an_unknown_policy_is_422_naming_sla_policy(api: Api):
    assert_problem(post_customer(api, id="acme", name="ACME", sla_policy="nope"), 422,
                   field="sla_policy")
    api.ok(post_customer(api, id="acme", name="ACME"), 201)
    r = api.client.post(f"{API}/customers/acme/assign_sla_policy", json={"sla_policy": "nope"})
    assert_problem(r, 422, field="sla_policy")
    assert api.client.get(f"{API}/customers").json()["count"] == 1


def test_unknown_customers_are_404_and_bodies_are_strict(api: Api):
    assert_problem(api.client.get(f"{API}/customers/nobody"), 404)
    r = api.client.post(f"{API}/customers/nobody/assign_sla_policy", json={"sla_policy": "default"})
    assert_problem(r, 404)
    assert post_customer(api, id="acme").status_code == 400
    assert post_customer(api, id="acme", name="x", extra=1).status_code == 400


# ------------------------------------------------------------------ which policy


def test_a_ticket_of_a_customer_takes_the_customers_policy(api: Api):
    given_acme(api)
    api.ok(post_customer(api, id="acme", name="ACME", sla_policy="acme"), 201)
    t = p3_ticket(api, customer="acme")
    assert (t["sla"]["policy"], t["sla"]["calendar"]) == ("acme", "acme-5x8")
    # PT1H response on Mon 10:00 -> 11:00 (acme's P3, not default's PT8H)
    assert datetime.fromisoformat(t["sla"]["response_due"]) == datetime(
        2026, 11, 23, 11, 0, tzinfo=SH)
    [d] = deadline_events(api, t["id"])
    assert (d["reason"], d["policy_source"]) == ("classified", "customer")


def test_the_tickets_own_policy_beats_the_customers(api: Api):
    given_acme(api)
    api.ok(post_customer(api, id="acme", name="ACME", sla_policy="acme"), 201)
    t = p3_ticket(api, customer="acme", sla_policy="default")
    assert t["sla"]["policy"] == "default"
    assert deadline_events(api, t["id"])[0]["policy_source"] == "ticket"


def test_an_unregistered_customer_takes_default_and_is_not_registered(api: Api):
    t = p3_ticket(api, customer="客户B")
    assert t["sla"]["policy"] == "default"
    assert deadline_events(api, t["id"])[0]["policy_source"] == "default"
    assert_problem(api.client.get(f"{API}/customers/{quote('客户B')}"), 404)


# ------------------------------------------------------------------ recompute


def test_a_redefined_policy_moves_the_open_tickets_running_clocks(api: Api):
    api.clock.set(MONDAY_10)
    open_ = api.given_ticket("in_progress", reported_at=MONDAY_10.isoformat(), **P3)
    done = api.given_ticket("resolved", reported_at=MONDAY_10.isoformat(), **P3)
    api.clock.set(MONDAY_10)
    assert api.services.watcher.tick().recomputed == 0  # nothing changed
    current = api.ok(api.client.get(f"{API}/sla-policies/default"))
    longer = {k: current[k] for k in ("name", "calendar", "warning_thresholds", "escalation")}
    longer["targets"] = {**current["targets"], "P3": {"response": "PT8H", "resolution": "P5D"}}
    assert put_policy(api, "default", longer).status_code == 200
    before_open, before_done = api.view(open_["id"])["sla"], api.view(done["id"])["sla"]
    assert before_open["policy_version"] == 1  # not yet: the watcher does it
    counts = api.services.watcher.tick()
    assert counts.recomputed == 1 and counts.failed == 0
    after = api.view(open_["id"])["sla"]
    assert after["policy_version"] == 2
    assert datetime.fromisoformat(after["resolution_due"]) == datetime(
        2026, 11, 30, 10, 0, tzinfo=SH)  # Mon 10:00 + 5 working days (was Thu 10:00)
    assert after["response_due"] == before_open["response_due"]  # stopped: kept
    d = deadline_events(api, open_["id"])[-1]
    assert (d["reason"], d["policy_version"], d["resolution_target"]) == (
        "policy_changed", 2, "P5D")
    assert d["resolution_started_at"] == deadline_events(api, open_["id"])[0][
        "resolution_started_at"]  # same_start
    assert api.view(done["id"])["sla"] == before_done  # both clocks stopped: untouched
    assert api.services.watcher.tick().recomputed == 0  # once


def test_a_redefined_calendar_moves_the_open_tickets_running_clocks(api: Api):
    t = p3_ticket(api)
    assert api.services.watcher.tick().recomputed == 0
    china = api.ok(api.client.get(f"{API}/calendars/china-5x8"))
    new = {k: china[k] for k in ("name", "timezone", "base", "working_hours")}
    new["holidays"] = ["2026-11-24"]  # Tuesday off
    assert put_calendar(api, "china-5x8", new).status_code == 200
    assert api.services.watcher.tick().recomputed == 1
    sla = api.view(t["id"])["sla"]
    assert sla["calendar_version"] == 2 and sla["policy_version"] == 1
    # P3 resolution P3D from Mon 10:00: Thu 10:00, now Fri 10:00 (Tue is a holiday); the
    # response (PT8H, Mon 18:00) does not cross Tuesday and stays
    assert datetime.fromisoformat(sla["resolution_due"]) == datetime(
        2026, 11, 27, 10, 0, tzinfo=SH)
    assert datetime.fromisoformat(sla["response_due"]) == datetime(2026, 11, 23, 18, 0, tzinfo=SH)
    assert deadline_events(api, t["id"])[-1]["reason"] == "calendar_changed"
