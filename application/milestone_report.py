"""The service report's lines per milestone clock (ADR 0062): ``application.milestones``'
figures as the report model's structs (kept apart so the clocks need not import the report)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from application import milestones
from application.report_model import MilestoneCompliance


def in_report(sla_figures: Any, sla: milestones.Calendars, tickets: Any, at: datetime) -> Any:
    """The report's SLA figures with a line per milestone clock (``tickets``: the report's
    tickets, each with its ``.ticket``)."""
    lines = [MilestoneCompliance(**f.as_dict())
             for f in milestones.figures(sla, [x.ticket for x in tickets], at)]
    return msgspec.structs.replace(sla_figures, milestones=lines)
