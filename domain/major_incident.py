"""A major incident (重大事件 / 重大维护, issue 21 item 5, ADR 0067).

The source documents: a severe hidden risk or fault is handled "按照《重大维护工作处理流程》"
([000] 5), second-line staff and experts are pulled in, and "在遇到重大问题和紧急情况时,能够
及时与客户沟通和协商" ([001] 十); the monthly report has a "重大事件服务报告" ([001] 1.1.1).
So:

- ``declare`` records ``MajorIncident.Declared`` (``MI-YYYYMMDD-NNN``) on a ticket: a P1
  ticket, or any open ticket when a manager declares it (the command checks who). It names
  the incident commander and the communication plan: the customers whose contacts are told,
  the staff informed, and how often an update is due (``interval_minutes``).
- ``post_update`` records ``MajorIncident.UpdatePosted``; the next update is due one
  interval later. The watcher records ``MajorIncident.UpdateMissed`` once the due time of an
  update has passed without one, exactly once per due time.
- ``assign_commander`` hands command over (``CommanderAssigned``).
- ``record_review`` records the post-incident review (``ReviewRecorded``: summary, root
  cause, actions); it may be recorded again, the last one stands.
- ``open_problem`` links the problem opened from the incident (``ProblemOpened``), once.
- ``close`` records ``Closed``: refused (409 naming ``review``) until the review is recorded.

Pure: standard library and ``eventsourcing.domain``; time, actor and ids come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, given, present, refuse_fields, stripped, unique_texts
from domain.customer import normalise_customer_id
from domain.errors import FieldError
from domain.records import CopiesFields, RecordEvent, TicketIndex, directory

DEFAULT_INTERVAL_MINUTES = 30
MAX_INTERVAL_MINUTES = 24 * 60


class Status(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


ALLOWED: dict[Status, tuple[str, ...]] = {
    Status.ACTIVE: ("post_update", "assign_commander", "record_review", "open_problem",
                    "close"),
    Status.CLOSED: ("record_review", "open_problem"),
}


class MajorIncident(StatusRules, Aggregate):
    TOPIC = "opsledger.major_incident:MajorIncident"
    ALLOWED = ALLOWED
    RECORD = "major incident"

    class Event(RecordEvent):
        TOPIC = "opsledger.major_incident:MajorIncident.Event"

    class Declared(Aggregate.Created):
        """The incident on its ticket, with its commander and communication plan
        (``customers``: whose contacts are told; ``informed``: staff user ids told;
        ``interval_minutes``: how often an update is due)."""

        TOPIC = "opsledger.major_incident:MajorIncident.Declared"
        number: str
        ticket_id: str
        ticket_number: str
        customer: str
        title: str
        commander: str
        customers: tuple[str, ...]
        informed: tuple[str, ...]
        interval_minutes: int
        actor: str

    class UpdatePosted(Event):
        """A status update to the people of the plan; ``next_due``: when the next is due."""

        TOPIC = "opsledger.major_incident:MajorIncident.UpdatePosted"
        text: str
        next_due: datetime

        def apply(self, m: MajorIncident) -> None:
            m.updates = (*m.updates, (self.timestamp, self.actor, self.text))
            m.update_due = self.next_due

    class UpdateMissed(Event):
        """No update by its due time (recorded by the watcher, once per due time);
        ``occurred_at``: the due time itself."""

        TOPIC = "opsledger.major_incident:MajorIncident.UpdateMissed"
        due: datetime
        occurred_at: datetime

        def apply(self, m: MajorIncident) -> None:
            m.missed = (*m.missed, self.due)

    class CommanderAssigned(CopiesFields, Event):
        TOPIC = "opsledger.major_incident:MajorIncident.CommanderAssigned"
        commander: str

    class ReviewRecorded(Event):
        """The post-incident review (复盘): what happened, why, and what is to be done."""

        TOPIC = "opsledger.major_incident:MajorIncident.ReviewRecorded"
        summary: str
        root_cause: str
        actions: tuple[str, ...]

        def apply(self, m: MajorIncident) -> None:
            m.review = Review(self.summary, self.root_cause, tuple(self.actions),
                              self.actor, self.timestamp)

    class ProblemOpened(CopiesFields, Event):
        TOPIC = "opsledger.major_incident:MajorIncident.ProblemOpened"
        problem_id: str
        problem_number: str

    class Closed(Event):
        TOPIC = "opsledger.major_incident:MajorIncident.Closed"
        summary: str

        def apply(self, m: MajorIncident) -> None:
            m.status = Status.CLOSED
            m.closed_at = self.timestamp
            m.closed_by = self.actor
            m.closing_summary = self.summary

    def __init__(self, number: str, ticket_id: str, ticket_number: str, customer: str,
                 title: str, commander: str, customers: tuple[str, ...],
                 informed: tuple[str, ...], interval_minutes: int, actor: str) -> None:
        self.number = number
        self.ticket_id = ticket_id
        self.ticket_number = ticket_number
        self.customer = customer
        self.title = title
        self.commander = commander
        self.customers = tuple(customers)
        self.informed = tuple(informed)
        self.interval_minutes = interval_minutes
        self.declared_by = actor
        self.status = Status.ACTIVE
        self.updates: tuple[tuple[datetime, str, str], ...] = ()
        self.missed: tuple[datetime, ...] = ()
        self.update_due: datetime | None = None  # set from the creation time (below)
        self.review: Review | None = None
        self.problem_id = ""
        self.problem_number = ""
        self.closed_at: datetime | None = None
        self.closed_by: str | None = None
        self.closing_summary: str | None = None

    # ----------------------------------------------------------------- queries

    @property
    def declared_at(self) -> datetime:
        return self.created_on

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.interval_minutes)

    @property
    def next_update_due(self) -> datetime:
        """When the next update is due (one interval after the last, or the declaration)."""
        return self.update_due or self.declared_at + self.interval

    def update_overdue(self, now: datetime) -> bool:
        return self.status is Status.ACTIVE and now >= self.next_update_due

    def miss_due(self, now: datetime) -> bool:
        """Whether ``record_missed_update`` would record a miss at ``now``."""
        return self.update_overdue(now) and self.next_update_due not in self.missed

    def concerns(self, customer: str | None) -> bool:
        wanted = normalise_customer_id(customer or "")
        return bool(wanted) and (wanted == self.customer or wanted in self.customers)

    # ---------------------------------------------------------------- commands

    @classmethod
    def declare(cls, *, id: UUID, number: str, ticket_id: str, ticket_number: str,
                customer: str, title: str, commander: str, actor: str, at: datetime,
                customers: tuple[str, ...] | list[str] = (),
                informed: tuple[str, ...] | list[str] = (),
                interval_minutes: int = DEFAULT_INTERVAL_MINUTES) -> MajorIncident:
        """Declares the incident; ``customers`` always holds the ticket's customer; the
        commander left out is the declarer."""
        errors: list[FieldError] = []
        if not isinstance(interval_minutes, int) or not (
                1 <= interval_minutes <= MAX_INTERVAL_MINUTES):
            errors.append(FieldError("communication.interval_minutes",
                                     f"from 1 to {MAX_INTERVAL_MINUTES} minutes"))
        heading = present(errors, "title", stripped(title))
        refuse_fields(errors)
        told = unique_texts((customer, *customers), normalise_customer_id)
        return cls._create(
            cls.Declared, id=id, timestamp=at, number=number, ticket_id=ticket_id,
            ticket_number=ticket_number, customer=normalise_customer_id(customer),
            title=heading, commander=stripped(commander) or actor, customers=told,
            informed=unique_texts(informed), interval_minutes=interval_minutes, actor=actor)

    def post_update(self, *, text: str, actor: str, at: datetime) -> None:
        self.require("post_update")
        body = given("text", text, "say where the incident stands and what comes next")
        self.trigger_event(self.UpdatePosted, timestamp=at, actor=actor, text=body,
                           next_due=at + self.interval)

    def record_missed_update(self, *, now: datetime, actor: str, at: datetime) -> bool:
        """Records the missed update when one is due at ``now`` (``False``: nothing)."""
        if not self.miss_due(now):
            return False
        due = self.next_update_due
        self.trigger_event(self.UpdateMissed, timestamp=at, actor=actor, due=due,
                           occurred_at=due)
        return True

    def assign_commander(self, *, commander: str, actor: str, at: datetime) -> None:
        self.require("assign_commander")
        who = given("commander", commander, "name the incident commander (a user id)")
        if who != self.commander:
            self.trigger_event(self.CommanderAssigned, timestamp=at, actor=actor,
                               commander=who)

    def record_review(self, *, summary: str, root_cause: str, actions: tuple[str, ...],
                      actor: str, at: datetime) -> None:
        self.require("record_review")
        errors: list[FieldError] = []
        if not stripped(summary):
            errors.append(FieldError("summary", "must not be empty: what happened"))
        if not stripped(root_cause):
            errors.append(FieldError("root_cause", "must not be empty: why it happened"))
        refuse_fields(errors)
        self.trigger_event(self.ReviewRecorded, timestamp=at, actor=actor,
                           summary=stripped(summary), root_cause=stripped(root_cause),
                           actions=unique_texts(actions))

    def open_problem(self, *, problem_id: str, problem_number: str, actor: str,
                     at: datetime) -> None:
        self.require("open_problem")
        if self.problem_id:
            self.refuse("open_problem", f"problem {self.problem_number} was opened from it "
                                        "already")
        self.trigger_event(self.ProblemOpened, timestamp=at, actor=actor,
                           problem_id=problem_id, problem_number=problem_number)

    def close(self, *, summary: str, actor: str, at: datetime) -> None:
        missing = () if self.review is not None else ("review",)
        self.require("close", "record the post-incident review (review) before closing"
                     if missing else "", missing=missing)
        self.trigger_event(self.Closed, timestamp=at, actor=actor, summary=stripped(summary))


@dataclass(frozen=True)
class Review:
    """The post-incident review as recorded last."""

    summary: str
    root_cause: str
    actions: tuple[str, ...]
    by: str
    at: datetime


class _ByTicket(TicketIndex):
    def __init__(self) -> None:
        self.incidents: tuple[str, ...] = ()
        self.by_ticket: dict[str, str] = {}

    def listed(self, event: Any) -> None:
        self.incidents = (*self.incidents, event.incident_id)
        self.by_ticket = {**self.by_ticket, event.ticket_id: event.incident_id}


MajorIncidentDirectory = directory(
    "opsledger.major_incident:MajorIncidentDirectory", "opsledger:major-incident-directory",
    key="incident_id", items="incidents", fields=("incident_id", "ticket_id"),
    behaviour=_ByTicket, module=__name__,
    doc="""Every major incident in order of declaration and the one active on each ticket,
    changed in the same transaction as each incident (so two declarations on one ticket
    cannot both be saved).""")
