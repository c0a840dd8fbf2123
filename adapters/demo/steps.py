"""What the demo's record builders share: running their commands one step at a time, and
finding the demo's tickets still open to attach records to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.ticket import Status, Ticket


def stepper(desk: ServiceDesk, clock: FixedClock, actor: str) -> Callable[..., Any]:
    """``run(command, actor=actor)``: handles ``command`` a second after the step before it
    (every step its own recorded time, in log order); the aggregate it saved."""

    def run(command: Any, actor: str = actor) -> Any:
        clock.advance(seconds=1)
        return desk.handle(command, actor=actor).aggregate

    return run


def not_done(ticket: Ticket) -> bool:
    return ticket.status not in (Status.CLOSED, Status.INVALID)


def open_tickets(desk: ServiceDesk, plans: Sequence[Any], most: int | None = None,
                 wanted: Callable[[Ticket], bool] = not_done) -> list[Ticket]:
    """The demo's registered tickets (``plans`` in order) that are ``wanted`` (default: not
    closed or invalid), ``most`` of them at the most."""
    found: list[Ticket] = []
    for plan in plans:
        if len(found) == most:
            break
        if plan.number:
            ticket = desk.get_ticket(plan.number)
            if wanted(ticket):
                found.append(ticket)
    return found
