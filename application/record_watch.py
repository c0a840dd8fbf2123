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
from application.commands.base import Command
from application.commands.risks import AlarmOverdueRisk
from application.desk import ServiceDesk
from application.errors import ApplicationError
from application.major_incidents import all_incidents
from application.risks import all_risks
from domain.errors import DomainError

WATCH_ACTOR = "system:record-watch"


def _alarm_each(desk: ServiceDesk, due: list[tuple[str, Command]],
                fail: Callable[[str], Any] | None) -> int:
    """Runs each (number, command) of ``due`` in its own transaction; how many recorded.
    ``fail``: told of a record that could not be recorded (one never stops the others;
    without it the error is raised)."""
    recorded = 0
    for number, command in due:
        try:
            result = desk.handle(command, actor=WATCH_ACTOR)
        except (ApplicationError, DomainError) as e:
            if fail is None:
                raise
            fail(f"{number}: {type(e).__name__}: {e}")
            continue
        recorded += int(result.changed)
    return recorded


def watch_risks(desk: ServiceDesk, now: datetime,
                fail: Callable[[str], Any] | None = None) -> int:
    """Records the overdue alarm of every open risk past its due time that has not alarmed
    for it yet (``AlarmOverdueRisk``); returns how many were recorded. A second call at the
    same time records nothing."""
    return _alarm_each(desk, [(r.number, AlarmOverdueRisk(ref=str(r.id), now=now))
                              for r in all_risks(desk) if r.alarm_due(now)], fail)


def watch_incidents(desk: ServiceDesk, now: datetime,
                    fail: Callable[[str], Any] | None = None) -> int:
    """Records the missed update of every active major incident whose update is overdue and
    not yet recorded as missed (``RecordMissedUpdate``); returns how many were recorded."""
    return _alarm_each(desk, [(m.number, RecordMissedUpdate(ref=str(m.id), now=now))
                              for m in all_incidents(desk) if m.miss_due(now)], fail)


def watch_records(desk: ServiceDesk, now: datetime, counts: Any, log: Any = None) -> int:
    """Records every alarm due at ``now``; failures go to ``counts.fail`` (the tick's
    counts) and never stop the tick. Returns how many alarms were recorded."""
    alarms = watch_risks(desk, now, counts.fail) + watch_incidents(desk, now, counts.fail)
    if log is not None and alarms:
        log.info("records.alarms", alarms=alarms)
    return alarms
