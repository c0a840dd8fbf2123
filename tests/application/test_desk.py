"""ServiceDesk use cases, on the in-memory store and on SQLite (API.md, Tickets)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.commands.tickets import (
    Assign,
    Classify,
    CloseTicket,
    Confirm,
    GiveFeedback,
    Invalidate,
    LogWork,
    RegisterTicket,
    Reopen,
    Resolve,
    Start,
    ticket_id_for,
)
from application.desk import CommandResult, ServiceDesk
from application.errors import IdempotencyKeyReused, TicketNotFound, VersionMismatch
from application.idempotency import IdempotencyKey
from application.ports import FixedClock
from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.numbering import DailySequence, RecordKind
from domain.priority import Priority
from domain.ticket import Contact, Status, Ticket

# 2026-11-20T17:00Z is 2026-11-21 01:00 in Asia/Shanghai: the number takes the local date.
START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
DAY = "20261121"
CONTACT = Contact(name="李四", phone="13800005678", email="li@example.com")
CLASSIFICATION = dict(
    type="fault", category="software", urgency="very_urgent", impact="all",
    importance="very_important",
)
PRECISE = "重启 ERP 应用服务器并清理会话表，用户已可正常登录"


@pytest.fixture(params=["popo", "sqlite"])
def clock_and_desk(request, tmp_path) -> Iterator[tuple[FixedClock, ServiceDesk]]:
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if request.param == "sqlite":
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / "s.sqlite3"),
        }
    clock = FixedClock(START)
    desk = ServiceDesk(env, clock=clock)
    yield clock, desk
    desk.close()


@pytest.fixture
def desk(clock_and_desk) -> ServiceDesk:
    return clock_and_desk[1]


@pytest.fixture
def clock(clock_and_desk) -> FixedClock:
    return clock_and_desk[0]


def register(desk: ServiceDesk, *, actor: str = "agent-zhang",
             idempotency: IdempotencyKey | None = None, **overrides: Any) -> CommandResult:
    kwargs: dict[str, Any] = dict(
        customer="客户A",
        contact=CONTACT,
        channel="phone",
        title="生产系统无法登录",
        description="所有用户登录 ERP 报 500",
        affected_system="ERP",
    )
    kwargs.update(overrides)
    return desk.handle(RegisterTicket(**kwargs), actor=actor, idempotency=idempotency)


def key(name: str, fingerprint: str = "fp-1") -> IdempotencyKey:
    return IdempotencyKey(key=name, fingerprint=fingerprint)


# ------------------------------------------------------------------ lifecycle


def test_the_whole_lifecycle(desk, clock):
    reported = START - timedelta(minutes=30)
    created = register(desk, reported_at=reported, **CLASSIFICATION)
    t = created.ticket
    assert created.created and not created.replayed
    assert t.number == f"SR-{DAY}-001"
    assert t.id == ticket_id_for(t.number)
    assert t.status is Status.CLASSIFIED  # all five given at registration
    assert t.priority is Priority.P1
    assert t.reported_at == reported
    assert t.version == 2
    assert created.position == desk.max_position()

    clock.advance(minutes=5)
    r = desk.handle(Assign(ref=t.id, assignee="eng-li", group="应用组"), actor="disp-wang")
    assert (r.ticket.status, r.ticket.assignee, r.ticket.version) == (Status.ASSIGNED, "eng-li", 3)
    assert not r.created

    clock.advance(minutes=5)
    assert desk.handle(Start(ref=t.id), actor="eng-li").ticket.status is Status.IN_PROGRESS

    clock.advance(minutes=30)
    r = desk.handle(LogWork(ref=t.id, action="检查应用日志并重启服务", hours=0.5,
                            performed_at=START + timedelta(minutes=20)), actor="eng-li")
    [entry] = r.ticket.work_log
    assert entry.performed_at == START + timedelta(minutes=20)
    assert entry.recorded_at == clock.now()

    clock.advance(minutes=10)
    r = desk.handle(Resolve(ref=t.id, resolution=PRECISE, root_cause="会话表写满"), actor="eng-li")
    assert r.ticket.status is Status.RESOLVED

    clock.advance(hours=1)
    r = desk.handle(Confirm(ref=t.id, signer="李四", items=["ERP 登录恢复"], criteria=["全部用户可登录"],
                            passed=True), actor="agent-zhang")
    assert r.ticket.status is Status.CLOSED
    [acceptance] = r.ticket.acceptances
    assert acceptance.number == f"SD-{DAY}-001"
    assert acceptance.passed

    clock.advance(hours=2)
    r = desk.handle(GiveFeedback(ref=t.id, timeliness=5, effectiveness=4, attitude=5, comment="很快"),
                    actor="agent-zhang")
    [fb] = r.ticket.feedbacks
    assert fb.number == f"FB-{DAY}-001"
    assert fb.mean == 4.67
    assert r.ticket.version == 8
    assert r.position == desk.max_position()

    # what was saved is what the commands returned
    stored = desk.get_ticket(t.number)
    assert stored == r.ticket


def test_registration_without_all_five_stays_registered_until_classified(desk, clock):
    t = register(desk, type="fault", urgency="urgent").ticket
    assert t.status is Status.REGISTERED
    assert t.proposed.type == "fault" and t.proposed.category is None
    assert t.classification is None

    clock.advance(minutes=1)
    r = desk.handle(Classify(ref=t.id, type="consultation", category="network", urgency="urgent",
                             impact="some", importance="important"), actor="disp-wang")
    assert r.ticket.status is Status.CLASSIFIED
    assert r.ticket.priority is Priority.P2


def test_registration_with_an_override_needs_its_reason(desk):
    with pytest.raises(InvalidCommand):
        register(desk, **{**CLASSIFICATION, "urgency": "not_urgent", "impact": "single",
                          "importance": "not_important"}, priority="P1")
    t = register(desk, **{**CLASSIFICATION, "urgency": "not_urgent", "impact": "single",
                          "importance": "not_important"}, priority="P1",
                 override_reason="VIP 客户").ticket
    assert t.classification is not None
    assert (t.priority, t.classification.computed_priority) == (Priority.P1, Priority.P3)
    assert t.number == f"SR-{DAY}-001"  # the refused registration used no number


def test_rejection_reopen_close_and_second_feedback_issue_consecutive_numbers(desk, clock):
    t = register(desk, **CLASSIFICATION).ticket
    desk.handle(Assign(ref=t.id, group="应用组"), actor="d")
    desk.handle(Start(ref=t.id), actor="e")
    desk.handle(Resolve(ref=t.id, resolution=PRECISE, root_cause="会话表写满"), actor="e")
    r = desk.handle(Confirm(ref=t.id, signer="李四", items=["登录"], criteria=["可登录"], passed=False,
                            unmet_items=["报表仍报错"]), actor="a")
    assert r.ticket.status is Status.IN_PROGRESS
    assert r.ticket.acceptances[-1].number == f"SD-{DAY}-001"
    desk.handle(Resolve(ref=t.id, resolution=PRECISE + "，并修复报表服务", root_cause="会话表写满"), actor="e")
    r = desk.handle(CloseTicket(ref=t.id, signer="李四", reason="客户同意结束支持"), actor="a")
    assert r.ticket.status is Status.CLOSED
    assert r.ticket.acceptances[-1].number == f"SD-{DAY}-002"
    desk.handle(GiveFeedback(ref=t.id, timeliness=3, effectiveness=3, attitude=3), actor="a")
    with pytest.raises(TransitionNotAllowed):
        desk.handle(GiveFeedback(ref=t.id, timeliness=3, effectiveness=3, attitude=3), actor="a")
    desk.handle(Reopen(ref=t.id, reason="问题再次出现"), actor="a")
    desk.handle(Resolve(ref=t.id, resolution=PRECISE + "，扩容会话表", root_cause="会话表写满"), actor="e")
    desk.handle(CloseTicket(ref=t.id, signer="李四", reason="客户同意结束支持"), actor="a")
    r = desk.handle(GiveFeedback(ref=t.id, timeliness=5, effectiveness=5, attitude=5), actor="a")
    assert [f.number for f in r.ticket.feedbacks] == [f"FB-{DAY}-001", f"FB-{DAY}-002"]
    assert [a.number for a in r.ticket.acceptances] == [f"SD-{DAY}-00{n}" for n in (1, 2, 3)]


# -------------------------------------------------------------------- numbers


def test_numbers_increment_per_day_and_restart_the_next_day(desk, clock):
    assert [register(desk).ticket.number for _ in range(3)] == [
        f"SR-{DAY}-001", f"SR-{DAY}-002", f"SR-{DAY}-003"
    ]
    # 15:59:59Z is still 23:59:59 on the 21st in Shanghai ...
    clock.set(datetime(2026, 11, 21, 15, 59, 59, tzinfo=UTC))
    assert register(desk).ticket.number == f"SR-{DAY}-004"
    # ... and 16:00Z is midnight of the 22nd.
    clock.set(datetime(2026, 11, 21, 16, 0, tzinfo=UTC))
    assert register(desk).ticket.number == "SR-20261122-001"
    assert register(desk).ticket.number == "SR-20261122-002"


def test_the_number_uses_the_shanghai_date_not_the_utc_date(desk, clock):
    clock.set(datetime(2026, 11, 20, 15, 59, tzinfo=UTC))  # 23:59 on the 20th in Shanghai
    assert register(desk).ticket.number == "SR-20261120-001"
    clock.set(START)
    assert register(desk).ticket.number == "SR-20261121-001"


def test_a_refused_command_records_nothing_and_issues_no_number(desk):
    first = register(desk).ticket
    before = desk.max_position()

    with pytest.raises(TransitionNotAllowed) as caught:
        desk.handle(Start(ref=first.id), actor="eng-li")  # a registered ticket cannot start
    assert caught.value.state == "registered"
    assert caught.value.allowed == ("invalidate", "classify")
    with pytest.raises(InvalidCommand):
        register(desk, title="  ")
    with pytest.raises(InvalidCommand):
        register(desk, reported_at=START + timedelta(minutes=1))

    assert desk.max_position() == before
    assert desk.get_ticket(first.id).version == first.version
    assert register(desk).ticket.number == f"SR-{DAY}-002"


def test_a_refused_confirmation_uses_no_acceptance_number(desk):
    t = register(desk, **CLASSIFICATION).ticket
    desk.handle(Assign(ref=t.id, assignee="eng-li"), actor="d")
    desk.handle(Start(ref=t.id), actor="e")
    desk.handle(Resolve(ref=t.id, resolution=PRECISE, root_cause="会话表写满"), actor="e")
    before = desk.max_position()

    with pytest.raises(InvalidCommand):
        desk.handle(Confirm(ref=t.id, signer="李四", items=["登录"], criteria=["可登录"], passed=False),
                    actor="a")  # a rejection without unmet items

    assert desk.max_position() == before
    r = desk.handle(Confirm(ref=t.id, signer="李四", items=["登录"], criteria=["可登录"], passed=True),
                    actor="a")
    assert r.ticket.acceptances[-1].number == f"SD-{DAY}-001"


# -------------------------------------------------------------------- lookups


def test_lookup_by_number_and_by_id(desk):
    t = register(desk).ticket
    register(desk)

    for ref in (t.number, t.number.lower(), f" {t.number} ", t.id, str(t.id)):
        found = desk.get_ticket(ref)
        assert isinstance(found, Ticket)
        assert (found.id, found.number) == (t.id, t.number)


@pytest.mark.parametrize(
    "ref",
    ["SR-20261121-099", "SR-19990101-001", "not-a-ticket", "", str(UUID(int=42)), UUID(int=42)],
)
def test_unknown_references_are_not_found(desk, ref):
    register(desk)
    with pytest.raises(TicketNotFound):
        desk.get_ticket(ref)
    with pytest.raises(TicketNotFound):
        desk.ticket_history(ref)
    with pytest.raises(TicketNotFound):
        desk.handle(Start(ref=ref), actor="eng-li")


def test_other_aggregates_are_not_tickets(desk):
    register(desk)
    sequence_id = DailySequence.id_for(RecordKind.SERVICE_REQUEST, date(2026, 11, 21))
    assert desk.repository.get(sequence_id).last == 1
    with pytest.raises(TicketNotFound):
        desk.get_ticket(sequence_id)
    with pytest.raises(TicketNotFound):
        desk.get_ticket(sequence_id, as_of=START)
    with pytest.raises(TicketNotFound):
        desk.ticket_history(sequence_id)


def test_as_of_returns_the_ticket_as_it_stood(desk, clock):
    t = register(desk).ticket  # at START
    t1 = clock.advance(minutes=10)
    desk.handle(Classify(ref=t.id, **CLASSIFICATION), actor="d")
    t2 = clock.advance(minutes=10)
    desk.handle(Assign(ref=t.id, assignee="eng-li"), actor="d")
    clock.advance(minutes=10)
    desk.handle(Start(ref=t.id), actor="eng-li")

    with pytest.raises(TicketNotFound):
        desk.get_ticket(t.id, as_of=START - timedelta(seconds=1))
    at_start = desk.get_ticket(t.number, as_of=START)
    assert (at_start.status, at_start.version) == (Status.REGISTERED, 1)
    between = desk.get_ticket(t.id, as_of=t1 + timedelta(minutes=5))
    assert (between.status, between.version) == (Status.CLASSIFIED, 2)
    exactly = desk.get_ticket(t.id, as_of=t2)
    assert (exactly.status, exactly.version, exactly.assignee) == (Status.ASSIGNED, 3, "eng-li")
    now = desk.get_ticket(t.id, as_of=clock.now() + timedelta(days=1))
    assert now == desk.get_ticket(t.id)
    assert now.status is Status.IN_PROGRESS


def test_history_lists_every_event_oldest_first_with_actor_and_recorded_at(desk, clock):
    t = register(desk, **CLASSIFICATION).ticket
    clock.advance(minutes=3)
    desk.handle(Assign(ref=t.id, assignee="eng-li"), actor="disp-wang")
    clock.advance(minutes=4)
    desk.handle(Start(ref=t.id), actor="eng-li")

    history = desk.ticket_history(t.number)

    assert [h.version for h in history] == [1, 2, 3, 4]
    assert [h.type for h in history] == ["Registered", "Classified", "Assigned", "Started"]
    assert [h.topic for h in history] == [
        "opsledger.ticket:Ticket.Registered",
        "opsledger.ticket:Ticket.Classified",
        "opsledger.ticket:Ticket.Assigned",
        "opsledger.ticket:Ticket.Started",
    ]
    assert [h.actor for h in history] == ["agent-zhang", "agent-zhang", "disp-wang", "eng-li"]
    assert [h.recorded_at for h in history] == [
        START, START, START + timedelta(minutes=3), START + timedelta(minutes=7)
    ]
    assert history[0].data["number"] == t.number
    assert history[0].data["customer"] == "客户A"
    assert history[2].data["assignee"] == "eng-li"
    assert "originator_id" not in history[0].data
    assert "timestamp" not in history[0].data
    assert desk.ticket_history(t.id) == history


# ---------------------------------------------------------------- concurrency


def test_an_expected_version_that_moved_on_is_refused_and_records_nothing(desk):
    t = register(desk, **CLASSIFICATION).ticket  # version 2
    desk.handle(Assign(ref=t.id, assignee="eng-li"), actor="d", expected_version=2)  # now version 3
    before = desk.max_position()

    with pytest.raises(VersionMismatch) as caught:
        desk.handle(Assign(ref=t.id, assignee="eng-zhou"), actor="d", expected_version=2)

    assert (caught.value.expected, caught.value.actual) == (2, 3)
    assert desk.max_position() == before
    assert desk.get_ticket(t.id).assignee == "eng-li"
    assert desk.handle(Start(ref=t.id), actor="eng-li", expected_version=3).ticket.version == 4


# ---------------------------------------------------------------- idempotency


def test_a_repeated_registration_returns_the_first_answer_and_records_nothing(desk, clock):
    first = register(desk, idempotency=key("k-1"))
    before = desk.max_position()
    clock.advance(minutes=1)

    again = register(desk, idempotency=key("k-1"))

    assert again.replayed and not first.replayed
    assert again.created and again.position is None
    assert again.ticket.id == first.ticket.id
    assert again.ticket.number == first.ticket.number == f"SR-{DAY}-001"
    assert again.ticket.version == first.ticket.version
    assert desk.max_position() == before
    assert register(desk).ticket.number == f"SR-{DAY}-002"  # no number was used by the repeat


def test_a_repeated_command_returns_the_ticket_as_that_command_left_it(desk):
    t = register(desk, **CLASSIFICATION).ticket
    first = desk.handle(Assign(ref=t.id, assignee="eng-li"), actor="d", idempotency=key("assign-1"))
    desk.handle(Start(ref=t.id), actor="eng-li")
    before = desk.max_position()

    again = desk.handle(Assign(ref=t.id, assignee="eng-li"), actor="d", idempotency=key("assign-1"))

    assert again.replayed and not again.created
    assert again.ticket.version == first.ticket.version == 3
    assert again.ticket.status is Status.ASSIGNED
    assert desk.max_position() == before
    assert desk.get_ticket(t.id).status is Status.IN_PROGRESS


def test_the_same_key_with_a_different_request_is_refused(desk):
    t = register(desk, idempotency=key("k-1", "fp-A")).ticket
    before = desk.max_position()

    with pytest.raises(IdempotencyKeyReused) as caught:
        register(desk, title="另一个请求", idempotency=key("k-1", "fp-B"))
    with pytest.raises(IdempotencyKeyReused):
        desk.handle(Invalidate(ref=t.id, reason="重复"), actor="d", idempotency=key("k-1", "fp-C"))

    assert caught.value.key == "k-1"
    assert desk.max_position() == before
    assert desk.get_ticket(t.id).status is Status.REGISTERED


def test_a_refused_command_does_not_consume_its_idempotency_key(desk):
    t = register(desk).ticket
    with pytest.raises(TransitionNotAllowed):
        desk.handle(Start(ref=t.id), actor="e", idempotency=key("k-2"))
    desk.handle(Classify(ref=t.id, **CLASSIFICATION), actor="d")
    desk.handle(Assign(ref=t.id, assignee="eng-li"), actor="d")
    r = desk.handle(Start(ref=t.id), actor="e", idempotency=key("k-2"))
    assert not r.replayed
    assert r.ticket.status is Status.IN_PROGRESS
