"""Problem commands (DOMAIN §3, API.md "Problems", ADR 0019): each names the ``Problem`` method
it calls and the event it records; fields are named as the bodies of
``POST /api/v1/problems[/{ref}/<verb>]`` (``adapters/http/problem_schemas``).

A link between a problem and a ticket is two events, the problem's ``TicketLinked`` and the
ticket's ``ProblemLinked``, saved in one transaction by the command that makes the link,
from either side (``RecordProblem``, ``LinkTicket``, ``LinkTickets`` and the ticket's
``tickets.LinkProblem``); the handler retries the whole command when either moved meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from application.cis import named_cis  # ADR 0063
from application.commands.base import Command, RecordCommand, command
from application.problems import LABEL, change_ref, find_tickets
from domain.errors import InvalidCommand
from domain.numbering import RecordKind, record_id_for
from domain.problem import Problem
from domain.ticket import Ticket

if TYPE_CHECKING:
    from application.desk import Context


def link_both(problem: Problem, tickets: Sequence[Ticket], actor: str,
              at: datetime) -> tuple[Ticket, ...]:
    """Links each ticket on both sides (each side a no-op where already linked); returns the
    tickets that changed, to be saved with the problem."""
    changed = []
    for t in tickets:
        problem.link_ticket(ticket_id=str(t.id), ticket_number=t.number, actor=actor, at=at)
        if t.link_problem(problem_id=str(problem.id), problem_number=problem.number,
                          actor=actor, at=at):
            changed.append(t)
    return tuple(changed)


@command
class ProblemCommand(RecordCommand):
    record_class = Problem
    record_label = LABEL


@command
class RecordProblem(Command):
    """``Problem.record`` → ``Problem.Recorded`` (``PRB-YYYYMMDD-NNN``) from 0..n tickets, each
    linked back (``Ticket.ProblemLinked``) in the same save; ``affected_system`` defaults to
    the first ticket's. HTTP: ``RecordProblem``."""

    record_class = Problem
    record_label = LABEL
    verb = "record"

    title: str
    description: str
    tickets: Sequence[str] = ()
    category: str | None = None
    affected_system: str | None = None
    # CI ids or numbers (ADR 0063); ``None``: the CIs its tickets name (``Problem.CisAffected``)
    affected_cis: Sequence[str] | None = None

    def decide(self, record: None, ctx: Context) -> Any:
        at, actor = ctx.at, ctx.actor
        found = find_tickets(ctx.desk, self.tickets, "tickets")
        system = self.affected_system if self.affected_system is not None else (
            found[0].affected_system if found else "")
        number = ctx.issue(RecordKind.PROBLEM)
        problem = Problem.record(
            id=record_id_for(number), number=number, title=self.title,
            description=self.description, category=self.category, affected_system=system,
            tickets=tuple((str(t.id), t.number) for t in found), actor=actor, at=at)
        problem.name_cis(cis=named_cis(ctx.desk, self.affected_cis, found), actor=actor,
                         at=at)  # ADR 0063
        linked = [t for t in found if t.link_problem(
            problem_id=str(problem.id), problem_number=number, actor=actor, at=at)]
        return (problem, *linked)


@command
class ClassifyProblem(ProblemCommand):
    """``Problem.classify`` → ``Problem.Classified``. HTTP: ``ClassifyProblem``."""

    verb = "classify"
    category: str | None = None
    priority: str | None = None


def _link(p: Problem, refs: Sequence[str], field: str, verb: str,
          ctx: Context) -> tuple[Ticket, ...]:
    p.require(verb)  # a closed problem: 409 before any ticket is looked up
    found = find_tickets(ctx.desk, refs, field)
    if not found:
        raise InvalidCommand.field(field, "name at least one ticket")
    return link_both(p, found, ctx.actor, ctx.at)


@command
class LinkTicket(ProblemCommand):
    """``Problem.link_ticket`` → ``Problem.TicketLinked`` and the ticket's
    ``Ticket.ProblemLinked``, in one save (skipped where already linked).
    HTTP: ``LinkTicket``."""

    verb = "link_ticket"
    ticket_id: str

    def decide(self, p: Problem, ctx: Context) -> tuple[Ticket, ...]:
        return _link(p, [self.ticket_id], "ticket_id", self.verb, ctx)


@command
class LinkTickets(ProblemCommand):
    """``LinkTicket`` for several tickets in one step (repeated incidents, DOMAIN §3):
    ``Problem.link_ticket`` → ``Problem.TicketLinked`` and the ticket's
    ``Ticket.ProblemLinked`` for each, in one save. HTTP: ``LinkTickets``."""

    verb = "link_tickets"
    ticket_ids: Sequence[str]

    def decide(self, p: Problem, ctx: Context) -> tuple[Ticket, ...]:
        return _link(p, self.ticket_ids, "ticket_ids", self.verb, ctx)


@command
class RecordRootCause(ProblemCommand):
    """``Problem.record_root_cause`` → ``Problem.RootCauseRecorded``. HTTP: ``RootCause``."""

    verb = "record_root_cause"
    root_cause: str


@command
class RecordWorkaround(ProblemCommand):
    """``Problem.record_workaround`` → ``Problem.WorkaroundRecorded``. HTTP: ``Workaround``."""

    verb = "record_workaround"
    workaround: str


@command
class MarkKnownError(ProblemCommand):
    """``Problem.mark_known_error`` → ``Problem.KnownErrorMarked``. HTTP: ``Empty``."""

    verb = "mark_known_error"


@command
class ResolveProblem(ProblemCommand):
    """``Problem.resolve`` → ``Problem.Resolved``, optionally naming the change that fixed
    it (``change_id``: an id or ``CHG-…`` number, else a 422). HTTP: ``ResolveProblem``."""

    verb = "resolve"
    resolution: str
    change_id: str | None = None

    def decide(self, p: Problem, ctx: Context) -> None:
        p.require("resolve")  # the state first: a closed problem is a 409 whatever the body
        p.resolve(resolution=self.resolution, change_id=change_ref(ctx.desk, self.change_id),
                  actor=ctx.actor, at=ctx.at)


@command
class CloseProblem(ProblemCommand):
    """``Problem.close`` → ``Problem.Closed``. HTTP: ``Empty``."""

    verb = "close"
