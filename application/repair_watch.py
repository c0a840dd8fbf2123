"""The watcher's look at repair orders (ADR 0065): the written progress report (书面维修进度)
due every 3 working days on the ticket's calendar while the equipment is at the vendor.

``watch_repairs(desk, now, actor)`` is called from the SLA watcher's tick
(``application.sla_watch``); it loads only the orders still at the vendor
(``RepairDirectory.open``) and runs ``RecordRepairAlarms`` on each whose report is overdue.
The order decides from its own state whether an alarm is due (``progress_alarm_due``), so an
alarm is recorded exactly once per gap, however many ticks or watchers look.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.commands.repairs import RecordRepairAlarms
from application.desk import ServiceDesk
from application.errors import ApplicationError
from domain.errors import DomainError
from domain.repair import RepairDirectory, RepairOrder


def watch_repairs(desk: ServiceDesk, now: datetime, actor: str, log: Any = None) -> int:
    """Records ``RepairOrder.ProgressOverdue`` on each order at the vendor whose written
    progress report is overdue at ``now``; answers how many were recorded. One order that
    fails never stops the others."""
    found = desk.load(RepairDirectory.ID)
    if not isinstance(found, RepairDirectory):
        return 0
    alarms = 0
    for rid in found.open:
        r = desk.load(UUID(rid))
        if not isinstance(r, RepairOrder) or not r.progress_alarm_due(now):
            continue
        try:
            result = desk.handle(RecordRepairAlarms(ref=rid, now=now), actor=actor)
        except (ApplicationError, DomainError) as e:
            if log is not None:
                log.error("repair.watch_failed", repair_id=rid,
                          error=f"{type(e).__name__}: {e}")
            continue
        alarms += sum(isinstance(e, RepairOrder.ProgressOverdue) for e in result.events)
    if log is not None and alarms:
        log.info("repair.progress_overdue", alarms=alarms)
    return alarms
