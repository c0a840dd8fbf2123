"""Every refusal is application/problem+json (RFC 9457) with the right status (API.md, Conventions).

400 bad shape (names the field), 422 broken rule, 409 wrong state, 404 unknown, 405 wrong
method, 412 stale If-Match, 413 over 1 MiB. A refusal records nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from application.idempotency import IdempotencyKey
from domain.numbering import DailySequence, RecordKind
from tests.fixtures_http import (
    API,
    CLASSIFICATION,
    PRECISE,
    Api,
    assert_problem,
    confirm_body,
    etag,
    ticket_body,
)

# Shape checks run before any store is touched: the in-memory store is enough for them.
MEMORY_ONLY = pytest.mark.parametrize("http_store", ["memory"])

# --------------------------------------------------------------------- 400


def _without(key: str) -> dict[str, Any]:
    body = ticket_body()
    del body[key]
    return body


def _contact(**fields: Any) -> dict[str, Any]:
    return ticket_body(contact={"name": "李四", **fields})


BAD_REGISTRATIONS = {
    "wrong type (int title)": (ticket_body(title=5), "title"),
    "wrong type (contact is a string)": (ticket_body(contact="李四"), "contact"),
    "wrong type (nested)": (ticket_body(contact={"name": 3}), "contact.name"),
    "wrong type (list of numbers)": (ticket_body(attachments=[1, 2]), "attachments[0]"),
    "unknown field": (ticket_body(colour="red"), "colour"),
    "unknown nested field": (_contact(fax="010-1234"), "contact.fax"),
    "missing required field": (_without("title"), "title"),
    "missing required nested field": (ticket_body(contact={"phone": "123"}), "contact.name"),
    "missing customer": (_without("customer"), "customer"),
    "empty required string": (ticket_body(title=""), "title"),
    "overlong title": (ticket_body(title="长" * 201), "title"),
    "overlong description": (ticket_body(description="x" * 20_001), "description"),
    "control character": (ticket_body(title="登录\x00失败"), "title"),
    "escape character": (ticket_body(customer="客户\x1bA"), "customer"),
    "bad phone": (_contact(phone="call me"), "contact.phone"),
    "bad email": (_contact(email="not an email"), "contact.email"),
    "invalid channel": (ticket_body(channel="pigeon"), "channel"),
    "invalid type": (ticket_body(type="disaster"), "type"),
    "invalid urgency": (ticket_body(urgency="asap"), "urgency"),
    "invalid impact": (ticket_body(impact="everyone"), "impact"),
    "invalid importance": (ticket_body(importance="vital"), "importance"),
    "invalid priority": (ticket_body(priority="P0"), "priority"),
    "naive time": (ticket_body(reported_at="2026-11-20T17:30:00"), "reported_at"),
    "unparseable time": (ticket_body(reported_at="yesterday afternoon"), "reported_at"),
    "impossible date": (ticket_body(reported_at="2026-02-30T10:00:00+08:00"), "reported_at"),
}


# Refused before the store: these share one app (and its store, which must stay empty).
@pytest.mark.parametrize(("body", "field"), BAD_REGISTRATIONS.values(), ids=BAD_REGISTRATIONS)
def test_a_malformed_registration_is_a_400_naming_the_field(read_only_api: Api, body, field):
    api = read_only_api
    r = api.client.post(f"{API}/tickets", json=body)
    problem = assert_problem(r, 400, field=field)
    assert field in problem["detail"]
    assert api.events()["items"] == []  # nothing recorded


BAD_COMMANDS = {
    "hours as text": ("log_work", {"action": "重启", "hours": "two"}, "hours"),
    "hours zero": ("log_work", {"action": "重启", "hours": 0}, "hours"),
    "hours over a month": ("log_work", {"action": "重启", "hours": 745}, "hours"),
    "missing action": ("log_work", {"hours": 1}, "action"),
    "naive performed_at": ("log_work", {"action": "重启", "hours": 1,
                                        "performed_at": "2026-11-21T00:40:00"}, "performed_at"),
    "unparseable performed_at": ("log_work", {"action": "重启", "hours": 1,
                                              "performed_at": "noon"}, "performed_at"),
    # (``start`` on this in-progress ticket is a 409 first, whatever its body: issue 16)
    "unknown field": ("log_work", {"action": "重启", "hours": 1, "force": True}, "force"),
    "first_contact not a bool": ("resolve", {"resolution": PRECISE, "root_cause": "x",
                                             "first_contact": "yes"}, "first_contact"),
    "await_customer without reason": ("await_customer", {}, "reason"),
    "assignee not a string": ("assign", {"assignee": ["a", "b"]}, "assignee"),
    "classify with a bad enum": ("classify", {**CLASSIFICATION, "impact": "galaxy"}, "impact"),
}


@MEMORY_ONLY
@pytest.mark.parametrize(("command", "body", "field"), BAD_COMMANDS.values(), ids=BAD_COMMANDS)
def test_a_malformed_command_is_a_400_naming_the_field(api: Api, command, body, field):
    t = api.given_ticket("in_progress")
    assert_problem(api.command(t["id"], command, body), 400, field=field)
    assert api.view(t["id"])["version"] == t["version"]


@MEMORY_ONLY
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (confirm_body(passed="yes"), "passed"),
        (confirm_body(items="ERP"), "items"),
        (confirm_body(items=["x" * 2001]), "items[0]"),
        ({"signer": "王经理", "items": ["a"], "passed": True}, "criteria"),
    ],
)
def test_a_malformed_acceptance_is_a_400(api: Api, body, field):
    t = api.given_ticket("resolved")
    assert_problem(api.command(t["id"], "confirm", body), 400, field=field)


@MEMORY_ONLY
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timeliness": 6, "effectiveness": 4, "attitude": 4}, "timeliness"),
        ({"timeliness": 5, "effectiveness": 0, "attitude": 4}, "effectiveness"),
        ({"timeliness": 5, "effectiveness": 4, "attitude": 4.5}, "attitude"),
        ({"timeliness": 5, "effectiveness": 4, "attitude": 4,
          "improvement": {"action": "加快响应", "owner": "mgr", "due": "someday"}},
         "improvement.due"),
    ],
)
def test_malformed_feedback_is_a_400(api: Api, body, field):
    t = api.given_ticket("closed")
    assert_problem(api.command(t["id"], "feedback", body), 400, field=field)


@MEMORY_ONLY
def test_lax_coercions_are_refused(api: Api):
    assert_problem(api.register(reported_at=1763659800), 400, field="reported_at")
    t = api.given_ticket("in_progress")
    assert_problem(api.command(t["id"], "log_work", {"action": "重启", "hours": "2"}), 400,
                   field="hours")


@MEMORY_ONLY
def test_a_body_that_is_not_json_is_a_400(api: Api):
    r = api.client.post(f"{API}/tickets", content=b"{not json",
                        headers={"content-type": "application/json"})
    assert_problem(r, 400)
    r = api.client.post(f"{API}/tickets", json=[ticket_body()])
    assert_problem(r, 400)


@MEMORY_ONLY
@pytest.mark.parametrize("value", ["abc", '"v1"', "3.0", '"-1"', "W/", '""'])
def test_a_bad_if_match_is_a_400(api: Api, value):
    t = api.given_ticket("assigned")
    assert_problem(api.command(t["id"], "start", headers={"If-Match": value}), 400,
                   field="If-Match")
    assert api.view(t["id"])["status"] == "assigned"


@MEMORY_ONLY
@pytest.mark.parametrize(
    ("query", "field"),
    [("as_of=yesterday", "as_of"), ("as_of=2026-11-21T01:00:00", "as_of")],
)
def test_a_bad_as_of_is_a_400(api: Api, query, field):
    t = api.given_ticket()
    assert_problem(api.client.get(f"{API}/tickets/{t['id']}?{query}"), 400, field=field)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("status=registered,nonsense", "status"),
        ("priority=P7", "priority"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("cursor=abc", "cursor"),
    ],
)
def test_a_bad_list_query_is_a_400(read_only_api: Api, query, field):
    assert_problem(read_only_api.client.get(f"{API}/tickets?{query}"), 400, field=field)


@pytest.mark.parametrize(("query", "field"), [("after=-1", "after"), ("after=x", "after"),
                                               ("limit=0", "limit")])
def test_a_bad_audit_query_is_a_400(read_only_api: Api, query, field):
    assert_problem(read_only_api.client.get(f"{API}/audit/events?{query}"), 400, field=field)


# --------------------------------------------------------------------- 422


@MEMORY_ONLY
@pytest.mark.parametrize("vague", ["已处理", "done", "Done.", "  已解决。 ", "ok", "修复"])
def test_a_vague_resolution_is_a_422(api: Api, vague):
    t = api.given_ticket("in_progress")
    body = assert_problem(api.command(t["id"], "resolve", {"resolution": vague,
                                                           "root_cause": "会话表已满"}),
                          422, field="resolution")
    assert "vague" in body["detail"]
    assert api.view(t["id"])["status"] == "in_progress"


def test_a_rejection_without_unmet_items_is_a_422(api: Api):
    t = api.given_ticket("resolved")
    assert_problem(api.command(t["id"], "confirm", confirm_body(passed=False)), 422,
                   field="unmet_items")
    assert_problem(api.command(t["id"], "confirm", confirm_body(passed=False, unmet_items=[" "])),
                   422, field="unmet_items")
    v = api.view(t["id"])
    assert (v["status"], v["version"], v["acceptances"]) == ("resolved", t["version"], [])


def test_reported_at_in_the_future_is_a_422(api: Api):
    future = (api.clock.now().replace(year=2027)).isoformat()
    assert_problem(api.register(reported_at=future), 422, field="reported_at")
    # one second ahead of the server's clock, given with an offset
    assert_problem(api.register(reported_at="2026-11-21T01:00:01+08:00"), 422,
                   field="reported_at")
    assert api.events()["items"] == []
    # the present itself is fine
    assert api.register(reported_at="2026-11-21T01:00:00+08:00").status_code == 201


def test_work_performed_in_the_future_or_before_the_report_is_a_422(api: Api):
    t = api.given_ticket("in_progress")
    assert_problem(api.command(t["id"], "log_work", {"action": "重启", "hours": 1,
                                                     "performed_at": "2030-01-01T00:00:00Z"}),
                   422, field="performed_at")
    assert_problem(api.command(t["id"], "log_work", {"action": "重启", "hours": 1,
                                                     "performed_at": "2026-11-20T00:00:00Z"}),
                   422, field="performed_at")


def test_assign_to_nobody_is_a_422(api: Api):
    t = api.given_ticket("classified")
    body = assert_problem(api.command(t["id"], "assign", {}), 422, field="assignee")
    assert "group" in [e["field"] for e in body["errors"]]


# --------------------------------------------------------------------- 409


@pytest.mark.parametrize(
    ("status", "command", "body"),
    [
        ("registered", "start", {}),
        ("registered", "assign", {"assignee": "eng-wang"}),
        ("classified", "resolve", {"resolution": PRECISE, "root_cause": "x"}),
        ("in_progress", "confirm", confirm_body()),
        ("waiting_customer", "log_work", {"action": "重启", "hours": 1}),
        ("resolved", "reopen", {"reason": "again"}),
        ("closed", "invalidate", {"reason": "dup"}),
        ("invalid", "resume", {}),
    ],
)
def test_a_command_not_allowed_in_the_state_is_a_409(api: Api, status, command, body):
    t = api.given_ticket(status)
    problem = assert_problem(api.command(t["id"], command, body), 409)
    assert problem["state"] == status
    assert f"'{status}'" in problem["detail"]
    assert problem["allowed_commands"] == t["allowed_commands"]
    for allowed in t["allowed_commands"]:
        assert allowed in problem["detail"]
    assert api.view(t["id"])["version"] == t["version"]


def test_a_second_feedback_is_a_409(api: Api):
    t = api.given_ticket("closed")
    api.ok(api.command(t["id"], "feedback", {"timeliness": 5, "effectiveness": 5, "attitude": 5}))
    problem = assert_problem(
        api.command(t["id"], "feedback", {"timeliness": 1, "effectiveness": 1, "attitude": 1}), 409)
    assert problem["state"] == "closed"
    assert problem["allowed_commands"] == ["reopen"]
    assert "already given" in problem["detail"]


# ---------------------------------------------------------------- 404 / 405


@pytest.mark.parametrize(
    "ref",
    ["7d3f4a52-1111-4c5e-9c59-2a0d6a5c0b61", "SR-20261121-999", "SR-garbage", "not-a-ticket",
     "12345", "%20"],
)
def test_an_unknown_ticket_is_a_404(api: Api, ref):
    api.given_ticket()  # a store with something in it
    assert_problem(api.get(ref), 404)
    assert_problem(api.client.get(f"{API}/tickets/{ref}/history"), 404)
    assert_problem(api.command(ref, "start"), 404)
    assert_problem(api.command(ref, "invalidate", {"reason": "dup"}), 404)


def test_the_sequence_and_idempotency_records_are_not_tickets(api: Api):
    api.ok(api.register(headers={"Idempotency-Key": "k1"}), 201)
    seq = DailySequence.id_for(RecordKind.SERVICE_REQUEST, date(2026, 11, 21))
    idem = IdempotencyKey("k1", "x").record_id
    for other in (seq, idem):
        assert_problem(api.get(str(other)), 404)
        assert_problem(api.client.get(f"{API}/tickets/{other}/history"), 404)
        assert_problem(api.command(str(other), "start"), 404)


def test_unknown_routes_and_methods_are_problems(api: Api):
    t = api.given_ticket()
    assert_problem(api.client.get(f"{API}/nothing-here"), 404)
    assert_problem(api.client.post(f"{API}/tickets/{t['id']}/teleport", json={}), 404)
    assert_problem(api.client.delete(f"{API}/tickets/{t['id']}"), 405)
    assert_problem(api.client.put(f"{API}/tickets", json={}), 405)
    assert_problem(api.client.get(f"{API}/tickets/{t['id']}/start"), 405)


# --------------------------------------------------------------------- 412


def test_a_stale_if_match_is_a_412_and_records_nothing(api: Api):
    # given a ticket that moved on after the client read version 3
    # (registered, classified, SLA deadlines set)
    t = api.given_ticket("classified")
    assert t["version"] == 3
    t = api.ok(api.command(t["id"], "assign", {"assignee": "eng-wang"},
                           headers={"If-Match": etag(3)}))
    assert t["version"] == 4
    head = api.events()["head"]

    # when the client sends its stale version
    r = api.command(t["id"], "start", headers={"If-Match": etag(3)})

    # then 412 with the current version, and nothing changed
    problem = assert_problem(r, 412)
    assert (problem["expected_version"], problem["current_version"]) == (3, 4)
    assert r.headers["etag"] == etag(4)
    v = api.get(t["id"])
    assert v.headers["etag"] == etag(4)
    assert (v.json()["version"], v.json()["status"]) == (4, "assigned")
    assert api.events()["head"] == head

    # and with the current version (weak or strong) it succeeds
    t = api.ok(api.command(t["id"], "start", headers={"If-Match": 'W/"4"'}))
    assert (t["status"], t["version"]) == ("in_progress", 5)
    t = api.ok(api.command(t["id"], "log_work", {"action": "重启", "hours": 1},
                           headers={"If-Match": etag(5)}))
    assert t["version"] == 6
    # If-Match: * means any version
    assert api.command(t["id"], "log_work", {"action": "查日志", "hours": 1},
                       headers={"If-Match": "*"}).status_code == 200


def test_a_future_version_in_if_match_is_a_412(api: Api):
    t = api.given_ticket("assigned")
    assert_problem(api.command(t["id"], "start", headers={"If-Match": etag(99)}), 412)


# --------------------------------------------------------------------- 413


def test_a_body_over_one_mib_is_a_413(api: Api):
    huge = ticket_body(description="x" * (1024 * 1024))
    body = assert_problem(api.client.post(f"{API}/tickets", json=huge), 413)
    assert "1 MiB" in body["detail"]
    t = api.given_ticket("in_progress")
    assert_problem(api.command(t["id"], "log_work", {"action": "a" * (1024 * 1024 + 1),
                                                     "hours": 1}), 413)
    assert api.view(t["id"])["version"] == t["version"]
    # just under the limit is read (and then refused for its length, not its size)
    under = ticket_body(description="x" * (1024 * 1024 - 2000))
    assert_problem(api.client.post(f"{API}/tickets", json=under), 400, field="description")


@MEMORY_ONLY
def test_commands_without_a_body(api: Api):
    """`start` and `resume` take no fields: a POST without any body works; a command with
    required fields and no body is a 400 naming them."""
    t = api.given_ticket("assigned")
    r = api.client.post(f"/api/v1/tickets/{t['id']}/start")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    assert_problem(api.client.post(f"/api/v1/tickets/{t['id']}/log_work"), 400, field="action")
