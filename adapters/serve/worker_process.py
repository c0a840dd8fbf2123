"""``opsledger serve``'s read models in a supervised child process (ADR 0038).

The server is CPU-bound under one GIL; the projection runner, the SLA watcher and the routine
follower used a fifth to a third of that interpreter's time. Here they run as the
``opsledger projections run`` worker of ADR 0025, started and supervised by ``serve``:

* a pipe connects the two: the server writes one byte after each save (the worker then applies
  at once instead of at its next poll), and the worker takes end-of-file on it as "the server
  is gone" -- also after a SIGKILL of the server, when the kernel closes the pipe -- and ends
  at once (on Linux the kernel also kills it with its parent), so it never outlives its server;
* the worker runs in its own session (a Ctrl-C meant for the server does not reach it; the
  server stops it) and is restarted with a growing delay if it dies;
* read-your-writes holds: list handlers wait for the views' stored tracking positions
  (``ProjectionRunner.wait_for`` polls them when no runner thread runs in this process).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

log = structlog.get_logger("opsledger.projections")

RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # seconds, then 30 s each time
STABLE_SECONDS = 60.0  # a worker that ran this long starts the delays again from the first


def terminate(procs: Sequence[subprocess.Popen[Any]], timeout: float,
              kill_wait: float | None = None) -> None:
    """SIGTERM to each of ``procs`` still running (a graceful stop), then waits ``timeout``
    seconds for them all; SIGKILL to any still running then, waiting ``kill_wait`` for it."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(kill_wait)


def keep_restarting(
    stopping: threading.Event,
    current: Callable[[], subprocess.Popen[bytes] | None],
    exited: Callable[[subprocess.Popen[bytes], int, float], None],
    respawn: Callable[[], None],
    name: str,
) -> None:
    """A supervisor's loop for one child: wait for ``current()`` to exit; unless stopping, tell
    ``exited(proc, returncode, delay)``, wait the delay (``RESTART_DELAYS``, from the first
    again after a child that ran ``STABLE_SECONDS``) and ``respawn()``; until ``stopping``."""
    attempt = 0
    while not stopping.is_set():
        proc = current()
        assert proc is not None
        began = time.monotonic()
        code = proc.wait()
        if stopping.is_set():
            return
        if time.monotonic() - began >= STABLE_SECONDS:
            attempt = 0
        delay = RESTART_DELAYS[min(attempt, len(RESTART_DELAYS) - 1)]
        attempt += 1
        exited(proc, code, delay)
        if stopping.wait(delay):
            return
        try:
            respawn()
        except OSError as e:
            log.error(f"{name}_spawn_failed", error=f"{type(e).__name__}: {e}")


class ProjectionWorker:
    """Starts, wakes, restarts and stops one ``opsledger projections run --parent-pipe``."""

    def __init__(self, database_url: str, on_report: Callable[[dict[str, Any]], None]) -> None:
        self.command = [sys.executable, "-m", "adapters.cli.main", "projections", "run",
                        "--database", database_url, "--parent-pipe", str(os.getpid())]
        self.on_report = on_report  # the worker's status reports (``report_status``)
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._pipe: int | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    def start(self) -> None:
        self._spawn()
        self._supervisor = threading.Thread(target=self._supervise, name="projections-worker",
                                            daemon=True)
        self._supervisor.start()

    def _spawn(self) -> None:
        reports, writer = os.pipe()
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [*self.command, "--status-fd", str(writer)], stdin=subprocess.PIPE,
                pass_fds=(writer,), start_new_session=True,
            )
        except BaseException:
            os.close(reports)
            raise
        finally:
            os.close(writer)
        threading.Thread(target=self._read_reports, args=(reports,), name="projections-status",
                         daemon=True).start()
        assert proc.stdin is not None
        fd = proc.stdin.fileno()
        os.set_blocking(fd, False)  # a wake-up never blocks a command
        with self._lock:
            self._proc, self._pipe = proc, fd
        log.info("projections.worker_started", pid=proc.pid)

    def wake(self) -> None:
        """After a save: one byte down the pipe. A full pipe already holds a wake-up; a
        worker that is gone is restarted by the supervisor (and catches up when it starts)."""
        with self._lock:  # the fd is not closed (and its number reused) while we write
            if self._pipe is None:
                return
            with contextlib.suppress(OSError):  # BlockingIOError, BrokenPipeError
                os.write(self._pipe, b"w")

    def _read_reports(self, fd: int) -> None:
        """One JSON line per report, until the worker is gone (end-of-file)."""
        with os.fdopen(fd, "rb") as lines:
            for line in lines:
                with contextlib.suppress(ValueError):
                    self.on_report(json.loads(line))

    def _supervise(self) -> None:
        def exited(proc: subprocess.Popen[bytes], code: int, delay: float) -> None:
            log.error("projections.worker_exited", pid=proc.pid, returncode=code,
                      restart_in_seconds=delay)
            with contextlib.suppress(Exception):
                self.on_report({"exited": code})
            self._close_pipe(proc)

        def respawn() -> None:
            self._spawn()
            self.restarts += 1

        keep_restarting(self._stopping, lambda: self._proc, exited, respawn, "projections.worker")

    def _close_pipe(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if self._proc is proc:
                self._pipe = None
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the worker finishes its batch), SIGKILL after ``timeout``; waits for it."""
        self._stopping.set()
        proc = self._proc
        if proc is not None:
            terminate([proc], timeout, kill_wait=5)
            self._close_pipe(proc)
        if self._supervisor is not None:
            self._supervisor.join(timeout)

    def status(self) -> dict[str, Any]:
        proc = self._proc
        return {"pid": self.pid, "running": proc is not None and proc.poll() is None,
                "restarts": self.restarts}


class RemoteWatch:
    """Stands in ``serve`` for the SLA watcher thread that runs in the worker: its status is
    the worker's last report (``/healthz``), with the ticks and failures of the workers
    before it added (a restarted worker counts from zero) and each worker that died counted
    as a failure; starting and stopping the watcher is the worker's business."""

    def __init__(self, seconds: float) -> None:
        self.report: dict[str, Any] = {"running": False, "interval_seconds": seconds, "ticks": 0,
                                       "failures": 0, "last_error": None, "last_tick": None}
        self.pid: int | None = None
        self.earlier = {"ticks": 0, "failures": 0}
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 0.0) -> None:
        pass

    def update(self, pid: int | None, report: dict[str, Any]) -> None:
        with self._lock:
            if pid != self.pid:  # a new worker: keep what the last one counted
                self.earlier["ticks"] += int(self.report.get("ticks") or 0)
                self.earlier["failures"] += int(self.report.get("failures") or 0)
                self.pid = pid
            self.report = report

    def exited(self, returncode: int) -> None:
        self.update(None, {**self.report, "running": False, "ticks": 0, "failures": 1,
                           "last_error": f"projections worker exited ({returncode})"})

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {**self.report, "ticks": int(self.report.get("ticks") or 0) + self.earlier["ticks"],
                    "failures": int(self.report.get("failures") or 0) + self.earlier["failures"]}


def apply_report(report: dict[str, Any], runner: Any, watch: RemoteWatch, notifier: Any) -> None:
    """A worker's report, in ``serve``: each view's failures (``/healthz``, and
    read-your-writes skips a failing view as it does in process), the watcher, the notices;
    or the supervisor's word that the worker exited."""
    if "exited" in report:
        watch.exited(int(report["exited"]))
        return
    for name, (failures, last_error) in report.get("views", {}).items():
        state = runner.states.get(name)
        if state is not None:
            state.failures, state.last_error = int(failures), last_error
    if "watch" in report:
        watch.update(report.get("pid"), report["watch"])
    notifier.elsewhere = report.get("notify")


def _or_error(status: Callable[[], Any]) -> Any:
    """``status()``, or what went wrong (the store away) as ``{"error": ...}``."""
    try:
        return status()
    except Exception as e:  # noqa: BLE001 - any failure is reported, none ends the reports
        return {"error": f"{type(e).__name__}: {e}"}


def report_status(fd: int, services: Any, every: float = 0.25) -> threading.Thread:
    """The worker's side: a JSON line with the views' failures, the watcher's and the
    notifier's status every ``every`` seconds, for its ``serve`` (``apply_report``)."""
    out = os.fdopen(fd, "w", buffering=1)

    def run() -> None:
        while True:
            runner = services.runner
            report = {
                "pid": os.getpid(),
                "views": {n: (s.failures, s.last_error) for n, s in runner.states.items()},
                "watch": _or_error(services.watch_thread.status),
                # The outbox's counts read the store: while it is away this says so, and the
                # reports go on (an exception here ended the thread, and with it every later
                # report of the watcher's ticks).
                "notify": _or_error(services.notifier.status),
            }
            try:
                out.write(json.dumps(report, default=str) + "\n")
            except (OSError, ValueError):
                return  # the server is gone (and this process with it)
            time.sleep(every)

    thread = threading.Thread(target=run, name="status-report", daemon=True)
    thread.start()
    return thread


def die_with_parent(parent: int) -> None:
    """Linux: the kernel SIGKILLs this process the moment its parent dies -- as the runner
    thread died with the server before (the views are transactional, a kill is safe). A
    parent that died before this call (a server killed while its worker was starting) is
    seen here and this process ends at once; the pipe's end-of-file (``watch_parent``)
    covers other systems."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def watch_parent(fd: int, wake: Any) -> threading.Thread:
    """The worker's side of the pipe: ``wake()`` on each byte; end-of-file means the server is
    gone without stopping this worker first (it sends SIGTERM before it closes the pipe), i.e.
    it was killed: end at once, as a thread of it would have (a kill is safe). Returns the
    started daemon thread."""
    return wake_on_bytes(fd, wake, lambda: os._exit(0), "parent-pipe")


def wake_on_bytes(fd: int, wake: Callable[[], None], at_end: Callable[[], None], name: str) -> threading.Thread:
    """A daemon thread calling ``wake()`` once per read of ``fd`` (any number of bytes at
    once), and ``at_end()`` at end-of-file or a read error. Returns the started thread."""

    def run() -> None:
        while True:
            try:
                data = os.read(fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                at_end()
                return
            wake()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
