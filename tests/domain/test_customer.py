"""The Customer aggregate (ADR 0018), given/when/then over its events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.customer import Customer, CustomerDirectory, customer_id
from domain.errors import InvalidCommand

AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def events(aggregate: Customer | CustomerDirectory) -> list[str]:
    return [type(e).__name__ for e in aggregate.collect_events()]


def test_given_nothing_when_registered_then_registered_with_its_policy():
    c = Customer.register(" 客户A ", "客户 A  有限公司", "acme", actor="admin", at=AT)
    assert c.id == customer_id("客户A") == Customer.id_for("客户A")
    assert (c.customer, c.name, c.sla_policy, c.registered_by) == (
        "客户A", "客户 A 有限公司", "acme", "admin")
    [e] = c.collect_events()
    assert type(e).__name__ == "Registered" and e.TOPIC == "opsledger.customer:Customer.Registered"
    assert (e.customer, e.sla_policy, e.actor) == ("客户A", "acme", "admin")


def test_given_nothing_when_registered_without_a_policy_then_it_has_none():
    assert Customer.register("acme", "ACME", None, actor="a", at=AT).sla_policy is None


@pytest.mark.parametrize(("cid", "name", "field"), [("", "x", "id"), ("  ", "x", "id"),
                                                    ("acme", " ", "name"),
                                                    ("a\x01", "x", "id")])
def test_when_registered_with_an_empty_id_or_name_then_refused(cid: str, name: str, field: str):
    with pytest.raises(InvalidCommand) as e:
        Customer.register(cid, name, None, actor="a", at=AT)
    assert field in [f.field for f in e.value.errors]


def test_given_a_customer_when_a_policy_is_assigned_then_recorded_once():
    c = Customer.register("acme", "ACME", None, actor="a", at=AT)
    c.collect_events()
    assert c.assign_policy("gold", actor="b", at=AT) is True
    [e] = c.collect_events()
    assert (type(e).__name__, e.sla_policy, e.actor) == ("SlaPolicyAssigned", "gold", "b")
    assert e.TOPIC == "opsledger.customer:Customer.SlaPolicyAssigned"
    assert c.sla_policy == "gold" and c.version == 2
    assert c.assign_policy("gold", actor="b", at=AT) is False  # the same: nothing recorded
    assert events(c) == []


def test_a_repeat_registration_compares_name_and_policy():
    c = Customer.register("acme", "ACME", "gold", actor="a", at=AT)
    assert c.same_as(" ACME ", "gold")
    assert not c.same_as("ACME Ltd", "gold") and not c.same_as("ACME", None)


def test_the_directory_lists_each_customer_once():
    d = CustomerDirectory.open(AT)
    d.add("acme", AT)
    d.add("客户A", AT)
    d.add("acme", AT)
    assert d.customers == ("acme", "客户A")
    assert events(d) == ["Opened", "Listed", "Listed"]
