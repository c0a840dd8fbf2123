"""Risk commands (隐患, issue 21 item 4, ADR 0067); fields are named as the bodies of
``POST /api/v1/risks`` and ``POST /api/v1/risks/{ref}/<verb>``.

Recording saves the risk (``RSK-YYYYMMDD-NNN``) and the directory that lists it in one
transaction. ``due`` is a day (the end of that day in the service's zone) or a time with an
offset (``application.risks.due_time``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from application.commands.base import Command, RecordCommand, command, listed
from application.errors import RecordNotFound
from application.risks import LABEL, actor_customer, due_time
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.numbering import RecordKind, record_id_for
from domain.project import Project
from domain.risk import Risk, RiskDirectory
from domain.ticket import Ticket

if TYPE_CHECKING:
    from application.desk import Context, ServiceDesk


def _found_on(desk: ServiceDesk, ref: str | None, kind: type, label: str, field: str,
              customer: str) -> tuple[str, str]:
    """(id, number) of the ticket or project a risk was found on (``("", "")``: none); a 422
    naming ``field`` when there is no such record or it is another customer's."""
    text = ref.strip() if isinstance(ref, str) else ""
    if not text:
        return "", ""
    try:
        record = desk.get_record(text, kind, label)
    except RecordNotFound:
        raise InvalidCommand.field(field, f"no {label} {text!r}") from None
    if normalise_customer_id(record.customer) != normalise_customer_id(customer):
        raise InvalidCommand.field(field, f"{label} {record.number} is not {customer!r}'s")
    return str(record.id), record.number


@command
class RecordRisk(Command):
    """``Risk.record`` → ``Risk.Recorded``, listed (``RiskDirectory.Listed``). ``ticket``
    (id or ``SR-`` number) or ``project`` (+ ``routine_id``, an inspection): where it was
    found, the same customer's. HTTP: ``RecordRisk``."""

    record_class = Risk
    record_label = LABEL
    verb = "record"

    customer: str
    title: str
    severity: str
    due: str | datetime | None
    description: str = ""
    owner: str = ""
    ticket: str | None = None
    project: str | None = None
    routine_id: str = ""
    source: str = ""

    def decide(self, record: None, ctx: Context) -> Any:
        due = due_time(self.due)
        ticket = _found_on(ctx.desk, self.ticket, Ticket, "ticket", "ticket", self.customer)
        project = _found_on(ctx.desk, self.project, Project, "project", "project",
                            self.customer)
        number = ctx.issue(RecordKind.RISK)
        risk = Risk.record(
            id=record_id_for(number), number=number, customer=self.customer, title=self.title,
            severity=self.severity, due=due, owner=self.owner, description=self.description,
            ticket=ticket, project=project, routine_id=self.routine_id, source=self.source,
            actor=ctx.actor, at=ctx.at)
        return listed(ctx, RiskDirectory, risk)


@command
class RiskCommand(RecordCommand):
    record_class = Risk
    record_label = LABEL


@command
class FollowUpRisk(RiskCommand):
    """``Risk.follow_up`` → ``Risk.FollowedUp``: a note, and a new ``severity``, ``owner`` or
    ``due`` when given. HTTP: ``FollowUpRisk``."""

    verb = "follow_up"

    note: str
    severity: str = ""
    owner: str = ""
    due: str | datetime | None = None

    def decide(self, r: Risk, ctx: Context) -> None:
        r.follow_up(note=self.note, severity=self.severity, owner=self.owner,
                    due=due_time(self.due), actor=ctx.actor, at=ctx.at)


@command
class RemoveRisk(RiskCommand):
    """``Risk.remove`` → ``Risk.Removed`` (整改完成, ``how``: what was done). HTTP:
    ``RemoveRisk``."""

    verb = "remove"

    how: str


@command
class AcceptRisk(RiskCommand):
    """``Risk.accept`` → ``Risk.Accepted``: the customer accepts the risk (a requester of
    the risk's customer; anyone else -- a manager -- records it on the customer's behalf).
    HTTP: ``AcceptRisk``."""

    verb = "accept"

    reason: str

    def decide(self, r: Risk, ctx: Context) -> None:
        customer = actor_customer(ctx.desk, ctx.actor)
        if customer is not None and normalise_customer_id(customer) != r.customer:
            raise RecordNotFound(r.number, LABEL)  # another customer's: as unknown
        r.accept(reason=self.reason, on_behalf=customer is None, actor=ctx.actor, at=ctx.at)


@command
class AlarmOverdueRisk(RiskCommand):
    """``Risk.alarm_overdue`` → ``Risk.OverdueAlarmed`` once the due time has passed on an
    open risk, once per due time (the watcher, ``application.risks.watch_risks``)."""

    verb = "alarm_overdue"

    now: datetime
