"""The service report's tables of hidden risks and declared major incidents (ADR 0067), for
the Markdown and HTML forms (``report._sections`` adds them with one line)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.report_model import ServiceReport


def record_sections(r: ServiceReport) -> list[tuple[str, list[str], list[Sequence[Any]]]]:
    out: list[tuple[str, list[str], list[Sequence[Any]]]] = []
    if r.risks is not None:
        k = r.risks
        out.append(("Hidden risks 隐患", ["found", "removed", "accepted", "open", "overdue"],
                     [(k.found, k.removed, k.accepted, k.open, k.overdue)]))
        out.append(("Open risks 未消除隐患", ["number", "title", "severity", "owner", "due",
                                           "overdue"],
                    [(i.number, i.title, i.severity, i.owner, i.due.isoformat(timespec="minutes"),
                      "yes" if i.overdue else "no") for i in k.open_items]))
    if r.incident_records is not None:
        m = r.incident_records
        out.append(("Declared major incidents 重大事件处理", [
            "number", "ticket", "title", "status", "commander", "updates", "missed updates",
            "review", "problem"],
            [(i.number, i.ticket, i.title, i.status, i.commander, i.updates, i.missed_updates,
              "yes" if i.reviewed else "no", i.problem) for i in m.items]))
    return out
