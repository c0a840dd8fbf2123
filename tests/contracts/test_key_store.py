"""The key store of crypto-shredding (ADR 0034) on every store: versions, destruction, and
no trace of a destroyed key left in the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.stores.persistence import key_store
from adapters.settings import parse_database_url
from tests.support.threads import released_together


@pytest.fixture
def keys(store_url: str) -> Iterator[Any]:
    store = key_store(parse_database_url(store_url))
    store.database = parse_database_url(store_url)  # type: ignore[attr-defined]
    yield store
    if hasattr(store, "close"):
        store.close()


def holds(keys: Any, secret: bytes) -> bool:
    """Whether the key's bytes are anywhere in the database (file and WAL, or table rows)."""
    db = keys.database
    if db.kind == "sqlite":
        files = [Path(db.path), Path(db.path + "-wal")]
        return any(f.exists() and secret in f.read_bytes() for f in files)
    if db.kind == "postgres":
        import psycopg

        with psycopg.connect(db.conninfo) as conn:
            rows = conn.execute("SELECT t::text FROM personal_data_keys t").fetchall()
            return any(secret.hex() in r[0] for r in rows)
    return any(k == secret for k in keys._keys.values())


def test_a_key_is_made_once_and_kept_until_destroyed(keys: Any) -> None:
    version, key = keys.current("c1")
    assert version == 1 and len(key) == 32
    assert keys.current("c1") == (1, key)
    assert keys.get("c1", 1) == key and keys.get("c1", 2) is None
    assert keys.current("c2")[1] != key
    assert not keys.erased("c1")
    assert holds(keys, key)

    assert keys.destroy("c1") == (1,)
    assert keys.get("c1", 1) is None and keys.erased("c1")
    assert not holds(keys, key)
    assert keys.get("c2", 1) is not None and not keys.erased("c2")
    assert keys.destroy("c1") == ()

    version2, key2 = keys.current("c1")
    assert version2 == 2 and key2 != key
    assert keys.erased("c1")  # the customer had an erasure, whatever came after


def test_destroying_a_customer_without_a_key_still_marks_the_erasure(keys: Any) -> None:
    assert keys.destroy("never-sealed") == ()
    assert keys.erased("never-sealed")
    assert keys.current("never-sealed")[0] == 2


def test_concurrent_first_uses_agree_on_one_key(keys: Any) -> None:
    results = released_together(4, lambda _: keys.current("race"), what="a first use")
    assert len(results) == 4 and len(set(results)) == 1
