"""Spare parts in the domain (ADR 0064): a stock line never goes below zero whatever the
receipts and issues (hypothesis), replaying its events rebuilds it, a requisition's steps and
its arrival against the target, and a refused command records nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.spare_part import Requisition, RequisitionStatus, StockLine, Warehouse

AT = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


def line() -> StockLine:
    return StockLine.open(warehouse="gz", part_number=" hdd 600g ", description="硬盘",
                          location="A-03", actor="mgr", at=AT)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=9)), max_size=30))
def test_stock_never_goes_negative_and_replays_the_same(moves: list[tuple[bool, int]]) -> None:
    s = line()
    expected = 0
    for n, (receive, quantity) in enumerate(moves):
        at = AT + timedelta(minutes=n + 1)
        if receive:
            s.receive(quantity=quantity, actor="mgr", at=at)
            expected += quantity
        elif quantity > s.quantity:
            version = s.version
            with pytest.raises(TransitionNotAllowed) as refused:
                s.issue(quantity=quantity, requisition_id=str(uuid4()),
                        requisition_number="BJ-1", actor="eng", at=at)
            assert refused.value.missing == ("stock",) and s.version == version
        else:
            s.issue(quantity=quantity, requisition_id=str(uuid4()), requisition_number="BJ-1",
                    actor="eng", at=at)
            expected -= quantity
        assert s.quantity == expected >= 0
    events = s.collect_events()
    again = None
    for e in events:
        again = e.mutate(again)
    assert isinstance(again, StockLine)
    assert (again.quantity, again.received, again.issued, again.requisitions) == (
        s.quantity, s.received, s.issued, s.requisitions)
    assert s.part_number == "HDD 600G"


def requisition(target: timedelta = timedelta(hours=2)) -> Requisition:
    return Requisition.request(id=uuid4(), number="BJ-20261121-001", ticket_id=str(uuid4()),
                               ticket_number="SR-20261121-001", customer="客户A", warehouse="gz",
                               part_number="HDD", description="硬盘", quantity=1,
                               arrival_target=target, note="", actor="eng", at=AT)


def test_a_requisitions_steps_and_its_arrival_against_the_target() -> None:
    r = requisition()
    assert r.arrival_due == AT + timedelta(hours=2) and r.arrival_met(AT) is None
    with pytest.raises(TransitionNotAllowed):
        r.install(actor="eng", at=AT)
    r.dispatch(actor="eng", at=AT + timedelta(minutes=10))
    r.arrive(actor="eng", at=AT + timedelta(hours=3), occurred_at=AT + timedelta(minutes=100))
    assert r.arrival_time == timedelta(minutes=100) and r.arrival_met(AT) is True
    r.install(actor="eng", at=AT + timedelta(hours=4))
    with pytest.raises(InvalidCommand):
        r.return_faulty(reason=" ", actor="eng", at=AT + timedelta(hours=5))
    r.return_faulty(reason="坏盘", actor="eng", at=AT + timedelta(hours=5))
    assert r.status is RequisitionStatus.RETURNED_FAULTY and r.allowed_commands() == ()


def test_an_arrival_missed_before_it_happens() -> None:
    r = requisition(timedelta(hours=1))
    assert r.arrival_met(AT + timedelta(minutes=61)) is False
    with pytest.raises(InvalidCommand):  # a claimed time in the future
        r.dispatch(actor="eng", at=AT, occurred_at=AT + timedelta(hours=1))


def test_a_warehouse_needs_a_slug_a_name_and_a_positive_target() -> None:
    with pytest.raises(InvalidCommand) as refused:
        Warehouse.define(slug="Bad Slug", name=" ", arrival_target=timedelta(0), actor="m",
                         at=AT)
    assert {e.field for e in refused.value.errors} == {"slug", "name", "arrival_target"}
    w = Warehouse.define(slug="gz", name="广州", actor="m", at=AT)
    assert w.redefine(name="广州", actor="m", at=AT) is False
    assert w.redefine(name="广州", arrival_target=timedelta(hours=2), actor="m", at=AT) is True
