"""Reference records cached against the store's version (``application.current``, ADR 0038).

Two service desks on one store stand for two processes (a server and its projections worker,
or two servers): a change one of them records must be what the other reads next, at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.container import Services
from application.catalog import get_policy
from application.commands.catalog import default_policy
from application.commands.catalog import PutPolicy
from application.commands.customers import AssignSlaPolicy, RegisterCustomer
from application.commands.tickets import RegisterTicket
from application.customers import customer_policy, find_customer
from domain.customer import Customer
from domain.sla import PolicyDefinition
from tests.fixtures_stores import STORE_PARAMS, sqlite_url
from tests.support.services import two_processes

SHARED = [p for p in STORE_PARAMS if p.values[0] != "memory"]  # one store, two desks


@pytest.fixture(params=SHARED)
def two(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[Services, Services]]:
    url = (sqlite_url(tmp_path) if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    with two_processes(url) as both:
        yield both


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


# Where each read is looked up; on PostgreSQL the save or the answer checks it (ADR 0075,
# ``test_an_answer_that_saves_nothing_is_checked_against_the_store_first``).
@pytest.mark.parametrize("two", [p for p in SHARED if p.values[0] == "sqlite"], indirect=True)
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


# ------------------------------------------------- checked in the save (ADR 0075, PostgreSQL)

POSTGRES = [p for p in SHARED if p.values[0] == "postgres"]


@pytest.fixture(params=POSTGRES)
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[Services, Services]]:
    with two_processes(str(request.getfixturevalue("postgres_url"))) as both:
        yield both


def urgent_fault(customer: str) -> RegisterTicket:
    from domain.ticket import Contact

    return RegisterTicket(customer=customer, contact=Contact("李四"), channel="phone",
                          title="ERP", type="fault", category="software", urgency="urgent",
                          impact="some", importance="important")


def counted_lookups(desk, monkeypatch) -> list:
    asked: list = []
    versions = desk.current.versions
    original = versions.latest_version
    monkeypatch.setattr(versions, "latest_version", lambda i: asked.append(i) or original(i))
    return asked


def test_on_postgresql_a_command_reads_cached_reference_records_without_a_lookup(pair, monkeypatch):
    a, _ = pair
    assert a.desk.current.checked_at_save
    a.desk.handle(PutPolicy(slug="slow", definition=default_policy()), actor="admin")
    a.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy="slow"), actor="admin")
    a.desk.handle(urgent_fault("acme"), actor="agent")  # reads (and caches) what it needs
    asked = counted_lookups(a.desk, monkeypatch)
    ticket = a.desk.handle(urgent_fault("acme"), actor="agent").ticket
    assert ticket.sla_deadlines.policy == "slow"
    assert Customer.id_for("acme") not in asked
    # the only lookups left are of records not cached here (the day's number sequence)
    assert not set(asked) & set(a.desk.current._records)


def test_a_save_on_a_reference_record_changed_elsewhere_is_decided_again(pair):
    """A's cache holds the customer with the slow policy; B gives it the fast one. A's next
    ticket must not be saved with the slow one: its save finds the customer moved on, and
    the command runs again on the customer as the store has it."""
    a, b = pair
    for slug in ("slow", "fast"):
        a.desk.handle(PutPolicy(slug=slug, definition=default_policy()), actor="admin")
    a.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy="slow"), actor="admin")
    assert a.desk.handle(urgent_fault("acme"), actor="agent").ticket.sla_deadlines.policy == "slow"
    b.desk.handle(AssignSlaPolicy(customer="acme", sla_policy="fast"), actor="admin")
    again = a.desk.handle(urgent_fault("acme"), actor="agent").ticket
    assert again.sla_deadlines.policy == "fast"
    assert b.desk.get_ticket(again.id).sla_deadlines.policy == "fast"  # as saved


def test_an_answer_that_saves_nothing_is_checked_against_the_store_first(pair):
    """No save checks an error: one decided on a reference record that another process has
    changed since this one cached it is decided again on the store's version."""
    from application.commands.base import NOTHING, Command, command
    from application.errors import RecordNotFound, record_not_found
    from domain.errors import InvalidCommand

    @command
    class NeedsFastCustomer(Command):
        record_class = Customer
        record_label = "customer"
        verb = "check"
        customer: str
        missing_ok = True

        def target(self):
            return None

        def decide(self, record, ctx):
            found = ctx.desk.load_current(Customer.id_for(self.customer))
            if found is None:
                raise record_not_found(self.customer, "customer")
            if found.sla_policy != "fast":
                raise InvalidCommand.field("customer", "not on the fast policy")
            return NOTHING

    a, b = pair
    for slug in ("slow", "fast"):
        a.desk.handle(PutPolicy(slug=slug, definition=default_policy()), actor="admin")
    with pytest.raises(RecordNotFound):
        a.desk.handle(NeedsFastCustomer(customer="acme"), actor="agent")  # absent, remembered
    b.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy="slow"), actor="admin")
    with pytest.raises(InvalidCommand):
        a.desk.handle(NeedsFastCustomer(customer="acme"), actor="agent")  # found: slow
    b.desk.handle(AssignSlaPolicy(customer="acme", sla_policy="fast"), actor="admin")
    a.desk.handle(NeedsFastCustomer(customer="acme"), actor="agent")  # no error: store's


@pytest.mark.parametrize("events", [1, 65])  # one statement (ADR 0071); the library's path
def test_the_store_refuses_a_save_when_a_record_read_moved_on(pair, events):
    from uuid import uuid4

    from eventsourcing.persistence import IntegrityError, StoredEvent

    a, _ = pair
    a.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy=None), actor="admin")
    customer = Customer.id_for("acme")
    recorder = a.desk.recorder
    new = uuid4()
    rows = [StoredEvent(originator_id=new, originator_version=v, topic="test:Noted", state=b"{}")
            for v in range(1, events + 1)]
    with pytest.raises(IntegrityError):
        recorder.insert_events(rows, expected_versions={customer: 2})
    assert recorder.select_events(new) == []  # nothing of the refused save was written
    assert recorder.insert_events(rows, expected_versions={customer: 1, uuid4(): 0})
    assert len(recorder.select_events(new)) == events


def test_a_commands_answer_reads_what_its_save_found_current_without_a_lookup(pair, monkeypatch):
    a, _ = pair
    a.desk.handle(PutPolicy(slug="slow", definition=default_policy()), actor="admin")
    a.desk.handle(PutPolicy(slug="fast", definition=default_policy()), actor="admin")
    a.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy="slow"), actor="admin")
    a.desk.handle(urgent_fault("acme"), actor="agent")
    asked = counted_lookups(a.desk, monkeypatch)
    with a.desk.answering():
        a.desk.handle(urgent_fault("acme"), actor="agent")
        asked.clear()
        assert find_customer(a.desk, "acme").sla_policy == "slow"  # as the save found it
        assert asked == []
    # a record the command itself changed is read as saved, not as it was read before
    with a.desk.answering():
        a.desk.handle(AssignSlaPolicy(customer="acme", sla_policy="fast"), actor="admin")
        assert find_customer(a.desk, "acme").sla_policy == "fast"
    with a.desk.answering():  # and this process's next command has the saved one cached
        ticket = a.desk.handle(urgent_fault("acme"), actor="agent").ticket
    assert ticket.sla_deadlines.policy == "fast"


def test_a_record_remembered_as_absent_and_created_elsewhere_is_found_by_the_clocks(pair):
    """The SLA clocks (after ``decide``) find no calendar that this process remembers as
    absent but another process has defined since: the command is decided again on the store's
    records, not answered with 'not found' (seen as a 500 at a server's first requests)."""
    import dataclasses

    from application.commands.catalog import PutCalendar, default_calendar
    from domain.sla import CalendarRecord

    a, b = pair
    a.desk.handle(PutPolicy(slug="slow", definition=default_policy()), actor="admin")
    with a.desk.current.one_command():  # a command of A's that looked for it too early
        assert a.desk.load_current(CalendarRecord.id_for("night-shift")) is None
    b.desk.handle(PutCalendar(slug="night-shift", definition=default_calendar()), actor="admin")
    gold = dataclasses.replace(default_policy(), calendar="night-shift")
    b.desk.handle(PutPolicy(slug="gold", definition=gold), actor="admin")
    b.desk.handle(RegisterCustomer(id="acme", name="ACME", sla_policy="gold"), actor="admin")
    assert a.desk.handle(urgent_fault("acme"), actor="agent").ticket.sla_deadlines.policy == "gold"


def test_on_postgresql_a_creator_reads_the_day_sequence_forward_without_a_lookup(pair, monkeypatch):
    a, b = pair
    numbers = [a.desk.handle(urgent_fault("acme"), actor="agent").ticket.number]
    numbers.append(b.desk.handle(urgent_fault("acme"), actor="agent").ticket.number)
    asked = counted_lookups(a.desk, monkeypatch)
    numbers.append(a.desk.handle(urgent_fault("acme"), actor="agent").ticket.number)  # after B's
    numbers.append(a.desk.handle(urgent_fault("acme"), actor="agent").ticket.number)
    assert asked == []
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2, 3, 4]  # no gap, no repeat
