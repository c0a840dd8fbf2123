"""The repair order (设备送修单, ADR 0065) as a pure aggregate: given events, when a command,
then new events or a named error, and nothing recorded on refusal.

Laws of the deadline "送修后第二个周末前" (hypothesis): it is a Saturday 00:00 in the zone,
8 to 14 days after the day of sending, never on the weekend of sending itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.repair import QuoteStatus, RepairDirectory, RepairOrder, Status, second_weekend_due

SH = "Asia/Shanghai"
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def order(warranty: str = "out", loaner: str = "") -> RepairOrder:
    r = RepairOrder.send(
        id=uuid4(), number="RP-20261123-001", ticket_id=str(uuid4()),
        ticket_number="SR-20261123-001", customer="客户a", ci_id="ci-1",
        ci_number="CI-20261123-001", ci_name="PC", vendor=" 联想 ", warranty=warranty,
        fault="无法开机", calendar="china-5x8", timezone=SH,
        progress_due=T0 + timedelta(days=3), actor="agent", at=T0, loaner_ci_id=loaner,
        loaner_ci_number="CI-X" if loaner else "")
    r.collect_events()
    return r


def test_send_records_the_deadline_and_refuses_bad_fields_at_once() -> None:
    r = order()
    assert r.vendor == "联想" and r.status is Status.AT_VENDOR
    assert r.due == datetime(2026, 12, 5, tzinfo=ZoneInfo(SH))
    with pytest.raises(InvalidCommand) as e:
        RepairOrder.send(
            id=uuid4(), number="RP-1", ticket_id="t", ticket_number="SR-1", customer="c",
            ci_id="ci-1", ci_number="CI-1", ci_name="PC", vendor="", warranty="maybe",
            fault=" ", calendar="x", timezone=SH, progress_due=T0, actor="a", at=T0,
            loaner_ci_id="ci-1")
    assert {f.field for f in e.value.errors} == {"vendor", "fault", "warranty", "loaner_ci"}


def test_the_progress_alarm_is_recorded_once_per_gap() -> None:
    r = order()
    due = r.progress_due
    assert not r.record_alarms(now=due - timedelta(seconds=1), actor="w", at=due)
    assert r.record_alarms(now=due, actor="w", at=due)
    assert not r.record_alarms(now=due + timedelta(days=9), actor="w", at=due)
    assert [type(e).__name__ for e in r.collect_events()] == ["ProgressOverdue"]
    r.report_progress(text="已报价", next_due=due + timedelta(days=3), actor="a", at=due)
    assert r.record_alarms(now=due + timedelta(days=3), actor="w", at=due)
    assert r.alarms == (due, due + timedelta(days=3))
    r.return_from_vendor(note="", loaner_back=True, actor="a", at=due)
    assert not r.record_alarms(now=due + timedelta(days=30), actor="w", at=due)
    assert r.loaner_back is False  # there was no loaner


def test_an_out_of_warranty_part_waits_for_the_approved_quote() -> None:
    r = order("out")
    with pytest.raises(TransitionNotAllowed) as e:
        r.replace_part(part="主板", note="", actor="a", at=T0)
    assert e.value.missing == ("quote", "quote_approval") and r.collect_events() == []
    r.quote_parts(amount="800", currency="cny", parts=("主板", " "), note="", actor="a", at=T0)
    assert r.quote is not None and r.quote["amount"] == "800.00" and r.quote["currency"] == "CNY"
    assert r.quote["parts"] == ("主板",)
    with pytest.raises(TransitionNotAllowed) as e:
        r.replace_part(part="主板", note="", actor="a", at=T0)
    assert e.value.missing == ("quote_approval",)
    r.reject_quote(reason="太贵", on_behalf=False, actor="customer", at=T0)
    with pytest.raises(TransitionNotAllowed):
        r.approve_quote(reference="", on_behalf=False, actor="customer", at=T0)  # none pending
    r.quote_parts(amount=600, currency="CNY", parts=("主板",), note="", actor="a", at=T0)
    r.approve_quote(reference="", on_behalf=False, actor="customer", at=T0)
    assert r.quote_status is QuoteStatus.APPROVED
    with pytest.raises(TransitionNotAllowed):
        r.quote_parts(amount=1, currency="CNY", parts=("x",), note="", actor="a", at=T0)
    r.replace_part(part="主板", note="", actor="a", at=T0)
    assert [p[1] for p in r.parts_replaced] == ["主板"]


@pytest.mark.parametrize("amount", ["0", "-1", "1.234", "abc", "nan", "Infinity", ""])
def test_a_quote_amount_is_positive_with_two_decimals_at_most(amount: str) -> None:
    with pytest.raises(InvalidCommand) as e:
        order().quote_parts(amount=amount, currency="CNY", parts=("x",), note="", actor="a",
                            at=T0)
    assert [f.field for f in e.value.errors] == ["amount"]


def test_return_then_close_and_nothing_after() -> None:
    r = order("in", loaner="ci-2")
    assert r.on_time() is None
    with pytest.raises(TransitionNotAllowed):
        r.close(note="", actor="a", at=T0)
    r.return_from_vendor(note="送回", loaner_back=True, actor="a", at=r.due)
    assert r.on_time() is False and r.overdue(r.due) and r.loaner_back is True
    r.close(note="", actor="a", at=r.due)
    assert r.status is Status.CLOSED
    with pytest.raises(TransitionNotAllowed):
        r.report_progress(text="x", next_due=T0, actor="a", at=T0)


def test_a_replayed_order_equals_the_one_that_recorded_it() -> None:
    r = order("out")
    events = [*r.collect_events()]
    r2 = RepairOrder.send(
        id=uuid4(), number="RP-1", ticket_id="t", ticket_number="SR-1", customer="c",
        ci_id="ci-1", ci_number="CI-1", ci_name="PC", vendor="v", warranty="out", fault="f",
        calendar="x", timezone=SH, progress_due=T0, actor="a", at=T0)
    r2.quote_parts(amount="5", currency="CNY", parts=("p",), note="", actor="a", at=T0)
    r2.approve_quote(reference="", on_behalf=False, actor="c", at=T0)
    events = r2.collect_events()
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.quote_status is QuoteStatus.APPROVED
    assert replayed.__dict__ == r2.__dict__


def test_the_directory_lists_settles_and_keeps_the_first_submission() -> None:
    d = RepairDirectory.start(T0)
    d.add("a", T0)
    d.add("a", T0)
    d.add("b", T0)
    d.settle("a", T0)
    assert d.orders == ("a", "b") and d.open == ("b",)
    assert d.submit_summary("2026-11", "m", T0)
    assert not d.submit_summary("2026-11", "m", T0 + timedelta(days=1))
    assert d.summaries["2026-11"] == (T0, "m")


@settings(max_examples=50, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)),
       st.sampled_from([SH, "UTC", "America/New_York"]))
def test_the_deadline_is_the_second_saturday_after_the_day_of_sending(sent: datetime,
                                                                      zone: str) -> None:
    due = second_weekend_due(sent, zone)
    local = sent.astimezone(ZoneInfo(zone))
    assert due.weekday() == 5 and (due.hour, due.minute, due.second) == (0, 0, 0)
    gap = (due.date() - local.date()).days
    assert 8 <= gap <= 14
    # Exactly one Saturday lies strictly between the day of sending and the due day.
    between = [local.date() + timedelta(days=i) for i in range(1, gap)]
    assert sum(d.weekday() == 5 for d in between) == 1
    assert due > sent


def test_summary_due_is_the_tenth() -> None:
    from domain.repair import summary_due
    assert summary_due(date(2026, 12, 1)) == date(2026, 12, 10)
