"""Wire types of major incidents (重大事件, ADR 0067). Bodies are strict (unknown fields
refused); responses give times in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from application.commands.major_incidents import Communication as PlanCommand
from application.commands.major_incidents import DeclareMajorIncident as Declare
from domain.major_incident import DEFAULT_INTERVAL_MINUTES, MajorIncident

Names = Annotated[list[s.Short], Meta(max_length=200)]
Minutes = Annotated[int, Meta(ge=1, le=24 * 60)]


class Communication(s.Input):
    """Who is told, and how often: the customers whose contacts are told (the ticket's
    customer always), the staff told (user ids), the minutes between updates."""

    customers: Names = []
    informed: Names = []
    interval_minutes: Minutes = DEFAULT_INTERVAL_MINUTES


class DeclareMajorIncident(s.Input):
    ticket: s.Ref  # the ticket's id or SR- number
    commander: s.Short = ""  # a user id; default: who declares
    title: s.Short = ""  # default: the ticket's title
    communication: Communication | None = None  # default: the ticket's customer, 30 minutes


class PostIncidentUpdate(s.Input):
    text: s.Text


class AssignCommander(s.Input):
    commander: s.Short


class RecordIncidentReview(s.Input):
    summary: s.Text
    root_cause: s.Text
    actions: s.Items = []


class OpenIncidentProblem(s.Input):
    title: s.Short = ""
    description: s.Text = ""
    category: s.Short | None = None


class CloseMajorIncident(s.Input):
    summary: s.Line = ""


class CommunicationView(Struct):
    customers: list[str]
    informed: list[str]
    interval_minutes: int


class IncidentUpdate(Struct):
    at: datetime
    actor: str
    text: str


class ReviewView(Struct):
    summary: str
    root_cause: str
    actions: list[str]
    recorded_by: str
    recorded_at: datetime


class MajorIncidentView(Struct):
    id: str
    number: str
    status: str  # active | closed
    title: str
    ticket: s.LinkedRecord
    customer: str
    commander: str
    communication: CommunicationView
    declared_by: str
    declared_at: datetime
    next_update_due: datetime | None  # none once closed
    update_overdue: bool  # at the time of the answer
    updates: list[IncidentUpdate]
    missed_updates: list[datetime]  # the due times passed without an update
    review: ReviewView | None
    problem: s.LinkedRecord | None
    closed_at: datetime | None
    closed_by: str | None
    closing_summary: str | None
    version: int


class MajorIncidentPage(Struct):
    items: list[MajorIncidentView]
    next_cursor: str | None
    count: int


def incident_view(m: MajorIncident, now: datetime) -> MajorIncidentView:
    r = m.review
    active = m.status.value == "active"
    return s.copied(
        MajorIncidentView, m,
        id=str(m.id), status=m.status.value,
        ticket=s.LinkedRecord(m.ticket_id, m.ticket_number),
        communication=CommunicationView(list(m.customers), list(m.informed),
                                        m.interval_minutes),
        declared_at=s.utc(m.declared_at),
        next_update_due=s.utc(m.next_update_due) if active else None,
        update_overdue=m.update_overdue(now),
        updates=[IncidentUpdate(s.utc(at), actor, text) for at, actor, text in m.updates],
        missed_updates=[s.utc(d) for d in m.missed],
        review=ReviewView(r.summary, r.root_cause, list(r.actions), r.by, s.utc(r.at))
        if r else None,
        problem=s.LinkedRecord(m.problem_id, m.problem_number) if m.problem_id else None,
        closed_at=s.utc_opt(m.closed_at))


def declare_command(body: DeclareMajorIncident) -> Declare:
    """The command of a declaring body (the API's and the console's form)."""
    plan = body.communication or Communication()
    return Declare(ticket=body.ticket, commander=body.commander, title=body.title,
                   communication=PlanCommand(tuple(plan.customers), tuple(plan.informed),
                                             plan.interval_minutes))
