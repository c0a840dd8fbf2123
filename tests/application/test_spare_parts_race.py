"""Stock never goes negative under concurrent requisitions (issue 20 item 2, ADR 0064).

Threads, each with its own ``ServiceDesk`` (as separate processes would have: own connections,
own aggregate cache, own number lock) on one SQLite file or one PostgreSQL database, request
one part at a time from the same stock line until it runs out. Each thread's clock stands on
a day of its own, so the requisitions' numbers come from different daily sequences: the one
aggregate they all write is the stock line, and only its version (bumped by every issue)
stops two of them from taking the same last part. Exactly as many succeed as were in stock;
the others are 409s naming ``stock``; the line ends at zero.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.settings import parse_database_url
from adapters.stores.persistence import eventsourcing_env
from application.commands.spare_parts import DefineWarehouse, ReceiveStock, RequestParts
from application.commands.tickets import RegisterTicket
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.errors import TransitionNotAllowed
from domain.spare_part import Requisition, StockLine, stock_line_id
from domain.ticket import Contact
from tests.support.threads import released_together

THREADS = 4
TRIES = 6  # each thread asks this many times for one part
IN_STOCK = 10  # fewer than THREADS * TRIES
START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def env_for(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if kind == "sqlite":
        return eventsourcing_env(parse_database_url(f"sqlite:///{tmp_path / 'race.sqlite3'}"))
    return eventsourcing_env(parse_database_url(str(request.getfixturevalue("postgres_url"))))


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_requisitions_never_take_more_than_is_in_stock(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    env = env_for(kind, tmp_path, request)
    first = ServiceDesk(env, clock=FixedClock(START))
    desks = [first]
    try:
        first.handle(DefineWarehouse(slug="gz", name="广州备件库"), actor="mgr")
        first.handle(ReceiveStock(ref="gz", part_number="PSU-750W", description="750W 电源",
                                  quantity=IN_STOCK), actor="mgr")
        ticket = first.handle(RegisterTicket(customer="客户A", contact=Contact(name="李四"),
                                             channel="phone", title="电源故障"),
                              actor="agent").ticket.number
        desks += [ServiceDesk(env, clock=FixedClock(START + timedelta(days=n + 1)))
                  for n in range(THREADS)]
        issued: list[str] = []
        refused: list[TransitionNotAllowed] = []
        lock = threading.Lock()

        def work(n: int) -> None:
            desk = desks[n + 1]
            for _ in range(TRIES):
                try:
                    r = desk.handle(RequestParts(ticket=ticket, warehouse="gz",
                                                 part_number="psu-750w"), actor=f"eng-{n}")
                    with lock:
                        issued.append(r.aggregate.number)
                except TransitionNotAllowed as e:
                    with lock:
                        refused.append(e)

        released_together(THREADS, work, timeout=120, what="a requester")
        assert len(issued) == IN_STOCK and len(set(issued)) == IN_STOCK
        assert len(refused) == THREADS * TRIES - IN_STOCK
        assert all(e.missing == ("stock",) for e in refused)
        line = first.load(stock_line_id("gz", "PSU-750W"))
        assert isinstance(line, StockLine)
        assert (line.quantity, line.issued, len(line.requisitions)) == (0, IN_STOCK, IN_STOCK)
        assert all(isinstance(first.get_record(n, Requisition, "requisition"), Requisition)
                   for n in issued)
    finally:
        for desk in desks:
            desk.close()
