"""The blob store and the upload use case (ADR 0056) on the in-memory store, an SQLite file
(a directory beside it) and PostgreSQL (a table): bytes are stored once per (SHA-256, key,
key version), sealed with the owner customer's key, given back exactly, refused once the key
is destroyed, and reported when altered or missing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from adapters.container import Services
from adapters.stores.blobs import DirectoryBlobStore, MemoryBlobStore, SqlBlobStore, blob_dir
from application.attachments import (PROVIDER_KEY, FileAltered, FileErased, FileMissing,
                                     attachment_blob, check, filename_of, load_attachment, read,
                                     upload)
from application.commands.customers import RegisterCustomer
from application.privacy import erase_personal_data
from domain.attachment import Attachment
from domain.errors import InvalidCommand
from projections.sql import SQLiteStore
from tests.support.threads import released_together

DATA = bytes(range(256)) * 40 + "机房巡检记录".encode()


def put(services: Services, data: bytes = DATA, owner: str = "客户A", name: str = "巡检单.pdf",
        actor: str = "eng-li") -> Attachment:
    return upload(services.desk, services.blobs, data=data, filename=name,
                  content_type="application/pdf", owner=owner, actor=actor)


def test_a_file_comes_back_exactly_and_is_sealed_at_rest(services: Services):
    a = put(services)
    stored = load_attachment(services.desk, str(a.id))
    assert stored is not None
    assert (stored.sha256, stored.size, stored.owner, stored.uploaded_by) == (
        hashlib.sha256(DATA).hexdigest(), len(DATA), "客户A", "eng-li")
    assert stored.key_version >= 1
    assert read(services.desk, services.blobs, stored) == DATA
    raw = services.blobs.get(attachment_blob(stored))
    assert raw is not None and raw != DATA and "机房巡检记录".encode() not in raw
    assert check(services.desk, services.blobs, stored) == "ok"


def test_the_blob_store_is_beside_the_event_store(services: Services, store_kind: str,
                                                  store_url: str):
    expected = {"memory": "MemoryBlobStore", "sqlite": "DirectoryBlobStore",
                "postgres": "SqlBlobStore"}[store_kind]
    assert type(services.blobs).__name__ == expected
    if store_kind == "sqlite":
        path = store_url.removeprefix("sqlite:///")
        assert services.blobs.root == blob_dir(path)  # type: ignore[attr-defined]
        assert services.blobs.root.name == Path(path).name + ".blobs"  # type: ignore[attr-defined]


def test_identical_bytes_share_a_blob_per_key_only(services: Services):
    a1, a2 = put(services, name="a.pdf"), put(services, name="b.pdf")
    b = put(services, owner="客户B")
    own = put(services, owner="")
    assert attachment_blob(a1) == attachment_blob(a2)
    assert len({attachment_blob(a1), attachment_blob(b), attachment_blob(own)}) == 3
    assert len(services.blobs.names()) == 3
    assert PROVIDER_KEY.replace(":", "_") in attachment_blob(own)
    for a in (a1, a2, b, own):
        assert read(services.desk, services.blobs, a) == DATA


def test_concurrent_uploads_of_the_same_bytes(services: Services):
    done = released_together(6, lambda i: put(services, name=f"扫描{i}.pdf"), what="an upload")
    assert len(done) == 6 and len({a.id for a in done}) == 6
    assert len(services.blobs.names()) == 1
    for a in done:
        assert read(services.desk, services.blobs, a) == DATA


def test_an_erasure_makes_the_customers_files_unreadable(services: Services):
    a, b, own = put(services), put(services, owner="客户B"), put(services, owner="")
    services.desk.handle(RegisterCustomer(id="客户A", name="客户A"), actor="admin")
    erase_personal_data(services.desk, "客户A", reason="PIPL", requested_by="客户A",
                        actor="admin")
    stored = load_attachment(services.desk, str(a.id))
    assert stored is not None
    with pytest.raises(FileErased):
        read(services.desk, services.blobs, stored)
    assert check(services.desk, services.blobs, stored) == "erased"
    assert filename_of(services.desk, stored) == "[erased]"
    assert read(services.desk, services.blobs, b) == DATA
    assert read(services.desk, services.blobs, own) == DATA
    # the same bytes uploaded again afterwards: a new key version, a new blob
    again = put(services)
    assert again.key_version > stored.key_version
    assert read(services.desk, services.blobs, again) == DATA


def test_missing_bytes_are_reported(services: Services):
    a = put(services, owner="")
    blobs = MemoryBlobStore()  # a store that lost them
    with pytest.raises(FileMissing):
        read(services.desk, blobs, a)
    assert check(services.desk, blobs, a) == "missing"


def test_altered_bytes_are_reported(services: Services):
    a = put(services, owner="")
    name = attachment_blob(a)
    stored = services.blobs.get(name)
    assert stored is not None
    other = MemoryBlobStore()
    other.put(name, stored[:-1] + bytes([stored[-1] ^ 0x80]))
    with pytest.raises(FileAltered):
        read(services.desk, other, a)
    swapped = MemoryBlobStore()  # another file's (valid) ciphertext under this name
    b = put(services, data=b"another file", owner="")
    swapped.put(name, services.blobs.get(attachment_blob(b)) or b"")
    with pytest.raises(FileAltered):
        read(services.desk, swapped, a)


def test_a_bad_file_name_stores_nothing(services: Services):
    with pytest.raises(InvalidCommand):
        put(services, name="x" * 300)
    assert services.blobs.names() == []


# ------------------------------------------------------------------ the stores themselves


NAME = "a" * 64 + ".k.1"


@pytest.mark.parametrize("make", [MemoryBlobStore, "directory"])
def test_a_blob_is_written_once_and_never_replaced(make: object, tmp_path: Path):
    store = DirectoryBlobStore(tmp_path / "b") if make == "directory" else MemoryBlobStore()
    assert store.put(NAME, b"first") is True
    assert store.put(NAME, b"second") is False
    assert store.get(NAME) == b"first" and store.has(NAME)
    assert store.get("b" * 64 + ".k.1") is None
    assert store.names() == [NAME]
    for bad in ("../etc/passwd", "a" * 64, "a" * 64 + ".k/x.1", ""):
        with pytest.raises(ValueError):
            store.put(bad, b"x")


def test_the_directory_store_leaves_no_partial_file(tmp_path: Path):
    store = DirectoryBlobStore(tmp_path / "b")
    released_together(8, lambda i: store.put(NAME, bytes([i]) * 100_000), what="a put")
    data = store.get(NAME)
    assert data is not None and len(data) == 100_000 and len(set(data)) == 1
    assert [p.name for p in (tmp_path / "b").rglob("*") if p.is_file()] == [NAME]


def test_the_table_store_keeps_the_first_writer(tmp_path: Path):
    # PostgreSQL's store (the same class) runs in every test above on the postgres store.
    store = SqlBlobStore(SQLiteStore(str(tmp_path / "t.sqlite3")))
    try:
        assert store.put(NAME, b"first") is True
        assert store.put(NAME, b"second") is False
        assert store.get(NAME) == b"first" and store.has(NAME)
        assert store.names() == [NAME]
    finally:
        store.close()
