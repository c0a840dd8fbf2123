"""Record numbers on SQLite across processes (ADR 0041): where commands run on the event loop
(the default), a creator issues its number under a lock of its own process and takes the
writers' lock only for its insert; a creator of another process that issued the same number
loses its insert and tries again. Numbers stay unique and gapless. Where commands run in
threads, the issuer holds the writers' lock from its number to its commit (ADR 0012)."""

from __future__ import annotations

from pathlib import Path

from adapters.container import build
from adapters.settings import Settings
from tests.fixtures_stores import sqlite_url
from tests.reliability.test_number_lock import assert_each_number_once, register


def test_two_processes_desks_issue_each_number_once(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    a = build(Settings(database_url=url, sla_watch_seconds=0))
    b = build(Settings(database_url=url, sla_watch_seconds=0))
    try:
        assert a.desk.number_lock is not a.desk.write_lock  # the process's own lock
        assert_each_number_once(a, b)
    finally:
        a.close()
        b.close()


def test_with_commands_in_threads_the_issuer_holds_the_writers_lock(tmp_path: Path) -> None:
    services = build(Settings(database_url=sqlite_url(tmp_path), sla_watch_seconds=0,
                              inline_commands=False))
    try:
        assert services.desk.number_lock is services.desk.write_lock
    finally:
        services.close()


def test_a_creator_whose_number_was_taken_meanwhile_tries_again(tmp_path: Path, monkeypatch) -> None:
    url = sqlite_url(tmp_path)
    a = build(Settings(database_url=url, sla_watch_seconds=0))
    b = build(Settings(database_url=url, sla_watch_seconds=0))
    try:
        first = register(a.desk, "a1")
        original = a.desk._record
        between: list[str] = []

        def record(processing):  # a's save: b issues a number before a's insert
            if not between:
                between.append(register(b.desk, "b1"))
            return original(processing)

        slept: list[float] = []
        monkeypatch.setattr(a.desk, "_record", record)
        monkeypatch.setattr("application.desk.time.sleep", slept.append)
        second = register(a.desk, "a2")
        assert [n.rsplit("-", 1)[1] for n in (first, between[0], second)] == ["001", "002", "003"]
        assert len(slept) == 1  # a lost its first insert once, then took the next number
    finally:
        a.close()
        b.close()
