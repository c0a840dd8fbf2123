"""Read models from a PostgreSQL streaming replica (issue 22, item 4; ADR 0070).

The test starts its own primary and a real hot standby of it (``pg_basebackup -R``, streaming
replication; tests/support/replica.py). With ``read_replica_url`` set, the lists, queues and
searches are read from the standby while commands, ``GET /tickets/{id}``, history and the
projections worker stay on the primary. The standby's replay is paused to make it fall
behind: a list then shows the standby's older view (so it really comes from there) with its
position in ``X-Opsledger-Read-Position``; ``/healthz`` shows the lag to staff; a read that
names a newer ``X-Opsledger-Min-Position`` (the position a command answered) waits, then
answers 503 problem+json with ``Retry-After``; once replay resumes it is served. Each caller
(admin, an auditor who sees contacts masked, the requesters of two customers) reads the same
bytes from the replica as from the primary. Last, the same through real processes: ``serve
--no-projections`` with ``OPSLEDGER_READ_REPLICA_URL`` beside a ``projections run`` worker.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from litestar.testing import TestClient

from adapters.container import build
from adapters.http.app import create_app
from adapters.settings import Settings, SettingsError
from application.ports import FixedClock
from tests.fixtures_http import ticket_body
from tests.support.postgres import PostgresServer, create_database, unique_database_name, with_dbname
from tests.support.replica import StandbyServer
from tests.support.serve import Process

pytestmark = pytest.mark.postgres
API = "/api/v1"
ADMIN = {"Authorization": "Bearer s3cret"}
WAIT = 1.0  # read_your_writes_seconds: the bound of a read's wait


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[PostgresServer, StandbyServer]]:
    """A primary of our own and its hot standby (both stopped by PID afterwards)."""
    with PostgresServer(url="") as primary, StandbyServer(primary) as standby:
        yield primary, standby


@pytest.fixture
def urls(pair: tuple[PostgresServer, StandbyServer]) -> tuple[str, str]:
    """A fresh database on the primary, and its URL on the standby once it has arrived there."""
    primary, standby = pair
    name = unique_database_name("replica")
    url = create_database(primary.url, name)
    # The harness's server commits without waiting for its WAL (synchronous_commit=off), and
    # the WAL sender ships a commit only once written (the WAL writer's round, 200 ms): this
    # database commits as a production one does, so the standby follows within milliseconds.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    replica = with_dbname(standby.url, name)
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(replica, connect_timeout=2):
                return url, replica
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def registration(customer: str, title: str) -> dict[str, Any]:
    return ticket_body(customer=customer, title=title, reported_at=None)


def token(client: TestClient[Any], user: dict[str, Any]) -> dict[str, str]:
    r = client.post(f"{API}/users", json=user, headers=ADMIN)
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/users/{user['id']}/tokens", json={"label": "t"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def listed(client: TestClient[Any], headers: dict[str, str], **extra: str) -> httpx.Response:
    return client.get(f"{API}/tickets", params={"limit": 200}, headers={**headers, **extra})


def test_settings_take_a_replica_only_beside_postgresql():
    assert Settings(database_url="postgresql://u@db/x").read_replica is None
    got = Settings(database_url="postgresql://u@db/x", read_replica_url="postgresql://u@standby:5433/x")
    assert (got.read_replica.host, got.read_replica.port) == ("standby", 5433)  # type: ignore[union-attr]
    env = Settings.from_env({"OPSLEDGER_DATABASE_URL": "postgresql://u@db/x",
                             "OPSLEDGER_READ_REPLICA_URL": "postgresql://u@standby/x"})
    assert env.read_replica_url == "postgresql://u@standby/x"
    for database, replica in (("sqlite:///x.sqlite3", "postgresql://u@standby/x"),
                              ("postgresql://u@db/x", "sqlite:///y.sqlite3")):
        with pytest.raises(SettingsError, match="OPSLEDGER_READ_REPLICA_URL"):
            Settings(database_url=database, read_replica_url=replica)


def test_lists_are_read_from_the_standby_and_wait_for_a_position(
        pair: tuple[PostgresServer, StandbyServer], urls: tuple[str, str]):
    _, standby = pair
    url, replica_url = urls
    common: dict[str, Any] = {"admin_token": "s3cret", "sla_watch_seconds": 0,
                              "rate_limit": "off", "read_your_writes_seconds": WAIT}
    clock = FixedClock(datetime.now(UTC))  # one "now" for both apps: equal answers
    services = build(Settings(database_url=url, read_replica_url=replica_url, **common), clock=clock)
    plain = build(Settings(database_url=url, **common), clock=clock)  # the same store, no replica
    try:
        with TestClient(create_app(services)) as client, \
                TestClient(create_app(plain, run_projections=False)) as direct:
            callers = {
                "admin": ADMIN,
                "auditor": token(client, {"id": "au", "name": "审计", "roles": ["auditor"]}),
                "li": token(client, {"id": "li", "name": "李四", "roles": ["requester"],
                                     "customer": "客户A"}),
                "zhao": token(client, {"id": "zhao", "name": "赵六", "roles": ["requester"],
                                       "customer": "客户B"}),
            }
            made = []
            for i in range(6):
                r = client.post(f"{API}/tickets", json=registration(("客户A", "客户B")[i % 2],
                                                                     f"故障 {i}"), headers=ADMIN)
                assert r.status_code == 201, r.text
                made.append(r)
            position = int(made[-1].headers["x-opsledger-position"])
            assert position == services.desk.max_position()

            # a read that names the position is served by the standby once it has it
            r = listed(client, ADMIN, **{"X-Opsledger-Min-Position": str(position)})
            assert r.status_code == 200, r.text
            assert r.headers["x-opsledger-read-from"] == "replica"
            assert int(r.headers["x-opsledger-read-position"]) >= position
            assert {t["number"] for t in r.json()["items"]} == {m.json()["number"] for m in made}

            # isolation and masking: every caller reads the standby as the primary
            for name, headers in callers.items():
                for path in ("/tickets", "/queues/unassigned", "/sla/compliance"):
                    a = client.get(API + path, headers=headers)
                    b = direct.get(API + path, headers=headers)
                    assert (a.status_code, a.content) == (b.status_code, b.content), (name, path)
            assert {t["customer"] for t in listed(client, callers["li"]).json()["items"]} == {"客户A"}

            # the standby falls behind: lists show its older view, the log reads stay current
            standby.pause_replay()
            try:
                r = client.post(f"{API}/tickets", json=registration("客户A", "新故障"), headers=ADMIN)
                assert r.status_code == 201, r.text  # commands go to the primary
                new, newer = r.json(), int(r.headers["x-opsledger-position"])
                one = client.get(f"{API}/tickets/{new['id']}", headers=ADMIN)
                assert one.status_code == 200 and one.json()["number"] == new["number"]
                history = client.get(f"{API}/tickets/{new['id']}/history", headers=ADMIN)
                assert history.status_code == 200 and history.json()

                stale = listed(client, ADMIN)  # its own write waited for, not in time: as it is
                assert stale.status_code == 200
                seen = int(stale.headers["x-opsledger-read-position"])
                assert seen < newer
                assert new["number"] not in {t["number"] for t in stale.json()["items"]}
                assert services.runner.wait_for(newer, 10)
                fresh = listed(direct, ADMIN)  # the primary's view has it
                assert new["number"] in {t["number"] for t in fresh.json()["items"]}

                health = client.get("/healthz", headers=ADMIN).json()["read_replica"]
                assert health["healthy"] and health["standby"] is True
                assert health["position"] == seen and health["lag"] > 0

                began = time.monotonic()
                r = listed(client, ADMIN, **{"X-Opsledger-Min-Position": str(newer)})
                waited = time.monotonic() - began
                assert r.status_code == 503, r.text
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.headers["retry-after"] == "1"
                assert str(newer) in r.json()["detail"]
                assert WAIT <= waited < WAIT + 2.0, waited
                bad = listed(client, ADMIN, **{"X-Opsledger-Min-Position": "-1"})
                assert bad.status_code == 400, bad.text
            finally:
                standby.resume_replay()

            # once the standby replays again, the same read is served, with the new ticket
            r = listed(client, ADMIN, **{"X-Opsledger-Min-Position": str(newer)})
            assert r.status_code == 200, r.text
            assert new["number"] in {t["number"] for t in r.json()["items"]}
            assert client.get("/healthz", headers=ADMIN).json()["read_replica"]["lag"] == 0
    finally:
        plain.close()
        services.close()

    # the standby refuses every write: a view applied on it would fail, never diverge
    with psycopg.connect(replica_url, autocommit=True) as conn, pytest.raises(psycopg.Error):
        conn.execute("UPDATE projection_tracking SET position = 0")


def test_serve_processes_read_lists_from_the_standby(
        urls: tuple[str, str], tmp_path: Path):
    url, replica_url = urls
    worker = Process(url, tmp_path / "worker.log", command=("projections", "run"),
                     env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}).start()
    server = Process(url, tmp_path / "serve.log", command=("serve", "--no-projections"),
                     env={"OPSLEDGER_READ_REPLICA_URL": replica_url}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=15) as http:
            positions = []
            for i in range(3):
                r = http.post(f"{API}/tickets", json=registration("客户A", f"进程 {i}"))
                assert r.status_code == 201, r.text
                positions.append(int(r.headers["x-opsledger-position"]))
            r = http.get(f"{API}/tickets", headers={"X-Opsledger-Min-Position": str(max(positions))})
            assert r.status_code == 200, r.text
            assert r.headers["x-opsledger-read-from"] == "replica"
            assert int(r.headers["x-opsledger-read-position"]) >= max(positions)
            assert r.json()["count"] == 3
            health = http.get("/healthz").json()
            assert health["read_replica"]["standby"] is True, health
    finally:
        assert server.stop() in (0, -15), server.log_tail()
        assert worker.stop() == 0, worker.log_tail()


def test_a_named_position_is_waited_for_on_the_primary_too(tmp_path: Path):
    """Without a replica the header is honoured against the primary's views (here SQLite): a
    position they have is served at once, one beyond the log's head is a 503 after the bound."""
    services = build(Settings(database_url=f"sqlite:///{tmp_path}/o.sqlite3", sla_watch_seconds=0,
                              rate_limit="off", read_your_writes_seconds=0.3))
    try:
        with TestClient(create_app(services)) as client:
            r = client.post(f"{API}/tickets", json=registration("客户A", "主库"))
            assert r.status_code == 201, r.text
            position = int(r.headers["x-opsledger-position"])
            assert position == services.desk.max_position()
            ok = client.get(f"{API}/tickets", headers={"X-Opsledger-Min-Position": str(position)})
            assert ok.status_code == 200 and ok.json()["count"] == 1
            assert "x-opsledger-read-position" not in ok.headers  # only reads from a replica say it
            began = time.monotonic()
            late = client.get(f"{API}/tickets", headers={"X-Opsledger-Min-Position": str(position + 1000)})
            assert late.status_code == 503 and late.headers["retry-after"] == "1", late.text
            assert late.headers["content-type"].startswith("application/problem+json")
            assert 0.3 <= time.monotonic() - began < 3
            for bad in ("x", "1.5", "99999999999999999999999"):
                r = client.get(f"{API}/tickets", headers={"X-Opsledger-Min-Position": bad})
                assert r.status_code == 400, (bad, r.text)
            assert client.get(f"{API}/tickets/{ok.json()['items'][0]['id']}",
                              headers={"X-Opsledger-Min-Position": "x"}).status_code == 200  # a log read
    finally:
        services.close()


def test_a_standby_without_the_tables_yet_answers_503(
        pair: tuple[PostgresServer, StandbyServer], urls: tuple[str, str]):
    """The standby has the database but not yet the read models' tables (its replay paused
    before the primary's first ``build`` made them): a list is a 503 with Retry-After, never
    a 500; once replay resumes, it is served."""
    _, standby = pair
    url, replica_url = urls
    standby.pause_replay()
    try:
        services = build(Settings(database_url=url, read_replica_url=replica_url, sla_watch_seconds=0,
                                  rate_limit="off", read_your_writes_seconds=0.2))
        try:
            with TestClient(create_app(services)) as client:
                r = client.get(f"{API}/tickets")
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"] == "1"
                assert r.headers["content-type"].startswith("application/problem+json")
                standby.resume_replay()
                deadline = time.monotonic() + 10
                while (r := client.get(f"{API}/tickets")).status_code != 200 and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert r.status_code == 200, r.text
        finally:
            services.close()
    finally:
        standby.resume_replay()
