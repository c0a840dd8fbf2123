"""Random command sequences on one Ticket never break an invariant (STYLE.md, Tests).

Each rule draws its input either from a pool of valid values or from a pool of invalid ones
and knows which, so the machine checks both directions: a command allowed in the state with
valid input is accepted, one that is not allowed raises TransitionNotAllowed, an allowed one
with bad input raises InvalidCommand, and a refused command records nothing.
Every collected event is also sent through the store's msgspec mapper, and both the live
events and the decoded ones must replay to a ticket equal to the live one.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from application.encoding import MsgspecMapper
from domain.errors import DomainError, InvalidCommand, TransitionNotAllowed
from domain.priority import DEFAULT_MATRIX, Impact, Importance, Priority, Urgency
from domain.ticket import (
    Channel,
    Contact,
    Improvement,
    ProposedClassification,
    Status,
    Ticket,
    TicketType,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2031, 3, 14, 9, 30, tzinfo=SHANGHAI)

# ---------------------------------------------------------------- strategies
# Each input strategy yields (value, valid).

valid_text = st.text(min_size=1, max_size=12).filter(lambda s: bool(s.strip()))
blank_text = st.sampled_from(["", " ", "\t\n", "\u3000"])


def mostly(
    valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """(value, True) four times in five, else (value, False)."""
    return st.integers(min_value=0, max_value=4).flatmap(
        lambda n: invalid.map(lambda v: (v, False)) if n == 0 else valid.map(lambda v: (v, True))
    )


def text_input() -> st.SearchStrategy[tuple[str, bool]]:
    return mostly(valid_text, blank_text)


def optional_name() -> st.SearchStrategy[tuple[str | None, bool]]:
    return st.one_of(
        st.none().map(lambda s: (s, False)),
        blank_text.map(lambda s: (s, False)),
        st.sampled_from(["eng-li", "网络组", "db-team"]).map(lambda s: (s, True)),
    )


valid_resolution = valid_text.map(lambda s: f"重启应用服务并清理缓存：{s}")
vague_resolution = st.sampled_from(
    ["", "  ", "已处理", "done", "Fixed.", "ok", "OK!", "已解决。", "resolved", "n/a", "abc"]
)
resolution_input = mostly(valid_resolution, vague_resolution)
hours_input = mostly(
    st.floats(min_value=0.01, max_value=744, allow_nan=False)
    | st.integers(min_value=1, max_value=744),
    st.sampled_from([0, 0.0, -1, -0.5, 744.01, 10_000, float("nan"), float("inf")]),
)
score_input = mostly(
    st.integers(min_value=1, max_value=5), st.sampled_from([0, 6, -1, 100, 2.5])
)
# ("none" | "back" | "future" | "naive" | "before_report", minutes)
performed_input = st.tuples(
    st.sampled_from(["none", "back", "future", "naive", "before_report"]),
    st.integers(min_value=0, max_value=600),
)
tick = st.integers(min_value=0, max_value=180)  # minutes between commands
items_input = st.lists(st.one_of(valid_text, blank_text), max_size=3)


def has_text(values: list[str] | tuple[str, ...]) -> bool:
    return any(v.strip() for v in values)


def replay(events: list[Any]) -> Any:
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class TicketMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mapper = MsgspecMapper()
        self.ticket: Ticket | None = None
        self.now = T0
        self.reported_at = T0
        self.events: list[Any] = []
        self.decoded: list[Any] = []
        self.serial = itertools.count(1)

    # ------------------------------------------------------------ plumbing

    def _collect(self) -> None:
        assert self.ticket is not None
        new = self.ticket.collect_events()
        assert len(new) == 1, new
        for event in new:
            assert event.timestamp == self.now  # the given time, not a clock read
            self.events.append(event)
            stored = self.mapper.to_stored_event(event)
            self.decoded.append(self.mapper.to_domain_event(stored))

    def _attempt(self, command: str, valid: bool, run: Callable[[Ticket], None]) -> None:
        ticket = self.ticket
        assert ticket is not None
        allowed = command in ticket.allowed_commands()
        before = copy.deepcopy(ticket)
        try:
            run(ticket)
        except DomainError as error:
            # a refused command records nothing
            assert ticket.pending_events == []
            assert ticket == before
            if not allowed:
                assert isinstance(error, TransitionNotAllowed), error
                assert error.state == ticket.status.value
                assert error.command == command
                assert error.allowed == ticket.allowed_commands()
            else:
                assert isinstance(error, InvalidCommand), error
                assert not valid, f"valid {command} refused: {error}"
            event(f"{command}: refused ({type(error).__name__})")
            return
        assert allowed, f"{command} accepted in {ticket.status}"
        assert valid, f"invalid {command} accepted"
        event(f"{command}: accepted -> {ticket.status}")
        self._collect()

    def _advance(self, minutes: int) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now

    def _number(self, prefix: str) -> str:
        return f"{prefix}-20310314-{next(self.serial):03d}"

    # --------------------------------------------------------------- rules

    @initialize(
        back=st.integers(min_value=0, max_value=24 * 60),
        title=valid_text,
        channel=st.sampled_from(Channel),
        proposed_type=st.none() | st.sampled_from(TicketType),
        proposed_urgency=st.none() | st.sampled_from(Urgency),
        attachments=st.lists(valid_text, max_size=2),
    )
    def register(self, back, title, channel, proposed_type, proposed_urgency, attachments):
        self.reported_at = T0 - timedelta(minutes=back)
        self.ticket = Ticket.register(
            id=UUID(int=1),
            number="SR-20310314-001",
            customer="客户A",
            contact=Contact(name="李四", phone="13800005678"),
            channel=channel,
            title=title,
            description="desc",
            affected_system="ERP",
            reported_at=self.reported_at,
            actor="agent",
            at=self.now,
            attachments=tuple(attachments),
            proposed=ProposedClassification(type=proposed_type, urgency=proposed_urgency),
        )
        self._collect()

    @rule(
        title=text_input(),
        customer=text_input(),
        contact=text_input(),
        reported=st.sampled_from(["past", "future", "naive"]),
    )
    def register_another(self, title, customer, contact, reported):
        reported_at = {
            "past": self.now - timedelta(hours=1),
            "future": self.now + timedelta(minutes=1),
            "naive": self.now.replace(tzinfo=None),
        }[reported]
        valid = title[1] and customer[1] and contact[1] and reported == "past"
        try:
            other = Ticket.register(
                id=UUID(int=2),
                number="SR-20310314-002",
                customer=customer[0],
                contact=Contact(name=contact[0]),
                channel=Channel.WEB,
                title=title[0],
                description="",
                affected_system="",
                reported_at=reported_at,
                actor="agent",
                at=self.now,
            )
        except InvalidCommand as error:
            assert not valid
            bad = {e.field for e in error.errors}
            assert ("title" in bad) != title[1]
            assert ("customer" in bad) != customer[1]
            assert ("contact.name" in bad) != contact[1]
            assert ("reported_at" in bad) == (reported != "past")
        else:
            assert valid
            assert other.version == 1

    @rule(minutes=tick, reason=text_input(), dice=st.integers(min_value=0, max_value=5))
    def invalidate(self, minutes, reason, dice):
        if dice:  # rarely: an invalid ticket ends the interesting part of the run
            return
        at = self._advance(minutes)
        self._attempt(
            "invalidate", reason[1], lambda t: t.invalidate(reason=reason[0], actor="disp", at=at)
        )

    @rule(
        minutes=tick,
        type=st.sampled_from(TicketType),
        category=text_input(),
        urgency=st.sampled_from(Urgency),
        impact=st.sampled_from(Impact),
        importance=st.sampled_from(Importance),
        priority=st.none() | st.sampled_from(Priority),
        override_reason=text_input(),
    )
    def classify(self, minutes, type, category, urgency, impact, importance, priority,
                 override_reason):
        at = self._advance(minutes)
        computed = DEFAULT_MATRIX.priority(urgency, impact, importance)
        overridden = priority is not None and priority != computed
        valid = category[1] and (override_reason[1] or not overridden)
        self._attempt(
            "classify",
            valid,
            lambda t: t.classify(
                type=type,
                category=category[0],
                urgency=urgency,
                impact=impact,
                importance=importance,
                priority=priority,
                override_reason=override_reason[0],
                actor="disp",
                at=at,
            ),
        )

    @rule(minutes=tick, assignee=optional_name(), group=optional_name())
    def assign(self, minutes, assignee, group):
        at = self._advance(minutes)
        self._attempt(
            "assign",
            assignee[1] or group[1],
            lambda t: t.assign(assignee=assignee[0], group=group[0], actor="disp", at=at),
        )

    @rule(minutes=tick)
    def start(self, minutes):
        at = self._advance(minutes)
        self._attempt("start", True, lambda t: t.start(actor="eng", at=at))

    @rule(
        minutes=tick,
        action=text_input(),
        hours=hours_input,
        performed=performed_input,
        workaround=st.sampled_from(["", "切换到备机"]),
    )
    def log_work(self, minutes, action, hours, performed, workaround):
        at = self._advance(minutes)
        kind, back = performed
        performed_at = {
            "none": None,
            "back": max(at - timedelta(minutes=back), self.reported_at),
            "future": at + timedelta(minutes=back + 1),
            "naive": at.replace(tzinfo=None),
            "before_report": self.reported_at - timedelta(minutes=back + 1),
        }[kind]
        valid = action[1] and hours[1] and kind in ("none", "back")
        self._attempt(
            "log_work",
            valid,
            lambda t: t.log_work(
                action=action[0],
                hours=hours[0],
                performed_at=performed_at,
                workaround=workaround,
                actor="eng",
                at=at,
            ),
        )

    @rule(minutes=tick, reason=text_input())
    def await_customer(self, minutes, reason):
        at = self._advance(minutes)
        self._attempt(
            "await_customer",
            reason[1],
            lambda t: t.await_customer(reason=reason[0], actor="eng", at=at),
        )

    @rule(minutes=tick)
    def resume(self, minutes):
        at = self._advance(minutes)
        self._attempt("resume", True, lambda t: t.resume(actor="eng", at=at))

    @rule(minutes=tick, resolution=resolution_input, root_cause=text_input(),
          first_contact=st.booleans())
    def resolve(self, minutes, resolution, root_cause, first_contact):
        at = self._advance(minutes)
        self._attempt(
            "resolve",
            resolution[1] and root_cause[1],
            lambda t: t.resolve(
                resolution=resolution[0],
                root_cause=root_cause[0],
                first_contact=first_contact,
                actor="eng",
                at=at,
            ),
        )

    @rule(
        minutes=tick,
        signer=text_input(),
        items=items_input,
        criteria=items_input,
        passed=st.booleans(),
        unmet=items_input,
    )
    def confirm(self, minutes, signer, items, criteria, passed, unmet):
        at = self._advance(minutes)
        valid = signer[1] and has_text(items) and has_text(criteria) and (passed or has_text(unmet))
        self._attempt(
            "confirm",
            valid,
            lambda t: t.confirm(
                number=self._number("SD"),
                signer=signer[0],
                items=tuple(items),
                criteria=tuple(criteria),
                passed=passed,
                unmet_items=tuple(unmet),
                actor="customer",
                at=at,
            ),
        )

    @rule(minutes=tick, signer=text_input(), reason=text_input())
    def close(self, minutes, signer, reason):
        at = self._advance(minutes)
        self._attempt(
            "close",
            signer[1] and reason[1],
            lambda t: t.close(
                number=self._number("SD"), signer=signer[0], reason=reason[0], actor="agent", at=at
            ),
        )

    @rule(minutes=tick, reason=text_input())
    def reopen(self, minutes, reason):
        at = self._advance(minutes)
        self._attempt(
            "reopen", reason[1], lambda t: t.reopen(reason=reason[0], actor="agent", at=at)
        )

    @rule(
        minutes=tick,
        timeliness=score_input,
        effectiveness=score_input,
        attitude=score_input,
        improvement=st.sampled_from(["none", "good", "bad"]),
    )
    def feedback(self, minutes, timeliness, effectiveness, attitude, improvement):
        at = self._advance(minutes)
        plan = {
            "none": None,
            "good": Improvement(action="增加监控", owner="eng-li", due=date(2031, 4, 1)),
            "bad": Improvement(action=" ", owner="eng-li", due=date(2031, 4, 1)),
        }[improvement]
        valid = timeliness[1] and effectiveness[1] and attitude[1] and improvement != "bad"
        self._attempt(
            "feedback",
            valid,
            lambda t: t.give_feedback(
                number=self._number("FB"),
                timeliness=timeliness[0],
                effectiveness=effectiveness[0],
                attitude=attitude[0],
                comment="",
                improvement=plan,
                actor="customer",
                at=at,
            ),
        )

    @rule(minutes=tick, variant=st.integers(min_value=0, max_value=2))
    def move_on(self, minutes, variant):
        """The next step of the usual path, with valid input, to reach the later states."""
        t = self.ticket
        assert t is not None
        at = self._advance(minutes)
        steps: dict[Status, list[tuple[str, Callable[[Ticket], None]]]] = {
            Status.REGISTERED: [("classify", lambda t: t.classify(
                type=TicketType.FAULT, category="network", urgency=Urgency.URGENT,
                impact=Impact.SOME, importance=Importance.IMPORTANT, actor="disp", at=at))],
            Status.CLASSIFIED: [("assign", lambda t: t.assign(group="网络组", actor="disp", at=at))],
            Status.ASSIGNED: [
                ("start", lambda t: t.start(actor="eng", at=at)),
                ("log_work", lambda t: t.log_work(action="排查", hours=0.5, actor="eng", at=at)),
            ],
            Status.IN_PROGRESS: [
                ("resolve", lambda t: t.resolve(
                    resolution="更换交换机端口并重新配置 VLAN", root_cause="端口故障",
                    actor="eng", at=at)),
                ("await_customer", lambda t: t.await_customer(
                    reason="等待客户确认停机窗口", actor="eng", at=at)),
                ("log_work", lambda t: t.log_work(action="抓包分析", hours=2, actor="eng", at=at)),
            ],
            Status.WAITING_CUSTOMER: [("resume", lambda t: t.resume(actor="eng", at=at))],
            Status.RESOLVED: [
                ("confirm", lambda t: t.confirm(
                    number=self._number("SD"), signer="李四", items=("网络恢复",),
                    criteria=("丢包率为 0",), passed=True, actor="customer", at=at)),
                ("confirm", lambda t: t.confirm(
                    number=self._number("SD"), signer="李四", items=("网络恢复",),
                    criteria=("丢包率为 0",), passed=False, unmet_items=("仍有丢包",),
                    actor="customer", at=at)),
                ("close", lambda t: t.close(
                    number=self._number("SD"), signer="李四", reason="客户同意结束",
                    actor="agent", at=at)),
            ],
            Status.CLOSED: [
                ("feedback", lambda t: t.give_feedback(
                    number=self._number("FB"), timeliness=4, effectiveness=5, attitude=5,
                    comment="", actor="customer", at=at))
                if t.feedback_due
                else ("reopen", lambda t: t.reopen(reason="再次丢包", actor="agent", at=at)),
                ("reopen", lambda t: t.reopen(reason="再次丢包", actor="agent", at=at)),
            ],
            Status.INVALID: [],
        }
        options = steps[t.status]
        if options:
            command, run = options[variant % len(options)]
            self._attempt(command, True, run)

    # ---------------------------------------------------------- invariants

    @invariant()
    def status_is_a_status(self):
        if self.ticket is not None:
            assert isinstance(self.ticket.status, Status)

    @invariant()
    def version_counts_the_collected_events(self):
        if self.ticket is not None:
            assert self.ticket.pending_events == []
            assert self.ticket.version == len(self.events)
            assert [e.originator_version for e in self.events] == list(
                range(1, len(self.events) + 1)
            )

    @invariant()
    def closed_tickets_end_with_a_passed_acceptance(self):
        t = self.ticket
        if t is not None and t.status is Status.CLOSED:
            assert t.acceptances and t.acceptances[-1].passed
            assert t.closed_at == t.acceptances[-1].at
            assert t.resolution is not None

    @invariant()
    def at_most_one_feedback_per_closure(self):
        t = self.ticket
        if t is not None:
            closures = sum(1 for a in t.acceptances if a.passed)
            assert len(t.feedbacks) <= closures

    @invariant()
    def replaying_the_events_rebuilds_an_equal_ticket(self):
        if self.ticket is not None:
            assert replay(self.events) == self.ticket

    @invariant()
    def replaying_the_stored_and_decoded_events_rebuilds_an_equal_ticket(self):
        if self.ticket is not None:
            assert [type(e) for e in self.decoded] == [type(e) for e in self.events]
            assert replay(self.decoded) == self.ticket


TicketMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestTicketStateMachine = TicketMachine.TestCase
