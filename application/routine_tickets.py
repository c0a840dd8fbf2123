"""The process manager that opens a ticket for every abnormal routine run (DOMAIN §5: "an
abnormal result opens a ticket"; ADR 0028).

It follows the event log like a read model (the projection runner drives it through the
``View`` protocol: ``position``, ``apply``, ``reset``, ``close``) with its own tracking
position. For each ``Project.RoutineRecorded`` with verdict ``abnormal`` it saves, in **one
transaction**: the ticket (``SR-…``, ``source`` naming the run), the project's
``RoutineTicketOpened`` (the link back) and an idempotency record whose key derives from
project id + routine id + run time.

Exactly once, across restarts and concurrent runners: the tracking position moves only after
the tickets are saved, so a crash in between replays the batch; the replay (or a second runner
racing on the same batch) finds the idempotency record and the project's link, and opens
nothing more. Two concurrent openers of one run cannot both commit: the idempotency record's
id and the project's next version are taken by the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from application.desk import CommandResult, ServiceDesk, ticket_id_for
from application.idempotency import IdempotencyKey
from application.sealing import ROUTINE_SIGNER
from domain.numbering import RecordKind
from domain.project import Project, Verdict
from domain.ticket import Channel, Contact, Ticket
from projections.base import TrackingConflict

ACTOR = "system:routines"
NAME = "routine_tickets"


class Position(Protocol):
    name: str

    def position(self) -> int: ...

    def move(self, start: int, end: int) -> None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


def run_key(project_id: str, routine_id: str, run_at: datetime) -> IdempotencyKey:
    """The deterministic identity of the ticket of one run (whatever number it gets)."""
    at = run_at.astimezone(UTC).isoformat()
    return IdempotencyKey(f"routine-ticket:{project_id}:{routine_id}:{at}",
                          fingerprint="routine-ticket")


def source_of(project_id: str, routine_id: str, run_at: datetime) -> str:
    return f"routine:{project_id}:{routine_id}:{run_at.astimezone(UTC).isoformat()}"


def open_routine_ticket(desk: ServiceDesk, project_id: str | UUID, routine_id: str,
                        run_at: datetime) -> CommandResult | None:
    """Opens the ticket of an abnormal run and links it on the project, once; ``None`` when
    the run already has its ticket (nothing saved)."""
    project: Project = desk.get_record(project_id, Project, "project")
    run = project.run(routine_id, run_at)
    if run is None or run.verdict != Verdict.ABNORMAL or run.ticket_id is not None:
        return None
    key = run_key(str(project.id), routine_id, run_at)

    def mutate(_: None, at: datetime, numbers: Any) -> Any:
        p: Project = desk.get_record(project.id, Project, "project")
        r = p.run(routine_id, run_at)
        routine = p.routine(routine_id)
        assert r is not None and routine is not None
        number = numbers.issue(RecordKind.SERVICE_REQUEST)
        local = run_at.astimezone(UTC).isoformat()
        ticket = Ticket.register(
            id=ticket_id_for(number), number=number, customer=p.customer,
            contact=Contact(name=r.signer), channel=Channel.ONSITE,
            title=f"{routine.name}: abnormal result ({p.number})",
            # The signer is the contact (sealed with the customer's key); the description is
            # plain text, so it does not name them (ADR 0043).
            description=f"Routine {routine.kind} '{routine.name}' of project {p.number} run at "
                        f"{local}, performed {r.performed_at.isoformat()}, signed by "
                        f"{ROUTINE_SIGNER}, found: {r.findings}",
            affected_system=p.name, reported_at=min(r.performed_at, at),
            source=source_of(str(p.id), routine_id, run_at), actor=ACTOR, at=at)
        p.link_routine_ticket(routine_id=routine_id, run_at=run_at, ticket_id=str(ticket.id),
                              ticket_number=number, actor=ACTOR, at=at)
        return (ticket, p)

    return desk._run(None, mutate, actor=ACTOR, expected_version=None, idempotency=key)


class RoutineTicketOpener:
    """The process manager as a follower of the log (``projections.base.View``)."""

    name = NAME
    topics = frozenset({Project.RoutineRecorded.TOPIC})

    def __init__(self, desk: ServiceDesk, tracking: Position) -> None:
        self.desk = desk
        self.tracking = tracking

    def position(self) -> int:
        return self.tracking.position()

    def apply(self, events: Sequence[Any], *, start: int, end: int) -> None:
        if self.tracking.position() != start:
            raise TrackingConflict(self.name, start, self.tracking.position())
        for positioned in events:
            e = positioned.event
            if e.verdict == Verdict.ABNORMAL:
                open_routine_ticket(self.desk, e.originator_id, e.routine_id, e.run_at)
        self.tracking.move(start, end)

    def reset(self) -> None:
        self.tracking.reset()

    def close(self) -> None:
        self.tracking.close()
