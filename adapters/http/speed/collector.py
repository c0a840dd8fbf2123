"""The cyclic garbage collector paused while the app is built (ADR 0079).

Building the app (``create_app``: ~390 handlers, their signature models, the routing trie) makes
hundreds of thousands of objects that all live as long as the app, and the collector runs every
700 new objects and now and then through the whole heap: in a process with a small heap (a
server starting, an HTTP worker) it ran through the heap again and again while nothing it could
free existed yet. Measured in one process on this machine (7 builds each, medians, load ~1.6):
514 ms with the collector, 306 ms without; in a process already holding a million objects (as a
test worker after many tests) 263-277 ms with it, 244-247 ms without.

The pause covers the build only, and only a collector that was on is turned on again; cycles
made meanwhile are found by the first collections after it (the app itself holds what it made).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside the block (``gc.disable``); the collector as it was after."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
