"""ADR 0054: serve freezes its startup heap; the freeze keeps later garbage collectable."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc, weakref
from adapters.serve.heap import freeze_startup_heap
frozen = freeze_startup_heap()
class Node: pass
a, b = Node(), Node(); a.other, b.other = b, a   # a cycle made after the freeze
probe = weakref.ref(a); del a, b
gc.collect()
print(frozen > 1000, probe() is None)
"""


def test_the_startup_heap_is_frozen_and_later_cycles_are_still_collected():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "True"]


def test_serve_freezes_before_it_serves():
    from pathlib import Path

    import adapters.cli.main as main
    import adapters.serve.workers as workers

    for module in (main, workers):
        text = Path(module.__file__).read_text(encoding="utf-8")
        assert text.index("freeze_startup_heap()") < max(text.rfind("uvicorn.run("),
                                                         text.rfind("server.run()"))
