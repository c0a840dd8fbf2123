"""A function in a process of its own, for the work that can use the second core: the audit's
checks and loads (ADR 0069), the bulk rebuild's second group of views (ADR 0077).

``fork`` where there is fork: the worker starts at once (spawn would import the caller's main
module again, ~1 s, and is a trap for scripts without a main guard). A worker only opens
connections or files of its own, computes and answers down its pipe, and leaves by
``os._exit`` (multiprocessing's), never touching what it inherited: the parent's pooled
connections stay the parent's.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

Report = Callable[[int], None]  # the worker's counter, as it moves


def fork_context() -> Any:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def can_fork() -> bool:
    """Whether a ``Child`` may be given what does not pickle (closures, live objects)."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


class Child:
    """``fn(*args, counter)`` in a process of its own; ``counter.value`` is shared (the
    worker's progress), ``result()`` waits for what ``fn`` returned or raises what it raised
    (the exception itself when it pickles, else ``ChildFailed`` with its text)."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "audit-worker") -> None:
        ctx = fork_context()
        self.counter = ctx.RawValue("q", 0)
        self.receive, send = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_call, args=(fn, args, self.counter, send), daemon=True,
                                name=name)
        self.proc.start()
        send.close()

    def result(self, report: Report | None = None) -> Any:
        """What ``fn`` returned; ``report`` is given the worker's counter every half second
        meanwhile."""
        try:
            while not self.receive.poll(0.5):
                if not self.proc.is_alive() and not self.receive.poll(0):
                    raise ChildFailed(f"the worker process died (exit {self.proc.exitcode})")
                if report is not None:
                    report(self.counter.value)
            ok, value = self.receive.recv()
            self.proc.join()
        finally:
            self.stop()
        if not ok:
            raise value if isinstance(value, BaseException) else ChildFailed(str(value))
        return value

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()
        self.receive.close()


class ChildFailed(RuntimeError):
    pass


def _call(fn: Callable[..., Any], args: tuple[Any, ...], counter: Any, out: Any) -> None:
    try:
        answer: tuple[bool, Any] = (True, fn(*args, counter))
    except BaseException as e:  # noqa: BLE001 - raised again in the parent
        try:
            pickle.dumps(e)
            answer = (False, e)
        except Exception:  # noqa: BLE001 - then its text
            answer = (False, f"{type(e).__name__}: {e}")
    out.send(answer)
    out.close()
