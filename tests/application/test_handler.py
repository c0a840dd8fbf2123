"""The one command handler, ``ServiceDesk.handle`` (issue 17, ADR 0046): what a command's
``decide`` returns and what is saved, records keyed by slug, ``If-Match``, idempotency, the
retry on a conflicting save, and the hooks around the attempts."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

import application.commands
from application.commands.base import NOTHING, Command, RecordCommand
from application.commands.catalog import PutCalendar, default_calendar
from application.commands.customers import AssignSlaPolicy, RegisterCustomer
from application.commands.tickets import Assign, RegisterTicket, Start
from application.customers import CustomerNotFound
from application.desk import MAX_ATTEMPTS, CommandResult, Context, ServiceDesk
from application.errors import ConcurrencyConflict, TicketNotFound, VersionMismatch
from application.idempotency import IdempotencyKey
from application.ports import FixedClock
from domain.customer import Customer
from domain.ticket import Contact, Ticket

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def desk() -> ServiceDesk:
    return ServiceDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=FixedClock(AT))


CLASSIFIED = dict(type="fault", category="software", urgency="urgent", impact="some",
                  importance="important")


def ticket(desk: ServiceDesk) -> Ticket:
    return desk.handle(RegisterTicket(customer="客户A", contact=Contact("李四"), channel="phone",
                                      title="ERP 无法登录", **CLASSIFIED), actor="agent").ticket


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe(Command):
    """A test command on a ticket: ``Ticket.assign`` → ``Ticket.Assigned`` unless ``skip``;
    counts its decisions and the hooks it sees."""

    record_class = Ticket
    record_label = "ticket"
    verb = "probe"

    ref: UUID
    skip: bool = False
    seen: list[str]

    def target(self) -> UUID | None:
        return self.ref

    def prepare(self, desk: ServiceDesk) -> None:
        self.seen.append("prepare")

    def decide(self, t: Ticket, ctx: Context) -> Any:
        self.seen.append("decide")
        if self.skip:
            return NOTHING
        t.assign(group="ops", actor=ctx.actor, at=ctx.at)
        return None

    def after(self, result: CommandResult, desk: ServiceDesk) -> None:
        self.seen.append("after")


def test_a_command_is_a_small_frozen_value():
    command = Assign(ref="SR-20261123-001", assignee="eng-li")
    with pytest.raises(AttributeError):
        command.assignee = "someone else"  # type: ignore[misc]
    assert not hasattr(command, "__dict__")  # slots: one small object per command
    assert command == Assign(ref="SR-20261123-001", assignee="eng-li")


def test_the_result_says_what_was_saved(desk):
    created = desk.handle(RegisterTicket(customer="c", contact=Contact("n"), channel="web",
                                         title="t", **CLASSIFIED), actor="agent")
    assert created.created and created.changed and not created.replayed
    # the ticket's events, then the day's number sequence: one transaction
    assert [type(e).__name__ for e in created.events] == ["Registered", "Classified", "Opened",
                                                          "NumberIssued"]
    assert created.position == desk.max_position()
    t = created.ticket
    started = desk.handle(Assign(ref=t.number, group="ops"), actor="lead")
    assert not started.created and started.changed
    assert [type(e).__name__ for e in started.events] == ["Assigned"]


def test_nothing_saves_nothing_and_answers_the_record_as_it_is(desk):
    t = ticket(desk)
    seen: list[str] = []
    before = desk.max_position()
    result = desk.handle(Probe(ref=t.id, skip=True, seen=seen), actor="x")
    assert (result.changed, result.created, result.position, result.events) == (
        False, False, None, ())
    assert result.aggregate.version == t.version and desk.max_position() == before
    assert seen == ["prepare", "decide", "after"]


def test_a_record_that_does_not_exist_is_not_found_unless_the_command_may_create_it(desk):
    with pytest.raises(TicketNotFound):
        desk.handle(Start(ref="SR-20990101-001"), actor="x")
    with pytest.raises(CustomerNotFound):
        desk.handle(AssignSlaPolicy(customer="nobody", sla_policy="default"), actor="x")
    made = desk.handle(RegisterCustomer(id="acme", name="ACME"), actor="x")
    assert made.created and isinstance(made.aggregate, Customer)
    again = desk.handle(RegisterCustomer(id="acme", name="ACME"), actor="x")
    assert not again.created and not again.changed and again.aggregate.version == 1


def test_if_match_on_a_record_keyed_by_slug_counts_a_missing_one_as_version_0(desk):
    with pytest.raises(VersionMismatch) as info:
        desk.handle(PutCalendar(slug="acme-5x8", definition=default_calendar()), actor="x",
                    expected_version=1)
    assert (info.value.expected, info.value.actual) == (1, 0)
    assert "the calendar is at version 0" in str(info.value)
    made = desk.handle(PutCalendar(slug="acme-5x8", definition=default_calendar()), actor="x",
                       expected_version=0)
    assert made.created and made.aggregate.version == 1


def test_an_idempotent_repeat_is_answered_without_deciding_again(desk):
    t = ticket(desk)
    seen: list[str] = []
    key = IdempotencyKey("k-1", "fp")
    first = desk.handle(Probe(ref=t.id, seen=seen), actor="x", idempotency=key)
    again = desk.handle(Probe(ref=t.id, seen=seen), actor="x", idempotency=key)
    assert again.replayed and not again.changed and again.aggregate.version == first.ticket.version
    assert seen == ["prepare", "decide", "after", "prepare"]  # no decide, no after on a replay


def test_a_conflicting_save_is_tried_again_from_a_fresh_load(desk, monkeypatch):
    t = ticket(desk)
    seen: list[str] = []
    real = desk._record
    fails = [1]

    def once(processing: Any) -> Any:
        if fails:
            fails.pop()
            raise IntegrityError("another writer saved first")
        return real(processing)

    monkeypatch.setattr(desk, "_record", once)
    result = desk.handle(Probe(ref=t.id, seen=seen), actor="x")
    assert seen == ["prepare", "decide", "decide", "after"]
    assert result.changed and desk.get_ticket(t.id).group == "ops"


def test_a_save_that_always_conflicts_ends_in_a_409(desk, monkeypatch):
    t = ticket(desk)
    monkeypatch.setattr("application.desk.RETRY_DELAY", 0)

    def never(processing: Any) -> Any:
        raise IntegrityError("another writer saved first")

    monkeypatch.setattr(desk, "_record", never)
    seen: list[str] = []
    with pytest.raises(ConcurrencyConflict):
        desk.handle(Probe(ref=t.id, seen=seen), actor="x")
    assert seen.count("decide") == MAX_ATTEMPTS and "after" not in seen


# ------------------------------------------ a record command's decide by its verb


def _commands_deciding_by_verb() -> list[type[RecordCommand]]:
    found = []
    for info in pkgutil.iter_modules(application.commands.__path__):
        module = importlib.import_module(f"application.commands.{info.name}")
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, RecordCommand) \
                    and cls.__module__ == module.__name__ and "verb" in vars(cls) \
                    and cls.decide is RecordCommand.decide:
                found.append(cls)
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("command", _commands_deciding_by_verb(), ids=lambda c: c.__name__)
def test_a_command_deciding_by_its_verb_names_that_method(command: type[RecordCommand]):
    """``RecordCommand.decide`` calls the record's method named ``verb`` with the command's
    fields: the method exists, takes each field, and the docstring names it."""
    method = getattr(command.record_class, command.verb)
    accepts = inspect.signature(method).parameters
    assert {f.name for f in fields(command)} - {"ref"} <= set(accepts)
    assert f"``{command.record_class.__name__}.{command.verb}``" in " ".join(
        (command.__doc__ or "").split())


def test_a_command_deciding_by_its_verb_records_nothing_when_the_method_says_so(desk):
    """A method answering ``False`` (nothing due) is ``NOTHING``; ``None`` saves the record."""
    calls = []

    class Record:
        def mark(self, *, note: str, actor: str, at: datetime) -> bool:
            calls.append((note, actor, at))
            return note == "changed"

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Mark(RecordCommand):
        record_class = Record
        record_label = "record"
        verb = "mark"

        note: str

    ctx = Context(desk, AT, "eng.li")
    assert Mark(ref="x", note="same").decide(Record(), ctx) is NOTHING
    assert Mark(ref="x", note="changed").decide(Record(), ctx) is None
    assert calls == [("same", "eng.li", AT), ("changed", "eng.li", AT)]
