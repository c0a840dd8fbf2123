"""The Ticket aggregate, one rule per test: given events, when a command, then new events or
a named error, and nothing recorded on refusal (STYLE.md, Tests).

Every time is a fixed aware datetime far from "now", so an event whose ``timestamp`` equals
the given ``at`` proves the domain used the argument and did not read a clock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from domain.errors import (
    DomainError,
    InvalidCommand,
    OverrideReasonRequired,
    ResolutionTooVague,
    TransitionNotAllowed,
)
from domain.priority import Impact, Importance, Priority, PriorityMatrix, Urgency
from domain.ticket import (
    ALLOWED,
    Channel,
    Contact,
    Improvement,
    ProposedClassification,
    Status,
    Ticket,
    TicketType,
)

CST = timezone(timedelta(hours=8), "CST")
T0 = datetime(2031, 3, 14, 9, 30, tzinfo=CST)  # registration ("now" in these tests)
REPORTED = datetime(2031, 3, 14, 9, 0, tzinfo=CST)
TICKET_ID = UUID("00000000-0000-4000-8000-000000000001")
PRECISE = "重启 ERP 应用服务器并清理会话表，用户已可正常登录"
S = Status


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# ------------------------------------------------------------------ helpers


def register(**overrides: Any) -> Ticket:
    kwargs: dict[str, Any] = dict(
        id=TICKET_ID,
        number="SR-20310314-001",
        customer="客户A",
        contact=Contact(name="李四", phone="13800005678", email="li@example.com"),
        channel=Channel.PHONE,
        title="生产系统无法登录",
        description="所有用户登录 ERP 报 500",
        affected_system="ERP",
        reported_at=REPORTED,
        actor="agent-zhang",
        at=T0,
    )
    kwargs.update(overrides)
    return Ticket.register(**kwargs)


def classify(t: Ticket, when: datetime, **overrides: Any) -> None:
    kwargs: dict[str, Any] = dict(
        type=TicketType.FAULT,
        category="software",
        urgency=Urgency.VERY_URGENT,
        impact=Impact.ALL,
        importance=Importance.IMPORTANT,
        actor="disp-wang",
        at=when,
    )
    kwargs.update(overrides)
    t.classify(**kwargs)


def assign(t: Ticket, when: datetime, **overrides: Any) -> None:
    kwargs: dict[str, Any] = dict(assignee="eng-li", actor="disp-wang", at=when)
    kwargs.update(overrides)
    t.assign(**kwargs)


def log_work(t: Ticket, when: datetime, **overrides: Any) -> None:
    kwargs: dict[str, Any] = dict(action="检查应用日志", hours=1.5, actor="eng-li", at=when)
    kwargs.update(overrides)
    t.log_work(**kwargs)


def resolve(t: Ticket, when: datetime, **overrides: Any) -> None:
    kwargs: dict[str, Any] = dict(
        resolution=PRECISE, root_cause="会话表写满", actor="eng-li", at=when
    )
    kwargs.update(overrides)
    t.resolve(**kwargs)


def confirm(t: Ticket, when: datetime, **overrides: Any) -> None:
    kwargs: dict[str, Any] = dict(
        number="SD-20310314-001",
        signer="李四",
        items=("ERP 登录恢复",),
        criteria=("全部用户可登录",),
        passed=True,
        actor="agent-zhang",
        at=when,
    )
    kwargs.update(overrides)
    t.confirm(**kwargs)


def feedback(t: Ticket, when: datetime, **overrides: Any) -> None:
    kwargs: dict[str, Any] = dict(
        number="FB-20310314-001",
        timeliness=5,
        effectiveness=4,
        attitude=5,
        comment="响应很快",
        actor="agent-zhang",
        at=when,
    )
    kwargs.update(overrides)
    t.give_feedback(**kwargs)


def request_service(t: Ticket, when: datetime) -> None:
    t.request_service(service_id="vpn-access", service_version=1, service_name="VPN 开通",
                      form={"hostname": "vpn.example.com"}, approval="manager",
                      actor="agent-zhang", at=when)


# The steps that take a fresh ticket to each status, each one minute after the last.
def _path(status: Status) -> list[Callable[[Ticket, datetime], None]]:
    to_in_progress = [
        classify,
        assign,
        lambda t, w: t.start(actor="eng-li", at=w),
    ]
    return {
        S.REGISTERED: [],
        S.CLASSIFIED: [classify],
        S.ASSIGNED: [classify, assign],
        S.IN_PROGRESS: to_in_progress,
        S.WAITING_CUSTOMER: [
            *to_in_progress,
            lambda t, w: t.await_customer(reason="等待客户提供账号", actor="eng-li", at=w),
        ],
        S.RESOLVED: [*to_in_progress, resolve],
        S.CLOSED: [*to_in_progress, resolve, confirm],
        S.INVALID: [lambda t, w: t.invalidate(reason="重复申请", actor="agent-zhang", at=w)],
        S.AWAITING_APPROVAL: [request_service],  # a catalogue request (ADR 0061)
    }[status]


def history(status: Status) -> list[Any]:
    """The events of a ticket that went the usual way to ``status``."""
    t = register()
    for minute, step in enumerate(_path(status), start=1):
        step(t, at(minute))
    return list(t.collect_events())


def given(status: Status) -> Ticket:
    """A ticket rebuilt from the events that took it to ``status`` (nothing pending)."""
    t: Any = None
    for event in history(status):
        t = event.mutate(t)
    assert isinstance(t, Ticket)
    assert t.status is status
    assert t.pending_events == []
    return t


WHEN = at(60)  # the time of the command under test, after every "given" step

# One valid call of every command in ALLOWED (the command names of the 409 answer).
COMMANDS: dict[str, Callable[[Ticket, datetime], None]] = {
    "invalidate": lambda t, w: t.invalidate(reason="不是本合同的服务范围", actor="disp-wang", at=w),
    "classify": classify,
    "assign": assign,
    "start": lambda t, w: t.start(actor="eng-li", at=w),
    "log_work": log_work,
    "await_customer": lambda t, w: t.await_customer(reason="等待客户重启终端", actor="eng-li", at=w),
    "resume": lambda t, w: t.resume(actor="eng-li", at=w),
    "resolve": resolve,
    "confirm": confirm,
    "close": lambda t, w: t.close(
        number="SD-20310314-002", signer="李四", reason="客户同意结束支持", actor="agent-zhang", at=w
    ),
    "reopen": lambda t, w: t.reopen(reason="问题再次出现", actor="agent-zhang", at=w),
    "feedback": feedback,
    "approve": lambda t, w: t.approve(capacity="manager", actor="mgr-zhao", at=w),
    "reject": lambda t, w: t.reject_request(reason="没有合同覆盖", capacity="manager",
                                            actor="mgr-zhao", at=w),
}
ACTORS = {
    "invalidate": "disp-wang",
    "classify": "disp-wang",
    "assign": "disp-wang",
    "start": "eng-li",
    "log_work": "eng-li",
    "await_customer": "eng-li",
    "resume": "eng-li",
    "resolve": "eng-li",
    "confirm": "agent-zhang",
    "close": "agent-zhang",
    "reopen": "agent-zhang",
    "feedback": "agent-zhang",
    "approve": "mgr-zhao",
    "reject": "mgr-zhao",
}
EVENTS = {
    "invalidate": Ticket.Invalidated,
    "classify": Ticket.Classified,
    "assign": Ticket.Assigned,
    "start": Ticket.Started,
    "log_work": Ticket.WorkLogged,
    "await_customer": Ticket.CustomerAwaited,
    "resume": Ticket.Resumed,
    "resolve": Ticket.Resolved,
    "confirm": Ticket.AcceptanceConfirmed,
    "close": Ticket.AcceptanceConfirmed,
    "reopen": Ticket.Reopened,
    "feedback": Ticket.FeedbackGiven,
    "approve": Ticket.Approved,
    "reject": Ticket.ApprovalRejected,
}


def expected_status(command: str, before: Status) -> Status:
    if command == "classify":
        return S.CLASSIFIED if before is S.REGISTERED else before
    return {
        "approve": S.REGISTERED,  # not classified at registration
        "reject": S.INVALID,
        "invalidate": S.INVALID,
        "assign": S.ASSIGNED,
        "start": S.IN_PROGRESS,
        "log_work": S.IN_PROGRESS,
        "await_customer": S.WAITING_CUSTOMER,
        "resume": S.IN_PROGRESS,
        "resolve": S.RESOLVED,
        "confirm": S.CLOSED,
        "close": S.CLOSED,
        "reopen": S.IN_PROGRESS,
        "feedback": S.CLOSED,
    }[command]


ALLOWED_PAIRS = [(s, c) for s in Status for c in ALLOWED[s]]
REFUSED_PAIRS = [(s, c) for s in Status for c in COMMANDS if c not in ALLOWED[s]]


def only_new_event(t: Ticket) -> Any:
    events = t.collect_events()
    assert len(events) == 1, events
    return events[0]


def assert_refused(t: Ticket, error: type[DomainError], command: Callable[[], Any]) -> Any:
    """The command raises ``error`` and the ticket is exactly as it was."""
    before = copy.deepcopy(t)
    version = t.version
    with pytest.raises(error) as caught:
        command()
    assert t.pending_events == []
    assert t.version == version
    assert t == before
    return caught.value


def fields(error: InvalidCommand) -> set[str]:
    return {e.field for e in error.errors}


# ----------------------------------------------------------- the state table


def test_the_table_covers_every_status_and_command():
    assert set(ALLOWED) == set(Status)
    assert {c for cs in ALLOWED.values() for c in cs} == set(COMMANDS)
    assert ALLOWED[S.INVALID] == ()


@pytest.mark.parametrize(("status", "command"), ALLOWED_PAIRS, ids=lambda v: str(v))
def test_an_allowed_command_records_one_event(status, command):
    t = given(status)
    version = t.version

    COMMANDS[command](t, WHEN)

    event = only_new_event(t)
    assert isinstance(event, EVENTS[command])
    assert event.actor == ACTORS[command]
    assert event.timestamp == WHEN
    assert event.originator_version == version + 1
    assert t.version == version + 1
    assert t.status is expected_status(command, status)


@pytest.mark.parametrize(("status", "command"), REFUSED_PAIRS, ids=lambda v: str(v))
def test_a_command_not_allowed_in_the_state_is_refused_and_names_state_and_allowed(
    status, command
):
    t = given(status)

    error = assert_refused(t, TransitionNotAllowed, lambda: COMMANDS[command](t, WHEN))

    assert error.state == status.value
    assert error.command == command
    assert error.allowed == ALLOWED[status]
    assert status.value in str(error) and command in str(error)


def test_refusal_in_the_final_state_says_nothing_is_allowed():
    t = given(S.INVALID)
    error = assert_refused(t, TransitionNotAllowed, lambda: t.start(actor="eng-li", at=WHEN))
    assert error.allowed == ()
    assert "none (final state)" in str(error)


# ------------------------------------------------------------------ register


def test_register_records_who_when_and_what():
    t = register()

    [event] = t.collect_events()
    assert isinstance(event, Ticket.Registered)
    assert event.actor == "agent-zhang"
    assert event.timestamp == T0
    assert event.reported_at == REPORTED
    assert t.status is S.REGISTERED
    assert t.version == 1
    assert t.id == TICKET_ID
    assert t.number == "SR-20310314-001"
    assert t.recorded_at == T0
    assert t.registered_by == "agent-zhang"
    assert t.proposed == ProposedClassification()
    assert t.allowed_commands() == ("invalidate", "classify")


def test_register_trims_text_and_keeps_the_proposed_classification():
    proposed = ProposedClassification(type=TicketType.FAULT, urgency=Urgency.URGENT)
    t = register(customer="  客户A ", title="  登录失败\n", proposed=proposed, channel="email")
    assert t.customer == "客户A"
    assert t.title == "登录失败"
    assert t.channel is Channel.EMAIL
    assert t.proposed == proposed
    assert not proposed.complete()


def test_reported_at_may_equal_the_registration_time():
    assert register(reported_at=T0).reported_at == T0


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"customer": ""}, "customer"),
        ({"customer": "\t"}, "customer"),
        ({"contact": Contact(name="")}, "contact.name"),
        ({"contact": Contact(name="  ", phone="13800005678")}, "contact.name"),
        ({"reported_at": T0 + timedelta(seconds=1)}, "reported_at"),
        ({"reported_at": datetime(2031, 3, 14, 9, 0)}, "reported_at"),  # naive
    ],
)
def test_registration_refuses_bad_input_naming_the_field(override, field):
    with pytest.raises(InvalidCommand) as caught:
        register(**override)
    assert fields(caught.value) == {field}
    assert field in str(caught.value)


def test_registration_names_every_bad_field_at_once():
    with pytest.raises(InvalidCommand) as caught:
        register(title="", customer="", contact=Contact(name=""), reported_at=at(5))
    assert fields(caught.value) == {"title", "customer", "contact.name", "reported_at"}


# ---------------------------------------------------------------- invalidate


def test_invalidate_needs_a_reason():
    t = given(S.REGISTERED)
    error = assert_refused(
        t, InvalidCommand, lambda: t.invalidate(reason=" ", actor="disp-wang", at=WHEN)
    )
    assert fields(error) == {"reason"}


def test_invalidate_is_final_and_records_the_reason():
    t = given(S.CLASSIFIED)
    t.invalidate(reason="  重复申请 ", actor="disp-wang", at=WHEN)
    assert t.status is S.INVALID
    assert t.invalid_reason == "重复申请"
    assert t.closed_at == WHEN
    assert t.allowed_commands() == ()


# ------------------------------------------------------------------ classify


@pytest.mark.parametrize(
    ("urgency", "impact", "importance", "priority"),
    [
        (Urgency.VERY_URGENT, Impact.ALL, Importance.IMPORTANT, Priority.P1),
        (Urgency.URGENT, Impact.SOME, Importance.IMPORTANT, Priority.P2),
        (Urgency.NOT_URGENT, Impact.SINGLE, Importance.IMPORTANT, Priority.P3),
    ],
)
def test_classify_takes_the_priority_from_the_matrix(urgency, impact, importance, priority):
    t = given(S.REGISTERED)

    classify(t, WHEN, urgency=urgency, impact=impact, importance=importance)

    event = only_new_event(t)
    assert isinstance(event, Ticket.Classified)
    c = t.classification
    assert c is not None and c == event.classification
    assert (c.urgency, c.impact, c.importance) == (urgency, impact, importance)
    assert c.priority is priority and c.computed_priority is priority
    assert c.override_reason == ""
    assert t.priority is priority
    assert t.status is S.CLASSIFIED


def test_classify_uses_the_matrix_it_is_given():
    everything_is_p1 = PriorityMatrix(p1_from=0)
    t = given(S.REGISTERED)
    classify(t, WHEN, urgency=Urgency.NOT_URGENT, impact=Impact.SINGLE,
             importance=Importance.NOT_IMPORTANT, matrix=everything_is_p1)
    assert t.priority is Priority.P1


def test_a_manual_override_without_a_reason_is_refused():
    t = given(S.REGISTERED)
    error = assert_refused(
        t,
        OverrideReasonRequired,
        lambda: classify(t, WHEN, urgency=Urgency.NOT_URGENT, impact=Impact.SINGLE,
                         priority=Priority.P1, override_reason="  "),
    )
    assert fields(error) == {"override_reason"}
    assert isinstance(error, InvalidCommand)


def test_a_manual_override_with_a_reason_records_both_priorities_and_the_reason():
    t = given(S.REGISTERED)
    classify(t, WHEN, urgency=Urgency.NOT_URGENT, impact=Impact.SINGLE,
             priority=Priority.P1, override_reason=" 董事长办公室 ")
    c = t.classification
    assert c is not None
    assert c.priority is Priority.P1
    assert c.computed_priority is Priority.P3
    assert c.override_reason == "董事长办公室"


def test_naming_the_computed_priority_is_not_an_override():
    t = given(S.REGISTERED)
    classify(t, WHEN, priority=Priority.P1, override_reason="ignored")  # matrix says P1
    c = t.classification
    assert c is not None
    assert c.priority is Priority.P1
    assert c.override_reason == ""


def test_classify_needs_a_category():
    t = given(S.REGISTERED)
    error = assert_refused(t, InvalidCommand, lambda: classify(t, WHEN, category="  "))
    assert fields(error) == {"category"}


def test_reclassifying_keeps_the_working_status():
    t = given(S.IN_PROGRESS)
    classify(t, WHEN, urgency=Urgency.NOT_URGENT, impact=Impact.SINGLE)
    assert t.status is S.IN_PROGRESS
    assert t.priority is Priority.P3


# -------------------------------------------------------------------- assign


def test_assign_needs_an_assignee_or_a_group():
    t = given(S.CLASSIFIED)
    error = assert_refused(
        t, InvalidCommand, lambda: t.assign(assignee=" ", group="", actor="disp-wang", at=WHEN)
    )
    assert fields(error) == {"assignee", "group"}


@pytest.mark.parametrize(
    ("assignee", "group"), [("eng-li", None), (None, "network-team"), ("eng-li", "network-team")]
)
def test_assign_to_an_engineer_or_a_group(assignee, group):
    t = given(S.CLASSIFIED)
    t.assign(assignee=assignee, group=group, interface_person="接口人-赵", actor="disp-wang", at=WHEN)
    event = only_new_event(t)
    assert (event.assignee, event.group, event.interface_person) == (assignee, group, "接口人-赵")
    assert (t.assignee, t.group, t.interface_person) == (assignee, group, "接口人-赵")
    assert t.status is S.ASSIGNED
    assert t.first_response_at == WHEN


def test_reassignment_is_a_new_event_and_keeps_the_first_response():
    t = given(S.ASSIGNED)
    first = t.first_response_at
    assign(t, WHEN, assignee="eng-zhou")
    assert isinstance(only_new_event(t), Ticket.Assigned)
    assert t.assignee == "eng-zhou"
    assert t.first_response_at == first == at(2)


# ------------------------------------------------------------------ log_work


def test_log_work_records_an_entry_with_its_own_time():
    t = given(S.ASSIGNED)
    done = at(30)

    log_work(t, WHEN, action=" 重启中间件 ", hours=2, performed_at=done, workaround="切换备机")

    event = only_new_event(t)
    [entry] = t.work_log
    assert entry == event.entry
    assert entry.action == "重启中间件"
    assert entry.hours == 2.0
    assert entry.performed_at == done  # the claimed time ...
    assert entry.recorded_at == WHEN  # ... and the recording time stay apart
    assert entry.actor == "eng-li"
    assert t.workaround == "切换备机"
    assert t.status is S.IN_PROGRESS


def test_log_work_performed_at_defaults_to_the_recording_time():
    t = given(S.IN_PROGRESS)
    log_work(t, WHEN)
    assert t.work_log[-1].performed_at == WHEN


@pytest.mark.parametrize("hours", [0.01, 1, 744])
def test_log_work_accepts_hours_within_bounds(hours):
    t = given(S.IN_PROGRESS)
    log_work(t, WHEN, hours=hours)
    assert t.work_log[-1].hours == hours


@pytest.mark.parametrize("hours", [0, -1, 744.01, float("nan"), float("inf")])
def test_log_work_refuses_hours_out_of_bounds(hours):
    t = given(S.IN_PROGRESS)
    error = assert_refused(t, InvalidCommand, lambda: log_work(t, WHEN, hours=hours))
    assert fields(error) == {"hours"}


@pytest.mark.parametrize(
    "performed_at",
    [
        WHEN + timedelta(seconds=1),  # in the future
        datetime(2031, 3, 14, 10, 0),  # naive
        REPORTED - timedelta(minutes=1),  # before the ticket was reported
    ],
    ids=["future", "naive", "before-reported"],
)
def test_log_work_refuses_a_bad_performed_at(performed_at):
    t = given(S.IN_PROGRESS)
    error = assert_refused(t, InvalidCommand, lambda: log_work(t, WHEN, performed_at=performed_at))
    assert fields(error) == {"performed_at"}


def test_log_work_may_be_performed_before_registration_but_after_the_report():
    t = given(S.IN_PROGRESS)
    log_work(t, WHEN, performed_at=REPORTED)
    assert t.work_log[-1].performed_at == REPORTED


def test_log_work_needs_an_action():
    t = given(S.IN_PROGRESS)
    error = assert_refused(t, InvalidCommand, lambda: log_work(t, WHEN, action="", hours=0))
    assert fields(error) == {"action", "hours"}


# ------------------------------------------------- waiting for the customer


def test_await_customer_and_resume():
    t = given(S.IN_PROGRESS)
    t.await_customer(reason="等待客户提供日志", actor="eng-li", at=WHEN)
    assert isinstance(only_new_event(t), Ticket.CustomerAwaited)
    assert (t.status, t.waiting_reason, t.waiting_since) == (
        S.WAITING_CUSTOMER, "等待客户提供日志", WHEN
    )
    t.resume(actor="eng-li", at=WHEN + timedelta(hours=1))
    assert isinstance(only_new_event(t), Ticket.Resumed)
    assert (t.status, t.waiting_reason, t.waiting_since) == (S.IN_PROGRESS, None, None)


def test_await_customer_needs_a_reason():
    t = given(S.IN_PROGRESS)
    error = assert_refused(
        t, InvalidCommand, lambda: t.await_customer(reason="", actor="eng-li", at=WHEN)
    )
    assert fields(error) == {"reason"}


# ------------------------------------------------------------------- resolve


@pytest.mark.parametrize(
    "text", ["已处理", "done", "Fixed.", "ok", "  DONE ", "已解决。", "Resolved!", "", "   ", "abc"]
)
def test_a_vague_resolution_is_refused(text):
    t = given(S.IN_PROGRESS)
    error = assert_refused(t, ResolutionTooVague, lambda: resolve(t, WHEN, resolution=text))
    assert fields(error) == {"resolution"}
    assert isinstance(error, InvalidCommand)


def test_a_precise_resolution_is_accepted():
    t = given(S.IN_PROGRESS)

    resolve(t, WHEN, resolution=f"  {PRECISE} ", first_contact=True)

    event = only_new_event(t)
    assert isinstance(event, Ticket.Resolved)
    r = t.resolution
    assert r is not None and r == event.resolution
    assert r.resolution == PRECISE
    assert r.root_cause == "会话表写满"
    assert r.first_contact is True
    assert r.resolved_at == WHEN
    assert r.actor == "eng-li"
    assert t.status is S.RESOLVED


def test_resolve_needs_a_root_cause():
    t = given(S.IN_PROGRESS)
    error = assert_refused(t, InvalidCommand, lambda: resolve(t, WHEN, root_cause=" "))
    assert fields(error) == {"root_cause"}


# ------------------------------------------------------------------- confirm


def test_a_passed_acceptance_closes_the_ticket():
    t = given(S.RESOLVED)

    confirm(t, WHEN, unmet_items=("ignored when passed",), note=" 现场签字 ")

    event = only_new_event(t)
    assert isinstance(event, Ticket.AcceptanceConfirmed)
    [acceptance] = t.acceptances
    assert acceptance == event.acceptance
    assert acceptance.number == "SD-20310314-001"
    assert acceptance.passed is True
    assert acceptance.signer == "李四"
    assert acceptance.items == ("ERP 登录恢复",)
    assert acceptance.criteria == ("全部用户可登录",)
    assert acceptance.unmet_items == ()
    assert acceptance.note == "现场签字"
    assert acceptance.at == WHEN
    assert t.status is S.CLOSED
    assert t.closed_at == WHEN
    assert t.feedback_due is True
    assert t.allowed_commands() == ("reopen", "feedback")


def test_a_rejected_acceptance_sends_the_ticket_back_to_work_with_the_unmet_items():
    t = given(S.RESOLVED)

    confirm(t, WHEN, passed=False, unmet_items=(" 报表模块仍然报错 ", ""))

    event = only_new_event(t)
    assert isinstance(event, Ticket.AcceptanceRejected)
    [acceptance] = t.acceptances
    assert acceptance.passed is False
    assert acceptance.unmet_items == ("报表模块仍然报错",)
    assert t.status is S.IN_PROGRESS
    assert t.closed_at is None
    assert t.feedback_due is False


@pytest.mark.parametrize("unmet", [(), ("", "  ")])
def test_a_rejection_without_unmet_items_is_refused(unmet):
    t = given(S.RESOLVED)
    error = assert_refused(
        t, InvalidCommand, lambda: confirm(t, WHEN, passed=False, unmet_items=unmet)
    )
    assert fields(error) == {"unmet_items"}


def test_confirm_needs_a_signer_items_and_criteria():
    t = given(S.RESOLVED)
    error = assert_refused(
        t, InvalidCommand, lambda: confirm(t, WHEN, signer=" ", items=("",), criteria=())
    )
    assert fields(error) == {"signer", "items", "criteria"}


def test_a_rejected_then_passed_acceptance_keeps_both_records():
    t = given(S.RESOLVED)
    confirm(t, at(61), passed=False, unmet_items=("报表模块",))
    resolve(t, at(62))
    confirm(t, at(63), number="SD-20310314-002")
    assert [a.passed for a in t.acceptances] == [False, True]
    assert t.status is S.CLOSED


# ------------------------------------------------------ close (agreed ending)


def test_close_records_a_passed_acceptance_with_signer_and_reason():
    t = given(S.RESOLVED)

    t.close(number="SD-20310314-002", signer=" 李四 ", reason=" 客户同意结束支持 ",
            actor="agent-zhang", at=WHEN)

    event = only_new_event(t)
    assert isinstance(event, Ticket.AcceptanceConfirmed)
    [acceptance] = t.acceptances
    assert acceptance.number == "SD-20310314-002"
    assert acceptance.passed is True
    assert acceptance.signer == "李四"
    assert acceptance.note == "客户同意结束支持"
    assert acceptance.items == (PRECISE,)
    assert acceptance.at == WHEN
    assert t.status is S.CLOSED
    assert t.feedback_due is True


@pytest.mark.parametrize(
    ("signer", "reason", "bad"),
    [("", "客户同意", {"signer"}), ("李四", " ", {"reason"}), ("", "", {"signer", "reason"})],
)
def test_close_needs_a_signer_and_a_reason(signer, reason, bad):
    t = given(S.RESOLVED)
    error = assert_refused(
        t,
        InvalidCommand,
        lambda: t.close(number="SD-1", signer=signer, reason=reason, actor="a", at=WHEN),
    )
    assert fields(error) == bad


# -------------------------------------------------------------------- reopen


def test_reopen_is_an_event_that_sends_the_ticket_back_to_work():
    t = given(S.CLOSED)
    t.reopen(reason=" 问题再次出现 ", actor="agent-zhang", at=WHEN)
    event = only_new_event(t)
    assert isinstance(event, Ticket.Reopened)
    assert event.reason == "问题再次出现"
    assert t.status is S.IN_PROGRESS
    assert t.reopen_count == 1
    assert t.closed_at is None
    assert t.feedback_due is False
    assert len(t.acceptances) == 1  # the earlier acceptance stays on record


def test_reopen_needs_a_reason():
    t = given(S.CLOSED)
    error = assert_refused(
        t, InvalidCommand, lambda: t.reopen(reason="", actor="agent-zhang", at=WHEN)
    )
    assert fields(error) == {"reason"}


# ------------------------------------------------------------------ feedback


def test_feedback_records_scores_and_their_mean():
    t = given(S.CLOSED)
    improvement = Improvement(action="增加会话表监控", owner="eng-li", due=date(2031, 4, 1))

    feedback(t, WHEN, timeliness=5, effectiveness=4, attitude=5, comment=" 很好 ",
             improvement=improvement)

    event = only_new_event(t)
    assert isinstance(event, Ticket.FeedbackGiven)
    [fb] = t.feedbacks
    assert fb == event.feedback
    assert (fb.timeliness, fb.effectiveness, fb.attitude) == (5, 4, 5)
    assert fb.mean == 4.67
    assert fb.comment == "很好"
    assert fb.number == "FB-20310314-001"
    assert fb.improvement == improvement
    assert fb.at == WHEN
    assert t.status is S.CLOSED
    assert t.feedback_due is False


@pytest.mark.parametrize(
    ("scores", "mean"), [((1, 1, 1), 1.0), ((5, 5, 5), 5.0), ((1, 2, 4), 2.33), ((3, 4, 4), 3.67)]
)
def test_feedback_mean(scores, mean):
    t = given(S.CLOSED)
    feedback(t, WHEN, timeliness=scores[0], effectiveness=scores[1], attitude=scores[2])
    assert t.feedbacks[0].mean == mean


@pytest.mark.parametrize(
    ("name", "score"),
    [("timeliness", 0), ("effectiveness", 6), ("attitude", -1), ("timeliness", 4.5)],
)
def test_feedback_scores_must_be_integers_from_1_to_5(name, score):
    t = given(S.CLOSED)
    error = assert_refused(t, InvalidCommand, lambda: feedback(t, WHEN, **{name: score}))
    assert fields(error) == {name}


def test_feedback_improvement_needs_an_action_and_an_owner():
    t = given(S.CLOSED)
    bad = Improvement(action=" ", owner="", due=date(2031, 4, 1))
    error = assert_refused(t, InvalidCommand, lambda: feedback(t, WHEN, improvement=bad))
    assert fields(error) == {"improvement.action", "improvement.owner"}


def test_a_second_feedback_for_the_same_closure_is_refused():
    t = given(S.CLOSED)
    feedback(t, WHEN)
    t.collect_events()

    error = assert_refused(
        t, TransitionNotAllowed, lambda: feedback(t, WHEN, number="FB-20310314-002")
    )

    assert error.state == "closed"
    assert error.command == "feedback"
    assert error.allowed == ("reopen",)
    assert "already given" in str(error)


def test_feedback_is_allowed_again_after_reopen_and_a_new_closure():
    t = given(S.CLOSED)
    feedback(t, at(61))
    t.reopen(reason="问题再次出现", actor="agent-zhang", at=at(62))
    assert "feedback" not in t.allowed_commands()
    resolve(t, at(63))
    confirm(t, at(64), number="SD-20310314-002")
    assert "feedback" in t.allowed_commands()

    feedback(t, at(65), number="FB-20310314-002", timeliness=3, effectiveness=3, attitude=4)

    assert [f.number for f in t.feedbacks] == ["FB-20310314-001", "FB-20310314-002"]
    assert t.reopen_count == 1


# ------------------------------------------------------------ whole history


def test_every_event_carries_its_actor_and_the_given_time_and_replays_to_an_equal_ticket():
    t = register()
    for minute, step in enumerate(_path(S.CLOSED), start=1):
        step(t, at(minute))
    feedback(t, at(10))
    events = t.collect_events()

    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    assert [e.timestamp for e in events] == [T0, at(1), at(2), at(3), at(4), at(5), at(10)]
    assert all(isinstance(e.actor, str) and e.actor for e in events)
    assert t.version == len(events)

    replayed: Any = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed == t
