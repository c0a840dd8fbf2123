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
from application.commands.repairs import RecordRepairAlarms
from application.desk import ServiceDesk
from application.record_watch import handle_each, logged_failure
from application.records import loaded
from domain.repair import RepairDirectory, RepairOrder


def watch_repairs(desk: ServiceDesk, now: datetime, actor: str, log: Any = None) -> int:
    """Records ``RepairOrder.ProgressOverdue`` on each order at the vendor whose written
    progress report is overdue at ``now``; answers how many were recorded. One order that
    fails never stops the others."""
    found = desk.load(RepairDirectory.ID)
    if not isinstance(found, RepairDirectory):
        return 0
    due = [(str(r.id), RecordRepairAlarms(ref=str(r.id), now=now))
           for r in loaded(desk, found.open, RepairOrder) if r.progress_alarm_due(now)]
    results = handle_each(desk, due, actor, logged_failure(log, "repair.watch_failed",
                                                           "repair_id"))
    alarms = sum(isinstance(e, RepairOrder.ProgressOverdue) for r in results for e in r.events)
    if log is not None and alarms:
        log.info("repair.progress_overdue", alarms=alarms)
    return alarms
