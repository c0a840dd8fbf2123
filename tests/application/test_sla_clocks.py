"""SLA clocks on tickets through the use cases (ADR 0015): a FixedClock, the in-memory (popo)
store, the default policy on china-5x8 (Mon-Fri 09:00-18:00, no lunch break, China holidays
and make-up days from chinese-calendar). Every expected time is worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from adapters.calendars.holidays import ChinaHolidaySource
from application.commands.catalog import PutCalendar, PutPolicy
from application.commands.tickets import (
    Assign,
    AwaitCustomer,
    Classify,
    CloseTicket,
    Confirm,
    RefreshSlaDeadlines,
    RegisterTicket,
    Reopen,
    Resolve,
    Resume,
    Start,
)
from application.desk import ServiceDesk
from application.ports import FixedClock
from application.sla_clocks import RESTART, SLA_ACTOR, SlaClocks
from domain.errors import InvalidCommand
from domain.sla import CalendarDefinition, PolicyDefinition
from domain.ticket import Contact, Ticket
from tests.support.sla import P1, P2, P3, local

RESOLUTION = dict(resolution="重启 ERP 应用服务器并清理会话表", root_cause="会话表已满")


class Desk:
    def __init__(self, now: datetime, rule: str = "same_start") -> None:
        self.clock = FixedClock(now)
        self.desk = ServiceDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=self.clock)
        self.desk.sla = self.clocks = SlaClocks(self.desk, ChinaHolidaySource(), rule=rule)

    def at(self, when: datetime) -> Desk:
        self.clock.set(when)
        return self

    def register(self, reported_at: datetime, **fields: Any) -> Ticket:
        return self.desk.handle(RegisterTicket(customer="客户A", contact=Contact("李四"),
                                               channel="phone", title="ERP 无法登录",
                                               reported_at=reported_at, **fields), actor="agent").ticket

    def refresh(self, ref: Any) -> bool:
        """The watcher's recompute of one ticket: whether it recorded new deadlines."""
        return self.desk.handle(RefreshSlaDeadlines(ref=ref), actor=SLA_ACTOR).changed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.desk, name)

    def sla(self, ref: Any, now: datetime | None = None) -> Any:
        t = self.desk.get_ticket(ref)
        return self.clocks.status(t, now or self.clock.now())

    def deadline_events(self, ref: Any) -> list[Any]:
        return [h for h in self.desk.ticket_history(ref) if h.type == "SlaDeadlinesSet"]


def dues(t: Ticket) -> tuple[datetime, datetime]:
    assert t.sla_deadlines is not None
    return t.sla_deadlines.response_due, t.sla_deadlines.resolution_due


def test_p1_reported_monday_10_is_due_12_and_14_with_every_version_recorded():
    d = Desk(local(2026, 11, 23, 10, 5))
    t = d.register(local(2026, 11, 23, 10, 0), **P1)
    assert dues(t) == (local(2026, 11, 23, 12, 0), local(2026, 11, 23, 14, 0))
    [h] = d.deadline_events(t.id)
    assert (h.actor, h.recorded_at) == ("system:sla", local(2026, 11, 23, 10, 5))
    x = h.data["deadlines"]
    assert (x.policy, x.policy_version, x.calendar, x.calendar_version) == (
        "default", 1, "china-5x8", 1)
    assert x.holiday_data == ChinaHolidaySource.source
    assert x.holiday_data.startswith("chinese-calendar ")
    assert (x.reason, x.rule, x.response_paused_seconds, x.resolution_paused_seconds) == (
        "classified", "same_start", 0, 0)
    assert (x.response_target, x.resolution_target) == ("PT2H", "PT4H")
    assert x.response_started_at == local(2026, 11, 23, 10, 0)  # from reported_at


@pytest.mark.parametrize("now,reported,priority,expected", [
    # PT8H: 10:00-18:00 the same day (the end of the day is that instant); P3D: Thursday 10:00
    pytest.param(local(2026, 11, 23, 10, 5), local(2026, 11, 23, 10, 0), P3,
                 (local(2026, 11, 23, 18, 0), local(2026, 11, 26, 10, 0)),
                 id="p3_takes_three_whole_working_days"),
    pytest.param(local(2026, 11, 27, 17, 1), local(2026, 11, 27, 17, 0), P1,
                 (local(2026, 11, 30, 10, 0), local(2026, 11, 30, 12, 0)),
                 id="a_friday_17_report_crosses_the_weekend-P1"),
    # 24 h: Fri 1 + Mon 9 + Tue 9 + Wed 5
    pytest.param(local(2026, 11, 27, 17, 1), local(2026, 11, 27, 17, 0), P2,
                 (local(2026, 11, 30, 12, 0), local(2026, 12, 2, 14, 0)),
                 id="a_friday_17_report_crosses_the_weekend-P2"),
    # National day 2026 and its make-up Saturday: Oct 1-7 off, Thursday Oct 8 and Friday
    # Oct 9 worked, Saturday Oct 10 a make-up workday.
    # 4 h: Sep 30 2 h + Oct 8 2 h; 24 h: 2 + 9 (Oct 8) + 9 (Oct 9) + 4 (Sat Oct 10)
    pytest.param(local(2026, 9, 30, 16, 1), local(2026, 9, 30, 16, 0), P2,
                 (local(2026, 10, 8, 11, 0), local(2026, 10, 10, 13, 0)),
                 id="national_day_2026_and_its_makeup_saturday-P2"),
    # 8 h: 2 + 6 on Oct 8; P3D: Oct 8, Oct 9, Oct 10
    pytest.param(local(2026, 9, 30, 16, 1), local(2026, 9, 30, 16, 0), P3,
                 (local(2026, 10, 8, 15, 0), local(2026, 10, 10, 16, 0)),
                 id="national_day_2026_and_its_makeup_saturday-P3"),
])
def test_the_deadlines_count_working_time_only(now, reported, priority, expected):
    d = Desk(now)
    assert dues(d.register(reported, **priority)) == expected


def test_waiting_two_working_hours_on_tuesday_moves_the_running_clock_two_hours():
    d = Desk(local(2026, 11, 23, 10, 0))
    t = d.register(local(2026, 11, 23, 10, 0), **P2)
    assert dues(t) == (local(2026, 11, 23, 14, 0), local(2026, 11, 25, 16, 0))
    d.at(local(2026, 11, 23, 10, 30)).handle(Assign(ref=t.id, assignee="eng-wang"), actor="lead")
    d.handle(Start(ref=t.id), actor="eng-wang")  # the response clock stopped at 10:30 (assignment)
    d.at(local(2026, 11, 24, 10, 0)).handle(AwaitCustomer(ref=t.id, reason="等待客户日志"), actor="eng")
    s = d.sla(t.id, local(2026, 11, 24, 11, 0))
    assert (s.paused, s.paused_seconds, s.state) == (True, 3600, "ok")
    later = d.sla(t.id, local(2026, 11, 26))
    assert later.resolution_remaining_seconds == s.resolution_remaining_seconds  # stands still
    assert later.state == "ok"  # and never breaches while paused
    t = d.at(local(2026, 11, 24, 12, 0)).handle(Resume(ref=t.id), actor="eng").ticket
    # both clocks that were running move by the paused working time: resolution Wed 18:00;
    # the response clock had stopped before the pause, so it keeps its due
    assert dues(t) == (local(2026, 11, 23, 14, 0), local(2026, 11, 25, 18, 0))
    x = t.sla_deadlines
    assert (x.reason, x.resolution_paused_seconds, x.response_paused_seconds) == (
        "waiting_customer", 7200, 0)
    assert len(d.deadline_events(t.id)) == 2
    s = d.sla(t.id)
    assert (s.responded_at, s.paused, s.paused_seconds, s.state) == (
        local(2026, 11, 23, 10, 30), False, 7200, "ok")


def test_a_pause_over_the_night_moves_nothing_and_records_nothing():
    d = Desk(local(2026, 11, 23, 17, 0))
    t = d.register(local(2026, 11, 23, 17, 0), **P2)
    d.handle(Assign(ref=t.id, assignee="eng-wang"), actor="lead")
    d.handle(Start(ref=t.id), actor="eng-wang")
    d.at(local(2026, 11, 23, 19, 0)).handle(AwaitCustomer(ref=t.id, reason="等待客户"), actor="eng")
    d.at(local(2026, 11, 24, 8, 0)).handle(Resume(ref=t.id), actor="eng")
    assert len(d.deadline_events(t.id)) == 1


def test_a_priority_change_keeps_the_start_and_the_pauses():
    d = Desk(local(2026, 11, 23, 10, 0))
    t = d.register(local(2026, 11, 23, 10, 0), **P2)
    d.handle(Assign(ref=t.id, assignee="eng-wang"), actor="lead")
    d.handle(Start(ref=t.id), actor="eng-wang")
    d.at(local(2026, 11, 24, 10, 0)).handle(AwaitCustomer(ref=t.id, reason="等待客户"), actor="eng")
    d.at(local(2026, 11, 24, 12, 0)).handle(Resume(ref=t.id), actor="eng")
    t = d.at(local(2026, 11, 24, 13, 0)).handle(Classify(ref=t.id, **P3), actor="lead").ticket
    # P3D from Monday 10:00 = Thursday 10:00, + the 2 h pause; the stopped response keeps 14:00
    assert dues(t) == (local(2026, 11, 23, 14, 0), local(2026, 11, 26, 12, 0))
    x = t.sla_deadlines
    assert (x.reason, x.priority, x.resolution_paused_seconds) == ("priority_changed", "P3", 7200)
    assert x.resolution_started_at == local(2026, 11, 23, 10, 0)


def test_a_priority_change_before_the_response_recomputes_both_clocks():
    d = Desk(local(2026, 11, 23, 10, 0))
    t = d.register(local(2026, 11, 23, 10, 0), **P3)
    t = d.at(local(2026, 11, 23, 11, 0)).handle(Classify(ref=t.id, **P1), actor="lead").ticket
    assert dues(t) == (local(2026, 11, 23, 12, 0), local(2026, 11, 23, 14, 0))


def test_the_restart_rule_starts_again_at_the_change():
    d = Desk(local(2026, 11, 23, 10, 0), rule=RESTART)
    t = d.register(local(2026, 11, 23, 10, 0), **P3)
    t = d.at(local(2026, 11, 23, 11, 0)).handle(Classify(ref=t.id, **P1), actor="lead").ticket
    assert dues(t) == (local(2026, 11, 23, 13, 0), local(2026, 11, 23, 15, 0))
    assert t.sla_deadlines.rule == "restart"


def test_the_same_classification_again_records_no_new_deadlines():
    d = Desk(local(2026, 11, 23, 10, 0))
    t = d.register(local(2026, 11, 23, 10, 0), **P1)
    d.handle(Classify(ref=t.id, **{**P1, "category": "hardware"}), actor="lead")
    assert len(d.deadline_events(t.id)) == 1


def test_classification_after_registration_computes_from_reported_at():
    d = Desk(local(2026, 11, 23, 10, 30))
    t = d.register(local(2026, 11, 23, 10, 0))
    assert t.sla_deadlines is None and d.sla(t.id) is None
    t = d.at(local(2026, 11, 23, 11, 0)).handle(Classify(ref=t.id, **P1), actor="lead").ticket
    assert dues(t) == (local(2026, 11, 23, 12, 0), local(2026, 11, 23, 14, 0))


def test_a_rejected_acceptance_gives_back_the_time_that_was_left():
    d = Desk(local(2026, 11, 23, 10, 0))
    t = d.register(local(2026, 11, 23, 10, 0), **P1)  # resolution due 14:00
    d.handle(Assign(ref=t.id, assignee="eng-wang"), actor="lead")
    d.handle(Start(ref=t.id), actor="eng-wang")
    d.at(local(2026, 11, 23, 13, 0)).handle(Resolve(ref=t.id, **RESOLUTION), actor="eng-wang")
    assert d.sla(t.id, local(2026, 11, 30)).state == "met"
    t = d.at(local(2026, 11, 23, 16, 0)).handle(Confirm(ref=t.id, signer="王经理", items=["ERP"],
                                                        criteria=["可登录"], passed=False,
                                                        unmet_items=["报表"]), actor="agent").ticket
    # 1 h was left at 13:00; the 3 working hours until the rejection are kept as paused
    assert dues(t)[1] == local(2026, 11, 23, 17, 0)
    assert t.sla_deadlines.reason == "acceptance_rejected"
    s = d.sla(t.id, local(2026, 11, 23, 16, 30))
    assert (s.resolved_at, s.resolution_remaining_seconds, s.state) == (None, 1800, "warning")
    assert d.sla(t.id, local(2026, 11, 23, 17, 0)).state == "breached"


def test_a_resolution_after_the_due_stays_breached_after_a_reopen():
    d = Desk(local(2026, 11, 23, 10, 0))
    t = d.register(local(2026, 11, 23, 10, 0), **P1)
    d.handle(Assign(ref=t.id, assignee="eng-wang"), actor="lead")
    d.handle(Start(ref=t.id), actor="eng-wang")
    d.at(local(2026, 11, 23, 15, 0)).handle(Resolve(ref=t.id, **RESOLUTION), actor="eng-wang")
    assert d.sla(t.id).state == "breached"
    d.handle(CloseTicket(ref=t.id, signer="王经理", reason="同意结束"), actor="agent")
    t = d.at(local(2026, 11, 25, 10, 0)).handle(Reopen(ref=t.id, reason="又坏了"), actor="agent").ticket
    assert dues(t)[1] == local(2026, 11, 23, 14, 0)  # the pause began after the due
    assert d.sla(t.id).state == "breached"


def test_an_unknown_sla_policy_is_refused_naming_the_field_and_a_known_one_is_used():
    d = Desk(local(2026, 11, 23, 10, 0))
    with pytest.raises(InvalidCommand) as e:
        d.register(local(2026, 11, 23, 10, 0), sla_policy="no-such", **P1)
    assert [f.field for f in e.value.errors] == ["sla_policy"]
    d.desk.handle(PutCalendar(slug="acme-7x24",
                              definition=CalendarDefinition.parse(
        name="ACME 7x24", timezone="Asia/Shanghai", base=None,
        working_hours={day: [["00:00", "24:00"]] for day in (
            "mon", "tue", "wed", "thu", "fri", "sat", "sun")})), actor="admin")
    d.desk.handle(PutPolicy(slug="acme",
                            definition=PolicyDefinition.parse(
        name="ACME", calendar="acme-7x24",
        targets={"P1": {"response": "PT5M", "resolution": "PT1H"},
                 "P2": {"response": "PT1H", "resolution": "PT4H"},
                 "P3": {"response": "PT4H", "resolution": "P1D"}},
        warning_thresholds=[0.8], escalation={"manager": "m", "expert": "e"})), actor="admin")
    d.at(local(2026, 11, 28, 23, 31))
    t = d.register(local(2026, 11, 28, 23, 30), sla_policy="acme", **P1)  # a Saturday night
    assert dues(t) == (local(2026, 11, 28, 23, 35), local(2026, 11, 29, 0, 30))
    x = t.sla_deadlines
    assert (x.policy, x.calendar, x.holiday_data, x.warning_thresholds) == (
        "acme", "acme-7x24", None, (0.8,))


def test_the_customer_mapping_seam_is_used_when_the_ticket_names_no_policy():
    d = Desk(local(2026, 11, 23, 10, 0))
    d.clocks.customer_policy = lambda customer: "missing-policy"  # unknown: default
    t = d.register(local(2026, 11, 23, 10, 0), **P1)
    assert t.sla_deadlines.policy == "default"


def test_deadlines_survive_the_stored_encoding(tmp_path):
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
           "SQLITE_DBNAME": str(tmp_path / "s.sqlite3")}
    clock = FixedClock(local(2026, 11, 23, 10, 0))
    desk = ServiceDesk(env, clock=clock)
    desk.sla = SlaClocks(desk, ChinaHolidaySource())
    t = desk.handle(RegisterTicket(customer="c", contact=Contact("n"), channel="web", title="t",
                                   **P1), actor="a").ticket
    again = ServiceDesk(env, clock=clock)
    assert again.get_ticket(t.id).sla_deadlines == t.sla_deadlines
    assert again.get_ticket(t.id, as_of=clock.now() + timedelta(seconds=1)).sla_deadlines == (
        t.sla_deadlines)
