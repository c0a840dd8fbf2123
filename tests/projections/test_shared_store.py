"""One PostgreSQL pool per process for the read models and the tables beside the events
(ADR 0083): ``PostgresStore.shared`` gives every user the same store, closes its pool with the
last user, and a forked child makes its own."""

from __future__ import annotations

import os

import pytest

from projections.sql import PostgresStore

pytestmark = pytest.mark.postgres


def test_users_share_one_store_closed_with_the_last(postgres_url: str) -> None:
    first = PostgresStore.shared(postgres_url)
    second = PostgresStore.shared(postgres_url)
    assert second is first
    assert PostgresStore.shared(postgres_url, "elsewhere") is not first  # another schema
    PostgresStore.shared(postgres_url, "elsewhere").close()
    PostgresStore.shared(postgres_url, "elsewhere").close()
    first.close()
    with second.read() as cur:  # still open for its other user
        cur.execute("SELECT 1")
        assert cur.fetchone()[0] == 1
    second.close()
    assert first.pool.closed
    again = PostgresStore.shared(postgres_url)  # a new one once the last has closed
    assert again is not first and not again.pool.closed
    again.close()


def test_a_forked_child_makes_its_own(postgres_url: str) -> None:
    mine = PostgresStore.shared(postgres_url)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never the parent's pool (its sockets are the parent's)
        try:
            theirs = PostgresStore.shared(postgres_url)
            with theirs.read() as cur:
                cur.execute("SELECT 1")
            ok = theirs is not mine and cur is not None
            theirs.close()
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    with mine.read() as cur:  # the parent's pool is untouched
        cur.execute("SELECT 1")
    mine.close()
