"""The problem list read model: one row per problem, for lists and filters (status, category,
linked ticket).

``apply`` computes a row from the row as it stands (or ``None``) and one problem event, and
touches nothing else; the view adapters load the rows a batch touches, run ``apply`` and
write them back with the tracking position (``docs/write-a-projection.md``). ``tickets`` is a
JSON list of the linked ticket ids; the SQL views also keep it as rows of a link table so
that the ``ticket`` filter uses an index.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypedDict

from domain.problem import Problem, Status
from projections.knowledge.search import fold

NAME = "problem_list"
# Bump when the row shape or the handlers change: the runner rebuilds the view.
VERSION = 2  # 2: the folded search text of the SQL views (ADR 0050)


class ProblemRow(TypedDict):
    id: str
    seq: int  # log position of the recording: a stable ordering key
    number: str
    status: str
    title: str
    category: str | None
    priority: str | None
    affected_system: str
    known_error: int  # 1 once marked a known error
    change_id: str | None
    tickets: str  # JSON list of ticket ids, oldest link first
    ticket_count: int
    created_by: str
    recorded_at: str
    updated_at: str
    version: int


COLUMNS: tuple[str, ...] = tuple(ProblemRow.__annotations__)

TOPICS = frozenset(
    cls.TOPIC
    for cls in (
        Problem.Recorded, Problem.Classified, Problem.TicketLinked, Problem.RootCauseRecorded,
        Problem.WorkaroundRecorded, Problem.KnownErrorMarked, Problem.Resolved, Problem.Closed,
    )
)

# The fields ``apply`` reads, per topic: the runner decodes only these (ADR 0005).
FIELDS: dict[str, frozenset[str]] = {topic: frozenset({"timestamp"}) for topic in TOPICS} | {
    Problem.Recorded.TOPIC: frozenset(
        {"timestamp", "number", "title", "category", "affected_system", "tickets", "actor"}),
    Problem.Classified.TOPIC: frozenset({"timestamp", "category", "priority"}),
    Problem.TicketLinked.TOPIC: frozenset({"timestamp", "ticket_id"}),
    Problem.Resolved.TOPIC: frozenset({"timestamp", "change_id"}),
}


def iso(value: datetime) -> str:
    """UTC, ``Z``-suffixed: the form of every API response, sortable as text."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def search_text(row: ProblemRow) -> str:
    """What the desk's search looks in (ADR 0050): the number, title, affected system and
    category, folded (``knowledge.search.fold``), one a line."""
    return fold("\n".join((row["number"], row["title"], row["affected_system"],
                           row["category"] or "")))


def ticket_ids(row: ProblemRow) -> list[str]:
    return list(json.loads(row["tickets"]))


def apply(row: ProblemRow | None, event: Any, position: int) -> ProblemRow | None:
    """The row after ``event`` (``None`` if the row cannot exist yet); a given row is updated
    in place and returned. An event not newer than the row changes nothing."""
    kind = type(event)
    if row is None:
        if kind is not Problem.Recorded:
            return None
        return _recorded(event, position)
    if event.originator_version <= row["version"]:
        return row
    if kind is Problem.Classified:
        row["category"] = event.category
        row["priority"] = event.priority
    elif kind is Problem.TicketLinked:
        tickets = ticket_ids(row)
        if event.ticket_id not in tickets:
            tickets.append(event.ticket_id)
        _set_tickets(row, tickets)
    elif kind is Problem.KnownErrorMarked:
        row["status"] = Status.KNOWN_ERROR.value
        row["known_error"] = 1
    elif kind is Problem.Resolved:
        row["status"] = Status.RESOLVED.value
        row["change_id"] = event.change_id
    elif kind is Problem.Closed:
        row["status"] = Status.CLOSED.value
    row["version"] = event.originator_version
    row["updated_at"] = iso(event.timestamp)
    return row


def _set_tickets(row: ProblemRow, tickets: list[str]) -> None:
    row["tickets"] = json.dumps(tickets)
    row["ticket_count"] = len(tickets)


def _recorded(e: Problem.Recorded, position: int) -> ProblemRow:
    row = ProblemRow(
        id=str(e.originator_id), seq=position, number=e.number, status=Status.RECORDED.value,
        title=e.title, category=e.category, priority=None, affected_system=e.affected_system,
        known_error=0, change_id=None, tickets="[]", ticket_count=0, created_by=e.actor,
        recorded_at=iso(e.timestamp), updated_at=iso(e.timestamp),
        version=e.originator_version,
    )
    _set_tickets(row, list(dict.fromkeys(e.tickets)))
    return row
