"""SLA compliance figures for a period (API.md "SLA", ADR 0017)."""

from __future__ import annotations

from litestar import get
from litestar.datastructures import State

from adapters.http import kit
from adapters.http import params as p
from adapters.http.schemas import tickets as s


@get(f"{kit.API}/sla/compliance", summary="SLA compliance for a period (default: the current month), "
     "by priority and customer", tags=["sla"])
@kit.threaded
def sla_compliance_figures(state: State, from_: p.PeriodFrom = None,
                           to: p.PeriodTo = None) -> s.Compliance:
    services = kit.services_of(state)
    start, end = kit.compliance_period(services, from_, to)
    return kit.compliance(services, start, end)


HANDLERS = [sla_compliance_figures]
