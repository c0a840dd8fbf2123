"""The ticket list read model: one row per ticket, for lists, filters and queues.

``apply`` is pure: given the row as it stands (or ``None``) and one ticket event, it returns
the new row. The view adapters (memory, SQLite, PostgreSQL) load the rows a batch touches,
run ``apply`` over the batch and write the rows back with the tracking position.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import singledispatch
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
    )
)


def _iso(value: datetime) -> str:
    """UTC, ``Z``-suffixed: the same form as every API response, and sortable as text."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def row_key(originator_id: UUID | str) -> str:
    return str(originator_id)


def apply(row: TicketRow | None, event: Any, position: int) -> TicketRow | None:
    """The new row after ``event`` (``None`` if the row cannot exist yet)."""
    if row is None:
        if not isinstance(event, Ticket.Registered):
            return None
        return _registered(event, position)
    if event.originator_version <= row["version"]:
        return row  # already applied: a view fed the same event twice is unchanged
    new: TicketRow = {**row}  # type: ignore[typeddict-item]
    _handle(event, new)
    new["version"] = event.originator_version
    new["updated_at"] = _iso(event.timestamp)
    return new


def _registered(e: Ticket.Registered, position: int) -> TicketRow:
    return TicketRow(
        id=row_key(e.originator_id),
        seq=position,
        number=e.number,
        status=Status.REGISTERED.value,
        priority=None,
        type=e.proposed.type.value if e.proposed.type else None,
        category=e.proposed.category,
        customer=e.customer,
        title=e.title,
        channel=e.channel.value,
        affected_system=e.affected_system,
        assignee=None,
        group=None,
        reported_at=_iso(e.reported_at),
        recorded_at=_iso(e.timestamp),
        updated_at=_iso(e.timestamp),
        version=e.originator_version,
    )


@singledispatch
def _handle(event: Any, row: TicketRow) -> None:
    """Events this view does not show change only the version."""


@_handle.register
def _(e: Ticket.Invalidated, row: TicketRow) -> None:
    row["status"] = Status.INVALID.value


@_handle.register
def _(e: Ticket.Classified, row: TicketRow) -> None:
    c = e.classification
    row["priority"] = c.priority.value
    row["type"] = c.type.value
    row["category"] = c.category
    if row["status"] == Status.REGISTERED.value:
        row["status"] = Status.CLASSIFIED.value


@_handle.register
def _(e: Ticket.Assigned, row: TicketRow) -> None:
    row["assignee"] = e.assignee
    row["group"] = e.group
    row["status"] = Status.ASSIGNED.value


@_handle.register(Ticket.Started)
@_handle.register(Ticket.WorkLogged)
@_handle.register(Ticket.Resumed)
@_handle.register(Ticket.AcceptanceRejected)
@_handle.register(Ticket.Reopened)
def _(e: Any, row: TicketRow) -> None:
    row["status"] = Status.IN_PROGRESS.value


@_handle.register
def _(e: Ticket.CustomerAwaited, row: TicketRow) -> None:
    row["status"] = Status.WAITING_CUSTOMER.value


@_handle.register
def _(e: Ticket.Resolved, row: TicketRow) -> None:
    row["status"] = Status.RESOLVED.value


@_handle.register
def _(e: Ticket.AcceptanceConfirmed, row: TicketRow) -> None:
    row["status"] = Status.CLOSED.value
