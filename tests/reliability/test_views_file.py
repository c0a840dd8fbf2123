"""SQLite's read models in a file of their own (ADR 0073): where they are, how a store made
before moves them there without deciding a notice twice, and a views file ahead of its log
(the last commits of the events' file lost to an operating-system crash)."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.container import Services, build
from adapters.settings import Settings
from adapters.stores.views_file import EVENT_SIDE, SUFFIX
from application.commands.tickets import RegisterTicket
from domain.ticket import Contact
from tests.reliability.driver import view_rows

RELAY = "127.0.0.1:9"  # a channel (nothing listens there), so that notices are decided


def services_on(path: Path) -> Services:
    return build(Settings(database_url=f"sqlite:///{path}", sla_watch_seconds=0, smtp_relay=RELAY))


def register(services: Services, n: int) -> None:
    for i in range(n):
        services.desk.handle(RegisterTicket(
            customer="客户A", contact=Contact("李四", "13800000000", "li@example.com"),
            channel="phone", title=f"打印机故障 {i}", description="d", affected_system="ERP",
            reported_at=datetime(2026, 11, 20, 9, tzinfo=UTC)), actor="agent")
    services.runner.catch_up_all()


def tables(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def state(services: Services) -> dict[str, Any]:
    return {"views": view_rows(services), "outbox": [r.as_json() for r in services.notifier.outbox.due(
        datetime(2100, 1, 1, tzinfo=UTC), limit=1000)],
        "positions": tracking(services)}


def tracking(services: Services) -> dict[str, int]:
    """The stored positions (``projection_tracking``): views and followers alike."""
    with services.tickets.store.read() as cur:  # type: ignore[attr-defined]
        cur.execute("SELECT name, position FROM projection_tracking")
        return {name: position for name, position in cur.fetchall()}


def merge_into_one_file(events: Path) -> None:
    """The layout before ADR 0073: the views file's tables and the events' in one file."""
    views = Path(str(events) + SUFFIX)
    merged = events.with_suffix(".merged")
    with contextlib.closing(sqlite3.connect(views)) as src, contextlib.closing(sqlite3.connect(merged)) as dst:
        src.backup(dst)
    with contextlib.closing(sqlite3.connect(merged, isolation_level=None)) as conn:
        conn.execute("ATTACH DATABASE ? AS ev", (str(events),))
        conn.execute("BEGIN")
        ddl = conn.execute("SELECT type, name, sql FROM ev.sqlite_master WHERE sql IS NOT NULL "
                           "AND (tbl_name IN (%s)) ORDER BY type DESC" % ",".join("?" * len(EVENT_SIDE)),
                           EVENT_SIDE).fetchall()
        for kind, name, sql in ddl:
            conn.execute(sql)
            if kind == "table":
                conn.execute(f'INSERT INTO main."{name}" SELECT * FROM ev."{name}"')
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE ev")
    for suffix in ("", "-wal", "-shm"):
        Path(str(views) + suffix).unlink(missing_ok=True)
        Path(str(events) + suffix).unlink(missing_ok=True)
    shutil.move(merged, events)


def test_read_models_live_in_their_own_file(tmp_path: Path):
    path = tmp_path / "store.sqlite3"
    services = services_on(path)
    try:
        register(services, 3)
        assert len(state(services)["views"]["ticket_list"]) == 3
    finally:
        services.close()
    events, views = tables(path), tables(Path(str(path) + SUFFIX))
    assert {"stored_events", "event_chain", "personal_data_keys"} <= events
    assert not events & {"ticket_list", "projection_tracking", "notice_outbox", "sla_due"}
    assert {"ticket_list", "projection_tracking", "notice_outbox", "sla_due", "ticket_search"} <= views
    assert not views & {"stored_events", "event_chain", "personal_data_keys"}


def test_a_store_made_before_moves_its_views_out_and_decides_nothing_twice(tmp_path: Path):
    # given a store with tickets, notices decided, in the one-file layout of before
    path = tmp_path / "store.sqlite3"
    services = services_on(path)
    try:
        register(services, 4)
        before = state(services)
    finally:
        services.close()
    assert before["outbox"], "the notice decider decided notices"
    merge_into_one_file(path)
    assert "ticket_list" in tables(path) and not Path(str(path) + SUFFIX).exists()
    # when it starts again
    services = services_on(path)
    try:
        after = state(services)
        # then the views, the outbox and every position are where they were: nothing rebuilt,
        # no notice decided again
        assert after == before
        register(services, 1)
        assert len(state(services)["views"]["ticket_list"]) == 5
    finally:
        services.close()
    assert not tables(path) - set(EVENT_SIDE) - {"sqlite_sequence"}
    assert "ticket_list" in tables(Path(str(path) + SUFFIX))


def test_views_ahead_of_a_log_that_lost_its_last_commits_are_rebuilt_and_followers_rewound(tmp_path: Path):
    # given views that applied 5 tickets, and an events' file that kept only the first 3
    # (its last commits lost to a power cut that the views file survived)
    path = tmp_path / "store.sqlite3"
    services = services_on(path)
    try:
        register(services, 3)
        head = services.desk.max_position()
        kept = state(services)
        register(services, 2)
    finally:
        services.close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DELETE FROM event_chain WHERE position > ?", (head,))
        conn.execute("DELETE FROM stored_events WHERE rowid > ?", (head,))
        if "sqlite_sequence" in tables(path):  # rolled back with the lost commits too
            conn.execute("UPDATE sqlite_sequence SET seq=? WHERE name='stored_events'", (head,))
    # when the store starts again
    services = services_on(path)
    try:
        positions = tracking(services)
        # then the views are emptied for a rebuild and the followers moved back to the head
        assert positions["ticket_list"] == 0 and positions["notices"] == head
        services.runner.catch_up_all()
        assert state(services)["views"] == kept["views"]
        # and what is written next at the lost positions reaches views and followers alike
        register(services, 1)
        now = state(services)
        assert len(now["views"]["ticket_list"]) == 4
        assert now["positions"]["notices"] == services.desk.max_position()
        assert len(now["outbox"]) > len(kept["outbox"])
    finally:
        services.close()
