"""A load driver and store checks for the reliability tests (issue 8), reusable on its own.

``Driver`` runs N client threads against a served opsledger; each takes tickets through the
lifecycle register -> assign -> start -> log_work -> resolve -> confirm. Every command
carries an ``Idempotency-Key``, and a command without an answer (the server was killed, the
database is away: a connection error or a 503) is retried with the same key until it is
answered, as a careful client would. Every 2xx answer is journalled as an ``Ack``.

``check_store`` then opens the store directly (the server stopped) and checks what must
hold after any crash: every acknowledged command is recorded; numbers are issued exactly
once each, gap-free per day and kind, and only together with the record that carries them;
every idempotency record points at an event that exists; every read model equals a full
rebuild of itself.

    python -m tests.reliability.driver URL [--clients 8] [--seconds 10]

drives a running server (for a manual soak) and prints what it did.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.container import build
from adapters.settings import Settings

API = "/api/v1"
PRECISE = "重启 ERP 应用服务器并清理会话表，用户已可正常登录"
LIFECYCLE: list[tuple[str, str, dict[str, Any]]] = [
    ("register", "Registered", {}),
    ("assign", "Assigned", {"assignee": "eng-wang", "group": "一线"}),
    ("start", "Started", {}),
    ("log_work", "WorkLogged", {"action": "检查应用日志并重启服务", "hours": 1}),
    ("resolve", "Resolved", {"resolution": PRECISE, "root_cause": "会话表已满"}),
    ("confirm", "AcceptanceConfirmed", {"signer": "王经理", "items": ["ERP 登录恢复"],
                                        "criteria": ["全部用户可登录"], "passed": True}),
]
EVENT_OF = {name: event for name, event, _ in LIFECYCLE}


def registration(title: str) -> dict[str, Any]:
    return {
        "customer": "客户A", "contact": {"name": "李四", "phone": "13800005678"},
        "channel": "phone", "title": title, "affected_system": "ERP", "type": "fault",
        "category": "software", "urgency": "urgent", "impact": "some", "importance": "important",
    }


@dataclass(frozen=True)
class Ack:
    client: int
    ticket_id: str
    number: str
    command: str
    version: int
    replayed: bool


@dataclass
class Driver:
    """``clients`` threads driving ticket lifecycles against ``base_url`` until ``stop()``."""

    base_url: str
    clients: int = 8
    seed: int = 0
    acks: list[Ack] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    retries: int = 0
    statuses: Counter[int | str] = field(default_factory=Counter)  # answers seen, "no answer"

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> Driver:
        for i in range(self.clients):
            t = threading.Thread(target=self._client, args=(i,), name=f"driver-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Stop after each client's command in flight is answered (the server must be up)."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self._threads), "a driver client hung"

    def wait_for_acks(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acks) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def _client(self, i: int) -> None:
        rng = random.Random(self.seed * 1000 + i)
        with httpx.Client(base_url=self.base_url, timeout=15) as http:
            n = 0
            while not self._stop.is_set():
                n += 1
                ticket: dict[str, Any] | None = None
                for name, _, body in LIFECYCLE:
                    key = f"s{self.seed}-c{i}-t{n}-{name}"
                    if name == "register":
                        path, body = f"{API}/tickets", registration(f"崩溃测试 {key}")
                    else:
                        assert ticket is not None
                        path = f"{API}/tickets/{ticket['id']}/{name}"
                    answer = self._send(http, path, body, key)
                    if answer is None:
                        return  # stopped while the server was away: the command stays unknown
                    ticket = answer.json()
                    with self._lock:
                        self.acks.append(Ack(i, ticket["id"], ticket["number"], name, ticket["version"],
                                             answer.headers.get("idempotent-replayed") == "true"))
                    if self._stop.is_set():
                        return
                    time.sleep(rng.uniform(0, 0.01))

    def _send(self, http: httpx.Client, path: str, body: dict[str, Any], key: str) -> httpx.Response | None:
        """POST until answered: connection errors and 503s are retried with the same key."""
        give_up = None
        while True:
            try:
                r = http.post(path, json=body, headers={"Idempotency-Key": key, "X-Opsledger-Actor": "driver"})
            except httpx.HTTPError:
                r = None
            with self._lock:
                self.statuses[r.status_code if r is not None else "no answer"] += 1
            if r is not None and r.status_code == 503 and not r.headers.get(
                    "content-type", "").startswith("application/problem+json"):
                self.unexpected.append(f"{path} {key}: a 503 that is not problem+json")
            if r is not None and r.status_code < 500:
                if r.status_code >= 300:
                    self.unexpected.append(f"{path} {key}: {r.status_code} {r.text[:300]}")
                    return None
                return r
            if r is not None and r.status_code != 503:
                self.unexpected.append(f"{path} {key}: {r.status_code} {r.text[:300]}")
            with self._lock:
                self.retries += 1
            if self._stop.is_set():
                give_up = give_up or time.monotonic() + 20  # the server may be restarting
                if time.monotonic() > give_up:
                    return None
            time.sleep(0.05)


# --------------------------------------------------------------------- checks


@dataclass
class StoreReport:
    events: int
    tickets: int
    numbers: dict[str, int]  # issued per kind prefix
    views: dict[str, int]  # rows per view


def _numbers_in(event: Any) -> list[str]:
    """The record numbers an event carries (a registration's, an acceptance's, ...)."""
    found = [event.number] if isinstance(getattr(event, "number", None), str) else []
    for value in vars(event).values():
        number = getattr(value, "number", None)
        if isinstance(number, str):
            found.append(number)
    return found


def sql_views(services: Any) -> dict[str, Any]:
    """The read models kept in SQL tables (not the process managers the runner also feeds,
    whose "rebuild" would be a replay of their side effects)."""
    return {n: v for n, v in services.runner.views.items() if hasattr(v, "table") and hasattr(v, "store")}


def view_rows(services: Any) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every SQL view, as text, in id order."""
    out = {}
    for name, view in sql_views(services).items():
        with view.store.read() as cur:
            cur.execute(f"SELECT * FROM {view.table} ORDER BY id")
            rows = cur.fetchall()
        out[name] = [tuple(str(v) for v in (r.values() if isinstance(r, dict) else r)) for r in rows]
    return out


def check_store(database_url: str, acks: list[Ack] = ()) -> StoreReport:  # type: ignore[assignment]
    """Assert the crash invariants on the store at ``database_url`` (no server running)."""
    settings = Settings(database_url=database_url, sla_watch_seconds=0)
    services = build(settings)
    try:
        desk = services.desk
        events: list[tuple[int, Any]] = []
        after = 0
        while batch := desk.read_log(after, 1000):
            events += [(n.id, e) for n, e in batch]
            after = batch[-1][0].id
        by_aggregate: dict[Any, list[Any]] = defaultdict(list)
        for _, e in events:
            by_aggregate[e.originator_id].append(e)

        # numbers: issued once each, 1..n per (kind, day), and each on exactly one record
        issued: list[str] = []
        carried: list[str] = []
        for stream in by_aggregate.values():
            if type(stream[0]).__qualname__.startswith("DailySequence."):
                seqs = [e.seq for e in stream if hasattr(e, "seq")]
                assert seqs == list(range(1, len(seqs) + 1)), (stream[0].originator_id, seqs)
                issued += [e.number for e in stream if hasattr(e, "seq")]
            else:
                for e in stream:
                    carried += _numbers_in(e)
        assert len(set(issued)) == len(issued), [n for n, c in Counter(issued).items() if c > 1]
        assert sorted(carried) == sorted(issued), (
            "numbers issued without their record or records without an issued number",
            sorted(set(issued) ^ set(carried))[:10], Counter(carried).most_common(3))

        # every acknowledged command is recorded as itself, between the client's previous
        # acknowledgement of that ticket and its own version
        tickets = {str(e.originator_id): stream for stream in by_aggregate.values()
                   for e in stream[:1] if type(e).__qualname__ == "Ticket.Registered"}
        previous: dict[str, int] = {}
        for ack in sorted(acks, key=lambda a: (a.ticket_id, a.version)):
            stream = tickets.get(ack.ticket_id)
            assert stream is not None, f"acknowledged ticket {ack.number} is not in the store"
            assert stream[0].number == ack.number
            low = previous.get(ack.ticket_id, 0)
            kinds = [type(e).__name__ for e in stream[low:ack.version]]
            assert EVENT_OF[ack.command] in kinds, (ack, kinds)
            previous[ack.ticket_id] = ack.version

        # idempotency records point at an event that exists
        for stream in by_aggregate.values():
            first = stream[0]
            if type(first).__qualname__ == "IdempotencyRecord.Recorded":
                target = by_aggregate.get(first.target_id, [])
                assert len(target) >= first.target_version, (first.key, first.target_version, len(target))

        # every read model equals a full rebuild of itself
        for view in sql_views(services).values():
            services.runner.catch_up(view)
        before = view_rows(services)
        for name in sql_views(services):
            services.runner.rebuild(name)
        after_rebuild = view_rows(services)
        for name in before:
            assert before[name] == after_rebuild[name], f"view {name} differs from its rebuild"
        numbers = Counter(n.split("-")[0] for n in issued)
        return StoreReport(events=len(events), tickets=len(tickets), numbers=dict(numbers),
                           views={k: len(v) for k, v in before.items()})
    finally:
        services.close()


def main() -> None:  # pragma: no cover - a manual tool
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    d = Driver(args.url, clients=args.clients).start()
    time.sleep(args.seconds)
    d.stop()
    print(f"{len(d.acks)} commands acknowledged, {d.retries} retries, unexpected: {d.unexpected[:5]}")


if __name__ == "__main__":  # pragma: no cover
    main()
