"""Database faults (issue 8, item 2): PostgreSQL restarted while opsledger is under load.

A private PostgreSQL server (not the session's: this one is stopped and started) backs a
served opsledger with its projection runner and SLA watcher running; client threads keep
driving ticket lifecycles. While the database is away every answer must be a 503
problem+json (commands, reads, /healthz), never a 500; once it is back the same process
serves again without a restart, nothing acknowledged is lost, and the projection runner and
the SLA watcher carry on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.driver import API, Driver, check_store
from tests.support.postgres import PostgresServer, create_database
from tests.support.serve import Process

pytestmark = pytest.mark.postgres


@pytest.fixture
def served(private_postgres: PostgresServer, tmp_path: Path) -> Iterator[tuple[str, Process]]:
    """(database URL, a served opsledger with its runner and SLA watcher) on the private server."""
    url = create_database(private_postgres.url, "faults")
    with Process(url, tmp_path / "serve.log", env={"OPSLEDGER_SLA_WATCH_SECONDS": "0.5"}) as p:
        yield url, p


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    with PostgresServer(url="") as server:  # "": always our own server, never $OPSLEDGER_TEST_POSTGRES_URL
        yield server


class Reader(threading.Thread):
    """Reads /healthz, the ticket list and one ticket in a loop; counts the answers."""

    def __init__(self, base: str, ref: str) -> None:
        super().__init__(daemon=True)
        self.base, self.ref = base, ref
        self.seen: Counter[tuple[str, int | str]] = Counter()
        self.not_problem: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        paths = {"health": "/healthz", "list": f"{API}/tickets?limit=5", "ticket": f"{API}/tickets/{self.ref}"}
        with httpx.Client(base_url=self.base, timeout=15) as http:
            while not self.halt.is_set():
                for name, path in paths.items():
                    try:
                        r = http.get(path)
                    except httpx.HTTPError:
                        self.seen[(name, "no answer")] += 1
                        continue
                    self.seen[(name, r.status_code)] += 1
                    if r.status_code >= 400 and not r.headers.get("content-type", "").startswith(
                            "application/problem+json"):
                        self.not_problem.append(f"{path}: {r.status_code} {r.text[:200]}")
                time.sleep(0.02)


def health(base: str) -> dict[str, Any]:
    r = httpx.get(base + "/healthz", timeout=15)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_postgres_restart_under_load_gives_503s_then_recovers_losing_nothing(
    private_postgres: PostgresServer, served: tuple[str, Process]
):
    # given opsledger serving on a PostgreSQL database, with its runner and watcher running
    url, server = served
    driver = Driver(server.url, clients=4, seed=21).start()
    try:
        driver.wait_for_acks(30)
        reader = Reader(server.url, driver.acks[0].number)
        reader.start()
        time.sleep(0.5)
        ticks_before = health(server.url)["sla_watch"]["ticks"]

        # when the database goes away for a few seconds, under load
        private_postgres.halt()
        acked_when_down = len(driver.acks)
        # (away at least 3 s, and until each kind of read has met the outage, 30 s at most)
        away_until, give_up = time.monotonic() + 3, time.monotonic() + 30
        while time.monotonic() < give_up and (time.monotonic() < away_until or not all(
                reader.seen[(name, 503)] for name in ("health", "list", "ticket"))):
            time.sleep(0.1)
        during = Counter(reader.seen)
        private_postgres.resume()

        # then the same process serves again, and the clients' commands go on being acknowledged
        driver.wait_for_acks(acked_when_down + 60, timeout=90)
        assert len(driver.acks) >= acked_when_down + 60, (len(driver.acks), driver.statuses)
    finally:
        driver.stop()
        reader.halt.set()
    reader.join(20)

    # while it was away: 503 problem+json for commands, reads and /healthz; never a 500
    assert driver.statuses[503] > 0, driver.statuses
    assert not [s for s in driver.statuses if isinstance(s, int) and s >= 500 and s != 503], driver.statuses
    for name in ("health", "list", "ticket"):
        assert during[(name, 503)] > 0, during
    assert not [k for k in reader.seen if isinstance(k[1], int) and k[1] >= 500 and k[1] != 503], reader.seen
    assert not reader.not_problem and not driver.unexpected, (reader.not_problem, driver.unexpected)

    # the runner and the watcher survived: the views reach the head, the watcher ticks again
    def resumed(h: dict[str, Any]) -> bool:
        return all(v["healthy"] and v["lag"] == 0 for v in h["projections"]) and (
            h["sla_watch"]["ticks"] > ticks_before + 2 and h["sla_watch"]["last_error"] is None)

    deadline = time.monotonic() + 60
    while not resumed(h := health(server.url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert resumed(h), (h["sla_watch"], [v for v in h["projections"] if not v["healthy"] or v["lag"]])
    assert h["sla_watch"]["failures"] > 0  # it did fail while the database was away
    listed = httpx.get(f"{server.url}{API}/tickets", params={"limit": 500}, timeout=15).json()["items"]
    assert {a.number for a in driver.acks} <= {i["number"] for i in listed}
    assert server.proc is not None and server.proc.poll() is None  # never restarted
    server.stop()

    # and nothing acknowledged was lost; numbers whole; views equal a rebuild
    check_store(url, driver.acks)
