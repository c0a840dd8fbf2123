"""The field-work sections of a service report's Markdown and HTML (ADR 0064): the visits'
on-site time (现场支持时间) and the spare parts' arrival time (备件到场时间)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.report_model import ServiceReport


def _opt(value: float | None, suffix: str = "") -> str:
    return "–" if value is None else f"{value:g}{suffix}"


def field_work_sections(r: ServiceReport) -> list[tuple[str, list[str], list[Sequence[Any]]]]:
    w = r.field_work
    if w is None:
        return []
    v, p = w.visits, w.spare_parts
    return [
        ("Field visits 现场服务", [
            "planned 派工", "completed", "on site 现场时间 (h)", "mean on site (min)",
            "late arrivals", "rescheduled", "numbers"],
         [(v.planned, v.completed, _opt(v.on_site_hours), _opt(v.on_site_minutes_mean),
           v.late_arrivals, v.rescheduled, ", ".join(v.numbers) or "–")]),
        ("Spare parts 备件", [
            "requisitions 领用单", "quantity", "arrived", "mean arrival 到场时间 (min)",
            "met", "missed", "pending", "met %", "returned faulty", "numbers"],
         [(p.requisitions, p.quantity, p.arrived, _opt(p.arrival_minutes_mean), p.arrival_met,
           p.arrival_missed, p.arrival_pending, _opt(p.arrival_met_pct, "%"),
           p.returned_faulty, ", ".join(p.numbers) or "–")]),
    ]
