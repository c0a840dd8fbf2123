"""Bulk rebuilds (ADR 0068): on SQLite and PostgreSQL, every SQL view with a fold rebuilt in
one pass over the log is row for row the view the incremental path built from the same log
(the demo's: tickets, problems, changes, and a customer's personal data erased); a rebuild
runs beside the live view, which answers queries all along and follows the log's new events,
and swaps in at the head; a crash before the swap leaves the live view as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.container import Services, build
from adapters.demo.run import run_demo
from adapters.runners.bulk import BulkRebuild, bulk_capable
from adapters.settings import Settings
from application.commands.tickets import RegisterTicket
from domain.ticket import Contact
from projections.ticket_list.view import TicketQuery
from projections.ticket_search.view import TicketSearchQuery
from tests.fixtures_stores import ON_DB_STORES

pytestmark = ON_DB_STORES  # bulk rebuilds are of SQL views
BULK = ("ticket_list", "sla_due", "problem_list", "change_list", "ticket_search")


@pytest.fixture
def demo(store_kind: str, store_url: str) -> Iterator[Services]:
    assert run_demo(Settings(database_url=store_url), tickets=12, seed=3) == 0
    services = build(Settings(database_url=store_url, sla_watch_seconds=0))
    try:
        services.runner.catch_up_all()
        yield services
    finally:
        services.close()


def tables(view: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each of the view's tables, columns by name, in a fixed order."""
    out = {}
    with view.store.read() as cur:
        for table in view.all_tables():
            cols = view.write_columns.get(table) or getattr(view, "columns", None)
            if cols is None:  # a full-text table (SQLite): its index agrees with its rows
                cur.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")
                cur.execute(f"SELECT COUNT(*) FROM {table}_docsize")
                out[table] = cur.fetchall()
                continue
            names = ", ".join(f'"{c}"' for c in cols)
            cur.execute(f"SELECT {names} FROM {table} ORDER BY {names}")
            out[table] = [tuple(r) for r in cur.fetchall()]
    return out


def snapshot(services: Services) -> dict[str, Any]:
    return {n: (tables(services.runner.views[n]), services.runner.views[n].position())
            for n in BULK}


def ticket_list_indexes(view: Any) -> list[str]:
    """The names of the ticket list's indexes (not its primary key), as its store has them."""
    with view.store.read() as cur:
        if view.store.dialect == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name = 'ticket_list' AND sql IS NOT NULL")
        else:
            cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'ticket_list' "
                        "AND indexname NOT LIKE '%%pkey'")
        return sorted(r[0] for r in cur.fetchall())


def test_the_bulk_rebuild_of_every_view_equals_the_incremental_build(demo: Services) -> None:
    runner = demo.runner
    assert all(bulk_capable(runner.views[n]) for n in BULK)
    log = demo.desk.read_log(0, 10**6)
    topics = {n.topic.rsplit(".", 1)[-1] for n, _ in log}
    assert "ContactErased" in topics  # a customer's personal data erased (ADR 0043)
    head = demo.desk.max_position()
    incremental = snapshot(demo)
    assert all(position == head for _, position in incremental.values())
    assert all(rows for view, _ in incremental.values() for rows in view.values())

    searches = [demo.ticket_search.search(TicketSearchQuery(q=q, contacts=True, limit=50))
                for q in ("erp", "邮件", "13800", "网络")]
    done = runner.rebuild_many(list(BULK))
    assert {n: count for n, (count, _) in done.items()} == dict.fromkeys(BULK, head)
    assert snapshot(demo) == incremental
    assert [demo.ticket_search.search(TicketSearchQuery(q=q, contacts=True, limit=50))
            for q in ("erp", "邮件", "13800", "网络")] == searches
    assert any(page.hits for page in searches)
    # and once more (the swapped-in tables carry a generation's index names): still equal,
    # every index there once
    runner.rebuild_many(list(BULK))
    assert snapshot(demo) == incremental
    view = runner.views["ticket_list"]
    indexes = ticket_list_indexes(view)
    assert len(indexes) == len(view.index_specs()["ticket_list"])
    assert all(name.startswith("ticket_list__g2_") for name in indexes)
    # a new process opens the swapped-in view without creating its indexes again
    other = build(Settings(database_url=demo.settings.database_url, sla_watch_seconds=0))
    try:
        assert ticket_list_indexes(view) == indexes
    finally:
        other.close()


def test_queries_are_answered_and_new_events_followed_during_a_rebuild(demo: Services) -> None:
    runner, desk = demo.runner, demo.desk
    before = demo.tickets.query(TicketQuery(limit=500)).rows
    seen: list[int] = []

    def progress(position: int, target: int) -> None:
        # mid-rebuild: the live view answers in full; a command lands in the log
        if not seen:
            seen.append(len(demo.tickets.query(TicketQuery(limit=500)).rows))
            desk.handle(RegisterTicket(
                customer="客户A", contact=Contact(name="赵六", phone="13900001111"),
                channel="phone", title="registered during the rebuild",
                affected_system="ERP"), actor="agent")

    runner.rebuild_many(list(BULK), progress)
    assert seen == [len(before)]
    head = desk.max_position()
    rebuilt = snapshot(demo)
    assert all(position == head for _, position in rebuilt.values())
    titles = {r["title"] for r in demo.tickets.query(TicketQuery(limit=500)).rows}
    assert "registered during the rebuild" in titles
    # the incremental path from scratch agrees
    for name in BULK:
        runner.rebuild_in_place(name)
    assert snapshot(demo) == rebuilt


class Crash(Exception):
    pass


def test_a_rebuild_that_dies_before_the_swap_leaves_the_live_view(
        demo: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(demo)

    def die(*args: Any) -> int:
        raise Crash

    monkeypatch.setattr(BulkRebuild, "_swap", die)
    with pytest.raises(Crash):
        demo.runner.rebuild_many(list(BULK))
    monkeypatch.undo()
    assert snapshot(demo) == before
    demo.runner.rebuild_many(list(BULK))  # the next one drops the leftover shadows
    assert snapshot(demo) == before


def test_the_command_rebuilds_the_views_in_one_pass(demo: Services,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.cli.main import main

    before = snapshot(demo)
    assert main(["projections", "rebuild", "--database", demo.settings.database_url]) == 0
    said = capsys.readouterr().err
    assert "rebuild 5 views" in said and "events/s" in said
    assert "knowledge: " in said  # a view without a fold: in place, as before
    assert "(one pass, built beside" in " ".join(said.split())
    assert snapshot(demo) == before


def test_the_command_rebuilds_in_two_processes_on_a_large_log(
        demo: Services, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """ADR 0077 through the command, whose progress bar runs a thread while it forks."""
    from adapters.cli.main import main
    from adapters.runners import bulk

    monkeypatch.setattr(bulk, "PARALLEL_FROM", 1)
    before = snapshot(demo)
    assert main(["projections", "rebuild", "--database", demo.settings.database_url]) == 0
    said = " ".join(capsys.readouterr().err.split())  # as wrapped to the terminal
    assert "(2 processes, each one pass over the log" in said and "events/s" in said
    assert snapshot(demo) == before


def test_a_rebuild_swaps_in_while_the_runner_follows_a_stream_of_commands(demo: Services) -> None:
    """The runner's thread applies batches to the live views while commands land and the
    views are rebuilt and swapped in under it (on PostgreSQL its batches and the swap take
    the tracking rows in one order: no deadlock); afterwards the views are at the head and
    equal to an incremental rebuild from scratch."""
    import threading

    runner, desk = demo.runner, demo.desk
    stop = threading.Event()
    failures: list[BaseException] = []

    def commands() -> None:
        n = 0
        while not stop.is_set() and n < 200:
            n += 1
            try:
                desk.handle(RegisterTicket(
                    customer="客户B", contact=Contact(name="钱七", phone="13900002222"),
                    channel="phone", title=f"while swapping {n}", affected_system="ERP"),
                    actor="agent")
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(e)
                return

    runner.start()
    writer = threading.Thread(target=commands)
    writer.start()
    try:
        for _ in range(3):
            runner.rebuild_many(list(BULK))
    finally:
        stop.set()
        writer.join(timeout=30)
        runner.stop()
    assert not failures
    assert all(state.failures == 0 for state in runner.states.values()), runner.status()
    runner.catch_up_all()
    head = desk.max_position()
    followed = snapshot(demo)
    assert all(position == head for _, position in followed.values())
    for name in BULK:
        runner.rebuild_in_place(name)
    assert snapshot(demo) == followed


def test_two_processes_rebuild_two_groups_of_views_that_equal_the_incremental_build(
        demo: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """ADR 0077: on a large log the views are cut into two groups of about the same cost and
    the second is rebuilt by a process of its own, on connections of its own; the views are
    row for row the incremental build's, each rebuilt once, and the ticket search (the
    heaviest) not in the same group as the ticket list."""
    import os

    from adapters.runners import bulk

    monkeypatch.setattr(bulk, "PARALLEL_FROM", 1)  # the demo's log is small
    incremental = snapshot(demo)
    head = demo.desk.max_position()
    done = demo.runner.rebuild_many(list(BULK), processes=2)
    assert {n: count for n, (count, _) in done.items()} == dict.fromkeys(BULK, head)
    by = demo.runner.rebuilt_by
    assert set(by) == set(BULK)
    assert os.getpid() in by.values() and len(set(by.values())) == 2, by
    assert by["ticket_search"] != by["ticket_list"]
    assert snapshot(demo) == incremental
    # the swapped-in views follow the log in this process as before
    demo.desk.handle(RegisterTicket(
        customer="客户A", contact=Contact(name="赵六", phone="13900001111"), channel="phone",
        title="after two processes", affected_system="ERP"), actor="agent")
    demo.runner.catch_up_all()
    assert "after two processes" in {r["title"] for r in
                                      demo.tickets.query(TicketQuery(limit=500)).rows}
    # one process when told so, or below the size from which a second one pays
    demo.runner.rebuild_many(list(BULK), processes=1)
    assert set(demo.runner.rebuilt_by.values()) == {os.getpid()}
    monkeypatch.setattr(bulk, "PARALLEL_FROM", demo.desk.max_position() + 1)
    demo.runner.rebuild_many(list(BULK), processes=2)
    assert set(demo.runner.rebuilt_by.values()) == {os.getpid()}
    # nor from a process whose runner thread runs (a server's): a fork there could copy a
    # lock another thread holds
    monkeypatch.setattr(bulk, "PARALLEL_FROM", 1)
    demo.runner.start()
    try:
        demo.runner.rebuild_many(list(BULK), processes=2)
    finally:
        demo.runner.stop()
    assert set(demo.runner.rebuilt_by.values()) == {os.getpid()}


def test_a_failing_second_process_fails_the_rebuild_and_leaves_its_live_views(
        demo: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.runners import bulk

    monkeypatch.setattr(bulk, "PARALLEL_FROM", 1)
    before = snapshot(demo)

    def broken(fresh: Any, names: list[str], counter: Any) -> Any:
        raise RuntimeError("the second process fell over")

    monkeypatch.setattr(bulk, "_rebuild_group", broken)
    with pytest.raises(RuntimeError, match="fell over"):
        demo.runner.rebuild_many(list(BULK), processes=2)
    monkeypatch.undo()
    after = snapshot(demo)
    assert after == before  # the first group swapped in the same rows; the second kept its own


def test_the_full_text_index_built_in_slices_equals_the_incremental_build(
        demo: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite fills the search's full-text tables a slice of rows per transaction (the views'
    writers' lock is held a slice at a time): the same index and the same hits as one."""
    from projections.ticket_search import sql as search_sql

    before = snapshot(demo)
    searches = [demo.ticket_search.search(TicketSearchQuery(q=q, contacts=True, limit=50))
                for q in ("erp", "邮件", "13800", "网络")]
    slices: list[tuple[Any, ...]] = []
    store = demo.ticket_search.store
    real = store.transaction

    def counted() -> Any:
        slices.append(())
        return real()

    monkeypatch.setattr(search_sql, "FTS_SLICE", 3)
    monkeypatch.setattr(store, "transaction", counted)
    demo.runner.rebuild_many(["ticket_search"], processes=1)
    monkeypatch.undo()
    assert snapshot(demo) == before
    assert [demo.ticket_search.search(TicketSearchQuery(q=q, contacts=True, limit=50))
            for q in ("erp", "邮件", "13800", "网络")] == searches
    if store.dialect == "sqlite":  # 12 tickets and more, 3 a slice, two tables
        assert len(slices) >= 2 * 4


def test_postgres_indexes_are_built_two_at_a_time(store_kind: str, demo: Services,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """ADR 0082: on PostgreSQL a shadow's indexes are built on two connections at once (the
    view's extra indexes -- the search's trigrams -- among them); on SQLite one at a time, on
    this thread. Either way every index is there once, and the search answers as before."""
    import threading

    import adapters.runners.bulk as bulk
    from projections.sql import create_indexes

    threads: set[str] = set()

    def recording(cur: Any, table: str, prefix: str, specs: Any) -> None:
        threads.add(threading.current_thread().name)
        create_indexes(cur, table, prefix, specs)

    monkeypatch.setattr(bulk, "create_indexes", recording)
    view = demo.runner.views["ticket_search"]
    query = TicketSearchQuery(q="打印机", contacts=True, limit=50)
    before = [h.row["id"] for h in view.search(query).hits]
    assert before
    demo.runner.rebuild("ticket_search")
    if store_kind == "postgres":
        assert threads and all(t.startswith("opsledger-index") for t in threads)
    else:
        assert threads == {threading.current_thread().name}
    assert [h.row["id"] for h in view.search(query).hits] == before
    with view.store.read() as cur:
        prefix = bulk.index_prefix(cur, view.store, "ticket_search")
    for name, _ in view.index_specs()["ticket_search"]:
        with view.store.read() as cur:
            if store_kind == "postgres":
                cur.execute("SELECT COUNT(*) FROM pg_indexes WHERE indexname = %s",
                            (f"{prefix}_{name}",))
            else:
                cur.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' "
                            "AND name = ?", (f"{prefix}_{name}",))
            assert cur.fetchone()[0] == 1


def test_the_search_folds_its_hot_topics_from_raw_rows(demo: Services,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """ADR 0082: on a store of plain states the search's fold reads the hot topics of a
    ticket's life from the raw rows (the mapper decodes the others: registrations, erasures,
    rejections...), and its rows equal the incremental build's, row for row."""
    from projections.ticket_search.fold import TicketSearchFold

    raw_rows, decoded = [0], [0]
    feed_raw = TicketSearchFold.feed_raw

    def counting(self: Any, rows: Any, event: Any) -> None:
        raw_rows[0] += len(rows)

        def mapper(raw: Any) -> Any:
            decoded[0] += 1
            return event(raw)

        feed_raw(self, rows, mapper)

    from datetime import timedelta

    from bench.rebuild import BASE, ticket

    # more of a ticket's life than the demo's: work logged with a workaround, a wait for the
    # customer and its resumption, a reopening (the bench's lifecycles, saved as aggregates)
    tickets = [ticket(100 + i, stage=2 if i % 3 == 0 else 5) for i in range(12)]
    for i, t in enumerate(tickets):
        at = BASE + timedelta(days=30)
        if i % 3 == 0:
            t.await_customer(reason="要截图", actor="desk.liu", at=at)
            t.resume(actor="desk.liu", at=at + timedelta(hours=1))
        elif i % 3 == 1:
            t.reopen(reason="又断了", actor="desk.liu", at=at)
    demo.desk.save(*tickets)
    demo.runner.catch_up_all()
    topics = {n.topic.rsplit(".", 1)[-1] for n, _ in demo.desk.read_log(0, 10**6)}
    assert {"Resumed", "WorkLogged", "Resolved", "Reopened", "Classified"} <= topics
    monkeypatch.setattr(TicketSearchFold, "feed_raw", counting)
    incremental = tables(demo.runner.views["ticket_search"])
    assert any("临时将业务切换至备用链路" in str(row) for row in incremental["ticket_search"])
    demo.runner.rebuild("ticket_search")
    assert tables(demo.runner.views["ticket_search"]) == incremental
    assert 0 < decoded[0] < raw_rows[0] / 2  # most events never went through the mapper


def test_the_search_takes_the_decoded_events_when_another_fold_has_them(
        demo: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """ADR 0082: in one pass with the SLA due index (whose fold takes the mapper's events) the
    search's fold is fed those events, not the raw rows; alone it reads the raw rows."""
    from projections.ticket_search.fold import TicketSearchFold

    raw_calls: list[int] = []
    feed_raw = TicketSearchFold.feed_raw
    monkeypatch.setattr(TicketSearchFold, "feed_raw",
                        lambda self, rows, event: (raw_calls.append(len(rows)),
                                                   feed_raw(self, rows, event))[1])
    incremental = snapshot(demo)
    demo.runner.rebuild_many(["ticket_search", "sla_due"], processes=1)
    assert raw_calls == []
    demo.runner.rebuild_many(["ticket_search"], processes=1)
    assert raw_calls
    assert snapshot(demo) == incremental
