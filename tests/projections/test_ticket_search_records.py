"""The desk's search over problems and changes (ADR 0050): the problem and change lists take
``text``, words that must all be in the record's number, title or affected system (and a
problem's category, a change's origin number), folded alike on every store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.stores.persistence import change_list_view, problem_list_view
from application.commands.changes import RequestChange
from application.commands.problems import RecordProblem
from application.commands.tickets import RegisterTicket
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.ticket import Contact
from projections.base import Positioned
from projections.change_list.view import ChangeQuery
from projections.problem_list.view import ProblemQuery
from tests.fixtures_stores import apply_in_batches

AT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def log() -> tuple[list[Positioned], dict[str, str]]:
    clock = FixedClock(AT)
    desk = ServiceDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    ticket = desk.handle(RegisterTicket(customer="客户A", contact=Contact("张三"),
                                        channel="phone", title="打印机卡纸",
                                        affected_system="HP LaserJet"), actor="agent").ticket
    numbers = {"ticket": ticket.number}
    for name, title, system in (("printer", "三楼打印机频繁卡纸", "HP LaserJet"),
                                ("erp", "ERP Login Timeout", "ERP")):
        clock.advance(minutes=1)
        p = desk.handle(RecordProblem(title=title, description="见工单", affected_system=system,
                                      category="硬件" if name == "printer" else "software"),
                        actor="eng").aggregate
        numbers[f"problem-{name}"] = p.number
    for name, title in (("roller", "更换搓纸轮"), ("firmware", "Upgrade printer FIRMWARE")):
        clock.advance(minutes=1)
        c = desk.handle(RequestChange(kind="normal", origin=ticket.number, title=title),
                        actor="eng").aggregate
        numbers[f"change-{name}"] = c.number
    events = [Positioned(n.id, e) for n, e in desk.read_log(0, 10_000)]
    return events, numbers


@pytest.fixture
def views(view_opener: Any, log: Any) -> tuple[Any, Any]:
    events, _ = log
    problems, changes = view_opener(problem_list_view), view_opener(change_list_view)
    for v in (problems, changes):
        apply_in_batches(v, events, 4)
    return problems, changes


def problems(views: Any, text: str) -> list[str]:
    return [r["number"] for r in views[0].query(ProblemQuery(text=text)).rows]


def changes(views: Any, text: str) -> list[str]:
    return [r["number"] for r in views[1].query(ChangeQuery(text=text)).rows]


def test_problems_by_title_system_category_and_number(views, log) -> None:
    _, n = log
    assert problems(views, "打印机") == [n["problem-printer"]]
    assert problems(views, "卡纸") == [n["problem-printer"]]
    assert problems(views, "login timeout") == [n["problem-erp"]]  # every word, case folded
    assert problems(views, "ＥＲＰ") == [n["problem-erp"]]  # full width folds
    assert problems(views, "laserjet") == [n["problem-printer"]]
    assert problems(views, "硬件") == [n["problem-printer"]]
    assert problems(views, n["problem-erp"]) == [n["problem-erp"]]
    assert problems(views, "打印机 ERP") == []
    assert problems(views, "%") == [] and problems(views, "_") == []
    assert len(problems(views, "")) == 2  # no text: no filter


def test_changes_by_title_and_origin(views, log) -> None:
    _, n = log
    assert changes(views, "搓纸轮") == [n["change-roller"]]
    assert changes(views, "firmware") == [n["change-firmware"]]
    assert changes(views, "laserjet") == [n["change-firmware"], n["change-roller"]]  # the
    # origin's system
    assert changes(views, n["ticket"]) == [n["change-firmware"], n["change-roller"]]
    assert changes(views, "printer 搓纸轮") == []
    assert changes(views, "'; DROP TABLE change_list; --") == []
