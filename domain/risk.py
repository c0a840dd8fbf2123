"""A hidden risk (隐患, issue 21 item 4, ADR 0067).

The source documents' 隐患处理流程 ([000] 5): a risk found in a system is recorded, its
potential impact judged (second line, experts, the vendor), and followed until it is gone;
a severe one is handled as a major incident. Risks are found during inspections (a project's
routine run, [004] 3.1 "发现并消除潜在的故障隐患") or during work on a ticket. So:

- ``record`` records ``Risk.Recorded`` (``RSK-YYYYMMDD-NNN``): the customer whose system it
  is, a title, the severity, a description, the owner who follows it and the due date by
  which it is to be removed, and where it was found (a ticket, an inspection, or neither).
- ``follow_up`` records ``Risk.FollowedUp``: a note, and optionally a new severity, owner or
  due date (the record keeps every earlier value in its history).
- ``remove`` (整改完成) records ``Risk.Removed`` with what was done.
- ``accept`` records ``Risk.Accepted``: the customer accepts the risk as it is, with a
  reason -- a requester of the risk's customer, or a manager on their behalf
  (``on_behalf``).
- ``alarm_overdue`` records ``Risk.OverdueAlarmed`` once the due time has passed on an open
  risk, exactly once per due time: a second call records nothing; a new due time given by a
  follow-up may alarm again when it passes.

Removed and accepted are final. Pure: standard library and ``eventsourcing.domain``; time,
actor and ids come in as arguments.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, given, instant_errors, present, refuse_fields, stripped
from domain.customer import normalise_customer_id
from domain.errors import FieldError
from domain.records import RecordEvent, directory


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITIES = tuple(s.value for s in Severity)


class Status(StrEnum):
    OPEN = "open"
    REMOVED = "removed"
    ACCEPTED = "accepted"


class Source(StrEnum):
    """Where the risk was found."""

    INSPECTION = "inspection"  # a routine run of a project (巡检)
    TICKET = "ticket"  # work on a ticket
    OTHER = "other"


SOURCES = tuple(s.value for s in Source)

ALLOWED: dict[Status, tuple[str, ...]] = {
    Status.OPEN: ("follow_up", "remove", "accept"),
    Status.REMOVED: (),
    Status.ACCEPTED: (),
}


def severity_errors(field: str, value: Any) -> list[FieldError]:
    if value in SEVERITIES:
        return []
    return [FieldError(field, f"one of {', '.join(SEVERITIES)}")]


def due_errors(field: str, value: Any) -> list[FieldError]:
    return instant_errors(field, value, "must not be empty: the date by which the risk is removed")


class Risk(StatusRules, Aggregate):
    TOPIC = "opsledger.risk:Risk"
    ALLOWED = ALLOWED
    RECORD = "risk"

    class Event(RecordEvent):
        TOPIC = "opsledger.risk:Risk.Event"

    class Recorded(Aggregate.Created):
        """The risk as found. ``ticket_*`` / ``project_*``: the record it was found on
        (``""`` when none); ``routine_id``: the inspection (a project's routine)."""

        TOPIC = "opsledger.risk:Risk.Recorded"
        number: str
        customer: str
        title: str
        description: str
        severity: str
        owner: str
        due: datetime
        source: str
        ticket_id: str
        ticket_number: str
        project_id: str
        project_number: str
        routine_id: str
        actor: str

    class FollowedUp(Event):
        """A follow-up note; ``severity`` / ``owner`` / ``due`` when they change (else
        empty / ``None``)."""

        TOPIC = "opsledger.risk:Risk.FollowedUp"
        note: str
        severity: str
        owner: str
        due: datetime | None

        def apply(self, r: Risk) -> None:
            r.updates = (*r.updates, (self.timestamp, self.actor, self.note))
            if self.severity:
                r.severity = Severity(self.severity)
            if self.owner:
                r.owner = self.owner
            if self.due is not None:
                r.due = self.due

    class Removed(Event):
        """整改完成: the risk is gone; ``how``: what was done."""

        TOPIC = "opsledger.risk:Risk.Removed"
        how: str

        def apply(self, r: Risk) -> None:
            r.status = Status.REMOVED
            r.closed_at = self.timestamp
            r.closed_by = self.actor
            r.closing_text = self.how

    class Accepted(Event):
        """The customer accepts the risk as it stands; ``on_behalf``: a manager recorded it
        for the customer (else a requester of the customer did)."""

        TOPIC = "opsledger.risk:Risk.Accepted"
        reason: str
        on_behalf: bool

        def apply(self, r: Risk) -> None:
            r.status = Status.ACCEPTED
            r.closed_at = self.timestamp
            r.closed_by = self.actor
            r.closing_text = self.reason
            r.accepted_on_behalf = self.on_behalf

    class OverdueAlarmed(Event):
        """The due time passed while the risk was open (recorded by the watcher, once per
        due time); ``occurred_at``: the due time itself."""

        TOPIC = "opsledger.risk:Risk.OverdueAlarmed"
        due: datetime
        occurred_at: datetime

        def apply(self, r: Risk) -> None:
            r.alarmed_due = self.due
            r.alarms += 1

    def __init__(self, number: str, customer: str, title: str, description: str,
                 severity: str, owner: str, due: datetime, source: str, ticket_id: str,
                 ticket_number: str, project_id: str, project_number: str, routine_id: str,
                 actor: str) -> None:
        self.number = number
        self.customer = customer
        self.title = title
        self.description = description
        self.severity = Severity(severity)
        self.owner = owner
        self.due = due
        self.source = Source(source)
        self.ticket_id = ticket_id
        self.ticket_number = ticket_number
        self.project_id = project_id
        self.project_number = project_number
        self.routine_id = routine_id
        self.recorded_by = actor
        self.status = Status.OPEN
        self.updates: tuple[tuple[datetime, str, str], ...] = ()
        self.closed_at: datetime | None = None
        self.closed_by: str | None = None
        self.closing_text: str | None = None
        self.accepted_on_behalf = False
        self.alarmed_due: datetime | None = None
        self.alarms = 0

    # ----------------------------------------------------------------- queries

    @property
    def recorded_at(self) -> datetime:
        return self.created_on

    def overdue(self, now: datetime) -> bool:
        """Open and past its due time at ``now``."""
        return self.status is Status.OPEN and now >= self.due

    def alarm_due(self, now: datetime) -> bool:
        """Whether ``alarm_overdue`` would record an alarm at ``now``."""
        return self.overdue(now) and self.alarmed_due != self.due

    # ---------------------------------------------------------------- commands

    @classmethod
    def record(cls, *, id: UUID, number: str, customer: str, title: str, severity: str,
               due: datetime | None, owner: str, actor: str, at: datetime,
               description: str = "", ticket: tuple[str, str] = ("", ""),
               project: tuple[str, str] = ("", ""), routine_id: str = "",
               source: str = "") -> Risk:
        """Records the risk; one 422 names every field refused. ``owner`` left out: the
        person who records it follows it. ``source``: where it was found when no ticket or
        project says so (``inspection``, ``ticket``, ``other``)."""
        errors: list[FieldError] = []
        who = present(errors, "customer", normalise_customer_id(customer))
        heading = present(errors, "title", stripped(title), "must not be empty: what is the risk")
        errors += severity_errors("severity", severity) + due_errors("due", due)
        if source and source not in SOURCES:
            errors.append(FieldError("source", f"one of {', '.join(SOURCES)}"))
        refuse_fields(errors)
        assert due is not None
        found = (Source.TICKET if ticket[0] else Source.INSPECTION if project[0] else
                 Source(source or Source.OTHER))
        return cls._create(
            cls.Recorded, id=id, timestamp=at, number=number, customer=who, title=heading,
            description=stripped(description), severity=severity,
            owner=stripped(owner) or actor, due=due, source=found.value,
            ticket_id=ticket[0], ticket_number=ticket[1], project_id=project[0],
            project_number=project[1], routine_id=stripped(routine_id), actor=actor)

    def follow_up(self, *, note: str, actor: str, at: datetime, severity: str = "",
                  owner: str = "", due: datetime | None = None) -> None:
        self.require("follow_up")
        errors: list[FieldError] = []
        text = present(errors, "note", stripped(note),
                       "must not be empty: what was found or done")
        if severity:
            errors += severity_errors("severity", severity)
        if due is not None:
            errors += due_errors("due", due)
        refuse_fields(errors)
        self.trigger_event(self.FollowedUp, timestamp=at, actor=actor, note=text,
                           severity=severity if severity != self.severity else "",
                           owner=stripped(owner) if stripped(owner) != self.owner else "",
                           due=due if due != self.due else None)

    def remove(self, *, how: str, actor: str, at: datetime) -> None:
        self.require("remove")
        self.trigger_event(self.Removed, timestamp=at, actor=actor, how=given(
            "how", how, "say what was done to remove the risk (整改措施)"))

    def accept(self, *, reason: str, on_behalf: bool, actor: str, at: datetime) -> None:
        self.require("accept")
        self.trigger_event(self.Accepted, timestamp=at, actor=actor, on_behalf=on_behalf,
                           reason=given("reason", reason,
                                        "say why the customer accepts the risk"))

    def alarm_overdue(self, *, now: datetime, actor: str, at: datetime) -> bool:
        """Records the overdue alarm when it is due at ``now`` (``False``: nothing to
        record); ``at``: when it is recorded."""
        if not self.alarm_due(now):
            return False
        self.trigger_event(self.OverdueAlarmed, timestamp=at, actor=actor, due=self.due,
                           occurred_at=self.due)
        return True


RiskDirectory = directory(
    "opsledger.risk:RiskDirectory", "opsledger:risk-directory",
    key="risk_id", items="risks", module=__name__,
    doc="""The ids of every risk in order of recording (for the lists and the watcher), changed in
    the same transaction as each risk, like ``AnnouncementDirectory``.""")
