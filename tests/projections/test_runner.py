"""The projection engine (adapters/runners/projections.py), on every store.

Caught up, a view equals a full rebuild row for row and every row shows its ticket's
version; a runner killed mid-batch resumes (in a new process: a new build on the same store)
without losing or double-counting anything; a failing view is isolated and retried after a
backoff; ``wait_for`` and the runner thread follow new writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

import pytest

from adapters.container import Services, build
from adapters.runners.projections import ProjectionRunner
from adapters.settings import Settings
from application.commands.tickets import Classify, RegisterTicket
from application.ports import FixedClock
from domain.ticket import Ticket
from projections.base import Positioned
from projections.ticket_list import projection
from projections.ticket_list.memory import MemoryTicketListView
from projections.ticket_list.view import TicketListView, TicketQuery
from tests.projections.workload import BASE, CONTACT, drive_desk
from tests.fixtures_stores import ON_DB_STORES
from tests.support.crash import ApplyCrash

COMMANDS = 300
ALL = TicketQuery(limit=100_000)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BASE)


class Opener:
    """Builds services on the test's store (a new build = a new process), closes them all."""

    def __init__(self, url: str, clock: FixedClock) -> None:
        self.url, self.clock = url, clock
        self.open: list[Services] = []

    def __call__(self, **settings: Any) -> Services:
        settings.setdefault("projection_poll_seconds", 0.05)
        services = build(Settings(database_url=self.url, **settings), clock=self.clock)
        self.open.append(services)
        return services

    def close(self, services: Services) -> None:
        self.open.remove(services)
        services.close()


@pytest.fixture
def make(store_url: str, clock: FixedClock) -> Iterator[Opener]:
    opener = Opener(store_url, clock)
    yield opener
    for services in list(opener.open):
        opener.close(services)


def rows(view: TicketListView) -> dict[str, dict[str, Any]]:
    got = {r["id"]: dict(r) for r in view.query(ALL).rows}
    assert len(got) == len(view.query(ALL).rows)
    return got


def ticket_events(services: Services) -> int:
    log = services.desk.recorder.select_notifications(
        start=0, limit=10**7, inclusive_of_start=False
    )
    return sum(1 for n in log if n.topic in projection.TOPICS)


def assert_rows_show_the_aggregates(services: Services, ids: Sequence[UUID]) -> None:
    """One row per ticket, each at its aggregate's version and state: none skipped or doubled."""
    got = rows(services.tickets)
    assert set(got) == {str(i) for i in ids}
    for ticket_id in ids:
        t = services.desk.get_ticket(ticket_id)
        row = got[str(ticket_id)]
        assert row["version"] == t.version, (row, t.version)
        assert row["status"] == t.status.value
        assert row["priority"] == (t.priority.value if t.priority else None)
        assert (row["assignee"], row["group"]) == (t.assignee, t.group)
        assert (row["number"], row["customer"]) == (t.number, t.customer)


def feed_reference(services: Services, until: int) -> MemoryTicketListView:
    """A fresh in-memory view fed the log up to ``until`` in one batch."""
    ref = MemoryTicketListView()
    log = services.desk.recorder.select_notifications(
        start=0, limit=10**7, stop=until, inclusive_of_start=False
    )
    events = [
        Positioned(n.id, services.desk.mapper.to_domain_event(n))
        for n in log
        if n.topic in projection.TOPICS
    ]
    ref.apply(events, start=0, end=until)
    return ref


def register(services: Services, title: str = "printer on fire") -> Any:
    return services.desk.handle(RegisterTicket(customer="A", contact=CONTACT, channel="web",
                                               title=title), actor="agent")


def eventually(check: Callable[[], bool], within: float) -> float:
    """Seconds until ``check()`` held; fails after ``within``."""
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < within, f"not within {within}s"
        time.sleep(0.01)
    return time.monotonic() - began


# ------------------------------------------------------------ catch up


def test_catch_up_equals_a_full_rebuild_row_for_row(make, clock):
    services = make(projection_batch_size=37)
    ids = drive_desk(services.desk, clock, COMMANDS)
    head = services.desk.max_position()
    assert len(ids) >= 20 and head > COMMANDS
    log = services.desk.read_log(0, 10**7)
    # every event the view handles, but those of the SLA watcher and escalation (ADR 0017):
    # the random walk runs no watcher (tests/contracts/test_ticket_list_sla.py covers them)
    # and links no problem (tests/adapters/http/test_http_problems.py checks the list's version then)
    watcher = {Ticket.SlaWarningRaised.TOPIC, Ticket.SlaBreached.TOPIC, Ticket.Escalated.TOPIC}
    # nor requests through the catalogue (tests/adapters/http/test_http_catalogue.py lists them)
    catalogue = {Ticket.ServiceRequested.TOPIC, Ticket.Approved.TOPIC,
                 Ticket.ApprovalRejected.TOPIC}
    assert {n.topic for n, _ in log} >= (projection.TOPICS - watcher - catalogue
                                         - {Ticket.ProblemLinked.TOPIC})

    progress: list[tuple[int, int]] = []
    covered = services.runner.catch_up(services.tickets, lambda at, of: progress.append((at, of)))
    assert covered == len(log)
    assert services.tickets.position() == head
    assert [at for at, _ in progress] == sorted({at for at, _ in progress})
    assert progress[-1] == (head, head) and len(progress) == -(-covered // 37)
    assert services.runner.states["ticket_list"].events_applied == ticket_events(services)
    live = rows(services.tickets)
    assert_rows_show_the_aggregates(services, ids)
    assert services.runner.catch_up(services.tickets) == 0  # nothing left

    count, seconds = services.runner.rebuild("ticket_list")
    assert count == covered and seconds >= 0
    assert services.tickets.position() == head
    assert rows(services.tickets) == live


class Crash(Exception):
    """The process dies here (the view's transaction is open when it happens)."""


def test_a_runner_killed_mid_batch_resumes_without_loss_or_double_counting(
    make, clock, store_kind, monkeypatch
):
    services = make(projection_batch_size=25)
    ids = drive_desk(services.desk, clock, COMMANDS, seed=11)
    head = services.desk.max_position()
    wanted = ticket_events(services)

    crash = ApplyCrash(monkeypatch, wanted * 2 // 5, Crash("killed"))
    with pytest.raises(Crash):
        services.runner.catch_up(services.tickets)
    crash.restore()

    stopped = services.tickets.position()
    assert 0 < stopped < head
    # What the dead runner left is exactly the log up to its position: the torn batch is gone.
    assert rows(services.tickets) == rows(feed_reference(services, stopped))
    applied_before = services.runner.states["ticket_list"].events_applied
    assert 0 < applied_before < wanted

    if store_kind != "memory":  # a new process on the same store takes over
        make.close(services)
        services = make(projection_batch_size=25)
        assert services.tickets.position() == stopped
        services.runner.catch_up(services.tickets)
        applied_after = services.runner.states["ticket_list"].events_applied
        assert applied_before + applied_after == wanted  # each event once
    else:
        services.runner.catch_up(services.tickets)
        assert services.runner.states["ticket_list"].events_applied == wanted

    assert services.tickets.position() == head
    assert_rows_show_the_aggregates(services, ids)
    live = rows(services.tickets)
    services.runner.rebuild("ticket_list")
    assert rows(services.tickets) == live


# ------------------------------------------------------------ isolation


class FailingView:
    """A view that fails its first ``failures`` batches (or all), then works (in memory)."""

    def __init__(self, name: str = "broken", failures: float = float("inf")) -> None:
        self.name = name
        self.topics = projection.TOPICS
        self.inner = MemoryTicketListView()
        self.failures = failures
        self.calls = 0

    def position(self) -> int:
        return self.inner.position()

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("read model disk is full")
        self.inner.apply(events, start=start, end=end)

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        pass


def status_of(runner: ProjectionRunner) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in runner.status()}


def test_a_failing_view_is_isolated_shown_unhealthy_and_retried_after_backoff(make, clock):
    services = make()
    broken = FailingView(failures=2)
    runner = ProjectionRunner(services.desk, [services.tickets, broken], poll_seconds=0.05)
    ids = drive_desk(services.desk, clock, 40)
    head = services.desk.max_position()

    t0 = time.monotonic()
    assert runner.run_once() is True
    assert services.tickets.position() == head  # the healthy view kept going
    first_delay = runner.states["broken"].retry_at - t0
    assert 0.4 <= first_delay < 0.8
    st = status_of(runner)
    assert st["ticket_list"]["healthy"] and st["ticket_list"]["lag"] == 0
    assert st["broken"]["healthy"] is False and st["broken"]["failures"] == 1
    assert st["broken"]["last_error"] == "RuntimeError: read model disk is full"
    assert st["broken"]["position"] == 0 and st["broken"]["lag"] == head
    assert runner.wait_for(head, timeout=1) is True  # a failing view does not block readers

    # More writes: the healthy view follows; the broken one is left alone while backing off.
    more = drive_desk(services.desk, clock, 10, seed=3, tickets=3)
    if time.monotonic() > runner.states["broken"].retry_at - 0.1:
        # A slow (loaded) machine took the whole backoff to write: keep the view in a backoff
        # for this step, which is what it checks.
        runner.states["broken"].retry_at = time.monotonic() + 1.0
    runner.run_once()
    assert broken.calls == 1
    assert services.tickets.position() == services.desk.max_position()
    assert_rows_show_the_aggregates(services, [*ids, *more])

    first_retry = runner.states["broken"].retry_at
    eventually(lambda: time.monotonic() >= first_retry, within=3)
    t1 = time.monotonic()
    runner.run_once()
    assert broken.calls == 2  # retried after the backoff, and failed again
    state = runner.states["broken"]
    assert state.failures == 2
    assert state.retry_at - t1 >= 0.8  # the backoff doubled

    state.retry_at = 0.0  # do not wait the second backoff out
    runner.run_once()
    assert broken.calls == 3
    st = status_of(runner)["broken"]
    assert st["healthy"] and st["failures"] == 0 and st["last_error"] is None
    assert st["position"] == services.desk.max_position() and st["lag"] == 0
    assert rows(broken.inner) == rows(services.tickets)


def test_a_view_that_always_fails_never_holds_up_the_thread(make, clock):
    services = make()
    broken = FailingView()
    runner = ProjectionRunner(services.desk, [broken, services.tickets], poll_seconds=0.05)
    services.desk.after_save.append(lambda _p: runner.wake())
    runner.start()
    try:
        for i in range(5):
            r = register(services, f"t{i}")
            assert runner.wait_for(r.position, timeout=2)
            assert services.tickets.get(str(r.ticket.id)) is not None
        st = status_of(runner)
        assert not st["broken"]["healthy"] and st["broken"]["failures"] >= 1
        assert st["ticket_list"]["healthy"] and st["ticket_list"]["lag"] == 0
    finally:
        runner.stop()
    assert broken.position() == 0


# -------------------------------------------------------- wait_for, thread


def test_wait_for_returns_true_once_caught_up(make, clock):
    services = make()
    runner = services.runner
    assert runner.wait_for(0, timeout=0.1) is True
    drive_desk(services.desk, clock, 30)
    saved = services.desk.saved_position
    assert saved == services.desk.max_position()
    assert runner.wait_for(saved, timeout=0.2) is False  # no thread: nobody catches up
    runner.start()
    try:
        assert runner.wait_for(saved, timeout=5) is True
        assert services.tickets.position() >= saved
        assert runner.wait_for(saved + 1000, timeout=0.2) is False  # never written
        r = register(services)
        assert runner.wait_for(r.position, timeout=5) is True
        assert services.tickets.get(str(r.ticket.id))["title"] == "printer on fire"
    finally:
        runner.stop()


def test_the_runner_thread_follows_new_writes_within_a_second(make, clock, store_kind):
    services = make()
    view, runner = services.tickets, services.runner
    runner.start()
    try:
        for i in range(5):
            clock.advance(minutes=1)
            r = register(services, f"live {i}")
            key = str(r.ticket.id)
            assert eventually(lambda: view.get(key) is not None, within=1.0) < 1.0
            services.desk.handle(Classify(ref=r.ticket.id, type="fault", category="software",
                                          urgency="urgent", impact="some", importance="important"),
                                 actor="a")
            eventually(lambda: (view.get(key) or {}).get("version") == 3, within=1.0)  # + SlaDeadlinesSet

        if store_kind != "memory":  # writes of another process are picked up by polling
            other = make()
            r = register(other, "from another process")
            key = str(r.ticket.id)
            eventually(lambda: view.get(key) is not None, within=1.0)
    finally:
        runner.stop()
    assert runner._thread is None

    # Stopped: nothing follows.  Started again: it follows again.
    r = register(services, "while stopped")
    time.sleep(0.2)
    assert view.get(str(r.ticket.id)) is None
    runner.start()
    try:
        eventually(lambda: view.get(str(r.ticket.id)) is not None, within=1.0)
    finally:
        runner.stop()
    assert view.position() == services.desk.max_position()


@ON_DB_STORES  # in-memory views are per process
def test_two_runners_on_one_store_share_the_work_without_double_applying(
    make, clock, store_kind
):
    a = make(projection_batch_size=10)
    b = make(projection_batch_size=10)
    ids = drive_desk(a.desk, clock, 120)
    errors: list[BaseException] = []

    def run(s: Services) -> None:
        try:
            for _ in range(1000):
                if not s.runner.run_once() and s.tickets.position() == a.desk.max_position():
                    return
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in (a, b)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors
    assert all(s.runner.states["ticket_list"].failures == 0 for s in (a, b))
    total = sum(s.runner.states["ticket_list"].events_applied for s in (a, b))
    assert total == ticket_events(a)  # every batch went to exactly one of them
    assert_rows_show_the_aggregates(a, ids)


def test_one_pass_reads_the_log_once_for_views_at_one_position(make, clock, monkeypatch):
    services = make()
    runner = services.runner
    runner.catch_up_all()
    drive_desk(services.desk, clock, 10)
    reads: list[int] = []
    original = runner.reader.read
    monkeypatch.setattr(runner.reader, "read", lambda after, limit: reads.append(after) or original(after, limit))
    assert runner.run_once() is True
    assert len(reads) == len(set(reads)) == 1  # every view was at the same position
    head = services.desk.max_position()
    assert all(v.position() == head for v in runner.views.values())
    # a view another runner reset (a rebuild elsewhere) is caught up from its stored position
    services.tickets.reset()
    assert services.tickets.position() == 0
    runner.catch_up_all()
    assert services.tickets.position() == head and rows(services.tickets)


# ------------------------------------------- one transaction per pass (ADR 0041)


def count_transactions(services: Services, monkeypatch) -> list[str]:
    """Patches every SQL view's store class so each write transaction is logged."""
    from projections.sql import SqlView

    opened: list[str] = []
    for view in services.runner.views.values():
        if not isinstance(view, SqlView):
            continue
        cls = type(view.store)
        if getattr(cls.transaction, "_counting", False):
            continue
        original = cls.transaction

        def counting(self, _original=original):
            opened.append(self.dialect)
            return _original(self)

        counting._counting = True  # type: ignore[attr-defined]
        monkeypatch.setattr(cls, "transaction", counting)
    return opened


def caught_up(make: Opener, store_kind: str, why: str) -> Services:
    """Services on a SQL store, their views caught up (the tests below need SQL views)."""
    if store_kind == "memory":
        pytest.skip(why)
    services = make()
    services.runner.catch_up_all()
    return services


def test_the_views_of_one_database_move_in_one_transaction_per_pass(make, clock, monkeypatch,
                                                                    store_kind):
    services = caught_up(make, store_kind, "in-memory views have no transactions")
    runner = services.runner
    ids = drive_desk(services.desk, clock, 12)
    opened = count_transactions(services, monkeypatch)
    assert runner.run_once() is True
    assert len(opened) == 1  # every SQL view (and the routine follower), one transaction
    head = services.desk.max_position()
    assert all(v.position() == head for v in runner.views.values())
    assert_rows_show_the_aggregates(services, ids)


def test_a_view_failing_inside_the_shared_transaction_is_isolated(make, clock, monkeypatch,
                                                                 store_kind):
    services = caught_up(make, store_kind, "in-memory views have no shared transaction")
    runner = services.runner
    before = services.sla_due.position()
    ids = drive_desk(services.desk, clock, 12)
    head = services.desk.max_position()

    def full_disk(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("read model disk is full")

    monkeypatch.setattr(services.sla_due, "apply_in", full_disk)
    assert runner.run_once() is True
    # The shared transaction was rolled back; every other view was applied on its own.
    assert services.tickets.position() == head
    assert_rows_show_the_aggregates(services, ids)
    st = status_of(runner)
    assert st["sla_due"]["healthy"] is False
    assert st["sla_due"]["last_error"] == "RuntimeError: read model disk is full"
    assert services.sla_due.position() == before  # nothing of the failed batch is kept
    monkeypatch.undo()
    runner.states["sla_due"].retry_at = 0.0
    runner.run_once()
    assert status_of(runner)["sla_due"]["healthy"]
    assert services.sla_due.position() == head


def test_the_thread_rereads_an_idle_views_position_at_most_once_a_second(make, clock,
                                                                       store_kind):
    services = caught_up(make, store_kind, "in-memory positions cost nothing to read")
    runner = services.runner
    reads: list[str] = []
    for view in runner.views.values():
        original = view.position

        def counted(_original=original, _name=view.name) -> int:
            reads.append(_name)
            return _original()

        view.position = counted  # type: ignore[method-assign]
    assert runner.run_once(lazy=True) is False
    first = len(reads)
    assert first == len(runner.views)  # the first idle pass checks each stored position
    for _ in range(5):
        assert runner.run_once(lazy=True) is False
    assert len(reads) == first  # passes within the second read none
    assert runner.run_once() is False  # an explicit pass always checks
    assert len(reads) == 2 * first
