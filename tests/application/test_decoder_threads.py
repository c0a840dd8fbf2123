"""Concurrent first decodes of every event class never crash the process (issue 8).

msgspec caches half-built decoding info on a class while it builds it; a second thread that
used it crashed ``opsledger serve`` with SIGSEGV right after a start under load. Each run
is a fresh interpreter (the info is built once per process), so the test runs several.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.serve import child_env, run_cli

RUNS = 8


def test_concurrent_first_decodes_of_every_event_class_do_not_crash(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/demo.sqlite3"
    filled = run_cli(url, "demo", "--tickets", "15")
    assert filled.returncode == 0, filled.stderr
    for _ in range(RUNS):
        run = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "tests.support.first_decode", url], cwd=Path(__file__).parents[2],
            env=child_env(url), capture_output=True, text=True, timeout=120, check=False)
        assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
        assert "decoded" in run.stdout
