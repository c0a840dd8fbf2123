"""Offline replay: rebuild the read models and reports from an audit bundle alone (ADR 0031).

The bundle is verified, then its rows go into a temporary SQLite store with their positions and
chain rows (``audit_bundle.load``); the store's own chain check must then give the bundle's
head. The read models are rebuilt by the same projection code as the server's (the process
managers are not run: they would write), and the figures come from the same application code
(``application/sla_compliance.py``, ``application/reports.py``) — so an auditor recomputes
them without the server or its database, and a difference means the read side was wrong.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.audit.chain import AuditError, verify_store
from adapters.audit.bundle import load, verify_bundle
from adapters.container import build
from adapters.settings import Settings
from application.reports import ReportBuilder
from application.sla_compliance import ComplianceReport, compliance


@dataclass
class Replayed:
    events: int
    head: str
    position: int
    compliance: ComplianceReport
    report: Any | None  # a ServiceReport when one was asked for


def replay(bundle: Path, settings: Settings, *, project: str | None = None,
           period: str | None = None, as_of: datetime | None = None) -> Replayed:
    """Verifies ``bundle``, loads it into a temporary store and computes the figures there.
    ``settings`` give the rules the server ran with (time zone, priority matrix, SLA rule);
    their database is replaced by the temporary one."""
    with bundle.open(encoding="utf-8") as lines:
        verdict, _ = verify_bundle(lines)
    if not verdict.ok:
        raise AuditError(f"the bundle does not verify: position {verdict.first_bad_position}: "
                         f"{verdict.reason}")
    with tempfile.TemporaryDirectory(prefix="opsledger-replay-") as tmp:
        local = replace(settings, database_url=f"sqlite:///{Path(tmp) / 'replay.sqlite3'}")
        services = build(local)
        try:
            with bundle.open(encoding="utf-8") as lines:
                load(lines, services.desk.recorder)
            again = verify_store(services.desk.recorder)
            if not again.ok or again.head != verdict.head:
                raise AuditError("the replayed store does not recompute the bundle's head")
            for view in (services.tickets, services.sla_due, services.problems,
                         services.knowledge, services.changes):
                services.runner.catch_up(view)
            now = as_of or services.desk.clock.now()
            figures = compliance(services.tickets, datetime(1970, 1, 1, tzinfo=UTC), now, now)
            report = None
            if project is not None and period is not None:
                report = ReportBuilder(services.desk, services.tickets, services.changes).build(
                    project, period, as_of)
            return Replayed(again.events, again.head, again.position, figures, report)
        finally:
            services.close()
