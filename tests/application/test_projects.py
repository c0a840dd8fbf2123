"""Project use cases (ADR 0028) on every store: the contract co-saved on the customer, the
project's policy and calendar governing its tickets, routines and their runs, the abnormal-run
process manager exactly once across a restart, surveys raising improvements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.container import Services, build
from adapters.settings import Settings
from application import projects as uc
from application.commands.catalog import PutCalendar, PutPolicy
from application.commands.projects import (
    AcceptProject,
    Approve,
    CloseProject,
    Contract,
    ContractProject,
    PlanProject,
    RaiseProjectImprovement,
    RecordRoutine,
    RecordSurvey,
    ScheduleRoutine,
)
from application.commands.tickets import OpenRoutineTicket, RegisterTicket
from application.idempotency import IdempotencyKey
from application.ports import FixedClock
from application.routine_tickets import ACTOR as ROUTINE_ACTOR
from application.routine_tickets import NAME, RoutineTicketOpener, open_command
from domain.customer import Customer
from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.project import Project
from domain.sla import CalendarDefinition, PolicyDefinition
from domain.ticket import Contact, Ticket

SH = ZoneInfo("Asia/Shanghai")
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def _build(url: str, clock: FixedClock) -> Services:
    return build(Settings(database_url=url), clock=clock)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(local(2026, 11, 2, 8, 0))


@pytest.fixture
def svc(store_url: str, clock: FixedClock) -> Iterator[Services]:
    built = _build(store_url, clock)
    try:
        yield built
    finally:
        built.close()


def define_7x24_policy(svc: Services) -> None:
    calendar = CalendarDefinition.parse(
        name="Ops 7x24", timezone="Asia/Shanghai", base=None,
        working_hours={d: [["00:00", "24:00"]] for d in (
            "mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    svc.desk.handle(PutCalendar(slug="ops-7x24", definition=calendar), actor="admin")
    policy = PolicyDefinition.parse(
        name="Gold", calendar="china-5x8",
        targets={"P1": {"response": "PT1H", "resolution": "PT2H"},
                 "P2": {"response": "PT2H", "resolution": "PT8H"},
                 "P3": {"response": "PT4H", "resolution": "P1D"}},
        warning_thresholds=[0.5], escalation={"manager": "mgr-wang", "expert": "exp-zhao"})
    svc.desk.handle(PutPolicy(slug="gold", definition=policy), actor="admin")


CONTRACT = Contract(number="HT-2026-001", services=["巡检", "故障处理"], start=date(2026, 11, 1),
                    end=date(2027, 10, 31), budget="120万")


def contract(svc: Services, **over: Any) -> Project:
    kwargs: dict[str, Any] = dict(name="ACME 2026 运维", customer="acme", contract=CONTRACT,
                                  sla_policy="default", calendar="china-5x8")
    kwargs.update(over)
    return svc.desk.handle(ContractProject(**kwargs), actor="sales-li").aggregate  # type: ignore[no-any-return]


def delivering(svc: Services, **over: Any) -> Project:
    p = contract(svc, **over)
    svc.desk.handle(Approve(ref=p.id, project_manager="pm-zhang", team=["eng-li", "eng-wu"]),
                    actor="dir")
    return svc.desk.handle(PlanProject(ref=p.id, targets="P1 4h", scope="ERP", staff=["eng-li"],
                                       budget="120万", assessment="monthly review"),
                           actor="pm-zhang").aggregate


def register(svc: Services, reported_at: datetime, customer: str = "acme", **kw: Any) -> Ticket:
    return svc.desk.handle(RegisterTicket(customer=customer, contact=Contact("李四"),
                                          channel="phone", title="ERP 登录失败",
                                          reported_at=reported_at, type="fault", category="软件问题",
                                          urgency="urgent", impact="some", importance="important",
                                          **kw), actor="agent").ticket


# ------------------------------------------------------------------ contract


def test_contracting_numbers_the_project_and_records_the_contract_on_the_customer(svc):
    p = contract(svc)
    assert p.number.startswith("PRJ-20261102-") and p.status == "contracted"
    assert uc.get_project(svc.desk, p.number).id == p.id
    c: Customer = svc.desk.load(Customer.id_for("acme"))
    assert [(t.project_id, t.start, t.end, t.sla_policy, t.calendar) for t in c.contracts] == [
        (str(p.id), date(2026, 11, 1), date(2027, 10, 31), "default", "china-5x8")]
    assert [x.id for x in uc.list_projects(svc.desk, customer=" acme ")] == [p.id]
    assert uc.list_projects(svc.desk, statuses=["closed"]) == []


def test_an_unknown_policy_and_calendar_are_422s_naming_both_and_save_nothing(svc):
    with pytest.raises(InvalidCommand) as e:
        contract(svc, sla_policy="nope", calendar="nada")
    assert [f.field for f in e.value.errors] == ["sla_policy", "calendar"]
    assert uc.list_projects(svc.desk) == []


def test_the_lifecycle_refuses_out_of_order_commands_with_409s(svc):
    p = contract(svc)
    with pytest.raises(TransitionNotAllowed) as e:
        svc.desk.handle(CloseProject(ref=p.id), actor="x")
    assert e.value.state == "contracted" and e.value.allowed == ("approve",)
    svc.desk.handle(Approve(ref=p.id, project_manager="pm", team=["a"]), actor="dir")
    with pytest.raises(TransitionNotAllowed) as e:
        svc.desk.handle(AcceptProject(ref=p.id, signer="c", passed=True, notes=""), actor="x")
    assert e.value.missing == ("plan",)


def test_a_failed_acceptance_keeps_delivery_until_an_improvement_is_raised(svc, clock):
    p = delivering(svc)
    svc.desk.handle(AcceptProject(ref=p.id, signer="客户王", passed=False, notes="报表缺失"), actor="pm")
    assert uc.get_project(svc.desk, p.id).status == "planned"
    with pytest.raises(TransitionNotAllowed) as e:
        svc.desk.handle(AcceptProject(ref=p.id, signer="客户王", passed=True, notes=""), actor="pm")
    assert e.value.missing == ("improvement",)
    clock.advance(minutes=1)
    svc.desk.handle(RaiseProjectImprovement(ref=p.id, action="补交月报", owner="pm-zhang",
                                            due=date(2026, 11, 9), source="acceptance"), actor="pm")
    svc.desk.handle(AcceptProject(ref=p.id, signer="客户王", passed=True, notes=""), actor="pm")
    assert svc.desk.handle(CloseProject(ref=p.id), actor="pm").aggregate.status == "closed"


# ------------------------------------------------------- membership and SLA


def test_tickets_in_the_period_take_the_projects_policy_and_calendar(svc, clock):
    define_7x24_policy(svc)
    contract(svc, sla_policy="gold", calendar="ops-7x24")
    clock.set(local(2026, 11, 7, 10, 0))  # a Saturday: working time only in 7x24
    inside = register(svc, local(2026, 11, 7, 10, 0))
    d = inside.sla_deadlines
    assert (d.policy, d.calendar, d.policy_source) == ("gold", "ops-7x24", "project")
    assert d.response_due == local(2026, 11, 7, 12, 0)  # P2 2h, on a Saturday
    before = register(svc, local(2026, 10, 31, 10, 0))  # before the contract
    assert (before.sla_deadlines.policy, before.sla_deadlines.calendar) == ("default",
                                                                            "china-5x8")
    own = register(svc, local(2026, 11, 7, 10, 0), sla_policy="default")  # its own wins
    assert own.sla_deadlines.policy == "default"
    other = register(svc, local(2026, 11, 7, 10, 0), customer="other")
    assert other.sla_deadlines.policy == "default"
    # The project's calendar is what a refresh compares against: unchanged, nothing to do;
    # redefined, the ticket's clocks are recomputed on it.
    assert svc.desk.sla.outdated(svc.desk.get_ticket(inside.id)) is None
    svc.desk.handle(PutCalendar(slug="ops-7x24",
                                definition=CalendarDefinition.parse(
        name="Ops 7x20", timezone="Asia/Shanghai", base=None,
        working_hours={d: [["02:00", "22:00"]] for d in (
            "mon", "tue", "wed", "thu", "fri", "sat", "sun")})), actor="admin")
    assert svc.desk.sla.outdated(svc.desk.get_ticket(inside.id)) == "calendar_changed"


# ---------------------------------------------------------------- routines


def test_scheduling_checks_the_rule_and_answers_the_new_routine(svc):
    p = delivering(svc)
    with pytest.raises(InvalidCommand) as e:
        svc.desk.handle(ScheduleRoutine(ref=p.id, name="x", kind="inspection",
                                        rrule="FREQ=SOMETIMES", on_holiday="skip"), actor="pm")
    assert [f.field for f in e.value.errors] == ["rrule"]
    p = svc.desk.handle(ScheduleRoutine(ref=p.id, name="月度巡检", kind="inspection",
                                        rrule="FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9",
                                        on_holiday="next_workday"), actor="pm").aggregate
    r = p.routines[-1]
    assert r.starts == local(2026, 11, 1, 9, 0) and r.until is None


def test_routine_runs_are_due_overdue_done_or_abnormal(svc, clock):
    p = delivering(svc)
    p = svc.desk.handle(ScheduleRoutine(ref=p.id, name="日检", kind="inspection", rrule=WEEKDAYS,
                                        on_holiday="skip"), actor="pm").aggregate
    rid = p.routines[-1].routine_id
    clock.set(local(2026, 11, 4, 10, 0))  # Wednesday morning
    svc.desk.handle(RecordRoutine(ref=p.id, routine_id=rid, run_at=local(2026, 11, 2, 9, 0),
                                  verdict="normal", findings="", signer="客户王"), actor="eng-li")
    runs = uc.routine_runs(svc.desk, p.id, now=clock.now(), due_before=local(2026, 11, 5))
    assert [(r.run_at.day, r.status) for r in runs] == [
        (2, "done"), (3, "overdue"), (4, "due")]
    assert runs[0].record is not None and runs[0].record.signer == "客户王"
    assert runs[2].overdue_after == local(2026, 11, 4, 18, 0)
    with pytest.raises(InvalidCommand) as e:  # not an occurrence (a Saturday)
        svc.desk.handle(RecordRoutine(ref=p.id, routine_id=rid, run_at=local(2026, 11, 7, 9, 0),
                                      verdict="normal", findings="", signer="c"), actor="eng")
    assert [f.field for f in e.value.errors] == ["run_at"]
    with pytest.raises(TransitionNotAllowed):  # the same run twice
        svc.desk.handle(RecordRoutine(ref=p.id, routine_id=rid, run_at=local(2026, 11, 2, 9, 0),
                                      verdict="normal", findings="", signer="c"), actor="eng")


def opener(svc: Services) -> RoutineTicketOpener:
    return svc.runner.views[NAME]  # type: ignore[return-value]


def abnormal_run(svc: Services, clock: FixedClock) -> tuple[Project, str, datetime]:
    p = delivering(svc)
    p = svc.desk.handle(ScheduleRoutine(ref=p.id, name="机房巡检", kind="inspection", rrule=WEEKDAYS,
                                        on_holiday="skip"), actor="pm").aggregate
    rid = p.routines[-1].routine_id
    clock.set(local(2026, 11, 3, 10, 0))
    run_at = local(2026, 11, 3, 9, 0)
    svc.desk.handle(RecordRoutine(ref=p.id, routine_id=rid, run_at=run_at, verdict="abnormal",
                                  findings="UPS 告警", signer="客户王"), actor="eng-li")
    return p, rid, run_at


def routine_tickets(svc: Services) -> list[Ticket]:
    found = []
    for n, e in svc.desk.read_log(0, 10_000):
        if type(e) is Ticket.Registered and (e.source or "").startswith("routine:"):
            found.append(svc.desk.get_ticket(e.originator_id))
    return found


def test_an_abnormal_run_opens_one_ticket_linked_both_ways(svc, clock):
    p, rid, run_at = abnormal_run(svc, clock)
    svc.runner.catch_up(opener(svc))
    svc.runner.catch_up(opener(svc))
    [t] = routine_tickets(svc)
    run = uc.get_project(svc.desk, p.id).run(rid, run_at)
    assert run is not None and (run.ticket_id, run.ticket_number) == (str(t.id), t.number)
    assert t.source is not None and rid in t.source and str(p.id) in t.source
    assert t.customer == "acme" and "UPS 告警" in t.description
    # Replaying the whole log (a rebuild) opens nothing more.
    svc.runner.rebuild(NAME)
    assert len(routine_tickets(svc)) == 1


class CrashingMove:
    """A tracking position whose first move fails: the process dies after the ticket is
    saved and before its position moves."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.crashed = inner, inner.name, False

    def position(self) -> int:
        return self.inner.position()

    def move(self, start: int, end: int) -> None:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("killed before the tracking moved")
        self.inner.move(start, end)

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("store_kind", ["sqlite", pytest.param(
    "postgres", marks=pytest.mark.postgres)], indirect=True)
def test_exactly_once_across_a_restart_between_the_save_and_the_tracking(
        store_url, clock):
    first = _build(store_url, clock)
    try:
        abnormal_run(first, clock)
        pm = opener(first)
        pm.tracking = CrashingMove(pm.tracking)
        before = pm.position()
        with pytest.raises(RuntimeError):
            first.runner.catch_up(pm)
        assert pm.position() == before and len(routine_tickets(first)) == 1
    finally:
        first.close()
    second = _build(store_url, clock)  # the restart: same stores, a new process manager
    try:
        assert opener(second).position() == before
        second.runner.catch_up(opener(second))
        assert opener(second).position() == second.desk.max_position()
        assert len(routine_tickets(second)) == 1
    finally:
        second.close()


def test_two_openers_racing_on_one_run_open_one_ticket(svc, clock, monkeypatch):
    p, rid, run_at = abnormal_run(svc, clock)
    command, key = open_command(p.id, rid, run_at)
    a = svc.desk.handle(command, actor=ROUTINE_ACTOR, idempotency=key)
    assert a.created and a.aggregate.source is not None
    # The second one comes with a stale view of the project: the idempotency key still holds.
    monkeypatch.setattr(OpenRoutineTicket, "decide", lambda *_: pytest.fail("re-ran"))
    b = svc.desk.handle(command, actor=ROUTINE_ACTOR, idempotency=key)
    assert b.replayed and b.aggregate.id == a.aggregate.id
    monkeypatch.undo()
    # Without the key, the project's link says the run has its ticket: nothing is opened.
    assert not svc.desk.handle(command, actor=ROUTINE_ACTOR).changed
    assert len(routine_tickets(svc)) == 1


# ------------------------------------------------------------ satisfaction


def test_a_low_survey_score_raises_an_improvement_for_the_project_manager(svc, clock):
    p = delivering(svc)
    clock.set(local(2026, 11, 6, 10, 0))  # Friday
    p = svc.desk.handle(RecordSurvey(ref=p.id, timeliness=4, effectiveness=2, attitude=5,
                                     comment="处理慢"), actor="quality").aggregate
    assert p.surveys[-1].mean == 3.67
    [imp] = p.improvements
    assert (imp.owner, imp.source, imp.due) == ("pm-zhang", "survey", date(2026, 11, 13))
    p = svc.desk.handle(RecordSurvey(ref=p.id, timeliness=4, effectiveness=3, attitude=5,
                                     comment=""), actor="quality").aggregate
    assert len(p.improvements) == 1


def test_idempotent_contract_replays_the_first_answer(svc):
    key = IdempotencyKey("k-1", "f")
    command = ContractProject(
        name="A", customer="acme", sla_policy="default", calendar="china-5x8",
        contract=Contract(number="1", services=["x"], start=date(2026, 1, 1),
                          end=date(2026, 12, 31)))
    a = svc.desk.handle(command, actor="a", idempotency=key)
    b = svc.desk.handle(command, actor="a", idempotency=key)
    assert b.replayed and a.aggregate.id == b.aggregate.id and len(uc.list_projects(svc.desk)) == 1
