"""Recompute of open tickets after a policy or calendar redefinition, and the customer's
policy, through the use cases (ADR 0018). Times worked out by hand on china-5x8."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.commands.catalog import PutPolicy, default_policy
from application.commands.customers import RegisterCustomer
from application.commands.tickets import (
    Assign,
    AwaitCustomer,
    Resolve,
    Resume,
    Start,
)
from application.customers import customer_policy
from domain.sla import PolicyDefinition
from tests.application.test_sla_clocks import P2, P3, Desk, dues, local


def redefine_default(d: Desk, **targets: dict[str, str]) -> None:
    base = default_policy()
    given: dict[str, Any] = {p: {"response": t.response.text, "resolution": t.resolution.text}
                             for p, t in base.targets.items()}
    given.update(targets)
    definition = PolicyDefinition.parse(
        name=base.name, calendar=base.calendar, targets=given,
        warning_thresholds=base.warning_thresholds,
        escalation={"manager": base.escalation.manager, "expert": base.escalation.expert})
    assert d.desk.handle(PutPolicy(slug="default", definition=definition), actor="admin").changed


def started_p2(d: Desk) -> Any:
    t = d.register(local(2026, 11, 23, 10, 0), **P2)
    d.at(local(2026, 11, 23, 10, 30)).handle(Assign(ref=t.id, assignee="eng-wang"), actor="lead")
    return t


def test_same_start_keeps_the_start_and_the_stopped_response():
    d = Desk(local(2026, 11, 23, 10, 0))
    t = started_p2(d)
    redefine_default(d, P2={"response": "PT4H", "resolution": "PT8H"})
    assert d.at(local(2026, 11, 24, 10, 0)).refresh(t.id)
    t = d.get_ticket(t.id)
    # response stopped at 10:30: keeps Mon 14:00; resolution 8 h from Mon 10:00: Mon 18:00
    assert dues(t) == (local(2026, 11, 23, 14, 0), local(2026, 11, 23, 18, 0))
    x = t.sla_deadlines
    assert (x.reason, x.policy_version, x.rule, x.policy_source) == (
        "policy_changed", 2, "same_start", "default")
    assert not d.refresh(t.id)  # current now: nothing recorded


def test_restart_starts_the_running_clocks_at_the_recompute():
    d = Desk(local(2026, 11, 23, 10, 0), rule="restart")
    t = started_p2(d)
    redefine_default(d, P2={"response": "PT4H", "resolution": "PT8H"})
    d.at(local(2026, 11, 24, 10, 0)).refresh(t.id)
    t = d.get_ticket(t.id)
    assert dues(t) == (local(2026, 11, 23, 14, 0), local(2026, 11, 24, 18, 0))
    assert t.sla_deadlines.resolution_started_at == local(2026, 11, 24, 10, 0)


def test_a_paused_ticket_is_recomputed_and_its_pause_end_keeps_the_new_version():
    d = Desk(local(2026, 11, 23, 10, 0))
    t = started_p2(d)
    d.handle(Start(ref=t.id), actor="eng-wang")
    d.at(local(2026, 11, 24, 10, 0)).handle(AwaitCustomer(ref=t.id, reason="等日志"), actor="eng-wang")
    redefine_default(d, P2={"response": "PT4H", "resolution": "PT32H"})
    assert d.at(local(2026, 11, 24, 11, 0)).refresh(t.id)
    # 32 h from Mon 10:00: Mon 8 + Tue 9 + Wed 9 + Thu 6 -> Thu 15:00
    assert dues(d.get_ticket(t.id))[1] == local(2026, 11, 26, 15, 0)
    t = d.at(local(2026, 11, 24, 12, 0)).handle(Resume(ref=t.id), actor="eng-wang").ticket
    x = t.sla_deadlines
    assert (x.reason, x.policy_version) == ("waiting_customer", 2)
    assert x.resolution_due == local(2026, 11, 26, 17, 0)  # + the 2 h pause


def test_resolved_and_unclassified_tickets_are_left_alone():
    d = Desk(local(2026, 11, 23, 10, 0))
    t = started_p2(d)
    d.handle(Start(ref=t.id), actor="eng-wang")
    d.handle(Resolve(ref=t.id, resolution="重启 ERP 应用服务器并清理会话表", root_cause="会话表已满"),
             actor="eng-wang")
    u = d.register(local(2026, 11, 23, 10, 0))
    redefine_default(d, P2={"response": "PT4H", "resolution": "PT8H"})
    assert not d.refresh(t.id)
    assert not d.refresh(u.id)


def test_the_customers_policy_is_used_through_the_seam():
    d = Desk(local(2026, 11, 23, 10, 0))
    slow = default_policy()
    d.desk.handle(PutPolicy(slug="slow", definition=slow), actor="admin")
    d.desk.handle(RegisterCustomer(id="客户A", name="客户A", sla_policy="slow"), actor="admin")
    assert customer_policy(d.desk, "客户A") == "slow" and customer_policy(d.desk, "x") is None
    d.clocks.customer_policy = lambda c: customer_policy(d.desk, c)
    t = d.register(local(2026, 11, 23, 10, 0), **P3)  # Desk.register uses customer 客户A
    x = t.sla_deadlines
    assert (x.policy, x.policy_source) == ("slow", "customer")
    assert isinstance(x.resolution_due, datetime)
