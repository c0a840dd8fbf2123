"""Major incident commands (重大事件, issue 21 item 5, ADR 0067); fields are named as the
bodies of ``POST /api/v1/major-incidents`` (its ``communication`` a ``Communication``) and
``POST /api/v1/major-incidents/{ref}/<verb>``.

Declaring saves the incident (``MI-YYYYMMDD-NNN``), the directory (which holds the incident
active on each ticket, so a second declaration on the ticket is refused) and a public note on
the ticket in one transaction; every update is also a public note on the ticket, so the
ticket's contact is told by the notice outbox (``public_note``, ADR 0059) and the customers
of the plan by the ``major_incident`` notices. Opening the problem saves the problem
(``PRB-…``, the ticket linked both ways) with the incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from application.commands.base import Command, RecordCommand, command
from application.errors import RecordNotFound
from application.identities import require_known_user
from application.major_incidents import LABEL, acts_as_manager, active_on
from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.major_incident import (DEFAULT_INTERVAL_MINUTES, MajorIncident,
                                   MajorIncidentDirectory)
from domain.numbering import RecordKind, record_id_for
from domain.problem import Problem
from domain.ticket import ESCALATABLE, Ticket

if TYPE_CHECKING:
    from application.desk import Context


@dataclass(frozen=True)
class Communication:
    """The communication plan: the customers whose contacts are told (the ticket's always),
    the staff told (user ids), and how often an update is due."""

    customers: Sequence[str] = ()
    informed: Sequence[str] = ()
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES


def _public_note(ticket: Ticket, text: str, ctx: Context) -> None:
    ticket.comment(body=text, visibility="public", author="staff", actor=ctx.actor, at=ctx.at)


@command
class DeclareMajorIncident(Command):
    """``MajorIncident.declare`` → ``MajorIncident.Declared`` on ``ticket`` (an id or
    ``SR-`` number): a P1 ticket, or any open ticket by a manager (else 409 naming
    ``priority P1``); listed (``MajorIncidentDirectory.Listed``) and told on the ticket
    (``Ticket.CommentAdded``, public). HTTP: ``DeclareMajorIncident``."""

    record_class = MajorIncident
    record_label = LABEL
    verb = "declare"

    ticket: str
    commander: str = ""
    title: str = ""
    communication: Communication = Communication()

    def decide(self, record: None, ctx: Context) -> Any:
        try:
            t: Ticket = ctx.desk.get_record(self.ticket, Ticket, "ticket")
        except RecordNotFound:
            raise InvalidCommand.field("ticket", f"no ticket {self.ticket!r}") from None
        if t.status not in ESCALATABLE:
            raise TransitionNotAllowed(t.status.value, "declare_major_incident", (),
                                       "a major incident is declared on an open ticket")
        if str(t.priority or "") != "P1" and not acts_as_manager(ctx.desk, ctx.actor):
            raise TransitionNotAllowed(
                str(t.priority or "unprioritised"), "declare_major_incident", (),
                "a major incident is declared on a P1 ticket, or by a manager on any ticket",
                missing=("priority P1",))
        current = active_on(ctx.desk, str(t.id))
        if current is not None:
            raise TransitionNotAllowed(
                "major incident active", "declare_major_incident", (),
                f"{current.number} is active on {t.number}")
        if self.commander.strip():
            require_known_user(ctx.desk, self.commander, "commander")
        plan = self.communication
        for person in plan.informed:
            require_known_user(ctx.desk, person, "communication.informed")
        number = ctx.issue(RecordKind.MAJOR_INCIDENT)
        m = MajorIncident.declare(
            id=record_id_for(number), number=number, ticket_id=str(t.id),
            ticket_number=t.number, customer=t.customer, title=self.title or t.title,
            commander=self.commander, customers=tuple(plan.customers),
            informed=tuple(plan.informed), interval_minutes=plan.interval_minutes,
            actor=ctx.actor, at=ctx.at)
        directory = ctx.desk.load(MajorIncidentDirectory.ID) or MajorIncidentDirectory.open(
            ctx.at)
        directory.add(str(m.id), str(t.id), ctx.at)
        _public_note(t, f"已启动重大事件处理 {m.number}（事件指挥：{m.commander}），"
                        f"每 {m.interval_minutes} 分钟通报一次进展。", ctx)
        return m, directory, t


@command
class IncidentCommand(RecordCommand):
    record_class = MajorIncident
    record_label = LABEL


@command
class PostIncidentUpdate(IncidentCommand):
    """``MajorIncident.post_update`` → ``MajorIncident.UpdatePosted`` (the next due one
    interval later), also a public note on the ticket (``Ticket.CommentAdded``). HTTP:
    ``PostIncidentUpdate``."""

    verb = "post_update"

    text: str

    def decide(self, m: MajorIncident, ctx: Context) -> Any:
        m.post_update(text=self.text, actor=ctx.actor, at=ctx.at)
        ticket = ctx.desk.load(record_id_for(m.ticket_number))
        if not isinstance(ticket, Ticket):
            return None
        _public_note(ticket, f"[{m.number} 进展通报] {m.updates[-1][2]}", ctx)
        return ticket


@command
class AssignCommander(IncidentCommand):
    """``MajorIncident.assign_commander`` → ``MajorIncident.CommanderAssigned``. HTTP:
    ``AssignCommander``."""

    verb = "assign_commander"

    commander: str

    def decide(self, m: MajorIncident, ctx: Context) -> Any:
        m.require("assign_commander")
        if self.commander.strip():
            require_known_user(ctx.desk, self.commander, "commander")
        m.assign_commander(commander=self.commander, actor=ctx.actor, at=ctx.at)
        return None


@command
class RecordIncidentReview(IncidentCommand):
    """``MajorIncident.record_review`` → ``MajorIncident.ReviewRecorded`` (the post-incident
    review). HTTP: ``RecordIncidentReview``."""

    verb = "record_review"

    summary: str
    root_cause: str
    actions: Sequence[str] = ()

    def decide(self, m: MajorIncident, ctx: Context) -> None:
        m.record_review(summary=self.summary, root_cause=self.root_cause,
                        actions=tuple(self.actions), actor=ctx.actor, at=ctx.at)


@command
class OpenIncidentProblem(IncidentCommand):
    """``MajorIncident.open_problem`` → ``MajorIncident.ProblemOpened``, with the problem it
    opens (``Problem.record`` → ``Problem.Recorded``, the incident's ticket linked both ways,
    ``Ticket.ProblemLinked``). ``title`` / ``description`` default to the incident's title
    and its review. HTTP: ``OpenIncidentProblem``."""

    verb = "open_problem"

    title: str = ""
    description: str = ""
    category: str | None = None

    def decide(self, m: MajorIncident, ctx: Context) -> Any:
        m.require("open_problem")
        ticket = ctx.desk.load(record_id_for(m.ticket_number))
        review = m.review
        description = self.description.strip() or (
            f"{review.summary}\n根因：{review.root_cause}" if review else m.title)
        number = ctx.issue(RecordKind.PROBLEM)
        tickets = ((str(ticket.id), ticket.number),) if isinstance(ticket, Ticket) else ()
        problem = Problem.record(
            id=record_id_for(number), number=number, title=self.title.strip() or m.title,
            description=description, category=self.category,
            affected_system=ticket.affected_system if isinstance(ticket, Ticket) else "",
            tickets=tickets, actor=ctx.actor, at=ctx.at)
        m.open_problem(problem_id=str(problem.id), problem_number=number, actor=ctx.actor,
                       at=ctx.at)
        if isinstance(ticket, Ticket) and ticket.link_problem(
                problem_id=str(problem.id), problem_number=number, actor=ctx.actor,
                at=ctx.at):
            return problem, ticket
        return problem


@command
class CloseMajorIncident(IncidentCommand):
    """``MajorIncident.close`` → ``MajorIncident.Closed``: refused (409 naming ``review``)
    until the post-incident review is recorded. HTTP: ``CloseMajorIncident``."""

    verb = "close"

    summary: str = ""


@command
class RecordMissedUpdate(IncidentCommand):
    """``MajorIncident.record_missed_update`` → ``MajorIncident.UpdateMissed`` once an
    update is overdue, once per due time (the watcher, ``application.record_watch``)."""

    verb = "record_missed_update"

    now: datetime
