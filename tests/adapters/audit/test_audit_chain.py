"""The hash chain (ADR 0030) on every store: written with the events, and a byte, row, order
or chain row changed directly in the database is found at its position."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.audit.chain import AuditError, check_head, check_signature, head_document, verify_store
from adapters.audit.store import seal
from adapters.container import Services, build
from adapters.stores.persistence import LogReader
from adapters.settings import Settings
from application.audit import GENESIS, extend
from tests.adapters.audit.audit_support import fill, flip_byte, tamper
from tests.fixtures_stores import DB_STORES, ON_DB_STORES
from tests.projections.workload import register
from tests.support.services import built


@pytest.fixture
def filled(services: Services) -> tuple[Services, int]:
    return services, fill(services)


def test_every_event_is_chained_when_recorded(filled: tuple[Services, int]) -> None:
    services, head = filled
    rows = LogReader(services.desk.recorder).read(0, 10_000)
    assert len(rows) == head > 10
    expected = extend(GENESIS, rows)[-1]
    verdict = verify_store(services.desk.recorder)
    assert verdict.as_dict() == {"ok": True, "events": head, "head": expected[1],
                                 "position": head}


@ON_DB_STORES
def test_a_flipped_byte_is_found_at_its_position(filled: tuple[Services, int]) -> None:
    services, head = filled
    flip_byte(services, 7)
    verdict = verify_store(services.desk.recorder)
    assert not verdict.ok and verdict.first_bad_position == 7
    assert verdict.events == 6 and "hash mismatch" in str(verdict.reason)


@ON_DB_STORES
@pytest.mark.parametrize(("statement", "params", "bad", "reason"), [
    ("DELETE FROM {events} WHERE {pos} = %s", (5,), 5, "without its event"),
    ("UPDATE {chain} SET hash = %s WHERE position = %s", ("ab" * 32, 9), 9, "hash mismatch"),
    ("DELETE FROM {chain} WHERE position = %s", (4,), 4, "without a chain row"),
    ("UPDATE {events} SET topic = topic || ' ' WHERE {pos} = %s", (3,), 3, "hash mismatch"),
    ("UPDATE {events} SET originator_version = originator_version + 100 WHERE {pos} = %s",
     (8,), 8, "hash mismatch"),
    ("UPDATE {events} SET {pos} = {pos} + 1000 WHERE {pos} = %s", (6,), 6, "without its event"),
])
def test_a_changed_row_is_found(filled: tuple[Services, int], statement: str,
                                params: tuple[Any, ...], bad: int, reason: str) -> None:
    services, _ = filled
    tamper(services, statement, params)
    verdict = verify_store(services.desk.recorder)
    assert (verdict.ok, verdict.first_bad_position) == (False, bad)
    assert reason in str(verdict.reason)


@ON_DB_STORES
def test_swapped_payloads_and_an_inserted_row_are_found(filled: tuple[Services, int]) -> None:
    services, head = filled
    tamper(services, "UPDATE {events} SET state = (SELECT state FROM {events} WHERE {pos} = %s) "
                     "WHERE {pos} = %s", (11, 10))
    assert verify_store(services.desk.recorder).first_bad_position == 10
    seal_everything_again(services)
    # A row added behind the recorder's back has no chain row.
    tamper(services, "INSERT INTO {events} (originator_id, originator_version, topic, state) "
                     "SELECT originator_id, originator_version + 1000, topic, state FROM {events} "
                     "WHERE {pos} = %s", (2,))
    verdict = verify_store(services.desk.recorder)
    assert verdict.first_bad_position is not None and verdict.first_bad_position > head
    assert "without a chain row" in str(verdict.reason)


def seal_everything_again(services: Services) -> None:
    tamper(services, "DELETE FROM {chain}")
    assert seal(services.desk.recorder) == services.desk.max_position()
    assert verify_store(services.desk.recorder).ok


@ON_DB_STORES
def test_a_published_head_exposes_a_rewritten_chain(filled: tuple[Services, int]) -> None:
    services, head = filled
    key = Ed25519PrivateKey.generate()
    published = verify_store(services.desk.recorder)
    doc = head_document(published.position, published.head, "test", key)
    assert check_head(services.desk.recorder, doc, key.public_key())[0]
    fill(services, 2, first=100)  # history grows: the old head still holds
    assert check_head(services.desk.recorder, doc, key.public_key())[0]
    # Someone changes an event and recomputes the whole chain table: verify alone passes...
    flip_byte(services, 3)
    seal_everything_again(services)
    # ...but the published head no longer does.
    ok, message = check_head(services.desk.recorder, doc, key.public_key())
    assert not ok and "rewritten" in message


def test_head_signatures() -> None:
    key = Ed25519PrivateKey.generate()
    doc = head_document(42, "ab" * 32, "sqlite", key)
    assert check_signature(doc, key.public_key()) == "signed by the given key"
    for altered in ({**doc, "position": 41}, {**doc, "head": "ac" * 32}):
        with pytest.raises(AuditError, match="does not match"):
            check_signature(altered, key.public_key())
    with pytest.raises(AuditError, match="does not match"):
        check_signature(doc, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(AuditError, match="not signed"):
        check_signature(head_document(42, "ab" * 32, "sqlite", None), key.public_key())


@ON_DB_STORES
def test_existing_store_is_sealed_on_first_start_but_a_short_chain_is_not(
        store_url: str, filled: tuple[Services, int]) -> None:
    services, head = filled
    tamper(services, "DELETE FROM {chain}")  # as written before the chain existed
    with built(Settings(database_url=store_url)) as again:
        assert verify_store(again.desk.recorder).as_dict()["events"] == head
        tamper(again, "DELETE FROM {chain} WHERE position > %s", (head - 2,))
        reopened = build(Settings(database_url=store_url))
        reopened.close()
        verdict = verify_store(again.desk.recorder)
        assert verdict.first_bad_position == head - 1
        assert seal(again.desk.recorder) == 2 and verify_store(again.desk.recorder).ok


@ON_DB_STORES
def test_concurrent_writers_keep_one_chain(filled: tuple[Services, int]) -> None:
    services, head = filled
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(8):
                services.desk.save(register(1000 + worker * 100 + i))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    verdict = verify_store(services.desk.recorder)
    assert verdict.ok and verdict.events == head + 4 * 8 * 1


def test_from_checks_the_rest_against_a_trusted_anchor(filled: tuple[Services, int]) -> None:
    services, head = filled
    full = verify_store(services.desk.recorder, stop=9)
    rest = verify_store(services.desk.recorder, start=10, anchor=full.head)
    assert rest.ok and rest.events == head - 9
    assert rest.head == verify_store(services.desk.recorder).head
    wrong = verify_store(services.desk.recorder, start=10, anchor="00" * 32)
    assert (wrong.ok, wrong.first_bad_position) == (False, 9)


@pytest.mark.postgres
@pytest.mark.parametrize("source_kind", ["sqlite", "postgres"])
def test_a_restored_store_keeps_the_chain_and_its_heads(
        source_kind: str, tmp_path: Path, postgres_url: str) -> None:
    from adapters.ops.backup import backup, restore

    urls = {"sqlite": f"sqlite:///{tmp_path / 'a.sqlite3'}", "postgres": postgres_url}
    target = "postgres" if source_kind == "sqlite" else "sqlite"
    with built(Settings(database_url=urls[source_kind], sla_watch_seconds=0)) as source:
        fill(source)
        before = verify_store(source.desk.recorder)
    backup(Settings(database_url=urls[source_kind]), tmp_path / "backup.bin")
    restore(Settings(database_url=urls[target]), tmp_path / "backup.bin")
    with built(Settings(database_url=urls[target], sla_watch_seconds=0)) as restored:
        assert verify_store(restored.desk.recorder).as_dict() == before.as_dict()


@pytest.mark.parametrize("store_kind", [DB_STORES[1]], indirect=True)
def test_postgres_saves_take_the_lean_insert_and_a_conflict_leaves_nothing(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """ADR 0041: a desk's save on PostgreSQL goes through our three-round-trip insert, not the
    library's pipeline; a version conflict there is the library's ``IntegrityError``, and the
    connection goes back to the pool clean (the next saves work, the chain stays whole)."""
    from eventsourcing.persistence import IntegrityError, StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder

    def library_path(*_a: Any, **_k: Any) -> None:
        raise AssertionError("the library's insert was used")

    monkeypatch.setattr(PostgresApplicationRecorder, "insert_events", library_path)
    head = fill(services)
    recorder = services.desk.recorder
    first = LogReader(recorder).read(0, 1)[0]
    clash = StoredEvent(first[1], first[2], first[3], bytes(first[4]))
    for _ in range(3):  # more conflicts than the pool has connections to spoil
        with pytest.raises(IntegrityError):
            recorder.insert_events([clash])
    services.desk.save(register(4242))
    verdict = verify_store(recorder)
    assert verdict.ok and verdict.events == head + 1
