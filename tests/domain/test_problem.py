"""The Problem aggregate (DOMAIN §3, ADR 0019), one rule per test: given events, when a
command, then new events or a named error, and nothing recorded on refusal.

Times are fixed aware datetimes far from "now": an event whose ``timestamp`` equals the given
``at`` proves the domain used the argument and did not read a clock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from domain.errors import DomainError, InvalidCommand, ResolutionTooVague, TransitionNotAllowed
from domain.problem import ALLOWED, Problem, Status
from domain.ticket import Channel, Contact, Ticket

CST = timezone(timedelta(hours=8), "CST")
T0 = datetime(2031, 3, 14, 9, 30, tzinfo=CST)
PROBLEM_ID = UUID("00000000-0000-4000-8000-0000000000a1")
T1 = ("00000000-0000-4000-8000-000000000001", "SR-20310314-001")
T2 = ("00000000-0000-4000-8000-000000000002", "SR-20310314-002")
S = Status


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def record(**overrides: Any) -> Problem:
    kwargs: dict[str, Any] = dict(
        id=PROBLEM_ID, number="PRB-20310314-001", title=" 数据库连接超时 ",
        description="ERP 高峰期反复报数据库连接超时", actor="eng-li", at=T0,
        category="database", affected_system="ERP", tickets=(T1,),
    )
    kwargs.update(overrides)
    return Problem.record(**kwargs)


def given(status: Status) -> Problem:
    """A problem driven along the ordinary path to ``status``, its events collected."""
    p = record()
    if status in (S.KNOWN_ERROR, S.RESOLVED, S.CLOSED):
        p.record_root_cause(root_cause="连接池上限 50 太小", actor="eng-li", at=at(1))
        p.mark_known_error(actor="eng-li", at=at(2))
    if status in (S.RESOLVED, S.CLOSED):
        p.resolve(resolution="连接池上限调到 200 并加监控告警", actor="eng-li", at=at(3))
    if status is S.CLOSED:
        p.close(actor="mgr-wang", at=at(4))
    assert p.status is status
    p.collect_events()
    return p


def events_of(p: Problem) -> list[Any]:
    return list(p.collect_events())


def refused(p: Problem, command: Callable[[Problem], Any], error: type[DomainError]) -> DomainError:
    """``command`` raises ``error`` and records nothing, the problem unchanged."""
    before = copy.copy(p.__dict__)
    with pytest.raises(error) as info:
        command(p)
    assert p.collect_events() == []
    assert p.__dict__ == before
    return info.value


def replayed(p: Problem, events: list[Any]) -> Problem:
    aggregate: Any = None
    for e in events:
        aggregate = e.mutate(aggregate)
    return aggregate  # type: ignore[no-any-return]


# ------------------------------------------------------------------ record


def test_record_trims_texts_and_keeps_tickets_once_in_order():
    p = record(tickets=(T1, T2, T1), category="  ")
    [e] = events_of(p)
    assert type(e) is Problem.Recorded and e.TOPIC == "opsledger.problem:Problem.Recorded"
    assert (e.title, e.category, e.actor, e.timestamp) == ("数据库连接超时", None, "eng-li", T0)
    assert e.tickets == (T1[0], T2[0]) and e.ticket_numbers == (T1[1], T2[1])
    assert p.linked() == [T1, T2] and p.status is S.RECORDED
    assert p.recorded_at == T0 and p.created_by == "eng-li" and not p.known_error


def test_record_on_its_own_has_no_tickets():
    p = record(tickets=())
    assert p.tickets == () and p.linked() == []


@pytest.mark.parametrize("field", ["title", "description"])
def test_record_without_a_text_is_refused_naming_it(field):
    with pytest.raises(InvalidCommand) as info:
        record(**{field: "  "})
    assert [e.field for e in info.value.errors] == [field]


def test_a_stream_recorded_without_ticket_numbers_shows_the_ids():
    event = record().collect_events()[0]
    old = Problem.Recorded(
        originator_id=event.originator_id, originator_version=1, timestamp=T0,
        originator_topic=event.originator_topic, number=event.number, title="t",
        description="d", category=None, affected_system="", tickets=(T1[0],), actor="a")
    assert old.mutate(None).linked() == [(T1[0], T1[0])]


# ---------------------------------------------------------------- classify


def test_classify_sets_category_and_priority_and_keeps_what_is_not_given():
    p = given(S.RECORDED)
    p.classify(priority="p1", actor="disp-wang", at=at(5))
    [e] = events_of(p)
    assert type(e) is Problem.Classified
    assert (e.category, e.priority, e.actor, e.timestamp) == ("database", "P1", "disp-wang", at(5))
    p.classify(category=" network ", actor="disp-wang", at=at(6))
    assert (p.category, p.priority) == ("network", "P1")


def test_classify_without_anything_or_with_an_unknown_priority_is_refused():
    p = given(S.RECORDED)
    e = refused(p, lambda p: p.classify(actor="a", at=at(5)), InvalidCommand)
    assert {x.field for x in e.errors} == {"category", "priority"}  # type: ignore[attr-defined]
    e = refused(p, lambda p: p.classify(priority="P7", actor="a", at=at(5)), InvalidCommand)
    assert [x.field for x in e.errors] == ["priority"]  # type: ignore[attr-defined]


# ------------------------------------------------------------------ linking


@pytest.mark.parametrize("status", [S.RECORDED, S.KNOWN_ERROR, S.RESOLVED])
def test_link_ticket_adds_a_ticket_until_closed(status):
    p = given(status)
    assert p.link_ticket(ticket_id=T2[0], ticket_number=T2[1], actor="eng-li", at=at(9))
    [e] = events_of(p)
    assert type(e) is Problem.TicketLinked
    assert (e.ticket_id, e.ticket_number, e.actor, e.timestamp) == (*T2, "eng-li", at(9))
    assert p.linked() == [T1, T2] and p.status is status


def test_linking_a_linked_ticket_again_records_nothing():
    p = given(S.RECORDED)
    assert p.link_ticket(ticket_id=T1[0], ticket_number=T1[1], actor="a", at=at(9)) is False
    assert events_of(p) == [] and p.linked() == [T1]


def test_the_ticket_side_links_a_problem_in_any_status_without_touching_the_sla():
    t = Ticket.register(
        id=UUID(T1[0]), number=T1[1], customer="客户A", contact=Contact("李四"),
        channel=Channel.PHONE, title="无法登录", description="", affected_system="ERP",
        reported_at=T0, actor="agent", at=T0)
    t.invalidate(reason="重复报障", actor="agent", at=at(1))  # a final status
    t.collect_events()
    before = {k: v for k, v in t.__dict__.items() if k not in ("problems", "problem_numbers")}
    assert t.link_problem(problem_id=str(PROBLEM_ID), problem_number="PRB-20310314-001",
                          actor="eng-li", at=at(2))
    [e] = t.collect_events()
    assert type(e) is Ticket.ProblemLinked and e.TOPIC == "opsledger.ticket:Ticket.ProblemLinked"
    assert (e.problem_id, e.problem_number, e.actor) == (str(PROBLEM_ID), "PRB-20310314-001", "eng-li")
    assert t.problems == (str(PROBLEM_ID),) and t.problem_numbers == ("PRB-20310314-001",)
    after = {k: v for k, v in t.__dict__.items()
             if k not in ("problems", "problem_numbers", "_modified_on", "_version", "event_trail")}
    # (the trail of event names the milestone clocks read, ADR 0062, grows by every event)
    assert after == {k: v for k, v in before.items()
                     if k not in ("_modified_on", "_version", "event_trail")}
    assert t.link_problem(problem_id=str(PROBLEM_ID), problem_number="PRB-20310314-001",
                          actor="eng-li", at=at(3)) is False
    assert t.collect_events() == []


# ------------------------------------------------------- root cause, workaround


@pytest.mark.parametrize("status", [S.RECORDED, S.KNOWN_ERROR, S.RESOLVED])
def test_root_cause_and_workaround_are_recorded_and_revised_until_closed(status):
    p = given(status)
    p.record_root_cause(root_cause=" 索引缺失 ", actor="exp-zhao", at=at(10))
    p.record_workaround(workaround="高峰期前重启连接池", actor="eng-li", at=at(11))
    p.record_workaround(workaround="临时把连接池调到 100", actor="eng-li", at=at(12))
    types = [(type(e), e.timestamp) for e in events_of(p)]
    assert types == [(Problem.RootCauseRecorded, at(10)), (Problem.WorkaroundRecorded, at(11)),
                     (Problem.WorkaroundRecorded, at(12))]
    assert (p.root_cause, p.workaround) == ("索引缺失", "临时把连接池调到 100")


@pytest.mark.parametrize("command,field", [
    (lambda p: p.record_root_cause(root_cause=" ", actor="a", at=at(5)), "root_cause"),
    (lambda p: p.record_workaround(workaround="", actor="a", at=at(5)), "workaround"),
])
def test_an_empty_root_cause_or_workaround_is_refused(command, field):
    e = refused(given(S.RECORDED), command, InvalidCommand)
    assert [x.field for x in e.errors] == [field]  # type: ignore[attr-defined]


# -------------------------------------------------------------- known error


@pytest.mark.parametrize("first", ["root_cause", "workaround"])
def test_a_root_cause_or_a_workaround_is_enough_for_a_known_error(first):
    p = given(S.RECORDED)
    if first == "root_cause":
        p.record_root_cause(root_cause="连接池太小", actor="a", at=at(5))
    else:
        p.record_workaround(workaround="重启连接池", actor="a", at=at(5))
    p.mark_known_error(actor="eng-li", at=at(6))
    assert [type(e) for e in events_of(p)][-1] is Problem.KnownErrorMarked
    assert p.status is S.KNOWN_ERROR and p.known_error and p.known_error_at == at(6)


def test_a_known_error_without_root_cause_or_workaround_is_a_409_naming_both():
    e = refused(given(S.RECORDED), lambda p: p.mark_known_error(actor="a", at=at(5)),
                TransitionNotAllowed)
    assert e.missing == ("root_cause", "workaround") and e.record == "problem"  # type: ignore[attr-defined]
    assert e.state == "recorded"  # type: ignore[attr-defined]


# ------------------------------------------------------------ resolve, close


@pytest.mark.parametrize("status", [S.RECORDED, S.KNOWN_ERROR])
def test_resolve_records_the_resolution_and_the_change(status):
    p = given(status)
    p.resolve(resolution=" 扩容连接池并修复泄漏 ", change_id="c-1", actor="eng-li", at=at(7))
    [e] = events_of(p)
    assert type(e) is Problem.Resolved
    assert (e.resolution, e.change_id, e.actor, e.timestamp) == ("扩容连接池并修复泄漏", "c-1", "eng-li", at(7))
    assert p.status is S.RESOLVED and p.resolved_at == at(7)
    assert p.known_error is (status is S.KNOWN_ERROR)  # resolving does not undo the fact


@pytest.mark.parametrize("text", ["", "  ", "已解决", "done", "Fixed.", "ok!", "好"])
def test_a_vague_resolution_is_refused(text):
    e = refused(given(S.KNOWN_ERROR), lambda p: p.resolve(resolution=text, actor="a", at=at(7)),
                ResolutionTooVague)
    assert [x.field for x in e.errors] == ["resolution"]  # type: ignore[attr-defined]


def test_close_ends_a_resolved_problem():
    p = given(S.RESOLVED)
    p.close(actor="mgr-wang", at=at(8))
    [e] = events_of(p)
    assert type(e) is Problem.Closed and (e.actor, e.timestamp) == ("mgr-wang", at(8))
    assert p.status is S.CLOSED and p.closed_at == at(8) and p.allowed_commands() == ()


# --------------------------------------------------------- the ALLOWED table

COMMANDS: dict[str, Callable[[Problem], Any]] = {
    "classify": lambda p: p.classify(category="db", actor="a", at=at(20)),
    "link_ticket": lambda p: p.link_ticket(ticket_id=T2[0], ticket_number=T2[1], actor="a", at=at(20)),
    "record_root_cause": lambda p: p.record_root_cause(root_cause="x", actor="a", at=at(20)),
    "record_workaround": lambda p: p.record_workaround(workaround="y", actor="a", at=at(20)),
    "mark_known_error": lambda p: p.mark_known_error(actor="a", at=at(20)),
    "resolve": lambda p: p.resolve(resolution="更换故障硬盘", actor="a", at=at(20)),
    "close": lambda p: p.close(actor="a", at=at(20)),
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_outside_its_statuses_is_a_409_naming_state_and_allowed(status, name):
    p = given(status)
    if name in ALLOWED[status]:
        if name == "mark_known_error":
            p.record_workaround(workaround="w", actor="a", at=at(19))
        COMMANDS[name](p)
        assert events_of(p)
        return
    e = refused(p, COMMANDS[name], TransitionNotAllowed)
    assert e.state == status.value and e.command == name  # type: ignore[attr-defined]
    assert e.allowed == ALLOWED[status] and e.record == "problem"  # type: ignore[attr-defined]


def test_replaying_the_events_rebuilds_an_equal_problem():
    p = record(tickets=(T1,))
    p.classify(priority="P2", actor="a", at=at(1))
    p.link_ticket(ticket_id=T2[0], ticket_number=T2[1], actor="a", at=at(2))
    p.record_workaround(workaround="重启", actor="a", at=at(3))
    p.mark_known_error(actor="a", at=at(4))
    p.resolve(resolution="修复连接泄漏", change_id=None, actor="a", at=at(5))
    p.close(actor="a", at=at(6))
    events = p.collect_events()
    assert replayed(p, events).__dict__ == p.__dict__
