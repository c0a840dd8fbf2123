"""Multi-process (issue 8, item 5; issue 22, item 4; ADR 0025, 0070): three ``opsledger serve
--no-projections`` and two ``opsledger projections run`` workers on one PostgreSQL database.

Clients register and work tickets through the three servers at once. Both workers apply the
read models' batches until one of them is killed (SIGKILL) mid-run; the other carries on
alone. Every move of a view's tracking position is written down by a trigger the test puts
on ``projection_tracking`` (with the worker's ``application_name``): the moves of each view
must chain from 0 to the head without one batch applied twice (compare-and-set), both workers
must have applied batches, and only the survivor after the kill.

Overdue tickets then arrive through every server, so that the workers' SLA watchers record
breaches and escalations (with two workers their watchers would race for the same ones:
optimistic concurrency lets each escalation be recorded once and its notices be sent once,
captured by a webhook receiver here). Afterwards: no duplicate numbers or events, every
acknowledged command recorded, views complete and equal to a rebuild, and each server reads
its own writes though it runs no projections itself.
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
import psycopg
import pytest

from adapters.container import build
from adapters.settings import Settings
from tests.reliability.driver import API, Driver, check_store, registration
from tests.support.serve import Process

pytestmark = pytest.mark.postgres
OVERDUE = 4  # overdue tickets registered through each server
SERVERS, WORKERS = 3, 2

# Every move of a tracking position, with the application_name of the process that made it.
# A rolled-back batch (a compare-and-set refused) takes its row with it.
MOVES_DDL = """
CREATE TABLE IF NOT EXISTS projection_tracking (
    name TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE tracking_moves (
    id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, start BIGINT NOT NULL, "end" BIGINT NOT NULL,
    app TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION note_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.position <> OLD.position THEN
        INSERT INTO tracking_moves (name, start, "end", app)
        VALUES (NEW.name, OLD.position, NEW.position, current_setting('application_name'));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER note_move AFTER UPDATE ON projection_tracking
    FOR EACH ROW EXECUTE FUNCTION note_move();
"""


def moves(database_url: str) -> list[tuple[str, int, int, str, datetime]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            'SELECT name, start, "end", app, at FROM tracking_moves ORDER BY id').fetchall()]


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


def test_servers_and_workers_on_one_database(
    postgres_url: str, webhook: Webhook, tmp_path: Path, processes: list[Process]
):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(MOVES_DDL)
    env = {"OPSLEDGER_SLA_WATCH_SECONDS": "0.3", "OPSLEDGER_NOTIFY_WEBHOOK_URL": webhook.url}
    # PGAPPNAME (libpq): the application_name of every connection a worker opens
    workers = [Process(postgres_url, tmp_path / f"worker{i}.log", command=("projections", "run"),
                       env={**env, "PGAPPNAME": f"worker{i}"}) for i in range(WORKERS)]
    servers = [Process(postgres_url, tmp_path / f"serve{i}.log", command=("serve", "--no-projections"),
                       env={**env, "PGAPPNAME": f"serve{i}"}) for i in range(SERVERS)]
    for p in [*workers, *servers]:
        processes.append(p.start())
    drivers = [Driver(s.url, clients=3, seed=40 + i).start() for i, s in enumerate(servers)]
    try:
        # when clients work through every server, both workers apply batches ...
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and {m[3] for m in moves(postgres_url)} < {"worker0", "worker1"}:
            time.sleep(0.2)
        assert {m[3] for m in moves(postgres_url)} >= {"worker0", "worker1"}, Counter(m[3] for m in moves(postgres_url))
        # ... until one is killed mid-run; the other carries on alone
        workers[0].kill()
        killed_at = datetime.now(UTC)
        # and overdue tickets arrive through every server
        overdue: list[dict[str, Any]] = []
        threads = [threading.Thread(target=lambda s=s, i=i: overdue.extend(register_overdue(s.url, str(i))))
                   for i, s in enumerate(servers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for d in drivers:
            d.wait_for_acks(40)
    finally:
        for d in drivers:
            d.stop()
    assert len(overdue) == SERVERS * OVERDUE
    acks = [a for d in drivers for a in d.acks]
    assert all(not d.unexpected for d in drivers), [d.unexpected for d in drivers]

    # then the survivor records two escalation levels per overdue ticket, once each
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

    # the views are complete on every server (the surviving worker keeps them)
    for s in servers:
        h = httpx.get(s.url + "/healthz", timeout=15).json()
        deadline = time.monotonic() + 30
        while any(v["lag"] for v in h["projections"]) and time.monotonic() < deadline:
            time.sleep(0.2)
            h = httpx.get(s.url + "/healthz", timeout=15).json()
        assert all(v["healthy"] and v["lag"] == 0 for v in h["projections"]), [v for v in h["projections"] if not v["healthy"] or v["lag"]]
    head = h["head"]
    for p in servers:  # uvicorn ends by re-raising the SIGTERM it handled gracefully
        assert p.stop() in (0, -15), p.log_tail()
    assert workers[1].stop() == 0, workers[1].log_tail()

    # every batch was applied once: each view's moves chain from 0 to the head, none repeated,
    # by the two workers before the kill and by the survivor alone after it
    made = moves(postgres_url)
    by_view: dict[str, list[tuple[int, int]]] = {}
    for name, start, end, app, at in made:
        assert app in ("worker0", "worker1"), (name, start, end, app)  # only the workers move views
        by_view.setdefault(name, []).append((start, end))
        if at > killed_at + timedelta(seconds=1):
            assert app == "worker1", (name, start, end, app, at)
    for name, spans in by_view.items():
        assert spans[0][0] == 0 and spans[-1][1] == head, (name, spans[:3], spans[-3:], head)
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False)), (name, spans)
        assert all(s < e for s, e in spans), (name, spans)
    applied = Counter(app for *_, app, _ in made)
    assert applied["worker0"] > 0 and applied["worker1"] > 0, applied

    # and the store: every acknowledged command, numbers unique and gap-free, views = rebuild
    report = check_store(postgres_url, acks)
    assert report.tickets == len({a.ticket_id for a in acks}) + len(overdue)
    assert report.numbers["SR"] == report.tickets
    assert report.views["ticket_list"] == report.tickets
