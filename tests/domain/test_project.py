"""The Project aggregate (DOMAIN §5, ADR 0028), given/when/then: given events, when a command,
then new events or a named error, and nothing recorded on refusal. The event fields are the
stored contract the service reports read."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.project import ALLOWED, Project, Status

CST = timezone(timedelta(hours=8), "CST")
T0 = datetime(2031, 3, 14, 9, 30, tzinfo=CST)
PID = UUID("00000000-0000-4000-8000-0000000000b1")
RUN = datetime(2031, 4, 7, 9, 0, tzinfo=CST)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def contracted(**over: Any) -> Project:
    kw: dict[str, Any] = dict(
        id=PID, number="PRJ-20310314-001", name=" ACME  运维 ", customer="  acme  corp ",
        contract_number="HT-1", services=["巡检", "巡检", " 故障处理 "], start=date(2031, 4, 1),
        end=date(2032, 3, 31), budget=" ", sla_policy="default", calendar="china-5x8",
        actor="sales", at=T0)
    kw.update(over)
    return Project.contract(**kw)


def delivering() -> Project:
    p = contracted()
    p.approve(project_manager="pm", team=["a", "b"], actor="dir", at=at(1))
    p.make_plan(targets="t", scope="s", staff=["a"], budget="b", assessment="m",
                actor="pm", at=at(2))
    p.schedule_routine(routine_id="r1", name="巡检", kind="inspection",
                       rrule="FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9", on_holiday="skip",
                       starts=datetime(2031, 4, 1, 9, tzinfo=CST), until=None,
                       actor="pm", at=at(3))
    return p


def new_events(p: Project, before: int) -> list[Any]:
    return p.pending_events[before:]


def test_contracting_normalises_and_records_every_contract_field():
    p = contracted()
    [e] = p.pending_events
    assert type(e) is Project.Contracted and e.timestamp == T0 and e.actor == "sales"
    assert (e.number, e.name, e.customer, e.contract_number, e.services) == (
        "PRJ-20310314-001", "ACME 运维", "acme corp", "HT-1", ("巡检", "故障处理"))
    assert (e.contract_start, e.contract_end, e.budget, e.sla_policy, e.calendar) == (
        date(2031, 4, 1), date(2032, 3, 31), None, "default", "china-5x8")
    assert p.status is Status.CONTRACTED and p.covers(date(2032, 3, 31))
    assert not p.covers(date(2032, 4, 1))


def test_a_contract_with_missing_fields_names_them_all():
    with pytest.raises(InvalidCommand) as e:
        contracted(name=" ", services=[], contract_number="", end=date(2031, 3, 1))
    assert [f.field for f in e.value.errors] == [
        "contract.services", "name", "contract.number", "contract.end"]


def test_every_status_admits_only_its_commands():
    p = contracted()
    for command in ("plan", "schedule_routine", "accept", "close"):
        assert command not in ALLOWED[Status.CONTRACTED]
    with pytest.raises(TransitionNotAllowed) as e:
        p.make_plan(targets="t", scope="s", staff=["a"], budget="b", assessment="m",
                    actor="pm", at=at(1))
    assert e.value.record == "project" and e.value.state == "contracted"
    assert len(p.pending_events) == 1


def test_approve_then_plan_record_manager_team_and_plan():
    p = contracted()
    p.approve(project_manager=" pm ", team=["a", "a", "b"], actor="dir", at=at(1))
    p.make_plan(targets="P1 4h", scope="ERP", staff=["a"], budget="10万", assessment="月评",
                duration="12 个月", actor="pm", at=at(2))
    approved, planned = new_events(p, 1)
    assert (approved.project_manager, approved.team) == ("pm", ("a", "b"))
    assert (planned.targets, planned.scope, planned.staff, planned.budget, planned.assessment,
            planned.duration) == ("P1 4h", "ERP", ("a",), "10万", "月评", "12 个月")
    assert p.status is Status.PLANNED


def test_a_routine_run_is_recorded_once_and_abnormal_needs_findings():
    p = delivering()
    n = len(p.pending_events)
    with pytest.raises(InvalidCommand) as e:
        p.record_routine(routine_id="r1", run_at=RUN, performed_at=RUN, verdict="abnormal",
                         findings="", signer="c", actor="eng", at=at(10))
    assert [f.field for f in e.value.errors] == ["findings"]
    with pytest.raises(InvalidCommand) as e:
        p.record_routine(routine_id="nope", run_at=RUN, performed_at=RUN, verdict="normal",
                         findings="", signer="c", actor="eng", at=at(10))
    assert [f.field for f in e.value.errors] == ["routine_id"]
    p.record_routine(routine_id="r1", run_at=RUN, performed_at=RUN + timedelta(hours=1),
                     verdict="abnormal", findings="UPS", signer="客户", actor="eng", at=at(10))
    [e1] = new_events(p, n)
    assert (e1.routine_id, e1.run_at, e1.verdict, e1.findings, e1.signer) == (
        "r1", RUN, "abnormal", "UPS", "客户")
    with pytest.raises(TransitionNotAllowed):
        p.record_routine(routine_id="r1", run_at=RUN.astimezone(timezone.utc),
                         performed_at=RUN, verdict="normal", findings="", signer="c",
                         actor="eng", at=at(11))
    assert p.link_routine_ticket(routine_id="r1", run_at=RUN, ticket_id="t", ticket_number="SR",
                                 actor="system", at=at(12))
    assert not p.link_routine_ticket(routine_id="r1", run_at=RUN, ticket_id="t2",
                                     ticket_number="SR2", actor="system", at=at(13))
    assert p.run("r1", RUN).ticket_number == "SR"


def test_a_low_survey_score_is_reported_to_the_use_case():
    p = delivering()
    assert p.record_survey(timeliness=2, effectiveness=5, attitude=5, comment="",
                           actor="q", at=at(5)) is True
    assert p.record_survey(timeliness=3, effectiveness=5, attitude=4, comment="",
                           actor="q", at=at(6)) is False
    assert [s.mean for s in p.surveys] == [4.0, 4.0]
    with pytest.raises(InvalidCommand) as e:
        p.record_survey(timeliness=0, effectiveness=True, attitude=3, comment="", actor="q",
                        at=at(7))
    assert [f.field for f in e.value.errors] == ["timeliness", "effectiveness"]


def test_failed_acceptance_needs_an_improvement_before_the_next():
    p = delivering()
    p.accept(signer="c", passed=False, notes="缺报告", actor="pm", at=at(20))
    assert p.status is Status.PLANNED and p.awaiting_improvement()
    with pytest.raises(TransitionNotAllowed) as e:
        p.accept(signer="c", passed=True, notes="", actor="pm", at=at(21))
    assert e.value.missing == ("improvement",)
    p.raise_improvement(action="补报告", owner="pm", due=date(2031, 3, 20), source="acceptance",
                        actor="pm", at=at(22))
    p.accept(signer="c", passed=True, notes="", actor="pm", at=at(23))
    p.close(actor="pm", at=at(24))
    assert p.status is Status.CLOSED and p.closed_at == at(24)
    assert [type(e).__name__ for e in p.pending_events][-4:] == [
        "Accepted", "ImprovementRaised", "Accepted", "Closed"]
