"""The hop from the event loop to a worker thread, for the blocking handlers (ADR 0040).

Every command and read runs in a worker thread (the eventsourcing library and the stores have
no async API). ``anyio.to_thread.run_sync`` costs about 55 µs of CPU per hop on this service's
VMs (a cancel scope, a capacity limiter, run-variables, a ``queue.Queue`` with its condition
variables); this pool does the same hop in about 20 µs: a ``SimpleQueue`` to the workers and
``call_soon_threadsafe`` back. What it keeps from anyio: the call runs in a copy of the
caller's context (the request id bound for the logs), at most ``MAX_THREADS`` threads (anyio's
default limit, 40) are started, on demand, and a cancelled caller waits until its call has
finished before the cancellation goes on (a command half-done when the server stops is not
left running against a closed store).
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any

MAX_THREADS = 40


class _Job:
    __slots__ = ("loop", "future", "context", "fn", "args", "delivered", "finished")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any],
                 fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.loop = loop
        self.future = future
        self.context = contextvars.copy_context()
        self.fn = fn
        self.args = args
        self.delivered = False
        self.finished: asyncio.Future[None] | None = None  # awaited by a cancelled caller


def _deliver(job: _Job, result: Any, error: BaseException | None) -> None:
    """In the loop's thread: hand the outcome to the caller (if it still waits)."""
    job.delivered = True
    if job.finished is not None and not job.finished.done():
        job.finished.set_result(None)
    if job.future.done():
        return
    if error is None:
        job.future.set_result(result)
    else:
        job.future.set_exception(error)


class WorkerPool:
    """Threads that run blocking calls for the event loop, started as needed."""

    def __init__(self, max_threads: int = MAX_THREADS, name: str = "opsledger-worker") -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._max = max_threads
        self._name = name
        self._threads = 0
        self._idle = 0  # workers waiting for a job that nobody has claimed yet
        self._backlog = 0  # jobs queued while every worker was busy and no more may start

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker thread; its result or its exception."""
        loop = asyncio.get_running_loop()
        job = _Job(loop, loop.create_future(), fn, args)
        start = False
        with self._lock:
            if self._idle:
                self._idle -= 1
            elif self._threads < self._max:
                self._threads += 1
                start = True
            else:
                self._backlog += 1
        if start:
            threading.Thread(target=self._work, name=f"{self._name}-{self._threads}",
                             daemon=True).start()
        self._jobs.put(job)
        try:
            return await job.future
        except asyncio.CancelledError:
            await self._finish(job)
            raise

    @staticmethod
    async def _finish(job: _Job) -> None:
        """A cancelled caller: wait (shielded) until the call has finished in its thread."""
        while not job.delivered:
            if job.finished is None:
                job.finished = job.loop.create_future()
            try:
                await asyncio.shield(job.finished)
            except asyncio.CancelledError:
                continue

    def _work(self) -> None:
        jobs = self._jobs
        while True:
            job = jobs.get()
            result: Any = None
            error: BaseException | None = None
            try:
                result = job.context.run(job.fn, *job.args)
            except BaseException as e:  # noqa: BLE001 - handed to the caller, as anyio does
                error = e
            try:
                job.loop.call_soon_threadsafe(_deliver, job, result, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass
            del job, result, error
            with self._lock:
                if self._backlog:
                    self._backlog -= 1
                else:
                    self._idle += 1


WORKERS = WorkerPool()


async def run_sync(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in one of the server's worker threads (see the module's docstring)."""
    return await WORKERS.run(fn, *args)
