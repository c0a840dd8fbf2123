"""Backups carry the uploaded files (ADR 0056, ADR 0023): an SQLite backup holds the blobs in
its ``backup_blobs`` table, an event-log export (version 3) in blob frames; a restore into
either kind of store gives every file back byte for byte, and an erased customer's file
stays erased (its key travels destroyed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.container import build
from adapters.ops.backup import BackupError, backup, read_export, restore
from adapters.settings import Settings
from application.attachments import FileErased, load_attachment, read, upload
from application.commands.customers import RegisterCustomer
from application.privacy import erase_personal_data
from tests.support.postgres import create_database, drop_database, unique_database_name

FILES = {"客户A": bytes(range(256)) * 100, "": "服务商自有文件".encode() * 50,
         "客户B": b"\x00\xff" * 3000}


def fill(url: str) -> dict[str, str]:
    """Three files (A's, the provider's, B's) in the store at ``url``; B is then erased."""
    services = build(Settings(database_url=url, sla_watch_seconds=0))
    try:
        for customer in ("客户A", "客户B"):
            services.desk.handle(RegisterCustomer(id=customer, name=customer), actor="admin")
        ids = {owner: str(upload(services.desk, services.blobs, data=data, filename=f"{owner}.bin",
                                 content_type="application/octet-stream", owner=owner,
                                 actor="eng").id)
               for owner, data in FILES.items()}
        erase_personal_data(services.desk, "客户B", reason="PIPL", requested_by="客户B",
                            actor="admin")
        return ids
    finally:
        services.close()


def assert_files(url: str, ids: dict[str, str]) -> None:
    services = build(Settings(database_url=url, sla_watch_seconds=0))
    try:
        for owner in ("客户A", ""):
            a = load_attachment(services.desk, ids[owner])
            assert a is not None, (url, owner)
            assert read(services.desk, services.blobs, a) == FILES[owner], (url, owner)
        erased = load_attachment(services.desk, ids["客户B"])
        assert erased is not None
        with pytest.raises(FileErased):
            read(services.desk, services.blobs, erased)
    finally:
        services.close()


def test_an_sqlite_backup_carries_the_files(tmp_path: Path):
    source = f"sqlite:///{tmp_path}/a.sqlite3"
    ids = fill(source)
    taken = backup(Settings(database_url=source), tmp_path / "a.bak")
    assert taken.blobs == 3 and taken.as_dict()["blobs"] == 3
    target = f"sqlite:///{tmp_path}/restored/b.sqlite3"
    done = restore(Settings(database_url=target), tmp_path / "a.bak")
    assert done.blobs == 3
    assert sorted(p.name for p in (tmp_path / "restored" / "b.sqlite3.blobs").rglob("*")
                  if p.is_file()) == sorted(
        p.name for p in (tmp_path / "a.sqlite3.blobs").rglob("*") if p.is_file())
    assert_files(target, ids)


@pytest.mark.postgres
def test_files_move_between_sqlite_and_postgresql(tmp_path: Path, postgres_url: str,
                                                  postgres_server: str):
    # an SQLite store's backup restored into PostgreSQL
    source = f"sqlite:///{tmp_path}/a.sqlite3"
    ids = fill(source)
    backup(Settings(database_url=source), tmp_path / "a.bak")
    assert restore(Settings(database_url=postgres_url), tmp_path / "a.bak").blobs == 3
    assert_files(postgres_url, ids)
    # that store's export (version 3) restored into SQLite and another PostgreSQL database
    taken = backup(Settings(database_url=postgres_url), tmp_path / "b.bak")
    assert taken.blobs == 3
    assert (tmp_path / "b.bak").read_bytes().startswith(b"OPSLEDGER-EVENTS 3\n")
    back = f"sqlite:///{tmp_path}/back.sqlite3"
    assert restore(Settings(database_url=back), tmp_path / "b.bak").blobs == 3
    assert_files(back, ids)
    name = unique_database_name("files")
    url = create_database(postgres_server, name)
    try:
        restore(Settings(database_url=url), tmp_path / "b.bak")
        assert_files(url, ids)
    finally:
        drop_database(postgres_server, name)


@pytest.mark.postgres
def test_an_export_with_a_damaged_file_is_refused(tmp_path: Path, postgres_url: str):
    fill(postgres_url)
    backup(Settings(database_url=postgres_url), tmp_path / "b.bak")
    _, batches, trailer = read_export(tmp_path / "b.bak")
    for _ in batches:
        pass
    offset, size = trailer["blob_frames"][0]
    data = bytearray((tmp_path / "b.bak").read_bytes())
    data[offset + size // 2] ^= 0xFF  # inside the first file's frame
    (tmp_path / "bad.bak").write_bytes(bytes(data))
    with pytest.raises(BackupError, match="damaged"):
        restore(Settings(database_url=f"sqlite:///{tmp_path}/t.sqlite3"), tmp_path / "bad.bak")
