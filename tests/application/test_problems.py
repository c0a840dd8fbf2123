"""Problem use cases (ADR 0019): every link is two events, one per side, saved in one
transaction, from either side; concurrent links lose nothing; refusals record nothing.

Runs on every store (memory, SQLite, PostgreSQL) through the ``services`` fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.container import Services
from application import problems as uc
from application.commands.problems import (
    ClassifyProblem,
    CloseProblem,
    LinkTicket,
    LinkTickets,
    MarkKnownError,
    RecordProblem,
    RecordRootCause,
    RecordWorkaround,
    ResolveProblem,
)
from application.commands.tickets import LinkProblem, RegisterTicket
from application.desk import ServiceDesk
from application.idempotency import IdempotencyKey
from domain.change import Change, Origin, OriginKind
from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.numbering import record_id_for
from domain.problem import Problem
from domain.ticket import Contact, Ticket
from tests.support.threads import released_together


def ticket(desk: ServiceDesk, title: str = "数据库连接超时", system: str = "ERP") -> Ticket:
    return desk.handle(RegisterTicket(customer="客户A", contact=Contact("李四"), channel="phone",
                                      title=title, affected_system=system), actor="agent").ticket


def problem(desk: ServiceDesk, *tickets: Ticket, **overrides: Any) -> Problem:
    kwargs: dict[str, Any] = dict(title="连接池耗尽", description="高峰期连接超时",
                                  tickets=[str(t.id) for t in tickets])
    kwargs.update(overrides)
    return desk.handle(RecordProblem(**kwargs), actor="eng-li").aggregate  # type: ignore[no-any-return]


def saves(desk: ServiceDesk, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records, per ``desk.save`` call, the event types saved (one call = one transaction)."""
    calls: list[list[str]] = []
    real = desk.save

    def spy(*aggregates: Any) -> Any:
        calls.append([type(e).__name__ for a in aggregates if a is not None
                      for e in a.pending_events])
        return real(*aggregates)

    monkeypatch.setattr(desk, "save", spy)
    return calls


def linked_both_ways(desk: ServiceDesk, p: Problem, tickets: list[Ticket]) -> None:
    p = uc.get_problem(desk, p.id)
    assert sorted(i for i, _ in p.linked()) == sorted(str(t.id) for t in tickets)
    for t in tickets:
        assert desk.get_ticket(t.id).problems.count(str(p.id)) == 1


# ------------------------------------------------------------------ record


def test_record_from_tickets_links_each_ticket_back_in_the_same_transaction(services, monkeypatch):
    desk = services.desk
    t1, t2 = ticket(desk), ticket(desk, system="DB")
    calls = saves(desk, monkeypatch)
    p = problem(desk, t1, t2, tickets=[t1.number, str(t2.id), t1.number])
    assert calls == [["Recorded", "ProblemLinked", "ProblemLinked", "NumberIssued"]] or \
        calls == [["Recorded", "ProblemLinked", "ProblemLinked", "Opened", "NumberIssued"]]
    assert p.number.startswith("PRB-") and p.id == record_id_for(p.number)
    assert p.linked() == [(str(t1.id), t1.number), (str(t2.id), t2.number)]
    assert p.affected_system == "ERP"  # the first ticket's
    linked_both_ways(desk, p, [t1, t2])
    assert desk.get_ticket(t1.id).problem_numbers == (p.number,)


def test_record_on_its_own(services):
    p = problem(services.desk, affected_system="OA")
    assert p.linked() == [] and p.affected_system == "OA"
    assert [h.type for h in uc.problem_history(services.desk, p.number)] == ["Recorded"]


def test_record_naming_unknown_tickets_is_a_422_naming_them_and_records_nothing(services):
    desk = services.desk
    t1 = ticket(desk)
    before = desk.max_position()
    with pytest.raises(InvalidCommand) as info:
        problem(desk, tickets=[str(t1.id), "SR-20990101-001", "nonsense"])
    assert [(e.field, "SR-20990101-001" in e.message or "nonsense" in e.message)
            for e in info.value.errors] == [("tickets", True), ("tickets", True)]
    assert desk.max_position() == before
    assert desk.get_ticket(t1.id).problems == ()
    assert problem(desk).number.endswith("-001")  # no number was used up


# ------------------------------------------------------------------ linking


@pytest.mark.parametrize("side", ["problem", "ticket"])
def test_a_link_from_either_side_saves_both_sides_in_one_transaction(services, monkeypatch, side):
    desk = services.desk
    t1, t2 = ticket(desk), ticket(desk)
    p = problem(desk, t1)
    calls = saves(desk, monkeypatch)
    if side == "problem":  # link_ticket answers the problem
        result = desk.handle(LinkTicket(ref=p.number, ticket_id=t2.number), actor="eng-li")
        assert calls == [["TicketLinked", "ProblemLinked"]]
        assert isinstance(result.aggregate, Problem) and result.aggregate.version == 2
    else:  # link_problem, from the ticket's side, answers the ticket
        result = desk.handle(LinkProblem(ref=t2.number, problem_id=p.number), actor="eng-li")
        assert calls == [["ProblemLinked", "TicketLinked"]]
        assert isinstance(result.aggregate, Ticket) and result.aggregate.problems == (str(p.id),)
    linked_both_ways(desk, p, [t1, t2])


def test_linking_again_from_either_side_records_nothing(services):
    desk = services.desk
    t1 = ticket(desk)
    p = problem(desk, t1)
    before = desk.max_position()
    desk.handle(LinkTicket(ref=p.id, ticket_id=str(t1.id)), actor="a")
    desk.handle(LinkProblem(ref=t1.id, problem_id=p.number), actor="a")
    desk.handle(LinkTickets(ref=p.id, ticket_ids=[t1.number, str(t1.id)]), actor="a")
    assert desk.max_position() == before
    linked_both_ways(desk, p, [t1])


def test_link_tickets_links_several_in_one_step(services, monkeypatch):
    desk = services.desk
    t1, t2, t3 = ticket(desk), ticket(desk), ticket(desk)
    p = problem(desk, t1)
    calls = saves(desk, monkeypatch)
    desk.handle(LinkTickets(ref=p.id, ticket_ids=[t1.number, t2.number, str(t3.id)]),
                actor="eng-li")
    assert calls == [["TicketLinked", "TicketLinked", "ProblemLinked", "ProblemLinked"]]
    linked_both_ways(desk, p, [t1, t2, t3])


def test_a_link_that_fails_half_way_records_neither_side(services, monkeypatch):
    desk = services.desk
    t1, t2 = ticket(desk), ticket(desk)
    p = problem(desk)
    real = Ticket.link_problem

    def failing(self: Ticket, **kwargs: Any) -> bool:
        if self.id == t2.id:
            raise RuntimeError("crash after the problem side and the first ticket")
        return real(self, **kwargs)

    monkeypatch.setattr(Ticket, "link_problem", failing)
    with pytest.raises(RuntimeError):
        desk.handle(LinkTickets(ref=p.id, ticket_ids=[t1.number, t2.number]), actor="a")
    assert uc.get_problem(desk, p.id).version == 1
    assert desk.get_ticket(t1.id).problems == () and desk.get_ticket(t1.id).version == t1.version


def test_linking_to_a_closed_problem_is_a_409_from_either_side(services):
    desk = services.desk
    t1, t2 = ticket(desk), ticket(desk)
    p = problem(desk, t1)
    desk.handle(RecordWorkaround(ref=p.id, workaround="重启连接池"), actor="a")
    desk.handle(ResolveProblem(ref=p.id, resolution="扩容连接池到 200"), actor="a")
    desk.handle(CloseProblem(ref=p.id), actor="a")
    with pytest.raises(TransitionNotAllowed) as info:
        desk.handle(LinkProblem(ref=t2.id, problem_id=p.number), actor="a")
    assert (info.value.state, info.value.record) == ("closed", "problem")
    with pytest.raises(TransitionNotAllowed):
        # the state before the ref
        desk.handle(LinkTicket(ref=p.id, ticket_id="SR-20990101-001"), actor="a")
    assert desk.get_ticket(t2.id).problems == ()


def test_link_problem_with_an_unknown_problem_is_a_422_naming_problem_id(services):
    desk = services.desk
    t1 = ticket(desk)
    with pytest.raises(InvalidCommand) as info:
        desk.handle(LinkProblem(ref=t1.id, problem_id="PRB-20990101-001"), actor="a")
    assert [e.field for e in info.value.errors] == ["problem_id"]


def test_concurrent_links_from_both_sides_lose_nothing(services):
    desk = services.desk
    tickets = [ticket(desk) for _ in range(6)]
    p = problem(desk)
    shared = tickets[0]  # linked by two threads at once, from both sides
    works: list[Callable[[], Any]] = [
        lambda t=t: desk.handle(LinkTicket(ref=p.id, ticket_id=t.number), actor="a")
        for t in tickets[:3]
    ] + [
        lambda t=t: desk.handle(LinkProblem(ref=t.id, problem_id=p.number), actor="b")
        for t in tickets[3:]
    ] + [lambda: desk.handle(LinkProblem(ref=shared.id, problem_id=p.number), actor="c")]
    released_together(len(works), lambda i: works[i](), timeout=120, what="a link")
    linked_both_ways(desk, p, tickets)
    history = [h.type for h in uc.problem_history(desk, p.id)]
    assert history.count("TicketLinked") == len(tickets)  # the shared ticket once


# ------------------------------------------------------- the other commands


def a_change(desk: ServiceDesk, p: Problem, number: str = "CHG-20261121-001") -> Change:
    c = Change.request(id=record_id_for(number), number=number, kind="normal",
                       origin=Origin(OriginKind.PROBLEM, str(p.id), p.number),
                       title="扩容连接池", description="连接池上限 200", actor="eng-li",
                       at=datetime.now(UTC))
    desk.save(c)
    return c


def test_resolve_names_an_existing_change_by_number_or_id(services):
    desk = services.desk
    p = problem(desk)
    c = a_change(desk, p)
    with pytest.raises(InvalidCommand) as info:
        desk.handle(ResolveProblem(ref=p.id, resolution="扩容连接池到 200",
                                   change_id="CHG-20990101-001"), actor="a")
    assert [e.field for e in info.value.errors] == ["change_id"]
    assert uc.get_problem(desk, p.id).version == 1
    done = desk.handle(ResolveProblem(ref=p.id, resolution="扩容连接池到 200", change_id=c.number),
                       actor="a")
    assert done.aggregate.change_id == str(c.id) and done.aggregate.status == "resolved"


def test_the_whole_lifecycle_is_in_the_history_with_actors(services):
    desk = services.desk
    p = problem(desk, ticket(desk))
    desk.handle(ClassifyProblem(ref=p.id, category="database", priority="P2"), actor="disp")
    desk.handle(RecordRootCause(ref=p.id, root_cause="连接泄漏"), actor="exp")
    desk.handle(RecordWorkaround(ref=p.id, workaround="定时重启"), actor="eng")
    desk.handle(MarkKnownError(ref=p.id), actor="eng")
    desk.handle(ResolveProblem(ref=p.id, resolution="修复连接泄漏并发布补丁"), actor="eng")
    desk.handle(CloseProblem(ref=p.id), actor="mgr")
    history = uc.problem_history(desk, p.number)
    assert [(h.type, h.actor) for h in history] == [
        ("Recorded", "eng-li"), ("Classified", "disp"), ("RootCauseRecorded", "exp"),
        ("WorkaroundRecorded", "eng"), ("KnownErrorMarked", "eng"), ("Resolved", "eng"),
        ("Closed", "mgr")]
    assert all(h.topic.startswith("opsledger.problem:Problem.") for h in history)


def test_an_idempotency_key_repeat_records_nothing(services):
    desk = services.desk
    key = IdempotencyKey("k-1", "fingerprint")
    first = desk.handle(RecordProblem(title="t", description="d"), actor="a", idempotency=key)
    again = desk.handle(RecordProblem(title="t", description="d"), actor="a", idempotency=key)
    assert again.replayed and again.aggregate.id == first.aggregate.id
    assert problem(desk).number.endswith("-002")


def test_as_of_shows_the_problem_as_it_stood(services: Services):
    desk = services.desk
    p = problem(desk)
    between = datetime.now(UTC)
    desk.handle(RecordWorkaround(ref=p.id, workaround="重启"), actor="a")
    assert uc.get_problem(desk, p.id, as_of=between).workaround is None
    assert uc.get_problem(desk, p.id).workaround == "重启"


def test_a_409_names_the_link_command_that_was_refused(services):
    desk = services.desk
    p = problem(desk)
    desk.handle(ResolveProblem(ref=p.id, resolution="扩容连接池到 200"), actor="a")
    desk.handle(CloseProblem(ref=p.id), actor="a")
    for name, call in (("link_ticket", lambda: desk.handle(LinkTicket(ref=p.id, ticket_id="x"),
                                                           actor="a")),
                       ("link_tickets", lambda: desk.handle(LinkTickets(ref=p.id, ticket_ids=["x"]),
                                                            actor="a"))):
        with pytest.raises(TransitionNotAllowed) as info:
            call()
        assert info.value.command == name
