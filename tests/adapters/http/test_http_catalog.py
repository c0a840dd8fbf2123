"""Calendars and SLA policies over HTTP (API.md, ADR 0014): defaults on a fresh store, PUT
creates (201) and redefines (200, new version) and an identical PUT records nothing; as_of;
If-Match; bad input is a 400 or 422 naming the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, Api, assert_problem, etag, run_concurrently

ACME_CALENDAR: dict[str, Any] = {
    "name": "ACME 5x8", "timezone": "Asia/Shanghai", "base": "china",
    "working_hours": {"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]],
                      "wed": [["09:00", "18:00"]], "thu": [["09:00", "18:00"]],
                      "fri": [["09:00", "18:00"]], "sat": [], "sun": []},
    "holidays": ["2026-12-25"], "workdays": ["2026-12-26"],
}
ACME_POLICY: dict[str, Any] = {
    "name": "ACME", "calendar": "acme-5x8",
    "targets": {"P1": {"response": "PT2H", "resolution": "PT4H"},
                "P2": {"response": "PT4H", "resolution": "PT24H"},
                "P3": {"response": "PT8H", "resolution": "P3D"}},
    "warning_thresholds": [0.5, 0.75],
    "escalation": {"manager": "mgr-wang", "expert": "exp-zhao"},
}


def body(original: dict[str, Any], /, **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(original)
    out.update(changes)
    return out


def put_calendar(api: Api, slug: str, data: dict[str, Any], **headers: str) -> Any:
    return api.client.put(f"{API}/calendars/{slug}", json=data, headers=headers or None)


def put_policy(api: Api, slug: str, data: dict[str, Any], **headers: str) -> Any:
    return api.client.put(f"{API}/sla-policies/{slug}", json=data, headers=headers or None)


# ------------------------------------------------------------------ defaults


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_fresh_store_has_the_china_calendar_and_the_default_policy(api: Api):
    c = api.ok(api.client.get(f"{API}/calendars/china-5x8"))
    assert c["id"] == "china-5x8" and c["base"] == "china" and c["timezone"] == "Asia/Shanghai"
    assert c["working_hours"]["mon"] == [["09:00", "18:00"]] and c["working_hours"]["sat"] == []
    assert c["holidays"] == [] and c["workdays"] == [] and c["version"] == 1
    data = c["base_data"]
    assert data["source"].startswith("chinese-calendar") and data["first_year"] <= 2026
    assert data["missing_years"] == [y for y in (2026, 2027) if y > data["last_year"]]
    p = api.ok(api.client.get(f"{API}/sla-policies/default"))
    assert p["calendar"] == "china-5x8" and p["version"] == 1
    assert p["targets"] == {"P1": {"response": "PT2H", "resolution": "PT4H"},
                            "P2": {"response": "PT4H", "resolution": "PT24H"},
                            "P3": {"response": "PT8H", "resolution": "P3D"}}
    assert p["warning_thresholds"] == [0.5, 0.75]
    assert set(p["escalation"]) == {"manager", "expert"}
    assert [x["id"] for x in api.client.get(f"{API}/calendars").json()["items"]] == ["china-5x8"]
    assert [x["id"] for x in api.client.get(f"{API}/sla-policies").json()["items"]] == ["default"]


@pytest.mark.parametrize("http_store", ["sqlite"])
def test_defaults_are_defined_once_across_restarts(make_api: Callable[..., Api]):
    first = make_api()
    assert first.events()["head"] == 0  # nothing is written at start-up
    first.ok(first.client.get(f"{API}/calendars/china-5x8"))  # the first use records them
    head = first.events()["head"]
    assert head > 0
    again = make_api()  # a second start on the same store
    assert again.ok(again.client.get(f"{API}/sla-policies/default"))["version"] == 1
    assert again.ok(again.client.get(f"{API}/calendars/china-5x8"))["version"] == 1
    assert again.events()["head"] == head


# ------------------------------------------------------------------ calendars


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_put_get_and_version_a_calendar(api: Api):
    # when the API.md example is PUT
    r = put_calendar(api, "acme-5x8", ACME_CALENDAR)
    created = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/calendars/acme-5x8"
    assert created["version"] == 1 and created["holidays"] == ["2026-12-25"]
    assert created["workdays"] == ["2026-12-26"] and created["recorded_at"].endswith("Z")
    assert api.ok(api.client.get(f"{API}/calendars/acme-5x8")) == created
    v1_time = created["recorded_at"]
    head = api.events()["head"]

    # an identical PUT records nothing and keeps the version
    same = api.ok(put_calendar(api, "acme-5x8", ACME_CALENDAR))
    assert same == created and api.events()["head"] == head

    # a changed PUT is a new version, an event, never an edit
    api.clock.advance(hours=1)
    changed = body(ACME_CALENDAR, holidays=["2026-12-24", "2026-12-25"])
    v2 = api.ok(put_calendar(api, "acme-5x8", changed))
    assert v2["version"] == 2 and v2["holidays"] == ["2026-12-24", "2026-12-25"]
    assert v2["recorded_at"] > v1_time and v2["created_at"] == created["created_at"]
    last = api.events(after=head)["items"]
    assert [e["type"] for e in last] == ["Redefined"]
    assert last[0]["topic"] == "opsledger.sla:CalendarRecord.Redefined"
    assert last[0]["data"]["holidays"] == ["2026-12-24", "2026-12-25"]

    # as_of shows the version in force then
    old = api.ok(api.client.get(f"{API}/calendars/acme-5x8", params={"as_of": v1_time}))
    assert old["version"] == 1 and old["holidays"] == ["2026-12-25"]
    r = api.client.get(f"{API}/calendars/acme-5x8", params={"as_of": "2020-01-01T00:00:00Z"})
    assert_problem(r, 404)
    listed = api.client.get(f"{API}/calendars").json()
    assert [x["id"] for x in listed["items"]] == ["acme-5x8", "china-5x8"]
    assert listed["items"][0]["version"] == 2


def test_if_match_guards_a_redefinition(api: Api):
    api.ok(put_calendar(api, "acme-5x8", ACME_CALENDAR), 201)
    r = put_calendar(api, "acme-5x8", body(ACME_CALENDAR, name="v2"), **{"If-Match": etag(1)})
    assert api.ok(r)["version"] == 2
    stale = put_calendar(api, "acme-5x8", body(ACME_CALENDAR, name="v3"), **{"If-Match": etag(1)})
    problem = assert_problem(stale, 412)
    assert problem["current_version"] == 2 and stale.headers["etag"] == etag(2)
    assert api.ok(api.client.get(f"{API}/calendars/acme-5x8"))["name"] == "v2"
    # If-Match on a record that does not exist yet
    assert_problem(put_calendar(api, "new-one", ACME_CALENDAR, **{"If-Match": etag(1)}), 412)
    assert_problem(api.client.get(f"{API}/calendars/new-one"), 404)


def test_an_idempotency_key_repeat_answers_the_first_result(api: Api):
    r1 = put_calendar(api, "acme-5x8", ACME_CALENDAR, **{"Idempotency-Key": "k-1"})
    api.ok(r1, 201)
    head = api.events()["head"]
    r2 = put_calendar(api, "acme-5x8", ACME_CALENDAR, **{"Idempotency-Key": "k-1"})
    assert r2.status_code == 201 and r2.headers["idempotent-replayed"] == "true"
    assert api.events()["head"] == head
    other = put_calendar(api, "acme-5x8", body(ACME_CALENDAR, name="x"), **{"Idempotency-Key": "k-1"})
    assert_problem(other, 422, field="Idempotency-Key")


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"working_hours": {"mon": [["25:00", "26:00"]]}}, 422, "working_hours.mon[0]"),
        ({"working_hours": {"mon": [["18:00", "09:00"]]}}, 422, "working_hours.mon[0]"),
        ({"working_hours": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}}, 422,
         "working_hours.mon"),
        ({"working_hours": {"funday": []}}, 422, "working_hours.funday"),
        ({"timezone": "Mars/Olympus_Mons"}, 422, "timezone"),
        ({"holidays": ["2026-10-01"], "workdays": ["2026-10-01"]}, 422, "workdays"),
        ({"base": "usa"}, 400, "base"),
        ({"holidays": ["not a date"]}, 400, "holidays[0]"),
        ({"working_hours": {"mon": [["09:00"]]}}, 400, "working_hours[...][0]"),
        ({"surprise": True}, 400, "surprise"),
        ({"name": ""}, 400, "name"),
    ],
)
def test_bad_calendars_are_refused_naming_the_field(read_only_store_api: Api,
                                                    change: dict[str, Any], status: int,
                                                    field: str):
    api = read_only_store_api  # refused, records nothing: one app per module and store
    head = api.events()["head"]
    r = put_calendar(api, "acme-5x8", body(ACME_CALENDAR, **change))
    assert_problem(r, status, field=field)
    assert api.events()["head"] == head


def test_a_calendar_body_without_working_hours_is_a_400(read_only_store_api: Api):
    api = read_only_store_api  # refused, records nothing: one app per module and store
    data = body(ACME_CALENDAR)
    del data["working_hours"]
    assert_problem(put_calendar(api, "acme-5x8", data), 400, field="working_hours")


@pytest.mark.parametrize("slug", ["ACME", "-acme", "acme_5x8", "x" * 64])
def test_a_bad_id_is_a_400_on_put_and_a_404_on_get(read_only_store_api: Api, slug: str):
    api = read_only_store_api  # refused, records nothing: one app per module and store
    assert_problem(put_calendar(api, slug, ACME_CALENDAR), 400, field="id")
    assert_problem(put_policy(api, slug, ACME_POLICY), 400, field="id")
    assert_problem(api.client.get(f"{API}/calendars/{slug}"), 404)
    assert_problem(api.client.get(f"{API}/sla-policies/{slug}"), 404)


# ------------------------------------------------------------------ policies


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_put_get_and_version_a_policy(api: Api):
    api.ok(put_calendar(api, "acme-5x8", ACME_CALENDAR), 201)
    r = put_policy(api, "acme", ACME_POLICY)
    p1 = api.ok(r, 201)
    assert r.headers["location"] == f"{API}/sla-policies/acme"
    assert p1["targets"] == ACME_POLICY["targets"] and p1["calendar"] == "acme-5x8"
    assert p1["escalation"] == {"manager": "mgr-wang", "expert": "exp-zhao"}
    assert api.ok(api.client.get(f"{API}/sla-policies/acme")) == p1
    head = api.events()["head"]
    assert api.ok(put_policy(api, "acme", ACME_POLICY)) == p1
    assert api.events()["head"] == head

    api.clock.advance(minutes=5)
    changed = body(ACME_POLICY, warning_thresholds=[0.9, 0.5], calendar="china-5x8")
    p2 = api.ok(put_policy(api, "acme", changed))
    assert p2["version"] == 2 and p2["warning_thresholds"] == [0.5, 0.9]
    assert p2["calendar"] == "china-5x8"
    old = api.ok(api.client.get(f"{API}/sla-policies/acme", params={"as_of": p1["recorded_at"]}))
    assert old["version"] == 1 and old["calendar"] == "acme-5x8"
    items = api.client.get(f"{API}/sla-policies").json()["items"]
    assert [x["id"] for x in items] == ["acme", "default"]
    stale = put_policy(api, "acme", ACME_POLICY, **{"If-Match": etag(1)})
    assert_problem(stale, 412)


def test_a_policy_on_an_unknown_calendar_is_a_422(api: Api):
    r = put_policy(api, "acme", body(ACME_POLICY, calendar="no-such-calendar"))
    assert_problem(r, 422, field="calendar")
    assert_problem(api.client.get(f"{API}/sla-policies/acme"), 404)


PRIORITIES = ACME_POLICY["targets"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"warning_thresholds": [0.5, 1.0]}, 422, "warning_thresholds[1]"),
        ({"warning_thresholds": [0]}, 422, "warning_thresholds[0]"),
        ({"targets": {**PRIORITIES, "P4": {"response": "PT1H", "resolution": "PT2H"}}}, 422,
         "targets.P4"),
        ({"targets": {"P1": PRIORITIES["P1"], "P2": PRIORITIES["P2"]}}, 422, "targets.P3"),
        ({"targets": {**PRIORITIES, "P1": {"response": "2h", "resolution": "PT4H"}}}, 422,
         "targets.P1.response"),
        ({"targets": {**PRIORITIES, "P3": {"response": "PT8H", "resolution": "P1M"}}}, 422,
         "targets.P3.resolution"),
        ({"targets": {**PRIORITIES, "P1": {"response": "PT2H"}}}, 400, "targets[...].resolution"),
        ({"escalation": {"manager": "m"}}, 400, "escalation.expert"),
        ({"warning_thresholds": ["0.5"]}, 400, "warning_thresholds[0]"),
        ({"extra": 1}, 400, "extra"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(api: Api, change: dict[str, Any], status: int,
                                                   field: str):
    api.ok(put_calendar(api, "acme-5x8", ACME_CALENDAR), 201)
    head = api.events()["head"]
    assert_problem(put_policy(api, "acme", body(ACME_POLICY, **change)), status, field=field)
    assert api.events()["head"] == head


def test_concurrent_creators_of_one_calendar_make_one_record(api: Api):
    responses = run_concurrently(
        6, lambda i: put_calendar(api, "race", body(ACME_CALENDAR, name=f"n{i % 2}")))
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    assert sum(r.status_code == 201 for r in responses) == 1
    final = api.ok(api.client.get(f"{API}/calendars/race"))
    assert final["name"] in ("n0", "n1") and 1 <= final["version"] <= 6
    assert [x["id"] for x in api.client.get(f"{API}/calendars").json()["items"]] == [
        "china-5x8", "race"]
