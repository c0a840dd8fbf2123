"""Shared SLA test vocabulary: the Shanghai zone, local wall-clock instants and the P1-P3
ticket fields (default policy on china-5x8: P1 2 h / 4 h, P2 4 h / 24 h, P3 8 h / 3 working
days)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
P1 = dict(type="fault", category="software", urgency="very_urgent", impact="all",
          importance="important")
P2 = dict(type="fault", category="software", urgency="urgent", impact="some",
          importance="important")
P3 = dict(type="fault", category="software", urgency="not_urgent", impact="single",
          importance="important")


def local(*args: int) -> datetime:
    """A wall-clock instant in Shanghai: ``local(2026, 11, 23, 10, 0)``."""
    return datetime(*args, tzinfo=SH)
