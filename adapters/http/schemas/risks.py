"""Wire types of hidden risks (隐患, ADR 0067).

Bodies are strict (unknown fields refused). ``customer``, ``title``, ``severity`` and ``due``
are optional on the wire so that the domain answers one 422 naming every field refused.
``due`` is a day (``2026-12-31``: the end of that day in the service's zone) or a time with
an offset. Responses give times in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from domain.risk import Risk

Due = Annotated[str, Meta(max_length=40, pattern=s.LINE)]


class RecordRisk(s.Input):
    customer: s.Short = ""
    title: s.Short = ""
    severity: s.Short = ""  # low | medium | high | critical
    due: Due | None = None
    description: s.Text = ""
    owner: s.Short = ""  # the person who follows it (default: who records it)
    ticket: s.Short | None = None  # found while working on this ticket (id or SR- number)
    project: s.Short | None = None  # found during an inspection of this project
    routine_id: s.Short = ""  # ... its routine (the inspection)
    source: s.Short = ""  # inspection | ticket | other, when no ticket or project says so


class FollowUpRisk(s.Input):
    note: s.Line
    severity: s.Short = ""
    owner: s.Short = ""
    due: Due | None = None


class RemoveRisk(s.Input):
    how: s.Line  # what was done (整改措施)


class AcceptRisk(s.Input):
    reason: s.Line


class RiskUpdate(Struct):
    at: datetime
    actor: str
    note: str


class RiskView(Struct):
    id: str
    number: str
    customer: str
    title: str
    description: str
    severity: str
    owner: str
    due: datetime
    status: str  # open | removed | accepted
    overdue: bool  # open and past its due time, at the time of the answer
    source: str  # inspection | ticket | other
    ticket: s.LinkedRecord | None
    project: s.LinkedRecord | None
    routine_id: str
    recorded_by: str
    recorded_at: datetime
    updates: list[RiskUpdate]
    closed_at: datetime | None
    closed_by: str | None
    closing_text: str | None  # how it was removed, or why it was accepted
    accepted_on_behalf: bool  # accepted by a manager for the customer
    overdue_alarms: int
    version: int


class RiskPage(Struct):
    items: list[RiskView]
    next_cursor: str | None
    count: int


def risk_view(r: Risk, now: datetime) -> RiskView:
    return s.copied(
        RiskView, r,
        id=str(r.id),
        severity=r.severity.value,
        due=s.utc(r.due), status=r.status.value, overdue=r.overdue(now),
        source=r.source.value,
        ticket=s.LinkedRecord(r.ticket_id, r.ticket_number) if r.ticket_id else None,
        project=s.LinkedRecord(r.project_id, r.project_number) if r.project_id else None,
        recorded_at=s.utc(r.recorded_at),
        updates=[RiskUpdate(s.utc(at), actor, note) for at, actor, note in r.updates],
        closed_at=s.utc_opt(r.closed_at),
        overdue_alarms=r.alarms)
