"""The ticket list read model: one row per ticket, for lists, filters and queues.

``apply`` computes a row from the row as it stands (or ``None``) and one ticket event, and
touches nothing else. The view adapters (memory, SQLite, PostgreSQL) load the rows a batch
touches, run ``apply`` over the batch and write the rows back with the tracking position.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypedDict
from uuid import UUID

from domain.ticket import Status, Ticket

NAME = "ticket_list"
# Bump when the row shape or the handlers change: the runner rebuilds the view.
VERSION = 1

OPEN_STATUSES = (
    Status.REGISTERED,
    Status.CLASSIFIED,
    Status.ASSIGNED,
    Status.IN_PROGRESS,
    Status.WAITING_CUSTOMER,
    Status.RESOLVED,
)


class TicketRow(TypedDict):
    id: str
    seq: int  # log position of the registration: a stable ordering key
    number: str
    status: str
    priority: str | None
    type: str | None
    category: str | None
    customer: str
    title: str
    channel: str
    affected_system: str
    assignee: str | None
    group: str | None
    reported_at: str
    recorded_at: str
    updated_at: str
    version: int


COLUMNS: tuple[str, ...] = tuple(TicketRow.__annotations__)

TOPICS = frozenset(
    cls.TOPIC
    for cls in (
        Ticket.Registered,
        Ticket.Invalidated,
        Ticket.Classified,
        Ticket.Assigned,
        Ticket.Started,
        Ticket.WorkLogged,
        Ticket.CustomerAwaited,
        Ticket.Resumed,
        Ticket.Resolved,
        Ticket.AcceptanceConfirmed,
        Ticket.AcceptanceRejected,
        Ticket.Reopened,
        Ticket.FeedbackGiven,
        Ticket.SlaDeadlinesSet,  # no column yet; keeps the row's version in step
    )
)


# The fields ``apply`` reads, per topic: the runner decodes only these (ADR 0005).
FIELDS: dict[str, frozenset[str]] = {
    topic: frozenset({"timestamp"}) for topic in TOPICS
} | {
    Ticket.Registered.TOPIC: frozenset(
        {"timestamp", "number", "customer", "title", "channel", "affected_system",
         "reported_at", "proposed"}
    ),
    Ticket.Classified.TOPIC: frozenset({"timestamp", "classification"}),
    Ticket.Assigned.TOPIC: frozenset({"timestamp", "assignee", "group"}),
}


def _iso(value: datetime | str) -> str:
    """UTC, ``Z``-suffixed: the same form as every API response, and sortable as text."""
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_KEYS: dict[Any, str] = {}


def row_key(originator_id: UUID | str) -> str:
    """The row id: the ticket's id as text (memoised: a ticket has many events)."""
    try:
        return _KEYS[originator_id]
    except KeyError:
        if len(_KEYS) > 200_000:
            _KEYS.clear()
        _KEYS[originator_id] = key = str(originator_id)
        return key


def apply(row: TicketRow | None, event: Any, position: int) -> TicketRow | None:
    """The row after ``event`` (``None`` if the row cannot exist yet).

    For speed a given row is updated **in place** and returned; views hand in rows they own
    for the batch (loaded from the database, or copied by the memory view). Time fields may
    hold ``datetime`` values until ``finish`` formats the row for storage.
    """
    if row is None:
        if type(event) is not Ticket.Registered:
            return None
        return _registered(event, position)
    if event.originator_version <= row["version"]:
        return row  # already applied: a view fed the same event twice is unchanged
    handler = _HANDLERS.get(type(event))
    if handler is not None:
        handler(event, row)
    row["version"] = event.originator_version
    row["updated_at"] = event.timestamp  # type: ignore[typeddict-item]
    return row


def finish(row: TicketRow) -> TicketRow:
    """Format the time fields for storage (once per row and batch, not per event)."""
    row["updated_at"] = _iso(row["updated_at"])
    return row


def _registered(e: Ticket.Registered, position: int) -> TicketRow:
    return TicketRow(
        id=row_key(e.originator_id),
        seq=position,
        number=e.number,
        status=_REGISTERED,
        priority=None,
        type=str(e.proposed.type) if e.proposed.type else None,
        category=e.proposed.category,
        customer=e.customer,
        title=e.title,
        channel=str(e.channel),
        affected_system=e.affected_system,
        assignee=None,
        group=None,
        reported_at=_iso(e.reported_at),
        recorded_at=_iso(e.timestamp),
        updated_at=e.timestamp,  # type: ignore[typeddict-item]
        version=e.originator_version,
    )


def _status(value: Status) -> Any:
    text = value.value

    def handle(e: Any, row: TicketRow) -> None:
        row["status"] = text

    return handle


_REGISTERED, _CLASSIFIED, _ASSIGNED = "registered", "classified", "assigned"


def _classified(e: Ticket.Classified, row: TicketRow) -> None:
    c = e.classification
    row["priority"] = str(c.priority)
    row["type"] = str(c.type)
    row["category"] = c.category
    if row["status"] == _REGISTERED:
        row["status"] = _CLASSIFIED


def _assigned(e: Ticket.Assigned, row: TicketRow) -> None:
    row["assignee"] = e.assignee
    row["group"] = e.group
    row["status"] = _ASSIGNED


# One handler per event class; events not listed change only the version (e.g. feedback).
_HANDLERS: dict[type, Any] = {
    Ticket.Invalidated: _status(Status.INVALID),
    Ticket.Classified: _classified,
    Ticket.Assigned: _assigned,
    Ticket.Started: _status(Status.IN_PROGRESS),
    Ticket.WorkLogged: _status(Status.IN_PROGRESS),
    Ticket.Resumed: _status(Status.IN_PROGRESS),
    Ticket.AcceptanceRejected: _status(Status.IN_PROGRESS),
    Ticket.Reopened: _status(Status.IN_PROGRESS),
    Ticket.CustomerAwaited: _status(Status.WAITING_CUSTOMER),
    Ticket.Resolved: _status(Status.RESOLVED),
    Ticket.AcceptanceConfirmed: _status(Status.CLOSED),
}
