"""The Announcement aggregate (issue 19 item 5, ADR 0060): the 48-hour rule of the source
documents ([001] 2.3 "提前至少48小时"), the window's order, a change's window covered, and the
withdrawal -- given events, when a command, then new events or a named error.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from domain.announcement import (DEFAULT_LEAD, Announcement, AnnouncementDirectory, Phase,
                                 Status)
from domain.change import AnnouncementLink, Change, ChangeKind, Origin, OriginKind
from domain.errors import InvalidCommand, TransitionNotAllowed

CST = timezone(timedelta(hours=8), "CST")
T0 = datetime(2031, 3, 14, 9, 30, tzinfo=CST)
ANN_ID = UUID("00000000-0000-4000-8000-0000000000b1")
HOUR = timedelta(hours=1)


def publish(**overrides: Any) -> Announcement:
    kwargs: dict[str, Any] = dict(
        id=ANN_ID, number="ANN-20310314-001", title="ERP 系统升级",
        body="3月17日 22:00-24:00 ERP 系统升级，期间暂停服务。", customers=["acme", " acme "],
        systems=["ERP", "", "ERP"], starts=T0 + 60 * HOUR, ends=T0 + 62 * HOUR,
        actor="mgr-wang", at=T0)
    kwargs.update(overrides)
    return Announcement.publish(**kwargs)


def fields(e: pytest.ExceptionInfo[InvalidCommand]) -> set[str]:
    return {x.field for x in e.value.errors}


def test_publish_records_one_event_with_the_scope_and_window() -> None:
    a = publish()
    (event,) = a.collect_events()
    assert isinstance(event, Announcement.Published)
    assert event.timestamp == T0 and event.actor == "mgr-wang"
    assert event.customers == ("acme",) and event.systems == ("ERP",)
    assert (event.starts, event.ends) == (T0 + 60 * HOUR, T0 + 62 * HOUR)
    assert event.change_id == "" and event.number == "ANN-20310314-001"
    assert a.status is Status.PUBLISHED and a.notice == 60 * HOUR


def test_exactly_48_hours_ahead_is_enough_and_a_minute_less_is_refused() -> None:
    assert publish(starts=T0 + DEFAULT_LEAD).starts == T0 + DEFAULT_LEAD
    with pytest.raises(InvalidCommand) as e:
        publish(starts=T0 + DEFAULT_LEAD - timedelta(minutes=1))
    assert fields(e) == {"starts"}
    assert "48 hours" in e.value.detail
    assert "2031-03-16T09:30+08:00 or later" in e.value.detail  # in the offset of starts


def test_the_lead_is_configurable() -> None:
    publish(starts=T0 + 25 * HOUR, lead=24 * HOUR)
    with pytest.raises(InvalidCommand) as e:
        publish(starts=T0 + 60 * HOUR, ends=T0 + 70 * HOUR, lead=72 * HOUR)
    assert fields(e) == {"starts"} and "72 hours" in e.value.detail


def test_an_emergency_window_may_start_sooner_but_not_be_over() -> None:
    assert publish(starts=T0 + HOUR, ends=T0 + 3 * HOUR, short_notice=True).notice == HOUR
    with pytest.raises(InvalidCommand) as e:
        publish(starts=T0 - 3 * HOUR, ends=T0 - HOUR, short_notice=True)
    assert fields(e) == {"ends"}


def test_the_window_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidCommand) as e:
        publish(ends=T0 + 60 * HOUR)
    assert fields(e) == {"ends"}


def test_naive_or_missing_times_and_empty_scope_and_body_are_named_together() -> None:
    with pytest.raises(InvalidCommand) as e:
        publish(starts=datetime(2031, 3, 17, 22), ends=None, customers=[" "], body=" ")
    assert fields(e) == {"starts", "ends", "scope.customers", "body"}


def test_a_missing_title_is_the_first_line_of_the_body() -> None:
    a = publish(title=" ", body="ERP 停机维护\n详情见附件")
    assert a.title == "ERP 停机维护"


def test_a_change_window_must_be_covered() -> None:
    window = (T0 + 60 * HOUR, T0 + 62 * HOUR)
    publish(change_id="c1", change_number="CHG-20310314-001", change_window=window)
    with pytest.raises(InvalidCommand) as e:
        publish(starts=T0 + 61 * HOUR, ends=T0 + 61.5 * HOUR, change_number="CHG-20310314-001",
                change_window=window)
    assert fields(e) == {"starts", "ends"}
    assert "CHG-20310314-001" in e.value.detail


def test_phases_follow_the_readers_clock() -> None:
    a = publish()
    assert a.phase(T0) is Phase.UPCOMING
    assert a.phase(T0 + 60 * HOUR) is Phase.CURRENT
    assert a.phase(T0 + 62 * HOUR) is Phase.PAST
    assert a.concerns("acme") and not a.concerns("globex") and not a.concerns(None)


def test_withdraw_records_the_reason_once() -> None:
    a = publish()
    a.collect_events()
    a.withdraw(reason="厂商补丁推迟", actor="mgr-wang", at=T0 + HOUR)
    (event,) = a.collect_events()
    assert isinstance(event, Announcement.Withdrawn) and event.reason == "厂商补丁推迟"
    assert a.status is Status.WITHDRAWN and a.phase(T0 + 61 * HOUR) is Phase.WITHDRAWN
    with pytest.raises(TransitionNotAllowed):
        a.withdraw(reason="again", actor="mgr-wang", at=T0 + 2 * HOUR)
    assert a.collect_events() == []


def test_withdraw_needs_a_reason_and_a_window_not_over() -> None:
    a = publish()
    with pytest.raises(InvalidCommand) as e:
        a.withdraw(reason=" ", actor="mgr-wang", at=T0)
    assert fields(e) == {"reason"}
    with pytest.raises(TransitionNotAllowed):
        a.withdraw(reason="too late", actor="mgr-wang", at=T0 + 62 * HOUR)
    assert a.status is Status.PUBLISHED


def test_replaying_the_events_rebuilds_an_equal_announcement() -> None:
    a = publish()
    a.withdraw(reason="推迟", actor="mgr-wang", at=T0 + HOUR)
    events = a.collect_events()
    copy: Any = None
    for e in events:
        copy = e.mutate(copy)
    assert vars(copy) == vars(a)


def test_the_directory_lists_each_announcement_once() -> None:
    d = AnnouncementDirectory.open(T0)
    d.add(str(ANN_ID), T0)
    d.add(str(ANN_ID), T0)
    assert d.announcements == (str(ANN_ID),)


def test_a_change_records_its_announcement_and_its_withdrawal() -> None:
    c = Change.request(id=UUID(int=7), number="CHG-20310314-001", kind=ChangeKind.NORMAL,
                       origin=Origin(OriginKind.TICKET, "t1", "SR-20310314-001"), title="升级",
                       description="", actor="eng-li", at=T0)
    link = AnnouncementLink(str(ANN_ID), "ANN-20310314-001", T0 + 60 * HOUR, T0 + 62 * HOUR)
    c.link_announcement(link, actor="mgr-wang", at=T0)
    c.announcement_withdrawn(str(ANN_ID), reason="推迟", actor="mgr-wang", at=T0 + HOUR)
    c.announcement_withdrawn(str(ANN_ID), reason="推迟", actor="mgr-wang", at=T0 + HOUR)
    assert [type(e).__name__ for e in c.collect_events()] == [
        "Requested", "AnnouncementLinked", "AnnouncementWithdrawn"]
    assert c.announcements == (AnnouncementLink(link.id, link.number, link.starts, link.ends,
                                                withdrawn=True),)
    c.cancel(reason="不做了", actor="eng-li", at=T0 + HOUR)
    with pytest.raises(InvalidCommand) as e:
        c.link_announcement(link, actor="mgr-wang", at=T0 + 2 * HOUR)
    assert fields(e) == {"change_id"}
