"""Backup and restore (issue 8, item 4; ADR 0023), with the real ``opsledger`` commands.

A backup is taken while client threads keep writing through a served opsledger; it must be
exactly the log's prefix up to its head (consistent: nothing torn, nothing half-written),
and restore into a fresh store with the same events (positions, payload bytes) and views
that equal a rebuild. A backup of a quiet store restores to identical events and views.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.ops.backup import _log_batches, store_digest
from adapters.container import build
from adapters.settings import Settings
from tests.reliability.driver import Driver, check_store, view_rows
from tests.support.postgres import create_database, drop_database, unique_database_name
from tests.support.serve import Process, run_cli


@pytest.fixture
def fresh_url(http_store: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second, empty store of the same kind (the restore target)."""
    if http_store == "sqlite":
        yield f"sqlite:///{tmp_path}/restored.sqlite3"
        return
    base = str(request.getfixturevalue("postgres_server"))
    name = unique_database_name("restored")
    url = create_database(base, name)
    yield url
    drop_database(base, name)


def cli_json(database_url: str, *args: str) -> dict[str, object]:
    done = run_cli(database_url, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def rows(database_url: str) -> list[tuple[object, ...]]:
    services = build(Settings(database_url=database_url, sla_watch_seconds=0))
    try:
        return [(p, str(o).replace("-", ""), v, t, bytes(s))
                for batch in _log_batches(services.desk.recorder) for p, o, v, t, s in batch]
    finally:
        services.close()


def test_backup_while_writing_is_consistent_and_restores_identically(
    server: Process, reliable_url: str, fresh_url: str, tmp_path: Path
):
    # given clients writing through the service
    driver = Driver(server.url, clients=4, seed=11).start()
    try:
        driver.wait_for_acks(40)

        # when a backup is taken while they write
        taken = cli_json(reliable_url, "backup", str(tmp_path / "online.bak"))["backup"]
        acked_at_backup = len(driver.acks)
        driver.wait_for_acks(acked_at_backup + 30)
    finally:
        driver.stop()
    server.stop()
    assert not driver.unexpected, driver.unexpected

    # then the backup is exactly the log's prefix up to its head (the log went on after it)
    assert isinstance(taken, dict)
    source = Settings(database_url=reliable_url)
    prefix = store_digest(source, upto=int(taken["head"]))  # type: ignore[arg-type]
    assert (prefix.count, prefix.hexdigest()) == (taken["count"], taken["sha256"])
    assert store_digest(source).head > taken["head"]  # type: ignore[operator]

    # and it restores into a fresh store: the same events, numbers whole, views = a rebuild
    restored = cli_json(fresh_url, "restore", str(tmp_path / "online.bak"))["restore"]
    assert isinstance(restored, dict)
    assert restored["sha256"] == taken["sha256"] and restored["head"] == taken["head"]
    assert rows(fresh_url) == [r for r in rows(reliable_url) if int(r[0]) <= int(taken["head"])]  # type: ignore[call-overload]
    report = check_store(fresh_url)
    assert report.tickets > 0 and report.views["ticket_list"] == report.tickets


def test_a_quiet_store_restores_to_identical_events_and_views(
    server: Process, reliable_url: str, fresh_url: str, tmp_path: Path
):
    # given a store with finished and unfinished lifecycles, the server stopped
    driver = Driver(server.url, clients=3, seed=12).start()
    driver.wait_for_acks(45)
    driver.stop()
    server.stop()

    # when it is backed up and restored into a fresh store
    cli_json(reliable_url, "backup", str(tmp_path / "quiet.bak"))
    run = run_cli(fresh_url, "restore", str(tmp_path / "quiet.bak"))
    assert run.returncode == 0, run.stderr

    # then the events are identical (positions, ids, versions, topics, payload bytes)
    assert rows(fresh_url) == rows(reliable_url)
    # and the views, once both are rebuilt, hold the same rows
    original, copy = check_store(reliable_url, driver.acks), check_store(fresh_url, driver.acks)
    assert original == copy
    views = []
    for url in (reliable_url, fresh_url):
        services = build(Settings(database_url=url, sla_watch_seconds=0))
        try:
            views.append(view_rows(services))
        finally:
            services.close()
    assert views[0] == views[1]
    # and a restore never overwrites a store that has events
    again = run_cli(fresh_url, "restore", str(tmp_path / "quiet.bak"))
    assert again.returncode == 1 and "not empty" in again.stderr


@pytest.mark.postgres
def test_restore_moves_a_store_between_sqlite_and_postgresql(tmp_path: Path, postgres_url: str):
    # given an SQLite store with some tickets
    sqlite_url = f"sqlite:///{tmp_path}/a.sqlite3"
    with Process(sqlite_url, tmp_path / "serve.log", env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}) as p:
        d = Driver(p.url, clients=2, seed=13).start()
        d.wait_for_acks(20)
        d.stop()
    cli_json(sqlite_url, "backup", str(tmp_path / "a.bak"))

    # when its backup is restored into PostgreSQL, and that store's export back into SQLite
    cli_json(postgres_url, "restore", str(tmp_path / "a.bak"))
    cli_json(postgres_url, "backup", str(tmp_path / "b.bak"))
    assert (tmp_path / "b.bak").read_bytes().startswith(b"OPSLEDGER-EVENTS 3\n")
    back_url = f"sqlite:///{tmp_path}/back.sqlite3"
    cli_json(back_url, "restore", str(tmp_path / "b.bak"))

    # then all three hold the same log, and each passes the store checks
    digests = {store_digest(Settings(database_url=u)).hexdigest() for u in (sqlite_url, postgres_url, back_url)}
    assert len(digests) == 1
    reports = [check_store(u, d.acks) for u in (sqlite_url, postgres_url, back_url)]
    assert reports[0] == reports[1] == reports[2]


def test_a_damaged_export_is_refused(tmp_path: Path):
    # given an export whose end is cut off
    path = tmp_path / "cut.bak"
    path.write_bytes(b"OPSLEDGER-EVENTS 1\n" + json.dumps({"head": 5}).encode() + b"\n" + b"\x00\x00")
    # when it is restored, then the restore fails, naming the problem
    done = run_cli(f"sqlite:///{tmp_path}/t.sqlite3", "restore", str(path))
    assert done.returncode == 1 and "truncated" in done.stderr
    # and nothing was written to the target
    assert store_digest(Settings(database_url=f"sqlite:///{tmp_path}/t.sqlite3")).count == 0


@pytest.mark.postgres
def test_a_restored_store_still_opens_its_contacts_and_keeps_erasures(
    tmp_path: Path, postgres_url: str, postgres_server: str
):
    """The data keys travel with the backup (issue 18): without them every sealed contact of a
    restored store read as erased. Destroyed keys travel as destroyed: an erasure stays one."""
    from application.commands.tickets import RegisterTicket
    from application.privacy import erase_personal_data
    from domain.ticket import ERASED_CONTACT, Contact
    from projections.ticket_search.view import TicketSearchQuery

    # given a PostgreSQL store with a contact in clear and an erased customer's contact
    source = build(Settings(database_url=postgres_url, sla_watch_seconds=0))
    try:
        numbers = {}
        for customer, phone in (("acme", "13800005678"), ("beta", "13900001111")):
            numbers[customer] = source.desk.handle(RegisterTicket(
                customer=customer, contact=Contact("李四", phone, "li@example.com"), channel="phone",
                title="ERP 故障", type="fault", category="software"), actor="agent").ticket.number
        erase_personal_data(source.desk, "beta", reason="PIPL", requested_by="beta", actor="admin")
    finally:
        source.close()

    # when it is backed up and restored into a fresh PostgreSQL database and into SQLite
    taken = cli_json(postgres_url, "backup", str(tmp_path / "keys.bak"))["backup"]
    assert isinstance(taken, dict) and taken["keys"] >= 2
    assert (tmp_path / "keys.bak").read_bytes().startswith(b"OPSLEDGER-EVENTS 3\n")
    name = unique_database_name("keys")
    targets = [create_database(postgres_server, name), f"sqlite:///{tmp_path}/keys.sqlite3"]
    try:
        for url in targets:
            restored = cli_json(url, "restore", str(tmp_path / "keys.bak"))["restore"]
            assert isinstance(restored, dict) and restored["keys"] == taken["keys"]

            # then the ticket's contact reads in clear, and it is found by it
            services = build(Settings(database_url=url, sla_watch_seconds=0))
            try:
                ticket = services.desk.get_ticket(numbers["acme"])
                assert ticket.contact.phone == "13800005678", url
                hits = services.ticket_search.search(TicketSearchQuery(q="13800005678", contacts=True)).hits
                assert [h.row["number"] for h in hits] == [numbers["acme"]], url
                # and the erased customer's contact stays erased
                assert services.desk.get_ticket(numbers["beta"]).contact == ERASED_CONTACT, url
                assert services.ticket_search.search(
                    TicketSearchQuery(q="13900001111", contacts=True)).hits == [], url
            finally:
                services.close()
        # and a version 1 export (no keys) is still read: the same events, no keys
        old = tmp_path / "keys.v1.bak"
        old.write_bytes(version_1(tmp_path / "keys.bak"))
        restored = cli_json(f"sqlite:///{tmp_path}/v1.sqlite3", "restore", str(old))["restore"]
        assert isinstance(restored, dict)
        assert (restored["sha256"], restored["keys"]) == (taken["sha256"], 0)
        # and the SQLite store's own backup (a file) carries them on to PostgreSQL again
        cli_json(targets[1], "backup", str(tmp_path / "keys.sqlite.bak"))
        again = unique_database_name("keys2")
        url = create_database(postgres_server, again)
        try:
            moved = cli_json(url, "restore", str(tmp_path / "keys.sqlite.bak"))["restore"]
            assert isinstance(moved, dict) and moved["keys"] == taken["keys"]
            services = build(Settings(database_url=url, sla_watch_seconds=0))
            try:
                assert services.desk.get_ticket(numbers["acme"]).contact.phone == "13800005678"
                assert services.desk.get_ticket(numbers["beta"]).contact == ERASED_CONTACT
            finally:
                services.close()
        finally:
            drop_database(postgres_server, again)
    finally:
        drop_database(postgres_server, name)


def version_1(path: Path) -> bytes:
    """The version 1 export (before issue 18) of the same events: no key frames."""
    import struct

    with open(path, "rb") as f:
        assert f.readline() == b"OPSLEDGER-EVENTS 3\n"
        out = b"OPSLEDGER-EVENTS 1\n" + f.readline()
        while size := struct.unpack(">I", f.read(4))[0]:
            out += struct.pack(">I", size) + f.read(size)
        while size := struct.unpack(">I", f.read(4))[0]:
            f.read(size)  # a key row
        while size := struct.unpack(">I", f.read(4))[0]:
            f.read(size)  # a file (version 3, ADR 0056)
        trailer = json.loads(f.readline())
    return out + struct.pack(">I", 0) + json.dumps(
        {"count": trailer["count"], "sha256": trailer["sha256"]}).encode() + b"\n"
