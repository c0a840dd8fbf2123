"""Field visits on the ticket (ADR 0064): the visit's steps in order, on-site time, the
out-of-office test, the ticket statuses that take visits, replays, and the signer cleared
by the erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.ticket import Channel, Contact, ProposedClassification, Ticket
from domain.visit import VisitStatus

AT = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


def assigned() -> Ticket:
    t = Ticket.register(id=uuid4(), number="SR-20261121-001", customer="客户A",
                        contact=Contact(name="李四"), channel=Channel.PHONE, title="硬盘故障",
                        description="", affected_system="ERP", reported_at=AT, attachments=(),
                        proposed=ProposedClassification(), sla_policy=None, actor="agent", at=AT)
    t.classify(type="fault", category="hardware", urgency="urgent", impact="single",
               importance="important", actor="lead", at=AT)
    t.assign(assignee="eng-wang", group=None, interface_person=None, actor="lead", at=AT)
    return t


def test_a_visit_from_plan_to_sheet_and_its_replay() -> None:
    t = assigned()
    t.plan_visit(number="PG-20261121-001", engineer="eng-wang",
                 planned_arrival=AT + timedelta(hours=1), note="带盘", actor="disp", at=AT)
    with pytest.raises(TransitionNotAllowed):
        t.leave_visit(number="PG-20261121-001", work_done="x", parts_used=(), signer="王",
                      actor="eng-wang", at=AT)
    t.depart_visit(number="pg-20261121-001", actor="eng-wang", at=AT + timedelta(minutes=20))
    (v,) = t.visits
    assert v.status is VisitStatus.DEPARTED and v.away(AT + timedelta(minutes=30))
    t.arrive_visit(number="PG-20261121-001", actor="eng-wang", at=AT + timedelta(minutes=70))
    with pytest.raises(InvalidCommand) as refused:
        t.leave_visit(number="PG-20261121-001", work_done=" ", parts_used=(), signer="",
                      actor="eng-wang", at=AT + timedelta(hours=2),
                      occurred_at=AT + timedelta(minutes=60))
    assert {e.field for e in refused.value.errors} == {"work_done", "signer", "occurred_at"}
    t.leave_visit(number="PG-20261121-001", work_done="更换硬盘", parts_used=(" 硬盘 ", ""),
                  signer="王经理", actor="eng-wang", at=AT + timedelta(hours=2))
    (v,) = t.visits
    assert v.on_site == timedelta(minutes=50) and v.late is True and not v.away(AT)
    assert v.sheet is not None and v.sheet.parts_used == ("硬盘",)
    again = None
    for e in t.collect_events():
        again = e.mutate(again)
    assert isinstance(again, Ticket) and again.visits == t.visits
    t.erase_contact(reason="删除", erasure_id="e1", actor="admin", at=AT + timedelta(hours=3))
    assert t.visits[0].sheet is not None and t.visits[0].sheet.signer == "[erased]"


def test_only_a_ticket_being_worked_takes_visits() -> None:
    t = assigned()
    t.start(actor="eng-wang", at=AT)
    t.resolve(resolution="更换硬盘后 ERP 恢复正常", root_cause="硬盘老化", actor="eng-wang", at=AT)
    with pytest.raises(TransitionNotAllowed):
        t.plan_visit(number="PG-1", engineer="eng", planned_arrival=AT, actor="d", at=AT)
