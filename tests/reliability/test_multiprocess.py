"""Multi-process (issue 8, item 5; ADR 0025): two ``opsledger serve --no-projections`` and
separate ``opsledger projections run`` workers on one PostgreSQL database.

Clients register and work tickets through both servers at once, some tickets already overdue
so that the workers' SLA watchers record breaches and escalations. Two workers run, so their
watchers race for the same escalations: optimistic concurrency must let each escalation be
recorded once and its notices sent once (captured by a webhook receiver here). Afterwards:
no duplicate numbers or events, every acknowledged command recorded, views complete and equal
to a rebuild, and each server reads its own writes though it runs no projections itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.container import build
from adapters.settings import Settings
from tests.reliability.driver import API, Driver, check_store, registration
from tests.support.serve import Process

pytestmark = pytest.mark.postgres
OVERDUE = 6  # overdue tickets registered through each server


class Webhook:
    """A receiver for the notification webhook: keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.notices: list[dict[str, Any]] = []
        received = self.notices

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/notices"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    w = Webhook()
    yield w
    w.server.shutdown()


def escalations(database_url: str) -> list[Any]:
    services = build(Settings(database_url=database_url, sla_watch_seconds=0))
    try:
        out, after = [], 0
        while batch := services.desk.read_log(after, 1000):
            out += [e for n, e in batch if type(e).__qualname__ == "Ticket.Escalated"]
            after = batch[-1][0].id
        return out
    finally:
        services.close()


def register_overdue(base: str, tag: str) -> list[dict[str, Any]]:
    """Tickets reported five days ago: their clocks are long breached. Each is read back at
    once from the server's list (read your writes through the shared tracking positions)."""
    reported = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    made = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for i in range(OVERDUE):
            r = http.post(f"{API}/tickets", json={**registration(f"逾期 {tag} {i}"), "reported_at": reported})
            assert r.status_code == 201, r.text
            made.append(r.json())
            listed = http.get(f"{API}/tickets", params={"limit": 500}).json()["items"]
            assert r.json()["number"] in {t["number"] for t in listed}
    return made


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Started processes go here; whatever is still running at the end is stopped."""
    started: list[Process] = []
    yield started
    for p in started:
        p.stop()


def test_two_servers_and_workers_on_one_database(
    postgres_url: str, webhook: Webhook, tmp_path: Path, processes: list[Process]
):
    env = {"OPSLEDGER_SLA_WATCH_SECONDS": "0.3", "OPSLEDGER_NOTIFY_WEBHOOK_URL": webhook.url}
    workers = [Process(postgres_url, tmp_path / f"worker{i}.log", command=("projections", "run"), env=env)
               for i in range(2)]
    servers = [Process(postgres_url, tmp_path / f"serve{i}.log", command=("serve", "--no-projections"), env=env)
               for i in range(2)]
    for p in [*workers, *servers]:
        processes.append(p.start())
    drivers = [Driver(s.url, clients=4, seed=40 + i).start() for i, s in enumerate(servers)]
    try:
        # when clients work through both servers, and overdue tickets arrive through both
        overdue: list[dict[str, Any]] = []
        threads = [threading.Thread(target=lambda s=s, i=i: overdue.extend(register_overdue(s.url, str(i))))
                   for i, s in enumerate(servers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for d in drivers:
            d.wait_for_acks(60)
    finally:
        for d in drivers:
            d.stop()
    assert len(overdue) == 2 * OVERDUE
    acks = [a for d in drivers for a in d.acks]
    assert all(not d.unexpected for d in drivers), [d.unexpected for d in drivers]

    # then the workers record two escalation levels per overdue ticket, once each
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(escalations(postgres_url)) < 2 * len(overdue):
        time.sleep(0.5)
    recorded = escalations(postgres_url)
    keys = Counter((str(e.originator_id), e.level) for e in recorded)
    assert sorted(keys) == sorted((t["id"], level) for t in overdue for level in (1, 2)), keys
    assert set(keys.values()) == {1}
    # and their notices went out once each (manager and expert per escalation)
    while time.monotonic() < deadline and len(webhook.notices) < 2 * len(recorded):
        time.sleep(0.2)
    time.sleep(1.0)  # a duplicate would arrive about now
    sent = Counter((n["ticket_id"], n["level"], n["role"]) for n in webhook.notices)
    assert sorted(sent) == sorted((t, level, role) for t, level in keys for role in ("expert", "manager"))
    assert set(sent.values()) == {1}, [k for k, c in sent.items() if c > 1]

    # the views are complete on both servers (the workers keep them)
    for s in servers:
        h = httpx.get(s.url + "/healthz", timeout=15).json()
        deadline = time.monotonic() + 30
        while any(v["lag"] for v in h["projections"]) and time.monotonic() < deadline:
            time.sleep(0.2)
            h = httpx.get(s.url + "/healthz", timeout=15).json()
        assert all(v["healthy"] and v["lag"] == 0 for v in h["projections"]), [v for v in h["projections"] if not v["healthy"] or v["lag"]]
    for p in servers:  # uvicorn ends by re-raising the SIGTERM it handled gracefully
        assert p.stop() in (0, -15), p.log_tail()
    for p in workers:
        assert p.stop() == 0, p.log_tail()

    # and the store: every acknowledged command, numbers unique and gap-free, views = rebuild
    report = check_store(postgres_url, acks)
    assert report.tickets == len({a.ticket_id for a in acks}) + len(overdue)
    assert report.numbers["SR"] == report.tickets
    assert report.views["ticket_list"] == report.tickets
