"""Field-visit commands on a ticket (派工单 ``PG-…``, issue 20 item 4, ADR 0064); fields are
named as the bodies of ``POST /api/v1/tickets/{ref}/visits`` and
``POST /api/v1/tickets/{ref}/visits/{visit}/<step>``.

Each records one ``Ticket.Visit*`` event on the ticket (so the SLA and milestone clocks see
it in the same save); planning also lists the visit in the ``VisitRegister`` (the
out-of-office register's index) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from application.commands.base import command
from application.commands.tickets import TicketCommand
from application.identities import require_known_user
from domain.numbering import RecordKind
from domain.ticket import Ticket
from domain.visit import VisitRegister

if TYPE_CHECKING:
    from application.desk import Context


@command
class PlanVisit(TicketCommand):
    """``Ticket.plan_visit`` → ``Ticket.VisitPlanned`` (a ``PG-`` number) and
    ``VisitRegister.Listed``. Once the store has users the engineer must be one (a 422 naming
    ``engineer``); ``known_engineer=False`` skips that for the demo's cast (ADR 0045).
    HTTP: ``PlanVisit``."""

    verb = "plan_visit"
    engineer: str
    planned_arrival: datetime | None = None
    note: str = ""
    known_engineer: bool = True

    def decide(self, t: Ticket, ctx: Context) -> Any:
        number = ctx.issue(RecordKind.DISPATCH_ORDER)
        t.plan_visit(number=number, engineer=self.engineer, planned_arrival=self.planned_arrival,
                     note=self.note, actor=ctx.actor, at=ctx.at)
        if self.known_engineer:
            require_known_user(ctx.desk, self.engineer.strip(), "engineer")
        register = ctx.desk.load(VisitRegister.ID) or VisitRegister.open(ctx.at)
        register.add(number, str(t.id), ctx.at)
        return register


@command
class RescheduleVisit(TicketCommand):
    """``Ticket.reschedule_visit`` → ``Ticket.VisitRescheduled`` (a new planned arrival, and
    optionally another engineer, with the reason). HTTP: ``RescheduleVisit``."""

    verb = "reschedule_visit"
    visit: str
    planned_arrival: datetime | None = None
    reason: str = ""
    engineer: str = ""
    known_engineer: bool = True

    def decide(self, t: Ticket, ctx: Context) -> None:
        t.reschedule_visit(number=self.visit, planned_arrival=self.planned_arrival,
                           reason=self.reason, engineer=self.engineer, actor=ctx.actor,
                           at=ctx.at)
        if self.known_engineer and self.engineer.strip():
            require_known_user(ctx.desk, self.engineer.strip(), "engineer")


@command
class DepartVisit(TicketCommand):
    """``Ticket.depart_visit`` → ``Ticket.VisitDeparted`` (外出: left for the site). HTTP: ``VisitStep``."""

    verb = "depart_visit"
    visit: str
    occurred_at: datetime | None = None  # claimed; None: now

    def decide(self, t: Ticket, ctx: Context) -> None:
        t.depart_visit(number=self.visit, actor=ctx.actor, at=ctx.at,
                      occurred_at=self.occurred_at)


@command
class ArriveVisit(TicketCommand):
    """``Ticket.arrive_visit`` → ``Ticket.VisitArrived`` (on site). HTTP: ``VisitStep``."""

    verb = "arrive_visit"
    visit: str
    occurred_at: datetime | None = None  # claimed; None: now

    def decide(self, t: Ticket, ctx: Context) -> None:
        t.arrive_visit(number=self.visit, actor=ctx.actor, at=ctx.at,
                      occurred_at=self.occurred_at)


@command
class LeaveVisit(TicketCommand):
    """``Ticket.leave_visit`` → ``Ticket.VisitLeft`` with the technical service sheet
    (技术服务单: work done, parts used, the customer's signer -- personal data).
    HTTP: ``LeaveVisit``."""

    verb = "leave_visit"
    visit: str
    work_done: str = ""
    parts_used: Sequence[str] = ()
    signer: str = ""
    occurred_at: datetime | None = None

    def decide(self, t: Ticket, ctx: Context) -> None:
        t.leave_visit(number=self.visit, work_done=self.work_done,
                      parts_used=tuple(self.parts_used), signer=self.signer, actor=ctx.actor,
                      at=ctx.at, occurred_at=self.occurred_at)
