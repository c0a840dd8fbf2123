"""The console's changes pages (issue 18): being built."""

from __future__ import annotations

HANDLERS: list[object] = []
