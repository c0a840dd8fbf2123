"""A real PostgreSQL server for the test session -- never a mock.

``PostgresServer`` either

* uses the server named by ``$OPSLEDGER_TEST_POSTGRES_URL`` (it only checks that
  it answers, and never stops it), or
* runs a private, throw-away server: ``initdb`` into a temp dir, ``postgres`` on a
  free loopback port with durability switched off (fast), and on exit stops it by
  its PID (SIGINT = fast shutdown, then SIGKILL) and removes the dir.

When running as root, ``initdb`` and ``postgres`` run as the ``postgres`` OS user
(PostgreSQL refuses to run as root).

A crashed test run does not leave a server behind:

* ``atexit`` stops the server on any normal interpreter exit;
* the postmaster gets the parent-death signal SIGINT (``setpriv --pdeathsig``),
  so if the test process is killed outright the server shuts itself down;
* every start first reaps leftover ``opsledger-pg-*`` dirs whose owning process
  is gone (and kills a postmaster still running in one).

Environment variables read:

``OPSLEDGER_TEST_POSTGRES_URL``
    use this server instead of starting one (needs CREATEDB rights).
``OPSLEDGER_TEST_POSTGRES_BIN``
    directory holding ``initdb`` and ``postgres``
    (default ``/usr/lib/postgresql/15/bin``, else the newest
    ``/usr/lib/postgresql/*/bin``, else ``$PATH``).
``OPSLEDGER_TEST_POSTGRES_TMPDIR``
    parent dir for the server's temp dir (default: the system temp dir).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ENV_URL = "OPSLEDGER_TEST_POSTGRES_URL"
ENV_BIN = "OPSLEDGER_TEST_POSTGRES_BIN"
ENV_TMPDIR = "OPSLEDGER_TEST_POSTGRES_TMPDIR"

DEFAULT_BIN_DIR = "/usr/lib/postgresql/15/bin"
OS_USER = "postgres"  # the OS account the server runs as when we are root
SUPERUSER = "postgres"  # the database superuser initdb creates
DIR_PREFIX = "opsledger-pg-"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0

SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PostgresHarnessError(RuntimeError):
    """The test PostgreSQL server could not be set up."""


# --------------------------------------------------------------------------- URLs


def with_dbname(url: str, dbname: str) -> str:
    """Return ``url`` pointing at database ``dbname`` (URL or key=value conninfo)."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/" + quote(dbname, safe="")))
    return make_conninfo(url, dbname=dbname)


def unique_database_name(hint: str = "") -> str:
    """A fresh, valid database name: ``t_<sanitised hint>_<random>`` (<= 63 bytes)."""
    clean = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:40]
    suffix = uuid.uuid4().hex[:12]
    return f"t_{clean}_{suffix}" if clean else f"t_{suffix}"


def create_database(base_url: str, name: str, *, template: str | None = None) -> str:
    """``CREATE DATABASE name`` on the server of ``base_url``; return its URL."""
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
    with psycopg.connect(base_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(query)
    return with_dbname(base_url, name)


def drop_database(base_url: str, name: str) -> None:
    """``DROP DATABASE IF EXISTS name WITH (FORCE)`` (ends lingering sessions)."""
    query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(base_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(query)


def eventsourcing_env(url: str) -> dict[str, str]:
    """The ``POSTGRES_*`` settings the eventsourcing library wants, for ``url``.

    Use with ``PERSISTENCE_MODULE="eventsourcing.postgres"``.  The password is
    "" for the trust-authenticated test server (eventsourcing requires the key).
    """
    params = conninfo_to_dict(url)
    return {
        "POSTGRES_DBNAME": str(params.get("dbname") or SUPERUSER),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or SUPERUSER),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
    }


# ------------------------------------------------------------------- the server


def find_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``postgres``."""
    explicit = os.environ.get(ENV_BIN)
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    else:
        candidates.append(Path(DEFAULT_BIN_DIR))

        def version(p: Path) -> float:
            try:
                return float(p.parent.name)
            except ValueError:
                return 0.0

        candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).parent)
    for cand in candidates:
        if (cand / "initdb").is_file() and (cand / "postgres").is_file():
            return cand
    raise PostgresHarnessError(
        "PostgreSQL server binaries (initdb, postgres) not found in "
        f"{[str(c) for c in candidates]}. Install PostgreSQL 15 "
        "(Debian: apt-get install postgresql-15), point "
        f"${ENV_BIN} at its bin dir, or set ${ENV_URL} to an existing server."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _traversable_by_others(path: Path) -> bool:
    """Can a non-root user reach ``path`` (every ancestor has o+x)?"""
    for p in [path, *path.parents]:
        try:
            if not os.stat(p).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _tmp_parent() -> Path:
    explicit = os.environ.get(ENV_TMPDIR)
    parent = Path(explicit or tempfile.gettempdir()).resolve()
    if _is_root() and not explicit and not _traversable_by_others(parent):
        parent = Path("/tmp")  # the postgres user must be able to reach its data dir
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_pid(pid: int, timeout: float) -> None:
    """SIGINT (fast shutdown) a postmaster we do not hold a Popen for; then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.1)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def reap_stale_servers(parent: Path | None = None) -> None:
    """Stop and remove servers left by test processes that died (best effort)."""
    parent = parent or _tmp_parent()
    for base in parent.glob(DIR_PREFIX + "*"):
        try:
            owner = int((base / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            # no owner recorded: only touch it once it is clearly abandoned
            try:
                if time.time() - base.stat().st_mtime < 3600:
                    continue
            except OSError:
                continue
            owner = None
        if owner is not None and _pid_alive(owner):
            continue
        datadir = base / "data"
        try:
            pm_pid = int((datadir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            pm_pid = None
        if pm_pid and _pid_alive(pm_pid):
            try:
                cmdline = Path(f"/proc/{pm_pid}/cmdline").read_bytes()
            except OSError:
                cmdline = b""
            if str(datadir).encode() in cmdline:  # never kill a reused PID
                _stop_pid(pm_pid, 5.0)
        shutil.rmtree(base, ignore_errors=True)


class PostgresServer:
    """A PostgreSQL server for tests; use as a context manager.

    ``url`` is the base URL, e.g. ``postgresql://postgres@127.0.0.1:PORT/postgres``.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        bin_dir: str | os.PathLike[str] | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        # url="" asks for a server of our own even when $OPSLEDGER_TEST_POSTGRES_URL is set
        # (a fault test that stops and starts it).
        self._external_url = (url if url is not None else os.environ.get(ENV_URL)) or None
        self._bin_dir = Path(bin_dir) if bin_dir is not None else None
        self._settings = {**SERVER_SETTINGS, **(settings or {})}
        self._url: str | None = None
        self._base: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()
        self.port: int | None = None

    # -- public -------------------------------------------------------------

    @property
    def is_external(self) -> bool:
        return self._external_url is not None

    @property
    def url(self) -> str:
        if self._url is None:
            raise PostgresHarnessError("server not started")
        return self._url

    @property
    def pid(self) -> int | None:
        """PID of the postmaster we started (None for an external server)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def base_dir(self) -> Path | None:
        return self._base

    def start(self) -> str:
        if self._url is not None:
            return self._url
        if self._external_url is not None:
            self._wait_ready(self._external_url, proc=None, timeout=START_TIMEOUT)
            self._url = self._external_url
            return self._url
        try:
            self._start_owned()
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        if os.getpid() != self._owner_pid:
            return  # a forked child must not stop its parent's server
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its own process group
                proc.wait()
        elif proc is not None:
            proc.wait()
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None
        self._url = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------

    def _start_owned(self) -> None:
        bin_dir = self._bin_dir or find_bin_dir()
        parent = _tmp_parent()
        reap_stale_servers(parent)

        atexit.register(self.stop)
        self._base = base = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=parent))
        (base / "owner.pid").write_text(f"{os.getpid()}\n")
        sockdir = base / "sock"
        sockdir.mkdir()
        datadir = base / "data"
        as_root = _is_root()
        if as_root:
            import pwd

            pw = pwd.getpwnam(OS_USER)
            for p in (base, sockdir):
                os.chown(p, pw.pw_uid, pw.pw_gid)

        self._initdb(bin_dir, datadir, as_root)

        self._bin_dir = bin_dir
        self._launch_on_a_free_port(base, "postgres")

    def _launch_on_a_free_port(self, base: Path, what: str) -> None:
        """Starts the server on a free loopback port (tried again on another when the port
        was taken before we bound it); ``what`` names it in the error."""
        last_log = ""
        for _attempt in range(5):  # a free port can be taken before we bind it
            port = _free_port()
            if self._launch(port):
                self._url, self.port = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres", port
                return
            last_log = _tail(base / f"postgres-{port}.log")
            if "could not bind" not in last_log and "already in use" not in last_log:
                break
        raise PostgresHarnessError(f"{what} did not start; log tail:\n{last_log}")

    def _launch(self, port: int) -> bool:
        """Run the postmaster on ``port`` over our data dir; True once it answers."""
        assert self._base is not None and self._bin_dir is not None
        base, datadir = self._base, self._base / "data"
        log_path = base / f"postgres-{port}.log"
        cmd = [str(self._bin_dir / "postgres"), "-D", str(datadir), "-p", str(port), "-k", str(base / "sock")]
        for key, value in self._settings.items():
            cmd += ["-c", f"{key}={value}"]
        setpriv = shutil.which("setpriv")
        if setpriv:  # the server stops itself if this process is killed
            cmd = [setpriv, "--pdeathsig", "INT", "--", *cmd]
        kwargs: dict[str, object] = {}
        if _is_root():
            import pwd

            pw = pwd.getpwnam(OS_USER)
            kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        with open(log_path, "ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=base,
                start_new_session=True,  # Ctrl-C in a terminal does not reach it
                **kwargs,  # type: ignore[arg-type]
            )
        url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        if self._wait_ready(url, proc=self._proc, timeout=START_TIMEOUT, log_path=log_path):
            return True
        self._proc.wait()
        self._proc = None
        return False

    # -- a database outage, for fault tests ----------------------------------------

    def halt(self, mode: str = "fast") -> None:
        """Stop the server we own but keep its data, as a database restart does (``mode``
        "fast": SIGINT, sessions are ended; "immediate": SIGQUIT, like a crash)."""
        if self._proc is None:
            raise PostgresHarnessError("only a server this harness started can be halted")
        proc, self._proc = self._proc, None
        proc.send_signal(signal.SIGINT if mode == "fast" else signal.SIGQUIT)
        proc.wait(timeout=STOP_TIMEOUT)

    def resume(self) -> None:
        """Start a halted server again, on the same port (clients reconnect to the same URL)."""
        if self._proc is not None or self.port is None:
            raise PostgresHarnessError("the server is running, or was never started")
        if not self._launch(self.port):
            raise PostgresHarnessError("postgres did not start again; log tail:\n"
                                       + _tail(self._base / f"postgres-{self.port}.log"))  # type: ignore[operator]

    def _initdb(self, bin_dir: Path, datadir: Path, as_root: bool) -> None:
        prefix: list[str] = []
        if as_root:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            prefix = [runuser, "-u", OS_USER, "--"]
        outputs = []
        for locale in ("C.UTF-8", "C"):
            shutil.rmtree(datadir, ignore_errors=True)
            cmd = [
                *prefix,
                str(bin_dir / "initdb"),
                "-D", str(datadir),
                "-U", SUPERUSER,
                "--auth=trust",
                "-E", "UTF8",
                f"--locale={locale}",
                "--no-sync",
                "--no-instructions",
            ]  # fmt: skip
            res = subprocess.run(  # noqa: S603
                cmd,
                cwd=datadir.parent,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=180,
                check=False,
            )
            if res.returncode == 0:
                return
            outputs.append(
                f"$ {' '.join(cmd)}\n(exit {res.returncode})\n"
                + res.stdout.decode(errors="replace")
                + res.stderr.decode(errors="replace")
            )
        raise PostgresHarnessError("initdb failed:\n" + "\n".join(outputs))

    @staticmethod
    def _wait_ready(
        url: str,
        *,
        proc: subprocess.Popen[bytes] | None,
        timeout: float,
        log_path: Path | None = None,
    ) -> bool:
        """True once ``url`` accepts connections; False if ``proc`` exited first."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                return False
            try:
                with psycopg.connect(url, connect_timeout=2, autocommit=True) as conn:
                    conn.execute("SELECT 1")
                return True
            except psycopg.OperationalError as exc:
                last_error = exc
                time.sleep(0.05)
        detail = f"\nlog tail:\n{_tail(log_path)}" if log_path else ""
        raise PostgresHarnessError(
            f"PostgreSQL at {url} did not accept connections within {timeout:.0f}s: "
            f"{last_error}{detail}"
        )
