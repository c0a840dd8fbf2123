"""Random command sequences on one Change never pass a gate they should not (ADR 0021).

The machine fires every command in any order with valid and invalid input. It checks, from
the recorded events alone (independently of the aggregate's own gate bookkeeping):

- no ``Started`` without an assessment and a plan, and without an approved internal review,
  an approved customer review and a consent recorded after the latest assessment or plan
  (the current revision) — except the documented paths: a standard change citing a model
  that covers its system and assessed low, or an emergency change with an emergency approval
  of the current revision;
- no ``Closed`` while any of the three is owed for the current revision (an emergency change
  included), unless pre-approved by a model; no ``Closed`` after a missed goal without an
  improvement raised since the start;
- a refused command records nothing; every event round-trips through the store's mapper and
  the events replay to an equal change.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from application.encoding import MsgspecMapper
from domain.change import Change, Origin, OriginKind, PlanInput, StandardModelRef
from domain.errors import DomainError

T0 = datetime.fromisoformat("2031-03-14T09:30:00+08:00")
ACTOR = "agent"
MODEL = StandardModelRef(id="patch", version=1, name="补丁", systems=("ERP",), approved_by="CAB")
FULL_PLAN = PlanInput(
    goal="g", content="c", steps=("s",), people=("p",), budget="1", schedule_start=T0,
    schedule_end=T0 + timedelta(hours=2), risk_plan="r", rollback_plan="rb")
# Valid input most of the time (so that runs get far), invalid input now and then.
PLANS = st.sampled_from([FULL_PLAN] * 4 + [PlanInput(goal="only"), PlanInput(
    **{**FULL_PLAN.__dict__, "schedule_end": T0})])
TEXT = st.sampled_from(["理由", "ok text", "说明", "原因", "", " "])
DECISION = st.sampled_from(["approved"] * 4 + ["rejected", "maybe"])


class ChangeMachine(RuleBasedStateMachine):
    change: Change
    events: list[Any]

    @initialize(kind=st.sampled_from(["standard", "normal", "emergency"]),
                cite=st.booleans(), system=st.sampled_from(["ERP", "erp", "CRM"]))
    def request(self, kind: str, cite: bool, system: str) -> None:
        model = MODEL if cite and kind == "standard" and system.casefold() == "erp" else None
        self.change = Change.request(
            id=uuid5(NAMESPACE_URL, "chg"), number="CHG-20310314-001", kind=kind,
            origin=Origin(OriginKind.PROJECT, "p"), title="t", description="", actor=ACTOR,
            at=T0, affected_system=system, standard_model=model)
        self.events = self.change.collect_events()
        self.at = T0

    def _try(self, command: Any) -> None:
        version = self.change.version
        self.at += timedelta(minutes=1)
        try:
            command(self.change, self.at)
        except DomainError:
            assert self.change.version == version
            assert not self.change.collect_events()
            return
        new = self.change.collect_events()
        assert new, "an accepted command records an event"
        for event in new:
            self._check(event)
            self.events.append(event)

    # ------------------------------------------------------------- the oracle

    def _since_revision(self) -> list[Any]:
        """The events after the latest assessment or plan (the current revision)."""
        last = max((i for i, e in enumerate(self.events)
                    if isinstance(e, Change.Assessed | Change.Planned)), default=-1)
        return self.events[last + 1:]

    def _passed(self) -> set[str]:
        passed: dict[str, bool] = {}
        for e in self._since_revision():
            if isinstance(e, Change.Reviewed):
                passed["internal_review"] = e.review.decision == "approved"
            elif isinstance(e, Change.CustomerReviewed):
                passed["customer_review"] = e.review.decision == "approved"
            elif isinstance(e, Change.ConsentRecorded):
                passed["consent"] = True
        return {g for g, ok in passed.items() if ok}

    def _pre_approved(self) -> bool:
        requested = self.events[0]
        assessments = [e for e in self.events if isinstance(e, Change.Assessed)]
        return (requested.kind == "standard" and requested.standard_model is not None
                and bool(assessments) and assessments[-1].assessment.risk == "low")

    def _check(self, event: Any) -> None:
        all_gates = {"internal_review", "customer_review", "consent"}
        if isinstance(event, Change.Started):
            assert any(isinstance(e, Change.Assessed) for e in self.events)
            assert any(isinstance(e, Change.Planned) for e in self.events)
            emergency = (self.events[0].kind == "emergency" and any(
                isinstance(e, Change.EmergencyApproved) for e in self._since_revision()))
            assert self._passed() == all_gates or self._pre_approved() or emergency, (
                "started without the gates", [type(e).__name__ for e in self.events])
        if isinstance(event, Change.Closed):
            assert self._passed() == all_gates or self._pre_approved(), "closed with gates owed"
            starts = [i for i, e in enumerate(self.events) if isinstance(e, Change.Started)]
            evaluations = [e for e in self.events[starts[-1]:] if isinstance(e, Change.Evaluated)]
            if evaluations and not evaluations[-1].evaluation.goal_met and not any(
                    isinstance(e, Change.RolledBack) for e in self.events[starts[-1]:]):
                assert any(isinstance(e, Change.ImprovementRaised)
                           for e in self.events[starts[-1]:]), "missed goal without improvement"

    # ----------------------------------------------------------------- rules

    @rule(risk=st.sampled_from(["low", "medium", "high", "extreme"]), impact=TEXT)
    def assess(self, risk: str, impact: str) -> None:
        self._try(lambda c, at: c.assess(risk=risk, impact=impact, actor=ACTOR, at=at))

    @rule(plan=PLANS)
    def plan(self, plan: PlanInput) -> None:
        self._try(lambda c, at: c.record_plan(plan, actor=ACTOR, at=at))

    @rule(decision=DECISION, comment=TEXT, customer=st.booleans())
    def review(self, decision: str, comment: str, customer: bool) -> None:
        method = "customer_review" if customer else "review"
        self._try(lambda c, at: getattr(c, method)(decision=decision, reviewer="r",
                                                   comment=comment, actor=ACTOR, at=at))

    @rule(channel=st.sampled_from(["email", "fax", "form", "pigeon"]), evidence=TEXT)
    def consent(self, channel: str, evidence: str) -> None:
        self._try(lambda c, at: c.consent(evidence=evidence, channel=channel, actor=ACTOR,
                                          at=at))

    @rule(reason=TEXT)
    def approve_emergency(self, reason: str) -> None:
        self._try(lambda c, at: c.approve_emergency(approver="cto", reason=reason, actor=ACTOR,
                                                    at=at))

    @rule(risk=st.sampled_from(["low", "medium", "high"]))
    def prepare(self, risk: str) -> None:
        """A valid assessment and plan in a row (a new revision)."""
        self._try(lambda c, at: c.assess(risk=risk, impact="影响", actor=ACTOR, at=at))
        self._try(lambda c, at: c.record_plan(FULL_PLAN, actor=ACTOR, at=at))

    @rule(customer_first=st.booleans())
    def all_reviews(self, customer_first: bool) -> None:
        """The three gates in a row (random rules alone seldom line them up)."""
        order = ["customer_review", "review"] if customer_first else ["review", "customer_review"]
        for method in order:
            self._try(lambda c, at, m=method: getattr(c, m)(decision="approved", reviewer="r",
                                                           actor=ACTOR, at=at))
        self._try(lambda c, at: c.consent(evidence="邮件", channel="email", actor=ACTOR, at=at))

    def _some_gates(self, choice: int) -> None:
        """All three gates, or only some of them, or an emergency approval, then ``start``."""
        if choice == 0:
            self.all_reviews(False)
        elif choice == 1:
            self.review("approved", "", customer=False)
            self.review("approved", "", customer=True)
        elif choice == 2:
            self.review("approved", "", customer=True)
            self.consent("fax", "传真")
        else:
            self.approve_emergency("停摆")
        self.start()

    @rule(goal_met=st.booleans(), choice=st.integers(min_value=0, max_value=3))
    def advance(self, goal_met: bool, choice: int) -> None:
        """The ordinary next step from the current status (so runs reach the later states)."""
        steps = {
            "requested": lambda: self.prepare("low"), "assessed": lambda: self.prepare("low"),
            "planned": lambda: self._some_gates(choice), "approved": self.start,
            "in_progress": lambda: self.complete("结果"), "completed": lambda: self.start_trial(2),
            "in_trial": lambda: self.evaluate(goal_met, "评估"), "evaluated": self.close,
            "rolled_back": self.close,
        }
        step = steps.get(self.change.status.value)
        if step is not None:
            step()

    @rule()
    def start(self) -> None:
        self._try(lambda c, at: c.start(actor=ACTOR, at=at))

    @rule(result=TEXT)
    def complete(self, result: str) -> None:
        self._try(lambda c, at: c.complete(result=result, actor=ACTOR, at=at))

    @rule(reason=TEXT)
    def roll_back(self, reason: str) -> None:
        self._try(lambda c, at: c.roll_back(reason=reason, actor=ACTOR, at=at))

    @rule(days=st.integers(min_value=-1, max_value=400))
    def start_trial(self, days: int) -> None:
        self._try(lambda c, at: c.start_trial(days=days, actor=ACTOR, at=at))

    @rule(goal_met=st.booleans(), notes=TEXT)
    def evaluate(self, goal_met: bool, notes: str) -> None:
        self._try(lambda c, at: c.evaluate(goal_met=goal_met, notes=notes, actor=ACTOR, at=at))

    @rule(action=TEXT)
    def raise_improvement(self, action: str) -> None:
        def command(c: Change, at: datetime) -> None:
            follow_up = Change.request(
                id=uuid5(NAMESPACE_URL, f"f{at}"), number="CHG-20310314-002", kind="normal",
                origin=Origin(OriginKind.CHANGE, str(c.id), c.number), title="f",
                description="", actor=ACTOR, at=at)
            c.raise_improvement(action=action, owner="o", due=date(2031, 4, 1),
                                follow_up=follow_up, actor=ACTOR, at=at)

        self._try(command)

    @rule()
    def close(self) -> None:
        self._try(lambda c, at: c.close(actor=ACTOR, at=at))

    @rule(reason=TEXT, dice=st.integers(min_value=0, max_value=9))
    def cancel(self, reason: str, dice: int) -> None:
        if dice:  # seldom: a cancelled change ends the run
            return
        self._try(lambda c, at: c.cancel(reason=reason, actor=ACTOR, at=at))

    # ------------------------------------------------------------- invariants

    @invariant()
    def allowed_commands_are_consistent(self) -> None:
        allowed = self.change.allowed_commands()
        assert ("start" in allowed) == (self.change.status.value in ("approved",))
        assert self.change.missing_gates() == () or "start" not in allowed

    @invariant()
    def replays_through_the_mapper(self) -> None:
        mapper = MsgspecMapper()
        replayed: Any = None
        for e in self.events:
            replayed = mapper.to_domain_event(mapper.to_stored_event(e)).mutate(replayed)
        assert replayed.version == self.change.version
        assert replayed.status == self.change.status and replayed.gates == self.change.gates


TestChangeMachine = ChangeMachine.TestCase
TestChangeMachine.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
