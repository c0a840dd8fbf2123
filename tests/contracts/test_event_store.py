"""The event store contract, on every store (memory, SQLite file, PostgreSQL).

What the rest of opsledger relies on: events come back exactly as written (through the
msgspec mapper), one writer wins per aggregate version, the notification log can be tailed
page by page without skipping or repeating (also while others write), the tables are made
on first start and kept, and ``RecorderPositions`` maps versions to notification ids.
"""

from __future__ import annotations

import copy
import threading
import time
from datetime import date, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from adapters.container import Services
from adapters.stores.persistence import RecorderPositions
from adapters.settings import Settings
from application.commands.tickets import Assign, Classify, RegisterTicket, Resolve, Start
from application.ports import FixedClock
from domain.ticket import Improvement
from projections.ticket_list.view import TicketQuery
from tests.projections.workload import (
    BASE,
    CONTACT,
    RESOLUTION,
    Spec,
    classify,
    register,
    ticket_in_state,
)
from tests.support.services import built


def stored(services: Services, events: list[Any]) -> list[StoredEvent]:
    return [services.desk.mapper.to_stored_event(e) for e in events]


def full_log(services: Services) -> list[Any]:
    return list(services.desk.recorder.select_notifications(start=0, limit=1_000_000,
                                                            inclusive_of_start=False))


def uid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


# ------------------------------------------------------------- round trip


def test_appended_events_read_back_equal_with_ascending_notification_ids(services):
    desk = services.desk
    shanghai = timezone(timedelta(hours=8))
    t = ticket_in_state(Spec(1, "客户A", "closed", "P1", "zhang", "net"))
    t.give_feedback(
        number="FB-20260302-001", timeliness=5, effectiveness=4, attitude=3, comment="好",
        improvement=Improvement(action="加监控", owner="li", due=date(2026, 4, 1)),
        actor="客户", at=BASE.astimezone(shanghai) + timedelta(hours=2),
    )
    other = register(2, customer="客户B")
    events = list(t.collect_events())
    assert len(events) == 8
    first = desk.recorder.insert_events(stored(services, events[:4]))
    desk.recorder.insert_events(stored(services, list(other.collect_events())))
    rest = desk.recorder.insert_events(stored(services, events[4:]))

    back = [desk.mapper.to_domain_event(s) for s in desk.recorder.select_events(t.id)]
    assert [type(b) for b in back] == [type(e) for e in events]
    assert back == events
    for b, e in zip(back, events, strict=True):
        assert vars(b) == vars(e)  # every field, including the value objects and datetimes

    # An aggregate rebuilt from the stored events equals the one that made them.
    rebuilt = desk.repository.get(t.id)
    assert rebuilt.status == t.status and rebuilt.version == t.version
    assert rebuilt.feedbacks == t.feedbacks and rebuilt.acceptances == t.acceptances

    log = full_log(services)
    ids = [n.id for n in log]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == len(events) + 1
    if first is not None:  # the recorders return the ids they issued
        assert list(first) + list(rest) == [n.id for n in log if uid(n.originator_id) == t.id]
    assert [(uid(n.originator_id), n.originator_version) for n in log] == [
        *[(t.id, v) for v in range(1, 5)],
        (other.id, 1),
        *[(t.id, v) for v in range(5, t.version + 1)],
    ]
    assert desk.max_position() == ids[-1]
    decoded = [desk.mapper.to_domain_event(n) for n in log]
    assert [d for d in decoded if d.originator_id == t.id] == events


# ---------------------------------------------------- one writer per version


WRITERS = 6
ROUNDS = 4


def test_concurrent_writers_to_one_aggregate_exactly_one_wins_per_version(services):
    desk = services.desk
    base = register(1)
    classify(base, "P2", BASE)
    base.assign(assignee="zhang", actor="lead", at=BASE)
    base.start(actor="zhang", at=BASE)
    desk.recorder.insert_events(stored(services, list(base.collect_events())))

    for round_ in range(ROUNDS):
        version = base.version + 1
        copies = [copy.deepcopy(base) for _ in range(WRITERS)]
        batches = []
        for i, c in enumerate(copies):
            c.log_work(action=f"round {round_} writer {i}", hours=1, actor=f"w{i}",
                       at=BASE + timedelta(minutes=round_))
            batches.append(stored(services, list(c.collect_events())))
        barrier = threading.Barrier(WRITERS)
        wins: list[int] = []
        losses: list[int] = []
        errors: list[BaseException] = []

        def write(i: int) -> None:
            barrier.wait()
            try:
                desk.recorder.insert_events(batches[i])
            except IntegrityError:
                losses.append(i)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
            else:
                wins.append(i)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert not errors, errors
        assert len(wins) == 1, (version, wins, losses)
        assert sorted(wins + losses) == list(range(WRITERS))
        (winner,) = wins
        at_version = desk.recorder.select_events(base.id, gt=version - 1)
        assert [s.originator_version for s in at_version] == [version]
        event = desk.mapper.to_domain_event(at_version[0])
        assert event.entry.action == f"round {round_} writer {winner}"
        base = copies[winner]

    log = full_log(services)
    assert [n.originator_version for n in log if uid(n.originator_id) == base.id] == list(
        range(1, base.version + 1)
    )


# ---------------------------------------------------------- notification log


def _insert_tickets(services: Services, first: int, count: int) -> int:
    """Insert ``count`` new tickets with 1-3 events each, one transaction each; events saved."""
    saved = 0
    for n in range(first, first + count):
        t = register(n, at=BASE)
        if n % 3:
            classify(t, "P3", BASE)
        if n % 3 == 2:
            t.assign(group="desk", actor="lead", at=BASE)
        events = list(t.collect_events())
        services.desk.recorder.insert_events(stored(services, events))
        saved += len(events)
    return saved


def test_paging_after_a_position_neither_skips_nor_repeats(services):
    saved = _insert_tickets(services, 1000, 20)
    log = full_log(services)
    ids = [n.id for n in log]
    assert len(ids) == saved
    recorder = services.desk.recorder
    for limit in (1, 4, 7, 100):
        got: list[int] = []
        position = 0
        while page := recorder.select_notifications(start=position, limit=limit,
                                                    inclusive_of_start=False):
            assert len(page) <= limit
            got += [n.id for n in page]
            position = page[-1].id
        assert got == ids
    for i, position in enumerate([0, *ids]):  # after any position: exactly the rest, in order
        page = recorder.select_notifications(start=position, limit=5, inclusive_of_start=False)
        assert [n.id for n in page] == ids[i : i + 5]
    assert recorder.select_notifications(start=ids[-1], limit=5, inclusive_of_start=False) == []


THREADS = 4
PER_THREAD = 80


def test_tailing_reader_sees_every_notification_once_while_4_threads_write(services):
    recorder = services.desk.recorder
    done = threading.Event()
    errors: list[BaseException] = []
    counts: list[int] = []

    def writer(k: int) -> None:
        try:
            counts.append(_insert_tickets(services, 2000 + k * 100, PER_THREAD))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(THREADS)]
    for th in threads:
        th.start()
    seen: list[int] = []
    pages = 0
    position = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        finished = done.is_set()  # read *before* the page: an empty page then means the end
        page = recorder.select_notifications(start=position, limit=7, inclusive_of_start=False)
        if page:
            pages += 1
            ids = [n.id for n in page]
            assert ids == sorted(ids) and ids[0] > position
            seen += ids
            position = ids[-1]
        elif finished:
            break
        if not done.is_set() and not any(th.is_alive() for th in threads):
            done.set()
    for th in threads:
        th.join(30)
    assert not errors, errors
    assert done.is_set()
    final = [n.id for n in full_log(services)]
    assert len(final) == sum(counts) == len(set(final))
    assert seen == final  # nothing skipped, nothing twice, same order
    assert pages > 1


# ------------------------------------------------------------ tables and reopen


def test_tables_are_created_on_first_start_and_a_second_build_sees_the_old_events(
    store_url, store_kind
):
    clock = FixedClock(BASE)
    with built(Settings(database_url=store_url), clock=clock) as first:
        assert first.desk.max_position() == 0
        assert first.desk.read_log(0, 10) == []
        assert first.tickets.position() == 0
        assert list(first.tickets.query(TicketQuery()).rows) == []
        r = first.desk.handle(RegisterTicket(customer="A", contact=CONTACT, channel="web",
                                             title="first start"), actor="agent")
        first.desk.handle(Classify(ref=r.ticket.id, type="fault", category="software",
                                   urgency="urgent", impact="some", importance="important"),
                          actor="agent")
        first.runner.catch_up(first.tickets)
        head = first.desk.max_position()
        assert head >= 3 and first.tickets.position() == head

    with built(Settings(database_url=store_url), clock=clock) as second:
        if store_kind == "memory":  # keeps nothing, by design
            assert second.desk.max_position() == 0
            assert second.tickets.position() == 0
            return
        assert second.desk.max_position() == head
        t = second.desk.get_ticket(r.ticket.number)
        assert t.id == r.ticket.id and t.version == 3  # + SlaDeadlinesSet
        assert [n.id for n, _ in second.desk.read_log(0, 100)][-1] == head
        assert second.tickets.position() == head  # the view's position is kept too
        row = second.tickets.get(str(t.id))
        assert row is not None and row["status"] == "classified" and row["version"] == 3
        # ... and it goes on where it stopped (numbers continue, nothing re-created).
        again = second.desk.handle(RegisterTicket(customer="A", contact=CONTACT, channel="web",
                                                  title="second start"), actor="agent")
        assert again.ticket.number.endswith("-002")
        second.runner.catch_up(second.tickets)
        assert second.tickets.get(str(again.ticket.id)) is not None


@pytest.mark.postgres
def test_postgres_schema_from_the_url_holds_events_and_views(postgres_url):
    import psycopg

    url = f"{postgres_url}?schema=desk"
    with built(Settings(database_url=url), clock=FixedClock(BASE)) as services:
        r = services.desk.handle(RegisterTicket(customer="A", contact=CONTACT, channel="web",
                                                title="in a schema"), actor="agent")
        services.runner.catch_up(services.tickets)
        assert services.tickets.get(str(r.ticket.id)) is not None
        positions = RecorderPositions(services.desk.recorder).positions(r.ticket.id)
        assert set(positions) == {1} and 0 < positions[1] <= r.position
    with psycopg.connect(postgres_url) as conn:
        tables = {
            (schema, name)
            for schema, name in conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
        }
    assert ("desk", "ticket_list") in tables and ("desk", "projection_tracking") in tables
    assert {s for s, _ in tables} == {"desk"}, tables


# ------------------------------------------------------------- positions


def test_recorder_positions_give_each_versions_notification_id(services):
    desk = services.desk
    clock = FixedClock(BASE)
    desk.clock = clock
    refs = []
    for i in range(3):
        clock.advance(minutes=1)
        refs.append(desk.handle(RegisterTicket(customer="A", contact=CONTACT, channel="web",
                                               title=f"p{i}"), actor="a").ticket.id)
    for ref in refs:  # interleave: each ticket's events are spread over the log
        clock.advance(minutes=1)
        desk.handle(Classify(ref=ref, type="fault", category="software", urgency="urgent",
                             impact="some", importance="important"), actor="a")
    for ref in refs[:2]:
        clock.advance(minutes=1)
        desk.handle(Assign(ref=ref, assignee="zhang"), actor="lead")
    result = desk.handle(Start(ref=refs[0]), actor="zhang")
    clock.advance(minutes=1)
    desk.handle(Resolve(ref=refs[0], **RESOLUTION), actor="zhang")

    index = RecorderPositions(desk.recorder)
    log = full_log(services)
    for ref in refs:
        expected = {n.originator_version: n.id for n in log if uid(n.originator_id) == ref}
        assert index.positions(ref) == expected
        assert len(expected) == desk.get_ticket(ref).version
    assert index.positions(refs[0])[5] == result.position  # v3: SlaDeadlinesSet
    assert index.positions(uuid4()) == {}
    history = desk.ticket_history(refs[0])
    assert [h.position for h in history] == [index.positions(refs[0])[v] for v in range(1, 7)]
