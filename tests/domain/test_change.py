"""The change aggregate, given/when/then (DOMAIN.md §4, ADR 0021): given recorded events, when a
command, then the new events or a named error, and nothing recorded on a refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest

from application.encoding import MsgspecMapper
from domain.change import (
    Change,
    Origin,
    OriginKind,
    PlanInput,
    StandardModelRef,
    Status,
)
from domain.errors import InvalidCommand, TransitionNotAllowed

T0 = datetime.fromisoformat("2026-11-21T09:00:00+08:00")
ACTOR = "agent-zhou"
GATES = ("internal_review", "customer_review", "consent")
PLAN = PlanInput(
    goal="登录 1 秒内", content="扩容内存", steps=("备份", "扩容"), people=("eng-wang",),
    budget="2 万元", schedule_start=T0 + timedelta(days=7),
    schedule_end=T0 + timedelta(days=7, hours=4), risk_plan="备用服务器",
    rollback_plan="恢复原配置")
MODEL = StandardModelRef(id="os-patch", version=1, name="补丁", systems=("ERP",),
                         approved_by="CAB")


def new_change(kind: str = "normal", **kw: Any) -> Change:
    number = kw.pop("number", "CHG-20261121-001")
    return Change.request(
        id=uuid5(NAMESPACE_URL, number), number=number, kind=kind,
        origin=kw.pop("origin", Origin(OriginKind.TICKET, "t-1", "SR-20261121-001")),
        title=kw.pop("title", "ERP 内存扩容"), description="", actor=ACTOR, at=T0,
        affected_system=kw.pop("affected_system", "ERP"), **kw)


STEPS: dict[str, Callable[[Change], None]] = {
    "assess": lambda c: c.assess(risk="medium", impact="停机 4 小时", actor=ACTOR, at=T0),
    "assess_low": lambda c: c.assess(risk="low", impact="单机", actor=ACTOR, at=T0),
    "plan": lambda c: c.record_plan(PLAN, actor=ACTOR, at=T0),
    "review": lambda c: c.review(decision="approved", reviewer="mgr", actor=ACTOR, at=T0),
    "reject": lambda c: c.review(decision="rejected", reviewer="mgr", comment="回退不足",
                                 actor=ACTOR, at=T0),
    "customer_review": lambda c: c.customer_review(decision="approved", reviewer="客户",
                                                   actor=ACTOR, at=T0),
    "consent": lambda c: c.consent(evidence="邮件同意", channel="email", actor=ACTOR, at=T0),
    "approve_emergency": lambda c: c.approve_emergency(approver="cto", reason="停摆",
                                                       actor=ACTOR, at=T0),
    "start": lambda c: c.start(actor=ACTOR, at=T0),
    "complete": lambda c: c.complete(result="扩容完成", actor=ACTOR, at=T0),
    "roll_back": lambda c: c.roll_back(reason="内存报错", actor=ACTOR, at=T0),
    "start_trial": lambda c: c.start_trial(days=3, actor=ACTOR, at=T0),
    "evaluate": lambda c: c.evaluate(goal_met=True, notes="达标", actor=ACTOR, at=T0),
    "evaluate_missed": lambda c: c.evaluate(goal_met=False, notes="未达标", actor=ACTOR, at=T0),
    "close": lambda c: c.close(actor=ACTOR, at=T0),
    "cancel": lambda c: c.cancel(reason="不再需要", actor=ACTOR, at=T0),
}
APPROVED = ["assess", "plan", "review", "customer_review", "consent"]
TRIAL = [*APPROVED, "start", "complete", "start_trial"]


def given(*steps: str, kind: str = "normal", **kw: Any) -> Change:
    change = new_change(kind, **kw)
    for step in steps:
        STEPS[step](change)
    change.collect_events()
    return change


def when(change: Change, step: str | Callable[[Change], None]) -> list[Any]:
    (STEPS[step] if isinstance(step, str) else step)(change)
    return change.collect_events()


def refused(change: Change, step: str, *, missing: tuple[str, ...] | None = None
            ) -> TransitionNotAllowed:
    version = change.version
    with pytest.raises(TransitionNotAllowed) as info:
        when(change, step)
    assert change.version == version and not change.collect_events()
    if missing is not None:
        assert info.value.missing == missing
    return info.value


def names(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


# --------------------------------------------------------------------- request


def test_request_records_the_origin_and_number() -> None:
    change = new_change()
    [event] = change.collect_events()
    assert type(event).__name__ == "Requested" and event.actor == ACTOR
    assert event.TOPIC == "opsledger.change:Change.Requested"
    assert change.status is Status.REQUESTED and change.number == "CHG-20261121-001"


def test_request_names_every_bad_field() -> None:
    with pytest.raises(InvalidCommand) as info:
        new_change("sometimes", title=" ", origin=Origin(OriginKind.TICKET, " "))
    assert {e.field for e in info.value.errors} == {"kind", "title", "origin"}


def test_a_model_is_cited_only_by_a_standard_change_covering_its_system() -> None:
    with pytest.raises(InvalidCommand) as info:
        new_change("normal", standard_model=MODEL)
    assert info.value.errors[0].field == "standard_change"
    with pytest.raises(InvalidCommand) as info:
        new_change("standard", standard_model=MODEL, affected_system="CRM")
    assert info.value.errors[0].field == "affected_system"


# ----------------------------------------------------------------- start gates


@pytest.mark.parametrize(("steps", "missing"), [
    ((), ("assessment", "plan", *GATES)),
    (("assess",), ("plan", *GATES)),
    (("plan",), ("assessment", *GATES)),
    (("assess", "plan"), GATES),
    (("assess", "plan", "review"), ("customer_review", "consent")),
    (("assess", "plan", "customer_review"), ("internal_review", "consent")),
    (("assess", "plan", "consent"), ("internal_review", "customer_review")),
    (("assess", "plan", "review", "customer_review"), ("consent",)),
])
def test_start_is_refused_naming_every_missing_gate(steps: tuple[str, ...],
                                                   missing: tuple[str, ...]) -> None:
    change = given(*steps)
    error = refused(change, "start", missing=missing)
    assert error.record == "change" and "start" not in error.allowed


def test_start_after_every_gate() -> None:
    change = given(*APPROVED)
    assert change.status is Status.APPROVED and "start" in change.allowed_commands()
    [event] = when(change, "start")
    assert names([event]) == ["Started"] and event.authorised_by == "reviewed"
    assert change.status is Status.IN_PROGRESS


@pytest.mark.parametrize("again", ["plan", "assess"])
def test_a_new_revision_invalidates_reviews_and_consent(again: str) -> None:
    change = given(*APPROVED)
    when(change, again)
    assert change.status is Status.PLANNED and change.revision == 3
    refused(change, "start", missing=GATES)


def test_a_rejection_blocks_reviews_until_a_revised_plan() -> None:
    change = given("assess", "plan", "reject")
    for step in ("review", "customer_review", "consent"):
        assert refused(change, step).missing == ("plan",)
    refused(change, "start", missing=GATES)
    when(change, "plan")
    assert names(when(change, "review")) == ["Reviewed"]


def test_a_review_needs_a_plan_and_a_rejection_needs_a_reason() -> None:
    assert refused(given("assess"), "review").missing == ("plan",)
    change = given("assess", "plan")
    with pytest.raises(InvalidCommand) as info:
        when(change, lambda c: c.review(decision="rejected", reviewer="mgr", actor=ACTOR, at=T0))
    assert info.value.errors[0].field == "comment"
    with pytest.raises(InvalidCommand):
        when(change, lambda c: c.consent(evidence="x", channel="pigeon", actor=ACTOR, at=T0))


def test_the_plan_names_every_missing_field() -> None:
    change = given("assess")
    with pytest.raises(InvalidCommand) as info:
        when(change, lambda c: c.record_plan(PlanInput(goal="更快", steps=(" ",)),
                                             actor=ACTOR, at=T0))
    assert [e.field for e in info.value.errors] == [
        "content", "budget", "risk_plan", "rollback_plan", "steps", "people", "schedule"]
    backwards = PlanInput(**{**PLAN.__dict__, "schedule_end": PLAN.schedule_start})
    with pytest.raises(InvalidCommand) as info:
        when(change, lambda c: c.record_plan(backwards, actor=ACTOR, at=T0))
    assert [e.field for e in info.value.errors] == ["schedule.end"]
    assert change.plan is None


# ------------------------------------------------------------ standard changes


def test_a_standard_change_under_a_model_and_low_risk_is_pre_approved() -> None:
    change = given("assess_low", "plan", kind="standard", standard_model=MODEL)
    assert change.status is Status.APPROVED and change.owed_gates() == ()
    [event] = when(change, "start")
    assert event.authorised_by == "standard_model"


def test_a_standard_change_without_a_model_or_above_low_risk_goes_through_the_gates() -> None:
    refused(given("assess_low", "plan", kind="standard"), "start", missing=GATES)
    refused(given("assess", "plan", kind="standard", standard_model=MODEL), "start",
            missing=GATES)


# ----------------------------------------------------------- emergency changes


def test_an_emergency_approval_lets_it_start_and_close_waits_for_the_owed_gates() -> None:
    change = given("assess", "plan", "approve_emergency", kind="emergency")
    assert change.status is Status.APPROVED
    [event] = when(change, "start")
    assert event.authorised_by == "emergency"
    for step in ("complete", "start_trial", "evaluate"):
        when(change, step)
    refused(change, "close", missing=GATES)
    when(change, "review")
    when(change, "customer_review")
    refused(change, "close", missing=("consent",))
    when(change, "consent")
    assert names(when(change, "close")) == ["Closed"] and change.status is Status.CLOSED


def test_an_emergency_approval_does_not_override_a_recorded_rejection() -> None:
    change = given("assess", "plan", "reject", "approve_emergency", kind="emergency")
    refused(change, "start", missing=("internal_review",))


def test_emergency_approval_needs_an_emergency_change_and_a_plan() -> None:
    refused(given("assess", "plan"), "approve_emergency")
    assert refused(given("assess", kind="emergency"), "approve_emergency").missing == ("plan",)
    change = given("assess", "plan", "approve_emergency", kind="emergency")
    when(change, "plan")  # a new plan needs a new approval
    refused(change, "start", missing=GATES)


def test_a_normal_change_owes_no_reviews_after_start() -> None:
    change = given(*APPROVED, "start")
    assert refused(change, "review").state == "in_progress"


# ------------------------------------------------------ implementation to close


def test_the_path_after_start() -> None:
    change = given(*TRIAL)
    assert change.trial is not None and change.trial.ends_at == T0 + timedelta(days=3)
    refused(change, "close")
    when(change, "evaluate")
    assert names(when(change, "close")) == ["Closed"]
    for step in ("start", "plan", "cancel", "close"):
        refused(change, step)


@pytest.mark.parametrize("days", [0, -1, 367, True])
def test_a_trial_needs_a_sensible_length(days: Any) -> None:
    change = given(*APPROVED, "start", "complete")
    with pytest.raises(InvalidCommand):
        when(change, lambda c: c.start_trial(days=days, actor=ACTOR, at=T0))


def test_a_missed_goal_needs_an_improvement_before_close() -> None:
    change = given(*TRIAL, "evaluate_missed")
    refused(change, "close", missing=("improvement",))
    follow_up = new_change(number="CHG-20261121-002",
                           origin=Origin(OriginKind.CHANGE, str(change.id), change.number))
    [event] = when(change, lambda c: c.raise_improvement(
        action="加负载均衡", owner="eng-li", due=date(2026, 12, 31), follow_up=follow_up,
        actor=ACTOR, at=T0))
    assert event.improvement.change_number == "CHG-20261121-002"
    assert names(when(change, "close")) == ["Closed"]


def test_an_improvement_must_be_carried_by_a_follow_up_of_this_change() -> None:
    change = given(*TRIAL, "evaluate_missed")
    stranger = new_change(number="CHG-20261121-009")
    with pytest.raises(InvalidCommand):
        when(change, lambda c: c.raise_improvement(
            action="x", owner="y", due=date(2026, 12, 31), follow_up=stranger, actor=ACTOR,
            at=T0))
    with pytest.raises(InvalidCommand) as info:
        change.check_improvement(action=" ", owner="", due=None)
    assert [e.field for e in info.value.errors] == ["action", "owner", "due"]


def test_roll_back_then_close_or_replan() -> None:
    change = given(*APPROVED, "start", "roll_back")
    assert change.status is Status.ROLLED_BACK and change.rollback_reason == "内存报错"
    when(change, "plan")
    assert change.status is Status.PLANNED
    refused(change, "start", missing=GATES)
    closing = given(*APPROVED, "start", "complete", "roll_back")
    assert names(when(closing, "close")) == ["Closed"]


def test_cancel_only_before_start() -> None:
    assert names(when(given("assess"), "cancel")) == ["Cancelled"]
    refused(given(*APPROVED, "start"), "cancel")


# --------------------------------------------------------------------- replay


def test_every_event_survives_the_store_mapper_and_replays_to_an_equal_change() -> None:
    change = new_change("emergency")
    for step in ("assess", "plan", "approve_emergency", "start", "complete", "start_trial",
                 "evaluate_missed", "review", "customer_review", "consent"):
        STEPS[step](change)
    follow_up = new_change(number="CHG-20261121-002",
                           origin=Origin(OriginKind.CHANGE, str(change.id), change.number))
    change.raise_improvement(action="加服务器", owner="eng", due=date(2026, 12, 1),
                             follow_up=follow_up, actor=ACTOR, at=T0)
    STEPS["close"](change)
    events = change.collect_events()
    mapper = MsgspecMapper()
    decoded = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in events]
    replayed: Any = None
    for e in decoded:
        replayed = e.mutate(replayed)
    assert {k: v for k, v in vars(replayed).items() if k != "_pending_events"} == {
        k: v for k, v in vars(change).items() if k != "_pending_events"}
    assert all(e.TOPIC.startswith("opsledger.change:Change.") for e in events)
    assert all(getattr(e, "actor", None) == ACTOR for e in events)


# ------------------------------------------------------------ the gate checklist


def test_the_checklist_shows_every_start_gate_and_marks_exactly_the_missing_ones() -> None:
    change = given()
    assert change.gate_checklist() == (
        ("assessment", "missing"), ("plan", "missing"), ("internal_review", "missing"),
        ("customer_review", "missing"), ("consent", "missing"))
    when(change, "assess")
    when(change, "plan")
    when(change, "reject")
    assert dict(change.gate_checklist()) == {
        "assessment": "passed", "plan": "passed", "internal_review": "rejected",
        "customer_review": "missing", "consent": "missing"}
    approved = given(*APPROVED)
    assert {state for _, state in approved.gate_checklist()} == {"passed"}
    for c in (change, approved, given("assess", "plan", "review")):
        assert tuple(g for g, s in c.gate_checklist() if s in ("missing", "rejected")) \
            == c.missing_gates()


def test_the_checklist_names_what_stands_in_for_a_review_and_what_close_needs() -> None:
    standard = given("assess_low", "plan", kind="standard", standard_model=MODEL)
    assert dict(standard.gate_checklist())["consent"] == "pre_approved"
    emergency = given("assess", "plan", "approve_emergency", kind="emergency")
    assert dict(emergency.gate_checklist())["internal_review"] == "emergency"
    when(emergency, "start")
    assert emergency.gate_checklist() == tuple((g, "missing") for g in GATES)
    missed = given(*TRIAL, "evaluate_missed")
    assert missed.gate_checklist()[-1] == ("improvement", "missing")
    assert given(*TRIAL, "evaluate", "close").gate_checklist() == ()
