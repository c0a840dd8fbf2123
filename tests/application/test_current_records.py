"""Reference records cached against the store's version (``application.current``, ADR 0038).

Two service desks on one store stand for two processes (a server and its projections worker,
or two servers): a change one of them records must be what the other reads next, at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.container import Services, build
from adapters.settings import Settings
from application.catalog import get_policy
from application.commands.catalog import default_policy
from application.commands.catalog import PutPolicy
from application.commands.customers import AssignSlaPolicy, RegisterCustomer
from application.commands.tickets import RegisterTicket
from application.customers import customer_policy, find_customer
from domain.customer import Customer
from domain.sla import PolicyDefinition
from tests.fixtures_stores import STORE_PARAMS, sqlite_url

SHARED = [p for p in STORE_PARAMS if p.values[0] != "memory"]  # one store, two desks


@pytest.fixture(params=SHARED)
def two(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[Services, Services]]:
    url = (sqlite_url(tmp_path) if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    first = build(Settings(database_url=url))
    second = build(Settings(database_url=url))
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def renamed(definition: PolicyDefinition, name: str) -> PolicyDefinition:
    return PolicyDefinition(name=name, calendar=definition.calendar, targets=definition.targets,
                            warning_thresholds=definition.warning_thresholds,
                            escalation=definition.escalation)


def test_a_customer_registered_or_changed_elsewhere_is_read_at_once(two):
    a, b = two
    a.desk.handle(PutPolicy(slug="slow", definition=default_policy()), actor="admin")
    a.desk.handle(PutPolicy(slug="fast", definition=default_policy()), actor="admin")
    # when A has read the customer as unknown (cached as such), and B registers it
    assert find_customer(a.desk, "acme") is None
    b.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy="slow"), actor="admin")
    # then A sees it on its next read, and every change B makes after that
    assert customer_policy(a.desk, "acme") == "slow"
    b.desk.handle(AssignSlaPolicy(customer="acme", sla_policy="fast"), actor="admin")
    assert customer_policy(a.desk, "acme") == "fast"
    assert find_customer(a.desk, "acme").version == find_customer(b.desk, "acme").version


def test_a_policy_redefined_elsewhere_is_read_at_once(two):
    a, b = two
    before = get_policy(a.desk, "default")
    b.desk.handle(PutPolicy(slug="default", definition=renamed(before.definition, "Redefined")),
                  actor="admin")
    after = get_policy(a.desk, "default")
    assert after.version == before.version + 1 and after.definition.name == "Redefined"


def test_a_read_is_a_private_copy(two):
    a, _ = two
    a.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy=None), actor="admin")
    first = find_customer(a.desk, "acme")
    assert isinstance(first, Customer)
    a.desk.handle(PutPolicy(slug="slow", definition=default_policy()), actor="admin")
    first.assign_policy("slow", actor="admin", at=a.desk.clock.now())  # pending, never saved
    again = find_customer(a.desk, "acme")
    assert again is not first and again.sla_policy is None and not again.pending_events


def test_a_miss_is_one_version_lookup_and_no_load(two, monkeypatch):
    a, _ = two
    a.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy=None), actor="admin")
    find_customer(a.desk, "acme")  # cached now
    loads = []
    original = a.desk.load
    monkeypatch.setattr(a.desk, "load", lambda i: loads.append(i) or original(i))
    for _ in range(3):
        assert find_customer(a.desk, "acme").customer == "acme"
        assert find_customer(a.desk, "nobody") is None
    assert loads == []


def test_one_command_looks_each_reference_record_up_once(two, monkeypatch):
    a, _ = two
    a.desk.handle(PutPolicy(slug="slow", definition=default_policy()), actor="admin")
    a.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy="slow"), actor="admin")
    asked = []
    versions = a.desk.current.versions
    original = versions.latest_version
    monkeypatch.setattr(versions, "latest_version", lambda i: asked.append(i) or original(i))
    from domain.ticket import Contact

    ticket = a.desk.handle(RegisterTicket(customer="acme", contact=Contact("李四"), channel="phone",
                                          title="ERP", type="fault", category="software",
                                          urgency="urgent", impact="some", importance="important"),
                           actor="agent").ticket
    assert ticket.sla_deadlines.policy == "slow"  # the customer's, found through the lookups
    assert asked and len(asked) == len(set(asked))


def test_within_one_command_a_record_created_elsewhere_meanwhile_is_found(two):
    """Two servers recording the default calendars at once: the one that lost the race must
    find the other's record in the same command (a 'not found' is never remembered)."""
    a, b = two
    current = a.desk.current
    with current.one_command():
        assert find_customer(a.desk, "acme") is None
        b.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy=None), actor="admin")
        assert find_customer(a.desk, "acme") is not None
        assert current.get(Customer.id_for("acme")).version == 1
