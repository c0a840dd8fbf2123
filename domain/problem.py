"""The problem (问题管理), DOMAIN.md §3: the cause behind one or more incidents.

Lifecycle: ``recorded`` (from 0..n tickets, or on its own) → ``known_error`` (root cause or
workaround documented) → ``resolved`` (often through a change) → ``closed``. Classifying,
linking more tickets and revising the root cause or the workaround stay possible until the
problem is closed; each revision is a new event, so the history keeps every earlier text.

Rules chosen here (ADR 0019):

* Marking a known error needs a recorded root cause **or** workaround (a known error is a
  problem whose cause or way around is written down, so the knowledge base has something to
  say); otherwise a 409 whose ``missing`` names ``root_cause`` and ``workaround``.
* Resolving needs a precise resolution text (the tickets' rule, ``vague_resolution``); it
  does not need a root cause (a replaced part can fix a problem whose cause stays unknown).
* Linking a ticket that is already linked is a no-op (``False``, nothing recorded), so a
  retried link and a bulk link that names a known ticket are harmless.

Events carry ``actor``; the library's ``timestamp`` is the recording time passed in as ``at``.
Topics (``opsledger.problem:Problem.*``) are a stored contract, read by the knowledge base.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, given, refuse_fields, required, stripped
from domain.ci import CisAffectedEvent, NamesCis  # ADR 0063
from domain.errors import FieldError, InvalidCommand, ResolutionTooVague
from domain.priority import Priority
from domain.records import CopiesFields, RecordEvent
from domain.ticket import vague_resolution


class Status(StrEnum):
    RECORDED = "recorded"
    KNOWN_ERROR = "known_error"
    RESOLVED = "resolved"
    CLOSED = "closed"


S = Status
_REVISE = ("classify", "link_ticket", "link_tickets", "record_root_cause", "record_workaround")
# Which commands each status admits (API.md "Problems"); the 409 names these.
ALLOWED: dict[Status, tuple[str, ...]] = {
    S.RECORDED: (*_REVISE, "mark_known_error", "resolve"),
    S.KNOWN_ERROR: (*_REVISE, "resolve"),
    S.RESOLVED: (*_REVISE, "close"),
    S.CLOSED: (),
}
PRIORITIES = tuple(p.value for p in Priority)


class Problem(NamesCis, StatusRules, Aggregate):
    TOPIC = "opsledger.problem:Problem"
    ALLOWED = ALLOWED
    RECORD = "problem"

    class Event(RecordEvent):
        TOPIC = "opsledger.problem:Problem.Event"

    class Recorded(Aggregate.Created):
        TOPIC = "opsledger.problem:Problem.Recorded"
        number: str
        title: str
        description: str
        category: str | None
        affected_system: str
        tickets: tuple[str, ...]  # ids of the tickets it was recorded from
        actor: str
        ticket_numbers: tuple[str, ...] = ()  # their numbers, same order (for views)

    class Classified(CopiesFields, Event):
        TOPIC = "opsledger.problem:Problem.Classified"
        category: str | None
        priority: str | None

    class TicketLinked(Event):
        TOPIC = "opsledger.problem:Problem.TicketLinked"
        ticket_id: str
        ticket_number: str

        def apply(self, p: Problem) -> None:
            p.tickets = (*p.tickets, self.ticket_id)
            p.ticket_numbers = (*p.ticket_numbers, self.ticket_number)

    class CisAffected(CisAffectedEvent, Event):
        TOPIC = "opsledger.problem:Problem.CisAffected"

    class RootCauseRecorded(CopiesFields, Event):
        TOPIC = "opsledger.problem:Problem.RootCauseRecorded"
        root_cause: str

    class WorkaroundRecorded(CopiesFields, Event):
        TOPIC = "opsledger.problem:Problem.WorkaroundRecorded"
        workaround: str

    class KnownErrorMarked(Event):
        TOPIC = "opsledger.problem:Problem.KnownErrorMarked"

        def apply(self, p: Problem) -> None:
            p.status = Status.KNOWN_ERROR
            p.known_error_at = self.timestamp

    class Resolved(Event):
        TOPIC = "opsledger.problem:Problem.Resolved"
        resolution: str
        change_id: str | None

        def apply(self, p: Problem) -> None:
            p.status = Status.RESOLVED
            p.resolution = self.resolution
            p.change_id = self.change_id
            p.resolved_at = self.timestamp

    class Closed(Event):
        TOPIC = "opsledger.problem:Problem.Closed"

        def apply(self, p: Problem) -> None:
            p.status = Status.CLOSED
            p.closed_at = self.timestamp

    def __init__(
        self,
        number: str,
        title: str,
        description: str,
        category: str | None,
        affected_system: str,
        tickets: tuple[str, ...],
        actor: str,
        ticket_numbers: tuple[str, ...] = (),
    ) -> None:
        self.number = number
        self.title = title
        self.description = description
        self.category = category
        self.priority: str | None = None
        self.affected_system = affected_system
        self.tickets = tuple(tickets)
        # Numbers line up with ``tickets``; a stream without them shows the ids.
        self.ticket_numbers = tuple(ticket_numbers) or tuple(tickets)
        self.created_by = actor
        self.status = Status.RECORDED
        self.affected_cis: tuple[str, ...] = ()  # CI ids (ADR 0063)
        self.affected_ci_numbers: tuple[str, ...] = ()
        self.root_cause: str | None = None
        self.workaround: str | None = None
        self.resolution: str | None = None
        self.change_id: str | None = None
        self.known_error_at: datetime | None = None
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None

    # ----------------------------------------------------------------- queries

    @property
    def recorded_at(self) -> datetime:
        return self.created_on

    @property
    def known_error(self) -> bool:
        """Whether it was ever marked a known error (a fact that resolving does not undo)."""
        return self.known_error_at is not None

    def linked(self) -> list[tuple[str, str]]:
        """(ticket id, ticket number) of every linked ticket, oldest link first."""
        return list(zip(self.tickets, self.ticket_numbers, strict=True))

    # ---------------------------------------------------------------- commands

    @classmethod
    def record(
        cls,
        *,
        id: UUID,
        number: str,
        title: str,
        description: str,
        actor: str,
        at: datetime,
        category: str | None = None,
        affected_system: str = "",
        tickets: tuple[tuple[str, str], ...] = (),
    ) -> Problem:
        """``tickets``: (id, number) of each ticket it comes from (checked to exist by the
        use case, which links each ticket back in the same transaction)."""
        refuse_fields(required("title", title) + required("description", description))
        unique = tuple(dict(tickets).items())  # a ticket named twice is linked once
        return cls._create(
            cls.Recorded,
            id=id,
            timestamp=at,
            number=number,
            title=stripped(title),
            description=stripped(description),
            category=stripped(category) or None,
            affected_system=stripped(affected_system),
            tickets=tuple(t for t, _ in unique),
            ticket_numbers=tuple(n for _, n in unique),
            actor=actor,
        )

    def classify(
        self, *, actor: str, at: datetime, category: str | None = None, priority: str | None = None
    ) -> None:
        """Sets the category and/or priority (P1–P3); a value not given is kept."""
        self.require("classify")
        category = stripped(category) or None
        priority = stripped(priority).upper() or None
        if category is None and priority is None:
            raise InvalidCommand([
                FieldError("category", "give a category and/or a priority"),
                FieldError("priority", "give a category and/or a priority"),
            ])
        if priority is not None and priority not in PRIORITIES:
            raise InvalidCommand.field("priority", f"one of {', '.join(PRIORITIES)}")
        self.trigger_event(
            self.Classified, timestamp=at, actor=actor,
            category=category if category is not None else self.category,
            priority=priority if priority is not None else self.priority,
        )

    def link_ticket(self, *, ticket_id: str, ticket_number: str, actor: str, at: datetime) -> bool:
        """Links one more ticket; False (nothing recorded) when it is already linked."""
        self.require("link_ticket")
        if ticket_id in self.tickets:
            return False
        self.trigger_event(self.TicketLinked, timestamp=at, actor=actor,
                           ticket_id=ticket_id, ticket_number=ticket_number)
        return True

    def record_root_cause(self, *, root_cause: str, actor: str, at: datetime) -> None:
        self.require("record_root_cause")
        self.trigger_event(self.RootCauseRecorded, timestamp=at, actor=actor,
                           root_cause=given("root_cause", root_cause, "must not be empty"))

    def record_workaround(self, *, workaround: str, actor: str, at: datetime) -> None:
        self.require("record_workaround")
        self.trigger_event(self.WorkaroundRecorded, timestamp=at, actor=actor,
                           workaround=given("workaround", workaround, "must not be empty"))

    def mark_known_error(self, *, actor: str, at: datetime) -> None:
        self.require("mark_known_error")
        if self.root_cause is None and self.workaround is None:
            self.require(
                "mark_known_error", "record a root cause or a workaround first",
                missing=("root_cause", "workaround"),
            )
        self.trigger_event(self.KnownErrorMarked, timestamp=at, actor=actor)

    def resolve(
        self, *, resolution: str, actor: str, at: datetime, change_id: str | None = None
    ) -> None:
        """``change_id``: the change that fixed it (checked to exist by the use case)."""
        self.require("resolve")
        if vague_resolution(resolution):
            raise ResolutionTooVague(resolution)
        self.trigger_event(self.Resolved, timestamp=at, actor=actor,
                           resolution=stripped(resolution), change_id=change_id)

    def close(self, *, actor: str, at: datetime) -> None:
        self.require("close", "only a resolved problem can be closed"
                      if self.status in (S.RECORDED, S.KNOWN_ERROR) else "")
        self.trigger_event(self.Closed, timestamp=at, actor=actor)
