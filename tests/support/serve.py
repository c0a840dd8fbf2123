"""A real ``opsledger serve`` (or other ``opsledger`` command) as a child process.

The reliability tests need the service as it runs in production: its own process, uvicorn,
threads, and a way to kill it with SIGKILL. The child runs ``python -m adapters.cli.main`` from
this source tree (``PYTHONPATH`` is set to the tree root), so a worktree tests its own code,
not whatever the virtualenv's editable install points at.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from adapters.serve.worker_process import terminate

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a child ``opsledger``: this tree first on the path, JSON logs, console
    passwords at argon2id's test cost (a test deployment, ADR 0078)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLEDGER_")}
    env.update(
        PYTHONPATH=str(ROOT),
        OPSLEDGER_DATABASE_URL=database_url,
        OPSLEDGER_LOG_JSON="1",
        OPSLEDGER_LOG_LEVEL="warning",
        PYTHONFAULTHANDLER="1",  # a crash of the child leaves its threads' stacks in its log
        OPSLEDGER_PASSWORD_COST="test",  # argon2id's test cost (ADR 0078)
    )
    env.update(extra)
    return env


def run_cli(database_url: str, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """``opsledger <args>`` to completion (e.g. ``backup``), output captured."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "adapters.cli.main", *args],
        cwd=ROOT, env=child_env(database_url, **env), capture_output=True, text=True,
        timeout=timeout, check=False,
    )


class Process:
    """One ``opsledger`` child process (``serve`` by default), started and stopped at will."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        command: Sequence[str] = ("serve",),
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.command = tuple(command)
        self.env = dict(env or {})
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def serving(self) -> bool:
        return self.command[0] == "serve"

    def start(self, timeout: float = 60.0) -> Process:
        args = [sys.executable, "-m", "adapters.cli.main", *self.command]
        if self.serving:
            args += ["--port", str(self.port)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603
                args, cwd=ROOT, env=child_env(self.database_url, **self.env),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        if self.serving:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"opsledger exited ({self.proc.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"opsledger did not answer /healthz in {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut of the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (a graceful stop), SIGKILL if it does not go in ``timeout``."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        terminate([proc], timeout, kill_wait=10)
        return proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Process:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
