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
from application.commands.base import Command
from application.commands.complaints import RecordComplaintOverdue
from application.complaints import all_complaints
from application.desk import ServiceDesk
from application.record_watch import handle_each, logged_failure
from domain.complaint import Complaint, Status

ALARMS = ("ResponseOverdue", "ClosureOverdue", "ExpiryWarned")


def watch_complaints(desk: ServiceDesk, now: datetime, actor: str, log: Any = None) -> int:
    """Records the complaints' overdue alarms and the agreements' expiry warnings due at
    ``now``; answers how many events were recorded. One record that fails never stops the
    others."""
    due: list[tuple[str, Command]] = [
        (str(c.id), RecordComplaintOverdue(ref=str(c.id), now=now))
        for c in all_complaints(desk) if c.status is not Status.CLOSED and _overdue_due(c, now)]
    today = today_of(desk, now)
    due += [(str(a.id), WarnAgreementExpiry(ref=str(a.id), today=today))
            for a in all_agreements(desk)
            if a.expiring(today) and a.expiry_warned_for != a.valid_to]
    results = handle_each(desk, due, actor, logged_failure(log, "complaints.watch_failed", "ref"))
    recorded = sum(type(e).__name__ in ALARMS for r in results for e in r.events)
    if log is not None and recorded:
        log.info("complaints.alarms", recorded=recorded)
    return recorded


def _overdue_due(c: Complaint, now: datetime) -> bool:
    return (c.responded_at is None and not c.response_overdue and now >= c.response_due) \
        or (not c.closure_overdue and now >= c.closure_due)
