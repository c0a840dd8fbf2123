"""The ticket lifecycle over HTTP (API.md, Tickets): every command, its status, ETag and view."""

from __future__ import annotations

import pytest

from tests.fixtures_http import (
    ALL_STORES,
    API,
    CLASSIFICATION,
    DAY,
    PRECISE,
    Api,
    assert_problem,
    confirm_body,
    etag,
)


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_the_whole_lifecycle_from_registration_to_feedback(api: Api):
    # given a customer's call, registered without classification
    r = api.register()
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["number"] == f"SR-{DAY}-001"
    assert t["status"] == "registered"
    assert r.headers["location"] == f"{API}/tickets/{t['id']}"
    assert r.headers["etag"] == etag(1) == etag(t["version"])
    ref = t["id"]

    # when it is classified, assigned, worked, paused, resumed and resolved
    t = api.ok(api.command(ref, "classify", CLASSIFICATION))
    assert (t["status"], t["priority"], t["version"]) == ("classified", "P1", 3)  # + deadlines

    t = api.ok(api.command(ref, "assign", {"assignee": "eng-wang", "group": "erp"}))
    assert (t["status"], t["assignee"], t["group"]) == ("assigned", "eng-wang", "erp")

    t = api.ok(api.command(ref, "start"))
    assert t["status"] == "in_progress"

    api.clock.advance(minutes=20)
    t = api.ok(api.command(ref, "log_work", {"action": "查看应用日志", "hours": 0.5,
                                             "workaround": "临时改用备用入口"}))
    assert t["status"] == "in_progress"
    assert [w["action"] for w in t["work_log"]] == ["查看应用日志"]
    assert t["work_log"][0]["hours"] == 0.5
    assert t["workaround"] == "临时改用备用入口"

    t = api.ok(api.command(ref, "await_customer", {"reason": "等待客户提供日志"}))
    assert (t["status"], t["waiting_reason"]) == ("waiting_customer", "等待客户提供日志")

    t = api.ok(api.command(ref, "resume"))
    assert (t["status"], t["waiting_reason"]) == ("in_progress", None)

    t = api.ok(api.command(ref, "resolve", {"resolution": PRECISE, "root_cause": "会话表已满",
                                            "first_contact": False}))
    assert t["status"] == "resolved"
    assert t["resolution"]["resolution"] == PRECISE
    assert t["allowed_commands"] == ["confirm", "close"]

    # and the customer accepts
    t = api.ok(api.command(ref, "confirm", confirm_body(passed=True)))
    assert t["status"] == "closed"
    assert t["acceptance"]["number"] == f"SD-{DAY}-001"
    assert t["acceptance"]["passed"] is True
    assert t["closed_at"] is not None

    # and gives feedback
    t = api.ok(api.command(ref, "feedback", {"timeliness": 5, "effectiveness": 4, "attitude": 4,
                                             "comment": "响应及时"}))
    assert t["status"] == "closed"
    assert t["feedback"]["number"] == f"FB-{DAY}-001"
    assert t["feedback"]["mean"] == pytest.approx(4.33, abs=0.01)
    assert "feedback" not in t["allowed_commands"]

    # then the ticket reads the same by id and by SR number, with its version as ETag
    assert t["version"] == 11
    for key in (ref, t["number"], t["number"].lower()):
        r = api.get(key)
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == etag(11)
        assert r.json() == t
    assert [h["type"] for h in api.history(ref)] == [
        "Registered", "Classified", "SlaDeadlinesSet", "Assigned", "Started", "WorkLogged",
        "CustomerAwaited",
        "Resumed", "Resolved", "AcceptanceConfirmed", "FeedbackGiven",
    ]


def test_a_rejected_acceptance_returns_the_ticket_to_work(api: Api):
    # given a resolved ticket
    t = api.given_ticket("resolved")

    # when the customer rejects it, naming what is missing
    t = api.ok(api.command(t["id"], "confirm", confirm_body(passed=False,
                                                            unmet_items=["报表模块仍无法打开"])))

    # then it is back in progress, the rejection recorded with its own SD number
    assert t["status"] == "in_progress"
    assert t["acceptance"]["passed"] is False
    assert t["acceptance"]["unmet_items"] == ["报表模块仍无法打开"]
    assert t["acceptance"]["number"] == f"SD-{DAY}-001"
    assert t["closed_at"] is None

    # and a later acceptance closes it with the next SD number
    t = api.ok(api.command(t["id"], "resolve", {"resolution": PRECISE + "，报表模块已修复",
                                                "root_cause": "会话表已满"}))
    t = api.ok(api.command(t["id"], "confirm", confirm_body()))
    assert t["status"] == "closed"
    assert [a["number"] for a in t["acceptances"]] == [f"SD-{DAY}-001", f"SD-{DAY}-002"]


def test_reopen_a_closed_ticket(api: Api):
    t = api.given_ticket("closed")
    t = api.ok(api.command(t["id"], "reopen", {"reason": "问题复现"}))
    assert t["status"] == "in_progress"
    assert t["reopen_count"] == 1
    assert t["closed_at"] is None


def test_invalidate_a_registered_request(api: Api):
    t = api.given_ticket("registered")
    t = api.ok(api.command(t["id"], "invalidate", {"reason": "重复报障"}))
    assert t["status"] == "invalid"
    assert t["invalid_reason"] == "重复报障"
    assert t["allowed_commands"] == []
    body = assert_problem(api.command(t["id"], "classify", CLASSIFICATION), 409)
    assert body["state"] == "invalid"
    assert body["allowed_commands"] == []


def test_close_with_signer_and_reason(api: Api):
    t = api.given_ticket("resolved")
    t = api.ok(api.command(t["id"], "close", {"signer": "王经理", "reason": "客户同意结束支持"}))
    assert t["status"] == "closed"
    assert t["acceptance"]["number"] == f"SD-{DAY}-001"
    assert t["acceptance"]["signer"] == "王经理"
    assert t["acceptance"]["note"] == "客户同意结束支持"


def test_close_without_a_signer_is_refused(api: Api):
    t = api.given_ticket("resolved")
    assert_problem(api.command(t["id"], "close", {"reason": "客户同意"}), 400, field="signer")
    assert_problem(api.command(t["id"], "close", {"signer": " ", "reason": "客户同意"}), 422,
                   field="signer")
    assert api.view(t["id"])["status"] == "resolved"


# ------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("urgency", "impact", "importance", "priority"),
    [
        ("very_urgent", "all", "very_important", "P1"),
        ("very_urgent", "all", "important", "P1"),
        ("urgent", "some", "important", "P2"),
        ("not_urgent", "single", "important", "P3"),
    ],
)
def test_registration_with_all_five_fields_is_classified_with_the_matrix_priority(
    api: Api, urgency, impact, importance, priority
):
    r = api.register(type="fault", category="software", urgency=urgency, impact=impact,
                     importance=importance)
    t = api.ok(r, 201)
    assert t["status"] == "classified"
    assert t["priority"] == t["computed_priority"] == priority
    assert t["override_reason"] is None
    assert [h["type"] for h in api.history(t["id"])] == ["Registered", "Classified", "SlaDeadlinesSet"]


def test_a_manual_override_needs_a_reason(api: Api):
    # at registration
    body = assert_problem(api.register(**CLASSIFICATION, priority="P3"), 422,
                          field="override_reason")
    assert "override_reason" in body["detail"]
    # and by classify
    t = api.given_ticket("registered")
    assert_problem(api.command(t["id"], "classify", {**CLASSIFICATION, "priority": "P3"}), 422,
                   field="override_reason")
    assert api.view(t["id"])["version"] == 1
    # with a reason the override stands beside the computed priority
    t = api.ok(api.command(t["id"], "classify", {**CLASSIFICATION, "priority": "P3",
                                                 "override_reason": "客户确认可延后"}))
    assert (t["priority"], t["computed_priority"], t["override_reason"]) == (
        "P3", "P1", "客户确认可延后")


def test_partial_classification_at_registration_stays_registered(api: Api):
    t = api.ok(api.register(type="fault", urgency="urgent", impact="some"), 201)
    assert t["status"] == "registered"
    assert t["priority"] is None
    assert (t["type"], t["urgency"], t["impact"]) == ("fault", "urgent", "some")
    assert (t["category"], t["importance"]) == (None, None)
    assert t["allowed_commands"] == ["invalidate", "classify"]
