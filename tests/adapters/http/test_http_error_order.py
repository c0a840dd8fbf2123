"""Errors in the order a person reads them (issue 16 item 7).

A command on a record whose state forbids it answers ``409`` first, whatever its body (before:
``close`` on a closed ticket asked for ``signer``, then for ``reason``, and only then said
409). Every missing or invalid field of a body is named in one answer (``errors``), not one
per call; the domain's own rules (``422``) also name every field they refuse at once.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, CLASSIFICATION, Api, assert_problem, ticket_body


def fields(problem: dict[str, Any]) -> list[str]:
    return sorted(e["field"] for e in problem["errors"])


# ------------------------------------------------------------------- state first


@pytest.mark.parametrize("http_store", ALL_STORES)
@pytest.mark.parametrize("body", [{}, None, {"signer": 5}, {"colour": "red"}],
                         ids=["empty object", "no body", "wrong type", "unknown field"])
def test_close_on_a_closed_ticket_is_a_409_whatever_the_body(api: Api, body):
    t = api.given_ticket("closed")
    url = f"{API}/tickets/{t['id']}/close"
    r = api.client.post(url) if body is None else api.client.post(url, json=body)
    problem = assert_problem(r, 409)
    assert (problem["state"], problem["command"]) == ("closed", "close")
    assert problem["allowed_commands"] == t["allowed_commands"]
    assert api.view(t["id"])["version"] == t["version"]


@pytest.mark.parametrize(
    ("status", "command"),
    [
        ("registered", "log_work"),
        ("registered", "resolve"),
        ("registered", "confirm"),
        ("in_progress", "invalidate"),
        ("waiting_customer", "await_customer"),
        ("closed", "feedback"),  # feedback already given
        ("invalid", "classify"),
        ("invalid", "escalate"),
    ],
)
def test_every_ticket_command_refused_by_the_state_is_a_409_before_its_fields(
        api: Api, status, command):
    t = api.given_ticket(status)
    if command == "feedback":
        api.ok(api.command(t["id"], "feedback",
                           {"timeliness": 5, "effectiveness": 5, "attitude": 5}))
    problem = assert_problem(api.command(t["id"], command, {}), 409)
    assert (problem["state"], problem["command"]) == (status, command)


def test_an_unknown_ticket_is_a_404_before_its_fields(api: Api):
    assert_problem(api.command("SR-20991231-001", "close", {}), 404)


def test_problem_change_project_and_article_commands_check_the_state_first(api: Api):
    # a closed problem
    p = api.ok(api.client.post(f"{API}/problems", json={"title": "连接超时", "description": "高峰期连接超时"}), 201)
    api.ok(api.client.post(f"{API}/problems/{p['id']}/resolve",
                           json={"resolution": "连接池上限从 50 调到 200"}))
    api.ok(api.client.post(f"{API}/problems/{p['id']}/close"))
    for name in ("resolve", "record_root_cause", "link_ticket", "classify"):
        problem = assert_problem(api.client.post(f"{API}/problems/{p['id']}/{name}",
                                                 json={"colour": 1}), 409)
        assert (problem["state"], problem["command"]) == ("closed", name)

    # a cancelled change
    origin = api.ok(api.register(), 201)["id"]
    c = api.ok(api.client.post(f"{API}/changes", json={
        "kind": "normal", "origin": origin, "title": "ERP 内存扩容"}), 201)
    api.ok(api.client.post(f"{API}/changes/{c['id']}/cancel", json={"reason": "客户取消"}))
    for name in ("complete", "plan", "review", "evaluate", "roll_back"):
        problem = assert_problem(api.client.post(f"{API}/changes/{c['id']}/{name}", json={}),
                                 409)
        assert (problem["state"], problem["command"]) == ("cancelled", name)

    # a project only contracted (not approved): no acceptance, no report yet
    pr = api.ok(api.client.post(f"{API}/projects", json={
        "name": "ACME 运维", "customer": "acme", "sla_policy": "default",
        "calendar": "china-5x8", "contract": {"number": "HT-1", "services": ["巡检"],
                                              "start": "2026-11-01", "end": "2027-10-31"}}), 201)
    for name, body in (("accept", {}), ("plan", {}), ("submit_report", {"period": "2026-13"}),
                       ("record_survey", {"timeliness": 9})):
        problem = assert_problem(api.client.post(f"{API}/projects/{pr['id']}/{name}",
                                                 json=body), 409)
        assert (problem["state"], problem["command"]) == ("contracted", name)

    # a retired article
    a = api.ok(api.client.post(f"{API}/knowledge", json={
        "title": "连接超时", "symptoms": "应用连接超时", "solution": "调大连接池"}), 201)
    api.ok(api.client.post(f"{API}/knowledge/{a['id']}/retire", json={"reason": "已过时"}))
    problem = assert_problem(api.client.post(f"{API}/knowledge/{a['id']}/revise", json={}), 409)
    assert problem["command"] == "revise"


# ----------------------------------------------------------- every field at once


def test_a_command_missing_two_required_fields_names_both_in_one_answer(api: Api):
    t = api.given_ticket("resolved")
    for r in (api.command(t["id"], "close", {}),
              api.client.post(f"{API}/tickets/{t['id']}/close")):
        problem = assert_problem(r, 400, field="signer")
        assert fields(problem) == ["reason", "signer"]
        assert "signer" in problem["detail"] and "reason" in problem["detail"]
    assert api.view(t["id"])["version"] == t["version"]


@pytest.mark.parametrize(
    ("status", "command", "body", "expected"),
    [
        ("in_progress", "log_work", {}, ["action", "hours"]),
        ("in_progress", "log_work", {"action": 5, "hours": "two"}, ["action", "hours"]),
        ("in_progress", "log_work", {"hours": 0, "performed_at": "noon", "force": True},
         ["action", "force", "hours", "performed_at"]),
        ("in_progress", "resolve", {"first_contact": "yes"},
         ["first_contact", "resolution", "root_cause"]),
        ("resolved", "confirm", {"items": "ERP"}, ["criteria", "items", "passed", "signer"]),
        ("closed", "feedback", {"timeliness": 6, "attitude": 4.5,
                                "improvement": {"action": "加快响应", "due": "someday"}},
         ["attitude", "effectiveness", "improvement.due", "improvement.owner", "timeliness"]),
        ("registered", "classify", {"type": "disaster", "impact": "galaxy"},
         ["category", "impact", "importance", "type", "urgency"]),
    ],
)
def test_every_bad_field_of_a_command_is_named_at_once(api: Api, status, command, body,
                                                       expected):
    t = api.given_ticket(status)
    problem = assert_problem(api.command(t["id"], command, body), 400)
    assert fields(problem) == expected
    assert api.view(t["id"])["version"] == t["version"]


def test_every_bad_field_of_a_registration_is_named_at_once(api: Api):
    body = ticket_body(title="", channel="pigeon", contact={"phone": "call me"},
                       reported_at="2026-11-20T17:30:00", colour="red")
    del body["customer"]
    problem = assert_problem(api.client.post(f"{API}/tickets", json=body), 400)
    assert fields(problem) == ["channel", "colour", "contact.name", "contact.phone",
                               "reported_at", "title"]
    assert api.events()["items"] == []
    # creates of other records too
    problem = assert_problem(api.client.post(f"{API}/problems", json={"tickets": "x"}), 400)
    assert fields(problem) == ["description", "tickets", "title"]


def test_a_rule_the_domain_checks_names_every_field_it_refuses_at_once(api: Api):
    t = api.given_ticket("registered")
    problem = assert_problem(api.command(t["id"], "classify", {
        **CLASSIFICATION, "category": " ", "priority": "P3"}), 422)
    assert fields(problem) == ["category", "override_reason"]
    t = api.given_ticket("in_progress")
    problem = assert_problem(api.command(t["id"], "resolve",
                                         {"resolution": "已解决", "root_cause": " "}), 422)
    assert fields(problem) == ["resolution", "root_cause"]
