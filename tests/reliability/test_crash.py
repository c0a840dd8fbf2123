"""Crash safety (issue 8, item 1): SIGKILL the server under load, restart it, lose nothing.

A real ``opsledger serve`` takes 8 concurrent clients (``driver.Driver``) through ticket
lifecycles; the test kills it with SIGKILL at random moments (seeded), starts it again on
the same port, and repeats. Clients retry unanswered commands with the same idempotency
key, as a careful client does. Afterwards ``driver.check_store`` opens the store and checks
that every acknowledged command is there, that no number was issued without its record (or
twice, or with a gap), that idempotency records point at real events, and that every read
model equals a full rebuild of itself.

Environment: ``OPSLEDGER_CRASH_KILLS`` (default 3), ``OPSLEDGER_CRASH_SEED`` (default 8),
``OPSLEDGER_CRASH_MAX_UP`` (the longest run between kills, seconds; default 3). A long soak:
``OPSLEDGER_CRASH_KILLS=30 OPSLEDGER_CRASH_MAX_UP=10 pytest tests/reliability/test_crash.py``.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from tests.reliability.driver import Driver, check_store
from tests.support.serve import Process

KILLS = int(os.environ.get("OPSLEDGER_CRASH_KILLS") or 3)
SEED = int(os.environ.get("OPSLEDGER_CRASH_SEED") or 8)
MAX_UP = float(os.environ.get("OPSLEDGER_CRASH_MAX_UP") or 3)


def test_sigkill_under_load_loses_nothing_acknowledged(reliable_url: str, tmp_path: Path):
    rng = random.Random(SEED)
    server = Process(reliable_url, tmp_path / "serve.log", env={"OPSLEDGER_SLA_WATCH_SECONDS": "1"})
    server.start()
    driver = Driver(server.url, clients=8, seed=SEED).start()
    acked_before_kill = []
    try:
        # when the server is killed at random moments under load, and started again
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.5, MAX_UP))
            acked_before_kill.append(len(driver.acks))
            server.kill()
            time.sleep(rng.uniform(0, 0.3))
            server.start()
        driver.wait_for_acks(len(driver.acks) + 40)
    finally:
        driver.stop()
        server.stop()

    # then the clients saw requests cut off, and kept going after each restart
    assert not driver.unexpected, driver.unexpected[:5]
    assert driver.statuses["no answer"] > 0, driver.statuses
    assert len(driver.acks) > acked_before_kill[-1] + 30
    assert 0 < acked_before_kill[0]

    # and the store holds every acknowledged command, numbers whole, views equal to a rebuild
    report = check_store(reliable_url, driver.acks)
    acked_tickets = {a.ticket_id for a in driver.acks}
    assert report.tickets >= len(acked_tickets)
    assert report.numbers["SR"] == report.tickets
    assert report.numbers.get("SD", 0) >= len({a.ticket_id for a in driver.acks if a.command == "confirm"})
    assert report.views["ticket_list"] == report.tickets
