"""``tests.support.threads.released_together``, the harness of the suite's races."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.threads import released_together


def test_every_thread_is_released_at_once_and_its_result_kept_in_order() -> None:
    ready: list[int] = []
    lock = threading.Lock()
    waiting = threading.Barrier(4)  # no work starts before every thread is ready

    def get_ready(i: int) -> None:
        with lock:
            ready.append(i)

    def work(i: int) -> int:
        assert len(ready) == 4
        waiting.wait(timeout=5)  # all four run at the same time
        return i * 10

    assert released_together(4, work, ready=get_ready, what="a worker") == [0, 10, 20, 30]


def test_an_error_in_one_thread_fails_the_call_without_the_others_waiting() -> None:
    def work(i: int) -> int:
        if i == 2:
            raise ValueError("thread 2")
        return i

    t0 = time.monotonic()
    with pytest.raises(AssertionError, match="thread 2"):
        released_together(3, work, what="a worker")
    assert time.monotonic() - t0 < 20  # not the barrier's 30 s


def test_a_failure_before_the_release_breaks_the_barrier() -> None:
    def get_ready(i: int) -> None:
        if i == 0:
            raise RuntimeError("no desk")

    t0 = time.monotonic()
    with pytest.raises(AssertionError, match="no desk"):
        released_together(3, lambda i: i, ready=get_ready, what="a worker")
    assert time.monotonic() - t0 < 20  # not the barrier's 30 s


def test_a_hung_thread_is_named() -> None:
    stop = threading.Event()
    try:
        with pytest.raises(AssertionError, match="a sleeper hung"):
            released_together(2, lambda i: stop.wait(5) if i else None, timeout=0.2,
                              what="a sleeper")
    finally:
        stop.set()
