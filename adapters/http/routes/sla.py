"""SLA compliance figures for a period (API.md "SLA", ADR 0017)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import get
from litestar.datastructures import State
from litestar.exceptions import ValidationException

from adapters.http import params as p
from adapters.http.schemas import tickets as s
from application.sla_compliance import compliance as sla_compliance
from adapters.http import kit


def _this_month(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The month ``now`` falls in, in ``zone`` (the service's, ``OPSLEDGER_TIMEZONE``): its
    first midnight and the next month's."""
    local = now.astimezone(zone)
    first = datetime(local.year, local.month, 1, tzinfo=zone)
    following = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=zone)
    return first, following


def _figures(f: Any, **key: Any) -> s.ComplianceFigures:
    return s.ComplianceFigures(
        tickets=f.tickets, response_met=f.response_met, response_missed=f.response_missed,
        response_met_pct=f.response_met_pct, resolution_met=f.resolution_met,
        resolution_missed=f.resolution_missed, resolution_met_pct=f.resolution_met_pct, **key)


@get(f"{kit.API}/sla/compliance", summary="SLA compliance for a period (default: the current month), "
     "by priority and customer", tags=["sla"])
@kit.threaded
def sla_compliance_figures(state: State, from_: p.PeriodFrom = None,
                           to: p.PeriodTo = None) -> s.Compliance:
    services = kit.services_of(state)
    if from_ is None and to is None:  # the current month in the service's zone
        start, end = _this_month(services.desk.clock.now(), services.desk.timezone)
    else:
        start = kit.period_bound(from_, "from", end=False)
        end = kit.period_bound(to, "to", end=True)
    if end <= start:
        raise ValidationException("empty period", extra=[{"key": "to", "message": "must be later than from"}])
    services.runner.wait_for(services.desk.saved_position, services.settings.read_your_writes_seconds)
    r = sla_compliance(services.tickets, start, end, services.desk.clock.now())
    return s.Compliance(
        period_start=start, period_end=end, now=r.now, total=_figures(r.total),
        by_priority=[_figures(f, priority=k) for k, f in r.by_priority.items()],
        by_customer=[_figures(f, customer=k) for k, f in r.by_customer.items()],
    )


HANDLERS = [sla_compliance_figures]
