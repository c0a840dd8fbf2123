"""Problems (DOMAIN §3, API.md "Problems"): reads, and the lookups the problem commands make.

The commands are values in ``application.commands.problems`` (``RecordProblem``,
``LinkTickets``, ...), run by ``ServiceDesk.handle``; a link between a problem and a ticket is
saved on both sides in one transaction (ADR 0019).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from application.desk import HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
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


def record_ref(desk: ServiceDesk, ref: str | None, record_class: type, label: str,
               field: str) -> str | None:
    """The id of the ``label`` record ``ref`` (an id or its number), None for no ref; a 422
    naming ``field`` when there is no such record."""
    if ref is None or not ref.strip():
        return None
    try:
        return str(desk.get_record(ref, record_class, label).id)
    except RecordNotFound:
        raise InvalidCommand.field(field, f"no {label} {ref!r}") from None


def change_ref(desk: ServiceDesk, ref: str | None) -> str | None:
    """The id of the change ``ref`` (an id or ``CHG-…`` number); a 422 naming ``change_id``
    when there is no such change."""
    return record_ref(desk, ref, Change, "change", "change_id")


# ------------------------------------------------------------------- reads


def get_problem(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> Problem:
    return desk.get_record(ref, Problem, LABEL, as_of)  # type: ignore[no-any-return]


def problem_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Problem, LABEL)
