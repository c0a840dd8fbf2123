"""The SLA watcher (ADR 0016) with a controlled clock, no sleeps: warnings at 50 % / 75 %
and the breach at the due with their true instants, exactly once across ticks and restarts,
catching up after a gap, pauses, and escalation (priority raised, manager and expert told).

Default policy on china-5x8 (Mon-Fri 09:00-18:00): P1 2 h / 4 h, P3 8 h / 3 working days,
thresholds 0.5 and 0.75. 2026-11-23 is a Monday.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.container import Services, build
from adapters.settings import Settings
from application.commands.tickets import (
    Assign,
    AwaitCustomer,
    Escalate,
    Invalidate,
    RecordSlaEvents,
    RegisterTicket,
    Resume,
    Start,
)
from application.ports import FixedClock, Notice
from application.sla_clocks import SLA_ACTOR
from domain.errors import TransitionNotAllowed
from domain.ticket import Contact
from tests.support.sla import P1, P3, local


class Recorder:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def notify(self, notice: Notice) -> None:
        self.notices.append(notice)


class World:
    def __init__(self, url: str, now: datetime) -> None:
        self.url = url
        self.clock = FixedClock(now)
        self.notices = Recorder()
        self.services: Services = self._build()

    def _build(self) -> Services:
        s = build(Settings(database_url=self.url), clock=self.clock)
        s.desk.notifier = self.notices
        return s

    def restart(self) -> None:
        self.services.close()
        self.services = self._build()

    @property
    def desk(self) -> Any:
        return self.services.desk

    def at(self, when: datetime) -> World:
        self.clock.set(when)
        return self

    def register(self, reported_at: datetime, **fields: Any) -> str:
        return str(self.desk.handle(RegisterTicket(customer="客户A", contact=Contact("李四"),
                                                   channel="phone", title="ERP 无法登录",
                                                   reported_at=reported_at, **fields),
                                    actor="agent").ticket.id)

    def tick(self) -> Any:
        return self.services.watcher.tick()

    def sla_events(self, ref: str) -> list[tuple[str, Any, Any, Any, datetime]]:
        """(type, clock, threshold or level, occurred_at, recorded_at) of the SLA events."""
        out = []
        for h in self.desk.ticket_history(ref):
            d = h.data
            if h.type == "SlaWarningRaised":
                out.append((h.type, d["clock"], d["threshold"], d["occurred_at"], h.recorded_at))
            elif h.type == "SlaBreached":
                out.append((h.type, d["clock"], None, d["occurred_at"], h.recorded_at))
            elif h.type == "Escalated":
                out.append((h.type, d["clock"], d["level"], d["occurred_at"], h.recorded_at))
        return out


@pytest.fixture
def world() -> Iterator[World]:
    w = World("memory://", local(2026, 11, 23, 10, 0))
    yield w
    w.services.close()


def test_warnings_at_50_and_75_percent_and_the_breach_at_the_due_with_true_times(world):
    t = world.register(local(2026, 11, 23, 10, 0), **P1)  # response due 12:00
    assert world.at(local(2026, 11, 23, 10, 59)).tick().warnings == 0
    c = world.at(local(2026, 11, 23, 11, 7)).tick()
    assert (c.warnings, c.breaches) == (1, 0)
    c = world.at(local(2026, 11, 23, 11, 31)).tick()
    assert (c.warnings, c.breaches) == (1, 0)
    c = world.at(local(2026, 11, 23, 12, 0)).tick()  # resolution 50 % is 12:00 too
    assert (c.warnings, c.breaches, c.escalations) == (1, 1, 1)
    assert world.sla_events(t) == [
        ("SlaWarningRaised", "response", 0.5, local(2026, 11, 23, 11), local(2026, 11, 23, 11, 7)),
        ("SlaWarningRaised", "response", 0.75, local(2026, 11, 23, 11, 30),
         local(2026, 11, 23, 11, 31)),
        ("SlaWarningRaised", "resolution", 0.5, local(2026, 11, 23, 12), local(2026, 11, 23, 12)),
        ("SlaBreached", "response", None, local(2026, 11, 23, 12), local(2026, 11, 23, 12)),
        ("Escalated", "response", 1, local(2026, 11, 23, 12), local(2026, 11, 23, 12)),
    ]
    history = world.desk.ticket_history(t)
    assert {h.actor for h in history if h.type.startswith(("Sla", "Escalated"))} == {"system:sla"}


def test_exactly_once_across_two_ticks(world):
    t = world.register(local(2026, 11, 23, 10, 0), **P1)
    world.at(local(2026, 11, 23, 11, 40)).tick()
    before = world.sla_events(t)
    assert len(before) == 2
    again = world.tick()
    assert (again.warnings, again.breaches, again.checked) == (0, 0, 0)  # index moved on
    assert world.sla_events(t) == before
    # Even asked directly, the ticket records nothing twice.
    result = world.desk.handle(RecordSlaEvents(ref=t, now=local(2026, 11, 23, 11, 40)),
                               actor=SLA_ACTOR)
    assert (result.changed, result.events) == (False, ())


def test_exactly_once_across_a_restart_on_the_same_sqlite_file(tmp_path: Path):
    w = World(f"sqlite:///{tmp_path}/w.sqlite3", local(2026, 11, 23, 10, 0))
    try:
        t = w.register(local(2026, 11, 23, 10, 0), **P1)
        assert w.at(local(2026, 11, 23, 11, 10)).tick().warnings == 1
        w.restart()
        assert w.tick().warnings == 0
        assert w.at(local(2026, 11, 23, 11, 45)).tick().warnings == 1
        w.restart()
        assert w.tick().warnings == 0
        assert [e[2] for e in w.sla_events(t)] == [0.5, 0.75]
    finally:
        w.services.close()


def test_after_a_long_gap_every_missed_event_is_recorded_in_order_with_true_times(world):
    t = world.register(local(2026, 11, 23, 10, 0), **P1)  # response 12:00, resolution 14:00
    later = local(2026, 11, 24, 9, 30)  # the watcher was down all afternoon and night
    c = world.at(later).tick()
    assert (c.warnings, c.breaches, c.escalations) == (4, 2, 2)
    assert world.sla_events(t) == [
        ("SlaWarningRaised", "response", 0.5, local(2026, 11, 23, 11), later),
        ("SlaWarningRaised", "response", 0.75, local(2026, 11, 23, 11, 30), later),
        ("SlaWarningRaised", "resolution", 0.5, local(2026, 11, 23, 12), later),
        ("SlaBreached", "response", None, local(2026, 11, 23, 12), later),
        ("Escalated", "response", 1, local(2026, 11, 23, 12), later),
        ("SlaWarningRaised", "resolution", 0.75, local(2026, 11, 23, 13), later),
        ("SlaBreached", "resolution", None, local(2026, 11, 23, 14), later),
        ("Escalated", "resolution", 2, local(2026, 11, 23, 14), later),
    ]
    sla = world.desk.sla.status(world.desk.get_ticket(t), later)
    assert (sla.state, sla.escalation_level) == ("breached", 2)


def test_a_pause_postpones_warnings_and_the_breach(world):
    t = world.register(local(2026, 11, 23, 10, 0), **P1)  # resolution 14:00, 50 % at 12:00
    world.at(local(2026, 11, 23, 10, 20)).desk.handle(Assign(ref=t, assignee="eng"), actor="lead")
    world.desk.handle(Start(ref=t), actor="eng")  # the response clock stops at 10:20
    world.at(local(2026, 11, 23, 11, 0)).desk.handle(AwaitCustomer(ref=t, reason="日志"), actor="eng")
    assert world.at(local(2026, 11, 23, 15, 0)).tick().warnings == 0  # paused since 11:00
    world.at(local(2026, 11, 23, 16, 0)).desk.handle(Resume(ref=t), actor="eng")  # 5 working hours paused
    d = world.desk.get_ticket(t).sla_deadlines
    assert d.resolution_due == local(2026, 11, 24, 10, 0)  # 14:00 + 5 h: Tue 10:00
    # 75 %: 13:00 + 5 h is 18:00 (the end of the working day is that instant, ADR 0013)
    assert d.resolution_warnings == (local(2026, 11, 23, 17, 0), local(2026, 11, 23, 18, 0))
    assert world.tick().warnings == 0
    assert world.at(local(2026, 11, 23, 17, 0)).tick().warnings == 1
    c = world.at(local(2026, 11, 24, 10, 0)).tick()
    assert (c.warnings, c.breaches) == (1, 1)
    assert [(e[0], e[3]) for e in world.sla_events(t)][-3:] == [
        ("SlaWarningRaised", local(2026, 11, 23, 18)),
        ("SlaBreached", local(2026, 11, 24, 10)),
        ("Escalated", local(2026, 11, 24, 10)),
    ]


def test_a_stopped_clock_records_nothing(world):
    t = world.register(local(2026, 11, 23, 10, 0), **P1)
    world.at(local(2026, 11, 23, 10, 30)).desk.handle(Assign(ref=t, assignee="eng"), actor="lead")
    c = world.at(local(2026, 11, 23, 12, 30)).tick()
    assert [e[1] for e in world.sla_events(t)] == ["resolution"]  # 12:00 resolution 50 %
    assert c.breaches == 0


def test_escalation_on_breach_raises_the_priority_and_notifies_manager_and_expert(world):
    t = world.register(local(2026, 11, 23, 10, 0), **P3)  # response due 18:00 (8 h)
    c = world.at(local(2026, 11, 23, 18, 5)).tick()
    assert c.escalations == 1
    ticket = world.desk.get_ticket(t)
    assert (str(ticket.priority), ticket.escalation_level) == ("P2", 1)
    [esc] = [h for h in world.desk.ticket_history(t) if h.type == "Escalated"]
    assert (str(esc.data["priority_from"]), str(esc.data["priority_to"])) == ("P3", "P2")
    assert esc.data["actions"] == ("priority_raised", "manager_notified", "expert_notified")
    assert esc.data["by"] == "system"
    # The raise went through Classified, so the deadlines were recomputed (ADR 0015 rule).
    reasons = [h.data["deadlines"].reason for h in world.desk.ticket_history(t)
               if h.type == "SlaDeadlinesSet"]
    assert reasons == ["classified", "priority_changed"]
    assert ticket.sla_deadlines.response_due == local(2026, 11, 23, 14, 0)  # P2: 4 h
    assert [(n.role, n.recipient, n.level, n.priority_to) for n in world.notices.notices] == [
        ("manager", "sla-manager", 1, "P2"), ("expert", "sla-expert", 1, "P2")]
    # The new response due (14:00) was already past: recorded, but the response clock
    # escalates once only.
    types = [(e[0], e[1]) for e in world.sla_events(t)]
    assert types.count(("SlaBreached", "response")) == 2
    assert types.count(("Escalated", "response")) == 1
    assert world.tick().breaches == 0


def test_manual_escalation_and_its_refusal_from_closed_states(world):
    t = world.register(local(2026, 11, 23, 10, 0), **P3)
    world.at(local(2026, 11, 23, 10, 5)).desk.handle(Escalate(ref=t, reason="客户投诉"), actor="lead")
    world.desk.handle(Escalate(ref=t, reason="仍未恢复"), actor="lead")
    world.desk.handle(Escalate(ref=t, reason="再次升级"), actor="lead")
    ticket = world.desk.get_ticket(t)
    assert (str(ticket.priority), ticket.escalation_level) == ("P1", 3)  # P1 stays P1
    assert [n.level for n in world.notices.notices] == [1, 1, 2, 2, 3, 3]
    inv = world.register(local(2026, 11, 23, 10, 0))
    world.desk.handle(Invalidate(ref=inv, reason="重复报障"), actor="lead")
    with pytest.raises(TransitionNotAllowed):
        world.desk.handle(Escalate(ref=inv, reason="x"), actor="lead")
