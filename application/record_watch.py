"""The clocks of hidden risks and major incidents (ADR 0067), run by the SLA watcher's tick
(``SlaWatcher.tick`` calls ``watch_records`` with one line, brief contract 5).

Each record decides from its own state whether an alarm is due (a risk past its due time
that has not alarmed for it; a major incident whose update is overdue and not yet recorded
as missed), so a second tick records nothing. Risks and major incidents are few: the
directories name them, and each is read from the aggregate cache; an alarm is one short
transaction of its own (``desk.handle``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from application.commands.major_incidents import RecordMissedUpdate
from application.commands.risks import AlarmOverdueRisk
from application.desk import ServiceDesk
from application.errors import ApplicationError
from application.major_incidents import all_incidents
from application.risks import all_risks
from domain.errors import DomainError

WATCH_ACTOR = "system:record-watch"


def watch_risks(desk: ServiceDesk, now: datetime,
                fail: Callable[[str], Any] | None = None) -> int:
    """Records the overdue alarm of every open risk past its due time that has not alarmed
    for it yet (``AlarmOverdueRisk``); returns how many were recorded. A second call at the
    same time records nothing. ``fail``: told of a risk that could not be recorded (one risk
    never stops the others; without it the error is raised)."""
    alarms = 0
    for r in all_risks(desk):
        if not r.alarm_due(now):
            continue
        try:
            result = desk.handle(AlarmOverdueRisk(ref=str(r.id), now=now), actor=WATCH_ACTOR)
        except (ApplicationError, DomainError) as e:
            if fail is None:
                raise
            fail(f"{r.number}: {type(e).__name__}: {e}")
            continue
        alarms += int(result.changed)
    return alarms


def watch_incidents(desk: ServiceDesk, now: datetime,
                    fail: Callable[[str], Any] | None = None) -> int:
    """Records the missed update of every active major incident whose update is overdue and
    not yet recorded as missed (``RecordMissedUpdate``); returns how many were recorded."""
    missed = 0
    for m in all_incidents(desk):
        if not m.miss_due(now):
            continue
        try:
            result = desk.handle(RecordMissedUpdate(ref=str(m.id), now=now), actor=WATCH_ACTOR)
        except (ApplicationError, DomainError) as e:
            if fail is None:
                raise
            fail(f"{m.number}: {type(e).__name__}: {e}")
            continue
        missed += int(result.changed)
    return missed


def watch_records(desk: ServiceDesk, now: datetime, counts: Any, log: Any = None) -> int:
    """Records every alarm due at ``now``; failures go to ``counts.fail`` (the tick's
    counts) and never stop the tick. Returns how many alarms were recorded."""
    alarms = watch_risks(desk, now, counts.fail) + watch_incidents(desk, now, counts.fail)
    if log is not None and alarms:
        log.info("records.alarms", alarms=alarms)
    return alarms
