"""The clocks of hidden risks and major incidents (ADR 0067), run by the SLA watcher's tick
(``SlaWatcher.tick`` calls ``watch_records`` with one line, brief contract 5).

Each record decides from its own state whether an alarm is due (a risk past its due time
that has not alarmed for it; a major incident whose update is overdue and not yet recorded
as missed), so a second tick records nothing. Risks and major incidents are few: the
directories name them, and each is read from the aggregate cache; an alarm is one short
transaction of its own (``desk.handle``).

``handle_each`` is the loop every watcher of records shares (complaints and agreements in
``complaint_watch``, repair orders in ``repair_watch``): each command in its own
transaction, one that fails never stopping the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from application.commands.major_incidents import RecordMissedUpdate
from application.commands.base import Command
from application.commands.risks import AlarmOverdueRisk
from application.desk import CommandResult, ServiceDesk
from application.errors import ApplicationError
from application.major_incidents import all_incidents
from application.risks import all_risks
from domain.errors import DomainError

WATCH_ACTOR = "system:record-watch"


def handle_each(desk: ServiceDesk, due: Iterable[tuple[str, Command]], actor: str,
                fail: Callable[[str, Exception], Any] | None) -> list[CommandResult]:
    """Runs each (name, command) of ``due`` in its own transaction; the results of those
    that ran. ``fail(name, error)``: told of a command that could not be run (one never
    stops the others; without it the error is raised)."""
    results = []
    for name, command in due:
        try:
            results.append(desk.handle(command, actor=actor))
        except (ApplicationError, DomainError) as e:
            if fail is None:
                raise
            fail(name, e)
    return results


def logged_failure(log: Any, event: str, key: str) -> Callable[[str, Exception], None]:
    """A ``fail`` for ``handle_each`` that logs ``event`` naming the record as ``key`` (nothing
    without a ``log``)."""

    def fail(name: str, e: Exception) -> None:
        if log is not None:
            log.error(event, **{key: name}, error=f"{type(e).__name__}: {e}")

    return fail


def _alarm_each(desk: ServiceDesk, due: list[tuple[str, Command]],
                fail: Callable[[str], Any] | None) -> int:
    """How many of ``due`` recorded (``handle_each``); ``fail`` is told "number: error"."""

    def told(number: str, e: Exception) -> None:
        fail(f"{number}: {type(e).__name__}: {e}")  # type: ignore[misc]

    results = handle_each(desk, due, WATCH_ACTOR, None if fail is None else told)
    return sum(int(r.changed) for r in results)


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
