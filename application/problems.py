"""The problem use cases (DOMAIN §3, API.md "Problems") over the service desk's one store.

A link between a problem and a ticket is two events, the problem's ``TicketLinked`` and the
ticket's ``ProblemLinked``, saved in **one transaction** by the command that makes the link,
from either side (ADR 0019): ``record`` (from 0..n tickets), ``link_ticket``, ``link_tickets``
and the ticket's ``link_problem``. The desk's optimistic loop retries the whole command when
either aggregate moved meanwhile, so two concurrent links never lose one another and no
reader ever sees one side without the other.

Every command takes ``actor`` and the desk's options (``expected_version`` for ``If-Match``,
``idempotency`` for ``Idempotency-Key``) and returns the desk's ``CommandResult``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from application.desk import CommandResult, HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from application.idempotency import IdempotencyKey
from domain.change import Change
from domain.errors import FieldError, InvalidCommand
from domain.numbering import RecordKind, record_id_for
from domain.problem import Problem
from domain.ticket import Ticket

LABEL = "problem"
MAX_TICKETS = 100  # tickets named in one command


def _tickets(desk: ServiceDesk, refs: Sequence[str], field: str) -> list[Ticket]:
    """The tickets ``refs`` (ids or numbers) name, each once, in the order given; a 422
    naming ``field`` and every unknown ref when one does not exist."""
    if len(refs) > MAX_TICKETS:
        raise InvalidCommand.field(field, f"at most {MAX_TICKETS} tickets at a time")
    found: dict[UUID, Ticket] = {}
    errors: list[FieldError] = []
    for ref in refs:
        try:
            ticket: Ticket = desk.get_record(ref, Ticket, "ticket")
        except RecordNotFound:
            errors.append(FieldError(field, f"no ticket {ref!r}"))
            continue
        found.setdefault(ticket.id, ticket)
    if errors:
        raise InvalidCommand(errors)
    return list(found.values())


def _link(
    problem: Problem, tickets: Sequence[Ticket], actor: str, at: datetime
) -> tuple[Ticket, ...]:
    """Links each ticket on both sides (each side a no-op where already linked); returns the
    tickets that changed, to be saved with the problem."""
    changed = []
    for t in tickets:
        problem.link_ticket(ticket_id=str(t.id), ticket_number=t.number, actor=actor, at=at)
        if t.link_problem(problem_id=str(problem.id), problem_number=problem.number,
                          actor=actor, at=at):
            changed.append(t)
    return tuple(changed)


def record_problem(
    desk: ServiceDesk,
    *,
    title: str,
    description: str,
    actor: str,
    tickets: Sequence[str] = (),
    category: str | None = None,
    affected_system: str | None = None,
    idempotency: IdempotencyKey | None = None,
) -> CommandResult:
    """Records a problem (``PRB-YYYYMMDD-NNN``) from 0..n tickets, each linked back.
    ``affected_system`` defaults to the first ticket's."""

    def mutate(_: None, at: datetime, numbers: Any) -> Any:
        found = _tickets(desk, tickets, "tickets")
        system = affected_system if affected_system is not None else (
            found[0].affected_system if found else "")
        number = numbers.issue(RecordKind.PROBLEM)
        problem = Problem.record(
            id=record_id_for(number), number=number, title=title, description=description,
            category=category, affected_system=system,
            tickets=tuple((str(t.id), t.number) for t in found), actor=actor, at=at,
        )
        linked = [t for t in found if t.link_problem(
            problem_id=str(problem.id), problem_number=number, actor=actor, at=at)]
        return (problem, *linked)

    return desk._run(None, mutate, actor=actor, expected_version=None, kind=Problem,
                     label=LABEL, idempotency=idempotency)


def _on_problem(
    desk: ServiceDesk, ref: str | UUID, command: Any, actor: str, **opts: Any
) -> CommandResult:
    return desk._change(ref, command, actor=actor, kind=Problem, label=LABEL, **opts)


def classify(desk: ServiceDesk, ref: str | UUID, *, actor: str, category: str | None = None,
             priority: str | None = None, **opts: Any) -> CommandResult:
    return _on_problem(desk, ref, lambda p, at, _: p.classify(
        category=category, priority=priority, actor=actor, at=at), actor, **opts)


def link_tickets(
    desk: ServiceDesk, ref: str | UUID, ticket_refs: Sequence[str], *, actor: str,
    field: str = "ticket_ids", name: str = "link_tickets", **opts: Any,
) -> CommandResult:
    """Links several tickets in one step (repeated incidents, DOMAIN §3); tickets already
    linked are skipped. Problem and tickets are saved in one transaction."""

    def command(p: Problem, at: datetime, _: Any) -> tuple[Ticket, ...]:
        p.require(name)  # a closed problem: 409 before any ticket is looked up
        found = _tickets(desk, ticket_refs, field)
        if not found:
            raise InvalidCommand.field(field, "name at least one ticket")
        return _link(p, found, actor, at)

    return _on_problem(desk, ref, command, actor, **opts)


def link_ticket(desk: ServiceDesk, ref: str | UUID, ticket_ref: str, *, actor: str,
                **opts: Any) -> CommandResult:
    return link_tickets(desk, ref, [ticket_ref], actor=actor, field="ticket_id",
                        name="link_ticket", **opts)


def link_problem(desk: ServiceDesk, ticket_ref: str | UUID, problem_ref: str, *, actor: str,
                 **opts: Any) -> CommandResult:
    """The ticket's side of the same link (API.md ``link_problem``): addressed to the ticket
    (its version for ``If-Match``, its view as the answer), saved with the problem."""

    def command(t: Ticket, at: datetime, _: Any) -> Problem:
        try:
            problem: Problem = desk.get_record(problem_ref, Problem, LABEL)
        except RecordNotFound:
            raise InvalidCommand.field("problem_id", f"no problem {problem_ref!r}") from None
        _link(problem, [t], actor, at)
        return problem

    return desk._change(ticket_ref, command, actor=actor, **opts)


def record_root_cause(desk: ServiceDesk, ref: str | UUID, *, root_cause: str, actor: str,
                      **opts: Any) -> CommandResult:
    return _on_problem(desk, ref, lambda p, at, _: p.record_root_cause(
        root_cause=root_cause, actor=actor, at=at), actor, **opts)


def record_workaround(desk: ServiceDesk, ref: str | UUID, *, workaround: str, actor: str,
                      **opts: Any) -> CommandResult:
    return _on_problem(desk, ref, lambda p, at, _: p.record_workaround(
        workaround=workaround, actor=actor, at=at), actor, **opts)


def mark_known_error(
    desk: ServiceDesk, ref: str | UUID, *, actor: str, **opts: Any
) -> CommandResult:
    return _on_problem(desk, ref, lambda p, at, _: p.mark_known_error(actor=actor, at=at),
                       actor, **opts)


def _change_id(desk: ServiceDesk, ref: str | None) -> str | None:
    """The id of the change ``ref`` (an id or ``CHG-…`` number); a 422 naming ``change_id``
    when there is no such change."""
    if ref is None or not ref.strip():
        return None
    try:
        return str(desk.get_record(ref, Change, "change").id)
    except RecordNotFound:
        raise InvalidCommand.field("change_id", f"no change {ref!r}") from None


def resolve(desk: ServiceDesk, ref: str | UUID, *, resolution: str, actor: str,
            change_id: str | None = None, **opts: Any) -> CommandResult:
    def command(p: Problem, at: datetime, _: Any) -> None:
        p.require("resolve")  # the state first: a closed problem is a 409 whatever the body
        p.resolve(resolution=resolution, change_id=_change_id(desk, change_id), actor=actor, at=at)

    return _on_problem(desk, ref, command, actor, **opts)


def close(desk: ServiceDesk, ref: str | UUID, *, actor: str, **opts: Any) -> CommandResult:
    return _on_problem(desk, ref, lambda p, at, _: p.close(actor=actor, at=at), actor, **opts)


# ------------------------------------------------------------------- reads


def get_problem(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> Problem:
    return desk.get_record(ref, Problem, LABEL, as_of)  # type: ignore[no-any-return]


def problem_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Problem, LABEL)
