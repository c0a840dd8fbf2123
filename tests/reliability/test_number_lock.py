"""Record numbers across processes on PostgreSQL. Where commands run in threads (ADR 0039): one
issuer at a time through a session advisory lock, so two servers' creators never collide on the
day's sequence. Where they run on the event loop (the default, ADR 0071): each process issues
under a lock of its own, and a creator that lost the sequence to another process tries again;
numbers stay unique and gapless either way."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.container import build
from adapters.stores.persistence import PostgresIssuingLock
from adapters.settings import Settings
from application.commands.tickets import RegisterTicket
from application.desk import ServiceDesk
from domain.ticket import Contact

pytestmark = pytest.mark.postgres


def register(desk: ServiceDesk, title: str) -> str:
    result = desk.handle(RegisterTicket(customer="客户A",
                                        contact=Contact("李四", "13800000000", "li@example.com"),
                                        channel="phone", title=title, description="d",
                                        affected_system="ERP",
                                        reported_at=datetime(2026, 11, 20, 9, tzinfo=UTC)),
                         actor="agent")
    return str(result.aggregate.number)


def test_two_desks_issue_each_number_once_without_retrying(postgres_url: str, monkeypatch: pytest.MonkeyPatch):
    a = build(Settings(database_url=postgres_url, sla_watch_seconds=0, inline_commands=False))
    b = build(Settings(database_url=postgres_url, sla_watch_seconds=0, inline_commands=False))
    try:
        assert isinstance(a.desk.number_lock, PostgresIssuingLock)
        slept: list[float] = []
        monkeypatch.setattr("application.desk.time.sleep", slept.append)  # a retry would sleep
        numbers: list[str] = []
        lock = threading.Lock()

        def create(desk: ServiceDesk, tag: str) -> None:
            for i in range(12):
                number = register(desk, f"{tag}{i}")
                with lock:
                    numbers.append(number)

        threads = [threading.Thread(target=create, args=(d, f"{n}-{k}"))
                   for n, d in (("a", a.desk), ("b", b.desk)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(numbers) == 72 and len(set(numbers)) == 72
        assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 73))
        assert slept == []  # no creator lost a save and tried again
    finally:
        a.close()
        b.close()


def test_the_lock_excludes_another_process_until_released(postgres_url: str):
    a = build(Settings(database_url=postgres_url, sla_watch_seconds=0, inline_commands=False))
    b = build(Settings(database_url=postgres_url, sla_watch_seconds=0, inline_commands=False))
    try:
        first, second = a.desk.number_lock, b.desk.number_lock
        first.acquire()
        got = threading.Event()
        waiter = threading.Thread(target=lambda: (second.acquire(), got.set(), second.release()))
        waiter.start()
        time.sleep(0.3)
        assert not got.is_set()  # the other "process" waits for the advisory lock
        first.release()
        assert got.wait(10)
        waiter.join(10)
        first.acquire()  # and it can be taken again
        first.release()
    finally:
        a.close()
        b.close()


def test_with_commands_on_the_loop_two_processes_issue_each_number_once(postgres_url: str):
    """Two desks, one command at a time each (as on the event loop), no advisory lock: a creator
    that lost the day's sequence tries again; every number once, none skipped, nothing of a lost
    insert stored."""
    a = build(Settings(database_url=postgres_url, sla_watch_seconds=0))
    b = build(Settings(database_url=postgres_url, sla_watch_seconds=0))
    try:
        assert not isinstance(a.desk.number_lock, PostgresIssuingLock)
        assert_each_number_once(a, b)
    finally:
        a.close()
        b.close()


def assert_each_number_once(a: Any, b: Any, per_desk: int = 30) -> None:
    """Two desks register ``per_desk`` tickets each, one command at a time each (as on the
    event loop), side by side: every number once, none skipped, nothing of a lost insert
    stored. Also used by ``test_number_issuing_sqlite.py``."""
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create(desk: ServiceDesk, tag: str) -> None:
        try:
            for i in range(per_desk):
                number = register(desk, f"{tag}{i}")
                with lock:
                    numbers.append(number)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=create, args=(s.desk, tag)) for s, tag in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    total = 2 * per_desk
    assert len(numbers) == total and len(set(numbers)) == total
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, total + 1))
    stored = a.desk.recorder.select_notifications(start=0, limit=10**6)
    assert len([n for n in stored if n.topic.endswith("Ticket.Registered")]) == total
