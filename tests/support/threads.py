"""Running test threads side by side."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

R = TypeVar("R")


def start_and_join(threads: Sequence[threading.Thread], timeout: float, what: str) -> None:
    """Starts every thread, then waits up to ``timeout`` for each; fails naming ``what`` if
    one is still running (it hung)."""
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), f"{what} hung"


def released_together(n: int, work: Callable[[int], R], *, what: str, timeout: float = 60,
                      ready: Callable[[int], Any] | None = None) -> list[R]:
    """``work(i)`` for each ``i`` of ``range(n)``, each in its own thread, all released at
    once by a barrier (a race); ``ready(i)``, if given, runs in the thread before the barrier
    (opening its own desk, say). Fails naming ``what`` if a thread hangs, and with every
    error a thread raised (a failing thread breaks the barrier: the others stop waiting for
    it). Returns what each ``work`` returned, in thread order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            if ready is not None:
                ready(i)
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            barrier.abort()

    start_and_join([threading.Thread(target=run, args=(i,)) for i in range(n)], timeout, what)
    assert not errors, errors
    return results
