"""A priority given at registration is honoured, never accepted and dropped (issue 16 item 4).

API.md: ``priority`` (with ``override_reason``) may be given at registration. Without all five
classification fields the ticket still takes that priority and its SLA clocks start at
``reported_at``; classification can follow later (``classify`` then decides the priority).
A priority without a reason is a 422 naming ``override_reason``: nothing is recorded.
"""

from __future__ import annotations

import pytest

from tests.fixtures_http import ALL_STORES, API, CLASSIFICATION, Api, assert_problem

REASON = "客户总经理来电，生产停线"


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_priority_given_without_classification_is_kept_and_starts_the_clocks(api: Api):
    # the same report, once classified at registration (the matrix gives P1) ...
    classified = api.ok(api.register(**CLASSIFICATION), 201)
    assert classified["priority"] == "P1"
    # ... and once with only the priority and its reason
    r = api.register(priority="P1", override_reason=REASON)
    t = api.ok(r, 201)
    assert t["status"] == "registered"  # classification can follow
    assert (t["priority"], t["override_reason"], t["computed_priority"]) == ("P1", REASON, None)
    assert t["allowed_commands"] == ["invalidate", "classify"]
    # the clocks run from reported_at, exactly as for the classified ticket
    assert t["sla"] is not None
    for key in ("policy", "response_due", "resolution_due"):
        assert t["sla"][key] == classified["sla"][key], key
    assert [h["type"] for h in api.history(t["id"])] == [
        "Registered", "PriorityGiven", "SlaDeadlinesSet"]
    # the view after a reload, the list and its priority filter say the same
    assert api.view(t["id"])["priority"] == "P1"
    listed = api.client.get(f"{API}/tickets", params={"priority": "P1"}).json()["items"]
    assert {i["number"]: i["priority"] for i in listed} == {
        classified["number"]: "P1", t["number"]: "P1"}
    row = next(i for i in listed if i["number"] == t["number"])
    assert row["response_due"] is not None

    # classification follows: the matrix decides (P1 here), the ticket is classified
    t = api.ok(api.command(t["id"], "classify", CLASSIFICATION))
    assert (t["status"], t["priority"], t["computed_priority"]) == ("classified", "P1", "P1")
    assert t["sla"]["response_due"] == classified["sla"]["response_due"]


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_priority_with_a_partial_classification_keeps_both(api: Api):
    t = api.ok(api.register(type="fault", urgency="urgent", priority="P2",
                            override_reason=REASON), 201)
    assert (t["status"], t["priority"], t["type"], t["urgency"]) == (
        "registered", "P2", "fault", "urgent")
    assert t["sla"] is not None
    p3 = api.ok(api.register(type="fault", category="software", urgency="not_urgent",
                             impact="single", importance="important"), 201)
    assert p3["priority"] == "P3"
    # a later classification that names no priority takes the matrix's; its clocks move
    t = api.ok(api.command(t["id"], "classify", {
        "type": "fault", "category": "software", "urgency": "not_urgent", "impact": "single",
        "importance": "important"}))
    assert (t["priority"], t["computed_priority"], t["override_reason"]) == ("P3", "P3", None)
    assert t["sla"]["resolution_due"] == p3["sla"]["resolution_due"]


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_priority_without_a_reason_is_a_422_and_records_nothing(api: Api):
    problem = assert_problem(api.register(priority="P2"), 422, field="override_reason")
    assert "override_reason" in problem["detail"]
    problem = assert_problem(api.register(priority="P2", override_reason="  "), 422,
                             field="override_reason")
    assert api.events()["items"] == []


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_an_escalation_raises_a_priority_given_at_registration(api: Api):
    t = api.ok(api.register(priority="P3", override_reason=REASON), 201)
    t = api.ok(api.command(t["id"], "escalate", {"reason": "客户再次催促"}))
    assert t["priority"] == "P2"
    assert t["sla"]["escalation_level"] == 1
    assert api.view(t["id"])["priority"] == "P2"
    listed = api.client.get(f"{API}/tickets", params={"priority": "P2"}).json()["items"]
    assert [i["number"] for i in listed] == [t["number"]]
