"""The complaints section of a service report's Markdown and HTML (ADR 0066)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.report_model import ServiceReport


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:g}%"


def complaint_sections(r: ServiceReport) -> list[tuple[str, list[str], list[Sequence[Any]]]]:
    c = r.complaints
    if c is None:
        return []
    return [("Complaints 客户投诉", [
        "filed", "answered in time", "answered late", "timeliness 处理及时率", "closed",
        "closed late", "completion 完成率", "open", "numbers"],
        [(c.filed, c.responded_in_time, c.response_late, _pct(c.response_in_time_pct),
          c.closed, c.closure_late, _pct(c.completion_pct), c.open,
          ", ".join(c.numbers) or "–")])]
