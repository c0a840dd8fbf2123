"""The test PostgreSQL server is a real PostgreSQL 15, and databases are isolated."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import (
    PostgresServer,
    create_database,
    drop_database,
    eventsourcing_env,
    unique_database_name,
)

pytestmark = pytest.mark.postgres

USER_TABLES = """
    SELECT count(*) FROM information_schema.tables
    WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
"""


def test_server_is_a_real_postgresql_15(postgres_server: str) -> None:
    with psycopg.connect(postgres_server) as conn:
        (version,) = conn.execute("SELECT version()").fetchone()
        (version_num,) = conn.execute("SHOW server_version_num").fetchone()
        (encoding,) = conn.execute("SHOW server_encoding").fetchone()
    assert "PostgreSQL 15" in version
    assert 150000 <= int(version_num) < 160000
    assert encoding == "UTF8"


def test_fresh_database_is_empty_and_keeps_what_is_written(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        (dbname,) = conn.execute("SELECT current_database()").fetchone()
        assert dbname != "postgres"
        assert conn.execute(USER_TABLES).fetchone() == (0,)
        conn.execute("CREATE TABLE ticket (id int PRIMARY KEY, title text NOT NULL)")
        conn.execute("INSERT INTO ticket VALUES (1, 'printer on fire')")
    with psycopg.connect(postgres_url) as conn:  # a new session sees the committed row
        assert conn.execute("SELECT id, title FROM ticket").fetchall() == [(1, "printer on fire")]


def test_two_fresh_databases_are_isolated(postgres_server: str) -> None:
    names = [unique_database_name("iso_a"), unique_database_name("iso_b")]
    url_a, url_b = (create_database(postgres_server, name) for name in names)
    try:
        with psycopg.connect(url_a) as conn:
            conn.execute("CREATE TABLE only_in_a (x int)")
            conn.execute("INSERT INTO only_in_a VALUES (42)")
        with psycopg.connect(url_b) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (names[1],)
            assert conn.execute("SELECT to_regclass('public.only_in_a')").fetchone() == (None,)
            assert conn.execute(USER_TABLES).fetchone() == (0,)
        with psycopg.connect(url_a) as conn:
            assert conn.execute("SELECT x FROM only_in_a").fetchall() == [(42,)]
    finally:
        for name in names:
            drop_database(postgres_server, name)


def test_eventsourcing_env_points_at_the_database(postgres_url: str) -> None:
    env = eventsourcing_env(postgres_url)
    assert env["POSTGRES_HOST"] and env["POSTGRES_PORT"] and env["POSTGRES_USER"]
    assert env["POSTGRES_PASSWORD"] == ""
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
    ) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (env["POSTGRES_DBNAME"],)


def test_external_url_is_used_as_is_and_left_running(postgres_server: str) -> None:
    with PostgresServer(url=postgres_server) as external:
        assert external.is_external and external.url == postgres_server
        assert external.pid is None
    with psycopg.connect(postgres_server) as conn:  # still up
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.skipif(
    bool(os.environ.get("OPSLEDGER_TEST_POSTGRES_URL")),
    reason="uses an external server; no private server lifecycle to check",
)
def test_owned_server_stops_by_pid_and_removes_its_dir() -> None:
    server = PostgresServer()  # a second, private server beside the session's one
    with server:
        pid, base = server.pid, server.base_dir
        assert pid is not None and base is not None and base.is_dir()
        with psycopg.connect(server.url) as conn:
            (data_directory,) = conn.execute("SHOW data_directory").fetchone()
        assert data_directory == str(base / "data")
        # the PID we hold is that postmaster itself (not a wrapper like runuser)
        assert str(base / "data").encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped
    assert not base.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/postgres", connect_timeout=2)

