"""Our own source files as the architecture tests read them (tests/test_architecture.py,
tests/test_rooms.py): parsed, and named by their path from the repository's root."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def where(path: Path) -> str:
    """``path`` from the repository's root, as a check's findings name it."""
    return str(path.relative_to(ROOT))


def parsed(path: Path) -> tuple[ast.Module, str]:
    """The module at ``path`` parsed, and where it is (``where``)."""
    return ast.parse(path.read_text(encoding="utf-8")), where(path)
