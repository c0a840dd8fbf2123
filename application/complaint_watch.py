"""The watcher's look at complaints and agreements (ADR 0066; contract 5 of issues 20/21).

``watch_complaints(desk, now, actor)`` is called from the SLA watcher's tick
(``application.sla_watch``) with one line. For each open complaint past a time limit it runs
``RecordComplaintOverdue`` (``Complaint.ResponseOverdue`` / ``Complaint.ClosureOverdue``),
and for each agreement ending within 30 days ``WarnAgreementExpiry``
(``Agreement.ExpiryWarned``). The record decides from its own state whether an alarm is due,
so each is recorded exactly once, however many ticks or watchers look; the checks here only
spare the commands that would record nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.agreements import all_agreements, today_of
from application.commands.agreements import WarnAgreementExpiry
from application.commands.complaints import RecordComplaintOverdue
from application.complaints import all_complaints
from application.desk import ServiceDesk
from application.errors import ApplicationError
from domain.complaint import Status
from domain.errors import DomainError

ALARMS = ("ResponseOverdue", "ClosureOverdue", "ExpiryWarned")


def watch_complaints(desk: ServiceDesk, now: datetime, actor: str, log: Any = None) -> int:
    """Records the complaints' overdue alarms and the agreements' expiry warnings due at
    ``now``; answers how many events were recorded. One record that fails never stops the
    others."""
    recorded = 0
    for c in all_complaints(desk):
        if c.status is Status.CLOSED:
            continue
        due = (c.responded_at is None and not c.response_overdue and now >= c.response_due) \
            or (not c.closure_overdue and now >= c.closure_due)
        if due:
            recorded += _run(desk, RecordComplaintOverdue(ref=str(c.id), now=now), actor, log)
    today = today_of(desk, now)
    for a in all_agreements(desk):
        if a.expiring(today) and a.expiry_warned_for != a.valid_to:
            recorded += _run(desk, WarnAgreementExpiry(ref=str(a.id), today=today), actor, log)
    if log is not None and recorded:
        log.info("complaints.alarms", recorded=recorded)
    return recorded


def _run(desk: ServiceDesk, command: Any, actor: str, log: Any) -> int:
    try:
        result = desk.handle(command, actor=actor)
    except (ApplicationError, DomainError) as e:
        if log is not None:
            log.error("complaints.watch_failed", ref=str(command.ref),
                      error=f"{type(e).__name__}: {e}")
        return 0
    return sum(type(e).__name__ in ALARMS for e in result.events)
