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

from application.commands.tickets import OpenRoutineTicket
from application.desk import ServiceDesk
from application.idempotency import IdempotencyKey
from domain.project import Project, Verdict
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


def open_command(project_id: str | UUID, routine_id: str,
                 run_at: datetime) -> tuple[OpenRoutineTicket, IdempotencyKey]:
    """The command that opens the ticket of one run, and the run's idempotency key."""
    return (OpenRoutineTicket(project_id=project_id, routine_id=routine_id, run_at=run_at),
            run_key(str(project_id), routine_id, run_at))


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
                command, key = open_command(e.originator_id, e.routine_id, e.run_at)
                self.desk.handle(command, actor=ACTOR, idempotency=key)
        self.tracking.move(start, end)

    def reset(self) -> None:
        self.tracking.reset()

    def close(self) -> None:
        self.tracking.close()
