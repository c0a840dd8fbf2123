"""Problems (DOMAIN §3, API.md "Problems"): reads, and the lookups the problem commands make.

The commands are values in ``application.commands.problems`` (``RecordProblem``,
``LinkTickets``, ...), run by ``ServiceDesk.handle``; a link between a problem and a ticket is
saved on both sides in one transaction (ADR 0019).
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
from domain.problem import Problem
from domain.ticket import Ticket

LABEL = "problem"
MAX_TICKETS = 100  # tickets named in one command


def find_tickets(desk: ServiceDesk, refs: Sequence[str], field: str) -> list[Ticket]:
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


# shim for adapters/http until converted: the commands are ``application.commands.problems``.


def _handle(desk: ServiceDesk, command: Any, actor: str, **opts: Any) -> CommandResult:
    return desk.handle(command, actor=actor, **opts)


def record_problem(desk: ServiceDesk, *, actor: str, idempotency: IdempotencyKey | None = None,
                   **fields: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.problems import RecordProblem
    return desk.handle(RecordProblem(**fields), actor=actor, idempotency=idempotency)


def classify(desk: ServiceDesk, ref: str | UUID, *, actor: str, category: str | None = None,
             priority: str | None = None, **opts: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.problems import ClassifyProblem
    return _handle(desk, ClassifyProblem(ref=ref, category=category, priority=priority), actor,
                   **opts)


def link_tickets(desk: ServiceDesk, ref: str | UUID, ticket_refs: Sequence[str], *, actor: str,
                 **opts: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.problems import LinkTickets
    return _handle(desk, LinkTickets(ref=ref, ticket_ids=ticket_refs), actor, **opts)


def link_ticket(desk: ServiceDesk, ref: str | UUID, ticket_ref: str, *, actor: str,
                **opts: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.problems import LinkTicket
    return _handle(desk, LinkTicket(ref=ref, ticket_id=ticket_ref), actor, **opts)


def link_problem(desk: ServiceDesk, ticket_ref: str | UUID, problem_ref: str, *, actor: str,
                 **opts: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.tickets import LinkProblem
    return _handle(desk, LinkProblem(ref=ticket_ref, problem_id=problem_ref), actor, **opts)


def record_root_cause(desk: ServiceDesk, ref: str | UUID, *, root_cause: str, actor: str,
                      **opts: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.problems import RecordRootCause
    return _handle(desk, RecordRootCause(ref=ref, root_cause=root_cause), actor, **opts)


def record_workaround(desk: ServiceDesk, ref: str | UUID, *, workaround: str, actor: str,
                      **opts: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.problems import RecordWorkaround
    return _handle(desk, RecordWorkaround(ref=ref, workaround=workaround), actor, **opts)


def mark_known_error(desk: ServiceDesk, ref: str | UUID, *, actor: str,
                     **opts: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.problems import MarkKnownError
    return _handle(desk, MarkKnownError(ref=ref), actor, **opts)


def resolve(desk: ServiceDesk, ref: str | UUID, *, resolution: str, actor: str,
            change_id: str | None = None, **opts: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.problems import ResolveProblem
    return _handle(desk, ResolveProblem(ref=ref, resolution=resolution, change_id=change_id),
                   actor, **opts)


def close(desk: ServiceDesk, ref: str | UUID, *, actor: str, **opts: Any) -> CommandResult:  # shim for adapters/http until converted
    from application.commands.problems import CloseProblem
    return _handle(desk, CloseProblem(ref=ref), actor, **opts)


def change_ref(desk: ServiceDesk, ref: str | None) -> str | None:
    """The id of the change ``ref`` (an id or ``CHG-…`` number); a 422 naming ``change_id``
    when there is no such change."""
    if ref is None or not ref.strip():
        return None
    try:
        return str(desk.get_record(ref, Change, "change").id)
    except RecordNotFound:
        raise InvalidCommand.field("change_id", f"no change {ref!r}") from None


# ------------------------------------------------------------------- reads


def get_problem(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> Problem:
    return desk.get_record(ref, Problem, LABEL, as_of)  # type: ignore[no-any-return]


def problem_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Problem, LABEL)
