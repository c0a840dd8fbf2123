"""A real PostgreSQL streaming replica (hot standby) of a test's own primary -- never a mock.

``StandbyServer(primary)`` takes a base backup of the running ``primary`` (a
``PostgresServer`` this harness started) with ``pg_basebackup -R`` into its own temp dir
(``-R`` writes ``standby.signal`` and the ``primary_conninfo``), then runs ``postgres`` over
it on its own loopback port with ``hot_standby=on``: it streams the primary's WAL and answers
read-only queries. As root, both run as the ``postgres`` OS user. It is stopped by its PID
like the primary (SIGINT, then SIGKILL), with the same crash safety (``atexit``, the parent-
death signal, stale dirs reaped).

The initdb default ``pg_hba.conf`` of the test server (``--auth=trust``) already lets
loopback connections replicate, and PostgreSQL 15's defaults (``wal_level=replica``,
``max_wal_senders=10``) allow streaming; the primary's ``full_page_writes=off`` is overridden
by ``pg_basebackup`` for the backup's duration.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.support.postgres import (
    DIR_PREFIX,
    OS_USER,
    SUPERUSER,
    PostgresHarnessError,
    PostgresServer,
    _is_root,
    _tmp_parent,
    find_bin_dir,
)


class StandbyServer(PostgresServer):
    """A hot standby of ``primary``; use as a context manager (``url``, ``port``, ``pid``)."""

    def __init__(self, primary: PostgresServer) -> None:
        super().__init__(url="", settings={"hot_standby": "on"})
        if primary.port is None or primary.is_external:
            raise PostgresHarnessError("a standby needs a primary this harness started")
        self.primary = primary

    def _start_owned(self) -> None:
        bin_dir = self._bin_dir or find_bin_dir()
        parent = _tmp_parent()
        atexit.register(self.stop)
        self._base = base = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=parent))
        (base / "owner.pid").write_text(f"{os.getpid()}\n")
        sockdir = base / "sock"
        sockdir.mkdir()
        prefix: list[str] = []
        if _is_root():
            import pwd

            pw = pwd.getpwnam(OS_USER)
            for p in (base, sockdir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            prefix = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", OS_USER, "--"]
        cmd = [*prefix, str(bin_dir / "pg_basebackup"), "-D", str(base / "data"), "-R",
               "-X", "stream", "-c", "fast", "-h", "127.0.0.1", "-p", str(self.primary.port),
               "-U", SUPERUSER, "--no-sync"]
        res = subprocess.run(cmd, cwd=base, stdin=subprocess.DEVNULL, capture_output=True,  # noqa: S603
                             timeout=120, check=False)
        if res.returncode != 0:
            raise PostgresHarnessError(f"pg_basebackup failed (exit {res.returncode}):\n"
                                       + res.stdout.decode(errors="replace")
                                       + res.stderr.decode(errors="replace"))
        self._bin_dir = bin_dir
        self._launch_on_a_free_port(base, "the standby")

    # -- replication control, for the tests ---------------------------------------------

    def pause_replay(self) -> None:
        """Stop applying the primary's WAL (it is still received): the standby stands still,
        as one far behind would."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
