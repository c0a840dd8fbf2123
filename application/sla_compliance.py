"""SLA compliance figures for a period, from the ticket list view (ADR 0017; issue 3 item 5,
reused by the reports issue). No aggregate is replayed: the view's SQL aggregate counts.

Rules: a ticket counts in the period when it has deadlines, is not invalid, and was reported
in ``[period_start, period_end)`` (bounds to the second). Per clock (response, resolution):

* **met**: it stopped at or before its due;
* **missed**: it stopped after its due, or it still runs and its due has passed at ``now``
  (a paused ticket is read where its pause began, as in the ticket view);
* a clock still running and not yet due is **pending**: neither met nor missed, and left out
  of the percentage. ``met %`` = met / (met + missed) × 100, ``None`` without decided clocks.

Groups: the ticket's current priority (after any escalation, whose deadlines the ticket now
carries) and its customer, plus the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projections.base import stamp
from projections.ticket_list.view import ComplianceCount, TicketListView, reported_bound


@dataclass(frozen=True)
class Figures:
    tickets: int
    response_met: int
    response_missed: int
    resolution_met: int
    resolution_missed: int

    @property
    def response_met_pct(self) -> float | None:
        return met_pct(self.response_met, self.response_missed)

    @property
    def resolution_met_pct(self) -> float | None:
        return met_pct(self.resolution_met, self.resolution_missed)


@dataclass(frozen=True)
class ComplianceReport:
    period_start: datetime
    period_end: datetime
    now: datetime
    total: Figures
    by_priority: dict[str | None, Figures]
    by_customer: dict[str, Figures]


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, two decimals; ``None`` when ``whole`` is 0."""
    return round(100.0 * part / whole, 2) if whole else None


def met_pct(met: int, missed: int) -> float | None:
    """What was met of what is decided (met or missed), in percent; ``None``: none decided."""
    return percent(met, met + missed)


def compliance(
    source: Any, period_start: datetime, period_end: datetime, now: datetime
) -> ComplianceReport:
    """The figures for ``[period_start, period_end)`` at ``now``; ``source`` is a
    ``TicketListView`` or anything with one as ``.tickets`` (the composition root's
    ``Services``)."""
    view: TicketListView = getattr(source, "tickets", source)
    counts: list[ComplianceCount] = view.compliance(
        reported_bound(period_start), reported_bound(period_end), stamp(now))

    def figures(c: ComplianceCount) -> Figures:
        return Figures(c.tickets, c.response_met, c.response_missed, c.resolution_met,
                       c.resolution_missed)

    by_priority = {c.key: figures(c) for c in counts if c.dimension == "priority"}
    by_customer = {str(c.key): figures(c) for c in counts if c.dimension == "customer"}
    parts = list(by_priority.values())
    total = Figures(*(sum(getattr(f, k) for f in parts) for k in (
        "tickets", "response_met", "response_missed", "resolution_met", "resolution_missed")))
    return ComplianceReport(period_start, period_end, now, total, by_priority, by_customer)
