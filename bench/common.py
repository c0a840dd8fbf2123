"""Small helpers shared by the benchmarks: what code was measured, and how busy the machine was."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("domain", "application", "adapters", "projections")


def source_state() -> str:
    """``<commit>`` or ``<commit>+dirty:<hash of the uncommitted product diff>``."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD", "--", *PRODUCT], cwd=ROOT, capture_output=True,
                              check=True).stdout
        untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "--", *PRODUCT],
                                   cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    if not diff and not untracked:
        return commit
    h = hashlib.sha256(diff)
    for name in sorted(untracked):
        h.update(name.encode())
        h.update((ROOT / name).read_bytes())
    return f"{commit}+uncommitted product changes (sha256 {h.hexdigest()[:10]})"


def load_average() -> float:
    return os.getloadavg()[0]


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so ``finally`` blocks stop servers and remove temp dirs."""
    import signal

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def write_json(path: Path | None, data: Any) -> None:
    """Write a benchmark's figures (``--json``) for ``python -m bench``'s summary; None: skip."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
