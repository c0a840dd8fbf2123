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
from projections.base import stamp

NAME = "ticket_list"
# Bump when the row shape or the handlers change: the runner rebuilds the view.
VERSION = 2  # 2: SLA columns (ADR 0017)

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
    # SLA columns (ADR 0017). Times are fixed-width UTC stamps (``stamp``) so that SQL can
    # compare them as text; all NULL until the ticket has deadlines.
    response_due: str | None
    resolution_due: str | None
    response_warn_at: str | None  # the instant of the lowest warning threshold
    resolution_warn_at: str | None
    responded_at: str | None  # the response clock's stop (first assign/start/work log)
    resolved_at: str | None  # the resolution clock's stop (resolution or invalidation)
    paused_since: str | None  # the last CustomerAwaited; paused = status waiting_customer
    escalation_level: int
    sla_state: str | None  # recorded by the watcher's events only: ok | warning | breached
    sla_next_due: str | None  # urgency key: the earliest due of the running clocks


COLUMNS: tuple[str, ...] = tuple(TicketRow.__annotations__)

TOPICS = frozenset(
    cls.TOPIC
    for cls in (
        Ticket.Registered,
        Ticket.Invalidated,
        Ticket.Classified,
        Ticket.PriorityGiven,
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
        Ticket.SlaDeadlinesSet,
        Ticket.SlaWarningRaised,
        Ticket.SlaBreached,
        Ticket.Escalated,
        Ticket.ProblemLinked,  # version only: the list shows the same version as the view
        Ticket.InformationAdded,  # version only (ADR 0052)
        Ticket.CommentAdded,  # version only (ADR 0055): a note changes no column
        Ticket.ServiceRequested, Ticket.Approved, Ticket.ApprovalRejected,  # ADR 0061
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
    Ticket.PriorityGiven.TOPIC: frozenset({"timestamp", "priority"}),
    Ticket.Assigned.TOPIC: frozenset({"timestamp", "assignee", "group"}),
    Ticket.SlaDeadlinesSet.TOPIC: frozenset({"timestamp", "deadlines"}),
    Ticket.Escalated.TOPIC: frozenset({"timestamp", "level"}),
    Ticket.ServiceRequested.TOPIC: frozenset({"timestamp", "approval"}),  # ADR 0061
    Ticket.Approved.TOPIC: frozenset({"timestamp", "status"}),
}


def _iso(value: datetime | str) -> str:
    """UTC, ``Z``-suffixed: the same form as every API response, and sortable as text."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


_KEYS: dict[Any, str] = {}


def row_key(originator_id: UUID | str) -> str:
    """The row id: the ticket's id as text (memoised: a ticket has many events). The memo is
    keyed by the UUID's integer: ``UUID.__hash__``/``__eq__`` are Python code, an int's are
    not, and this runs once per event on the rebuild's hot path."""
    try:
        number = originator_id.int  # type: ignore[union-attr]
    except AttributeError:
        return str(originator_id)
    try:
        return _KEYS[number]
    except KeyError:
        if len(_KEYS) > 200_000:
            _KEYS.clear()
        _KEYS[number] = key = str(originator_id)
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
        response_due=None,
        resolution_due=None,
        response_warn_at=None,
        resolution_warn_at=None,
        responded_at=None,
        resolved_at=None,
        paused_since=None,
        escalation_level=0,
        sla_state=None,
        sla_next_due=None,
    )


def _status(value: Status) -> Any:
    text = value.value

    def handle(e: Any, row: TicketRow) -> None:
        row["status"] = text

    return handle


_REGISTERED, _CLASSIFIED, _ASSIGNED = "registered", "classified", "assigned"
_IN_PROGRESS, _WAITING = Status.IN_PROGRESS.value, Status.WAITING_CUSTOMER.value
_RESOLVED = Status.RESOLVED.value


def _next_due(row: TicketRow) -> None:
    """The urgency key: the earliest due of the running clocks; when both have stopped, the
    resolution due (ADR 0017)."""
    if row["responded_at"] is None:
        row["sla_next_due"] = row["response_due"]
        due = row["resolution_due"]
        if row["resolved_at"] is None and due is not None and (
                row["sla_next_due"] is None or due < row["sla_next_due"]):
            row["sla_next_due"] = due
    else:
        row["sla_next_due"] = row["resolution_due"]


def _classified(e: Ticket.Classified, row: TicketRow) -> None:
    c = e.classification
    row["priority"] = str(c.priority)
    row["type"] = str(c.type)
    row["category"] = c.category
    if row["status"] == _REGISTERED:
        row["status"] = _CLASSIFIED


def _priority_given(e: Ticket.PriorityGiven, row: TicketRow) -> None:
    row["priority"] = str(e.priority)  # only recorded while the ticket is unclassified


# Handlers are inlined on the rebuild's hot path (ADR 0005 amendment).


def _responded(e: Any, row: TicketRow) -> None:
    """The first of assign/start/work log stops the response clock (Ticket.first_response_at)."""
    if row["responded_at"] is None:
        row["responded_at"] = stamp(e.timestamp)
        if row["response_due"] is not None:
            _next_due(row)


def _assigned(e: Ticket.Assigned, row: TicketRow) -> None:
    row["assignee"] = e.assignee
    row["group"] = e.group
    row["status"] = _ASSIGNED
    _responded(e, row)


def _working(e: Any, row: TicketRow) -> None:
    """Started, work logged: in progress; the first of them may be the first response."""
    row["status"] = _IN_PROGRESS
    _responded(e, row)


def _restarted(e: Any, row: TicketRow) -> None:
    """A rejected acceptance or a reopening: the resolution clock runs again."""
    row["status"] = _IN_PROGRESS
    row["resolved_at"] = None
    if row["resolution_due"] is not None:
        _next_due(row)


def _awaited(e: Ticket.CustomerAwaited, row: TicketRow) -> None:
    row["status"] = _WAITING
    row["paused_since"] = stamp(e.timestamp)


def _resolved(e: Ticket.Resolved, row: TicketRow) -> None:
    row["status"] = _RESOLVED
    # Ticket.resolve records ``resolution.resolved_at`` = the event's time, so the resolution
    # need not be decoded on the rebuild's hot path.
    row["resolved_at"] = stamp(e.timestamp)
    if row["resolution_due"] is not None:
        _next_due(row)


def _invalidated(e: Any, row: TicketRow) -> None:
    row["status"] = Status.INVALID.value
    row["resolved_at"] = stamp(e.timestamp)  # Ticket.sla_resolved_at: the invalidation
    if row["resolution_due"] is not None:
        _next_due(row)


def _first_warning(instants: Any, target_seconds: int) -> str | None:
    # The view warns from the lowest threshold on (sla_clock.read_clock), only with a target.
    if not instants or target_seconds <= 0:
        return None
    return stamp(min(instants))


def _deadlines(e: Ticket.SlaDeadlinesSet, row: TicketRow) -> None:
    d = e.deadlines
    row["response_due"] = stamp(d.response_due)
    row["resolution_due"] = stamp(d.resolution_due)
    row["response_warn_at"] = _first_warning(d.response_warnings, d.response_target_seconds)
    row["resolution_warn_at"] = _first_warning(
        d.resolution_warnings, d.resolution_target_seconds)
    if row["sla_state"] is None:
        row["sla_state"] = OK
    _next_due(row)


def _warned(e: Any, row: TicketRow) -> None:
    if row["sla_state"] != BREACHED:
        row["sla_state"] = WARNING


def _breached(e: Any, row: TicketRow) -> None:
    row["sla_state"] = BREACHED


def _escalated(e: Ticket.Escalated, row: TicketRow) -> None:
    row["escalation_level"] = e.level


# One handler per event class; events not listed change only the version (e.g. feedback).
_HANDLERS: dict[type, Any] = {
    Ticket.Invalidated: _invalidated,
    Ticket.Classified: _classified,
    Ticket.PriorityGiven: _priority_given,
    Ticket.Assigned: _assigned,
    Ticket.Started: _working,
    Ticket.WorkLogged: _working,
    Ticket.Resumed: _status(Status.IN_PROGRESS),
    Ticket.AcceptanceRejected: _restarted,
    Ticket.Reopened: _restarted,
    Ticket.CustomerAwaited: _awaited,
    Ticket.Resolved: _resolved,
    Ticket.AcceptanceConfirmed: _status(Status.CLOSED),
    Ticket.SlaDeadlinesSet: _deadlines,
    Ticket.SlaWarningRaised: _warned,
    Ticket.SlaBreached: _breached,
    Ticket.Escalated: _escalated,
    # a catalogue request (ADR 0061): awaiting its approval, approved, rejected
    Ticket.ServiceRequested: lambda e, row: row.update(
        status=Status.AWAITING_APPROVAL.value) if e.approval != "none" else None,
    Ticket.Approved: lambda e, row: row.update(status=Status(e.status).value),
    Ticket.ApprovalRejected: _invalidated,
}


# The scratch row of ``status_after``: no deadlines, and a response already recorded, so the
# first of assign/start/work log does not make a response time that nobody reads (a status
# never depends on it; a bulk rebuild of the ticket search calls this ~6 times a ticket).
_SCRATCH: dict[str, Any] = dict.fromkeys(COLUMNS) | {"escalation_level": 0, "responded_at": ""}


def status_after(status: str, event: Any) -> str:
    """The ticket's status after ``event`` when it was ``status``, by this view's own handlers:
    what another read model that keeps a ticket's status (``projections/ticket_search``) calls,
    so that the two cannot disagree. The handler runs on a scratch row (no deadlines), so an
    event needs the fields the handler reads (``FIELDS``) and nothing else."""
    handler = _HANDLERS.get(type(event))
    if handler is None:
        return status
    row = dict(_SCRATCH)
    row["status"] = status
    handler(event, row)
    return str(row["status"])


# ------------------------------------------------- the SLA state at a time (ADR 0017)

OK, WARNING, BREACHED, MET = "ok", "warning", "breached", "met"
SLA_STATES = (OK, WARNING, BREACHED, MET)


def sla_state_at(row: TicketRow, now: str) -> str | None:
    """The ticket view's ``sla.state`` at ``now`` (a ``stamp``) from the row alone; ``None``
    without deadlines. The same rule as ``sql.sla_state_sql`` (ADR 0017):

    * a paused ticket (waiting for the customer) is read at the pause's start;
    * a stopped clock is met when it stopped at or before its due, else breached;
    * a running clock is breached from its due on, in warning from its lowest warning
      threshold's instant on, else ok;
    * breached if either clock is; warning if either is; met when both stopped in time.
    """
    if row["response_due"] is None:
        return None
    at = row["paused_since"] if row["status"] == _WAITING and row["paused_since"] else now
    states = (
        _clock(row["response_due"], row["response_warn_at"], row["responded_at"], at),
        _clock(row["resolution_due"], row["resolution_warn_at"], row["resolved_at"], at),
    )
    if BREACHED in states:
        return BREACHED
    if WARNING in states:
        return WARNING
    if states == (MET, MET):
        return MET
    return OK


CLOCKS = ("response", "resolution")
_STOPS = {"response": "responded_at", "resolution": "resolved_at"}


def breached_clocks(row: TicketRow, start: str, now: str) -> tuple[str, ...]:
    """The clocks (``response``, ``resolution``) of ``row`` that breached in ``[start, now]``
    (stamps): a clock breaches at its due, so its due lies in that span and, at ``now``, it
    stopped after its due or still runs (read at the pause's start while paused) past it. An
    invalid ticket breaches nothing (as in the compliance figures). The same rule as
    ``sql.SqlTicketListView.breached`` (the dashboard's "breached today", issue 18)."""
    if row["response_due"] is None or row["status"] == Status.INVALID.value:
        return ()
    at = row["paused_since"] if row["status"] == _WAITING and row["paused_since"] else now
    found = []
    for clock in CLOCKS:
        due: str = row[f"{clock}_due"]  # type: ignore[literal-required]
        stopped: str | None = row[_STOPS[clock]]  # type: ignore[literal-required]
        if start <= due <= now and _clock(due, None, stopped, at) == BREACHED:
            found.append(clock)
    return tuple(found)


def reported_bound(when: datetime) -> str:
    """A ``reported_at`` text bound (rows store ``isoformat`` UTC with ``Z``, without
    microseconds when they are 0): the second without a suffix sorts before every value of
    that second and after every earlier one."""
    return when.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()


def _clock(due: Any, warn_at: str | None, stopped: str | None, at: str) -> str:
    if stopped is not None:
        return MET if stopped <= due else BREACHED
    if at >= due:
        return BREACHED
    if warn_at is not None and at >= warn_at:
        return WARNING
    return OK
