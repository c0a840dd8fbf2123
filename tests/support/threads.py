"""Running test threads side by side."""

from __future__ import annotations

import threading
from collections.abc import Sequence


def start_and_join(threads: Sequence[threading.Thread], timeout: float, what: str) -> None:
    """Starts every thread, then waits up to ``timeout`` for each; fails naming ``what`` if
    one is still running (it hung)."""
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), f"{what} hung"
