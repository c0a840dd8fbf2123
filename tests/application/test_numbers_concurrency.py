"""Many concurrent creators never duplicate a number, and leave no gaps (domain/numbering.py).

8 threads x 25 registrations against one SQLite file: once with a ServiceDesk per thread (as
separate processes would have, each with its own connections and aggregate cache) and once
with all threads sharing one ServiceDesk. Also: creators racing with one Idempotency-Key
register once, and the losers get the first answer without using up a number.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from application.commands.tickets import RegisterTicket, ticket_id_for
from application.desk import ServiceDesk
from application.idempotency import IdempotencyKey
from application.ports import FixedClock
from domain.ticket import Contact, Status
from tests.support.threads import released_together

THREADS = 8
PER_THREAD = 25
TOTAL = THREADS * PER_THREAD
START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 2026-11-21 in Asia/Shanghai
EXPECTED = [f"SR-20261121-{n:03d}" for n in range(1, TOTAL + 1)]


def sqlite_env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


class Desks:
    """Desks on the SQLite file ``path`` with one clock: ``first``, opened at once (it creates
    the tables, as the service would on first start), and ``desk_for(n)``, a creator's own
    desk, or ``first`` again when the creators ``share`` it; ``close`` closes every one."""

    def __init__(self, path: Path, share: bool) -> None:
        self.path = path
        self.share = share
        self.clock = FixedClock(START)
        self.first = ServiceDesk(sqlite_env(path), clock=self.clock)
        self.opened: list[ServiceDesk] = [self.first]
        self._lock = threading.Lock()

    def desk_for(self, n: int = 0) -> ServiceDesk:
        if self.share:
            return self.first
        desk = ServiceDesk(sqlite_env(self.path), clock=self.clock)
        with self._lock:
            self.opened.append(desk)
        return desk

    def close(self) -> None:
        for desk in self.opened:
            desk.close()


def register_concurrently(desk_for: Callable[[int], ServiceDesk]) -> list[str]:
    """Each thread registers PER_THREAD tickets; returns every number handed out."""
    desks: dict[int, ServiceDesk] = {}

    def ready(n: int) -> None:
        desks[n] = desk_for(n)

    def work(n: int) -> list[str]:
        return [desks[n].handle(RegisterTicket(customer="客户A", contact=Contact(name="李四"),
                                               channel="web", title=f"thread {n} ticket {i}"),
                                actor=f"agent-{n}").ticket.number for i in range(PER_THREAD)]

    numbers = released_together(THREADS, work, ready=ready, timeout=120, what="a creator")
    for own in numbers:
        assert own == sorted(own)  # each creator sees its own numbers increase
    return [number for own in numbers for number in own]


def assert_consecutive_and_stored(numbers: list[str], desk: ServiceDesk) -> None:
    assert len(numbers) == TOTAL
    assert len(set(numbers)) == TOTAL, "a number was issued twice"
    assert sorted(numbers) == EXPECTED, "numbers are not 001..200 without gaps"
    for number in (EXPECTED[0], EXPECTED[TOTAL // 2], EXPECTED[-1]):
        ticket = desk.get_ticket(number)
        assert ticket.id == ticket_id_for(number)
        assert ticket.status is Status.REGISTERED
    assert register_one(desk) == "SR-20261121-201"


def register_one(desk: ServiceDesk) -> str:
    return desk.handle(RegisterTicket(customer="客户A", contact=Contact(name="李四"), channel="web",
                                      title="next"), actor="agent").ticket.number


def test_a_desk_per_creator_on_one_sqlite_file_never_duplicates_a_number(tmp_path):
    desks = Desks(tmp_path / "numbers.sqlite3", share=False)
    try:
        numbers = register_concurrently(desks.desk_for)
        assert_consecutive_and_stored(numbers, desks.desk_for())
    finally:
        desks.close()


def test_creators_sharing_one_desk_never_duplicate_a_number(tmp_path):
    desk = ServiceDesk(sqlite_env(tmp_path / "shared.sqlite3"), clock=FixedClock(START))
    try:
        numbers = register_concurrently(lambda n: desk)
        assert_consecutive_and_stored(numbers, desk)
    finally:
        desk.close()


@pytest.mark.parametrize("threads_share_desk", [True, False], ids=["shared", "per-thread"])
def test_the_log_holds_exactly_one_registration_per_number(tmp_path, threads_share_desk):
    desks = Desks(tmp_path / "log.sqlite3", share=threads_share_desk)
    try:
        register_concurrently(desks.desk_for)
        log = desks.first.read_log(after=0, limit=10_000)
        registered = [e.number for _, e in log if type(e).__name__ == "Registered"]
        issued = [e.number for _, e in log if type(e).__name__ == "NumberIssued"]
        assert sorted(registered) == sorted(issued) == EXPECTED
        positions = [n.id for n, _ in log]
        assert positions == sorted(positions)
    finally:
        desks.close()


@pytest.mark.parametrize("threads_share_desk", [True, False], ids=["shared", "per-thread"])
def test_racing_repeats_of_one_idempotency_key_register_once(tmp_path, threads_share_desk):
    desks = Desks(tmp_path / "idem.sqlite3", share=threads_share_desk)
    own: dict[int, ServiceDesk] = {}

    def ready(n: int) -> None:
        own[n] = desks.desk_for()

    def work(n: int) -> tuple[str, bool]:
        r = own[n].handle(RegisterTicket(customer="客户A", contact=Contact(name="李四"),
                                         channel="web", title="same request"),
                          actor="agent", idempotency=IdempotencyKey("race-1", "fp"))
        return r.ticket.number, r.replayed

    try:
        results = released_together(THREADS, work, ready=ready, what="a creator")
        assert {number for number, _ in results} == {EXPECTED[0]}
        assert sorted(replayed for _, replayed in results) == [False] + [True] * (THREADS - 1)
        assert register_one(desks.first) == EXPECTED[1]  # the losers used no number
    finally:
        desks.close()
