"""Repair order commands (设备送修单, issue 20 item 5, ADR 0065); fields are named as the bodies
of ``POST /api/v1/repairs`` and ``POST /api/v1/repairs/{ref}/<verb>``.

Sending saves in one transaction: the order (``RP-YYYYMMDD-NNN``), the directory that lists
it, the CI set ``in_repair`` and the loaner CI set ``in_use`` (``ConfigurationItem.
StatusChanged``, H3's record, ADR 0063); the return saves the order, the CI back ``in_use`` and
the loaner back ``spare`` (when taken back), and the directory's ``Settled``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.commands.base import NOTHING, Command, RecordCommand, command
from application.repairs import (LABEL, at_vendor, calendar_of, directory, next_progress_due,
                                 repair_ci, repair_ticket)
from domain.ci import ConfigurationItem
from domain.ci import Status as CiStatus
from domain.errors import InvalidCommand
from domain.numbering import RecordKind, record_id_for
from domain.repair import PROGRESS_WORKING_DAYS, RepairDirectory, RepairOrder, Warranty

if TYPE_CHECKING:
    from application.desk import Context, ServiceDesk


def _set_status(ci: ConfigurationItem | None, status: CiStatus, reason: str,
                ctx: Context) -> tuple[ConfigurationItem, ...]:
    """``ci`` with its status changed (nothing when it already has it, or is retired)."""
    if ci is None or "change_status" not in ci.allowed_commands():
        return ()
    return (ci,) if ci.change_status(status=status, reason=reason, actor=ctx.actor,
                                     at=ctx.at) else ()


@command
class SendForRepair(Command):
    """``RepairOrder.send`` → ``RepairOrder.Sent`` (listed: ``RepairDirectory.Listed``), the
    CI ``in_repair`` and the loaner ``in_use`` (``ConfigurationItem.change_status`` →
    ``ConfigurationItem.StatusChanged``). ``ticket``: its id or SR- number; ``ci`` and
    ``loaner_ci``: an id or CI- number; ``warranty``: ``in`` or ``out`` (left out: from the
    CI's warranty end). HTTP: ``SendForRepair``."""

    record_class = RepairOrder
    record_label = LABEL
    verb = "send"

    ticket: str
    ci: str
    vendor: str
    fault: str
    warranty: str | None = None
    loaner_ci: str | None = None

    def decide(self, record: None, ctx: Context) -> Any:
        desk = ctx.desk
        ticket = repair_ticket(desk, self.ticket)
        ci = repair_ci(desk, self.ci, "ci")
        if ci is None:
            raise InvalidCommand.field("ci", "name the configuration item sent for repair")
        if not ci.belongs_to(ticket.customer):
            raise InvalidCommand.field("ci", f"{ci.number} is not a configuration item of "
                                             f"the ticket's customer")
        loaner = repair_ci(desk, self.loaner_ci, "loaner_ci")
        d = directory(desk, ctx.at)
        for field, item in (("ci", ci), ("loaner_ci", loaner)):
            away = at_vendor(desk, d, item, lent=field == "loaner_ci")
            if away is not None and item is not None:
                raise InvalidCommand.field(field, f"{item.number} is at a vendor or lent "
                                                  f"already ({away.number})")
        warranty = (self.warranty or "").strip().lower()
        if not warranty:
            known = ci.in_warranty(ctx.at.astimezone(desk.timezone).date())
            if known is None:
                raise InvalidCommand.field("warranty", f"{ci.number} has no warranty end: say "
                                                       "in (保内) or out (保外)")
            warranty = Warranty.IN.value if known else Warranty.OUT.value
        slug, cal = calendar_of(desk, ticket)
        number = ctx.issue(RecordKind.REPAIR_ORDER)
        r = RepairOrder.send(
            id=record_id_for(number), number=number, ticket_id=str(ticket.id),
            ticket_number=ticket.number, customer=ticket.customer, ci_id=str(ci.id),
            ci_number=ci.number, ci_name=ci.name, vendor=self.vendor, warranty=warranty,
            fault=self.fault, calendar=slug, timezone=cal.timezone,
            progress_due=cal.add_working_days(ctx.at, PROGRESS_WORKING_DAYS),
            loaner_ci_id=str(loaner.id) if loaner else "",
            loaner_ci_number=loaner.number if loaner else "", actor=ctx.actor, at=ctx.at)
        d.add(str(r.id), ctx.at)
        changed = _set_status(ci, CiStatus.IN_REPAIR, f"sent for repair: {number}", ctx)
        changed += _set_status(loaner, CiStatus.IN_USE, f"loaner for {number}", ctx)
        return (r, d, *changed)


@command
class RepairCommand(RecordCommand):
    record_class = RepairOrder
    record_label = LABEL


@command
class ReportRepairProgress(RepairCommand):
    """``RepairOrder.report_progress`` → ``RepairOrder.ProgressReported``: the written
    progress report (书面维修进度); the next one is due 3 working days later on the ticket's
    calendar. HTTP: ``ReportRepairProgress``."""

    verb = "report_progress"

    text: str

    def decide(self, r: RepairOrder, ctx: Context) -> Any:
        r.report_progress(text=self.text, next_due=next_progress_due(ctx.desk, r, ctx.at),
                          actor=ctx.actor, at=ctx.at)


@command
class RecordRepairAlarms(RepairCommand):
    """The watcher's command: ``RepairOrder.record_alarms`` → ``RepairOrder.ProgressOverdue``
    when no written progress report came by its due (at ``now``, default the attempt's time);
    ``NOTHING`` otherwise."""

    verb = "record_alarms"

    now: datetime | None = None

    def decide(self, r: RepairOrder, ctx: Context) -> Any:
        now = min(self.now or ctx.at, ctx.at)
        return None if r.record_alarms(now=now, actor=ctx.actor, at=ctx.at) else NOTHING


@command
class QuoteRepair(RepairCommand):
    """``RepairOrder.quote_parts`` → ``RepairOrder.Quoted``: the vendor's quote for the parts
    of an out-of-warranty repair, waiting for the customer's approval. HTTP:
    ``QuoteRepair``."""

    verb = "quote"

    amount: str
    parts: Sequence[str]
    currency: str = "CNY"
    note: str = ""

    def decide(self, r: RepairOrder, ctx: Context) -> Any:
        r.quote_parts(amount=self.amount, currency=self.currency, parts=tuple(self.parts),
                      note=self.note, actor=ctx.actor, at=ctx.at)


@command
class ApproveRepairQuote(RepairCommand):
    """``RepairOrder.approve_quote`` → ``RepairOrder.QuoteApproved``: the customer's written
    approval (用户书面认可). ``on_behalf`` (set by the edge: the caller is staff, not the
    customer's requester) needs ``reference``, the approval's document. HTTP:
    ``ApproveRepairQuote``."""

    verb = "approve_quote"

    reference: str = ""
    on_behalf: bool = True


@command
class RejectRepairQuote(RepairCommand):
    """``RepairOrder.reject_quote`` → ``RepairOrder.QuoteRejected``. HTTP:
    ``RejectRepairQuote``."""

    verb = "reject_quote"

    reason: str
    on_behalf: bool = True


@command
class ReplaceRepairPart(RepairCommand):
    """``RepairOrder.replace_part`` → ``RepairOrder.PartReplaced``; out of warranty only after
    the customer approved a quote (409 naming ``quote_approval``). HTTP:
    ``ReplaceRepairPart``."""

    verb = "replace_part"

    part: str
    note: str = ""


@command
class ReturnRepair(RepairCommand):
    """``RepairOrder.return_from_vendor`` → ``RepairOrder.Returned`` (repaired and back at the
    user's site), ``RepairDirectory.Settled``, the CI back ``in_use`` and, with
    ``loaner_back``, the loaner back ``spare``. HTTP: ``ReturnRepair``."""

    verb = "return"

    note: str = ""
    loaner_back: bool = True

    def decide(self, r: RepairOrder, ctx: Context) -> Any:
        r.return_from_vendor(note=self.note, loaner_back=self.loaner_back, actor=ctx.actor,
                             at=ctx.at)
        d = directory(ctx.desk, ctx.at)
        d.settle(str(r.id), ctx.at)
        changed = _set_status(_ci(ctx.desk, r.ci_id), CiStatus.IN_USE,
                              f"back from repair: {r.number}", ctx)
        if r.loaner_back:
            changed += _set_status(_ci(ctx.desk, r.loaner_ci_id), CiStatus.SPARE,
                                   f"loaner back: {r.number}", ctx)
        return (d, *changed)


@command
class CloseRepair(RepairCommand):
    """``RepairOrder.close`` → ``RepairOrder.Closed``. HTTP: ``CloseRepair``."""

    verb = "close"

    note: str = ""


@command
class SubmitRepairSummary(Command):
    """``RepairDirectory.submit_summary`` → ``RepairDirectory.SummarySubmitted``: the monthly
    repair summary (月度维修总结) of ``period`` handed in (the first submission stands:
    ``NOTHING`` after it). HTTP: ``SubmitReport`` of ``POST /api/v1/reports/{period}/submit``
    with ``kind: repair``."""

    record_class = RepairDirectory
    record_label = "repair summary"
    verb = "submit_summary"
    missing_ok = True

    period: str

    def target(self) -> UUID | None:
        return RepairDirectory.ID

    def decide(self, d: RepairDirectory | None, ctx: Context) -> Any:
        if d is None:
            d = RepairDirectory.start(ctx.at)
            d.submit_summary(self.period, ctx.actor, ctx.at)
            return d
        return None if d.submit_summary(self.period, ctx.actor, ctx.at) else NOTHING


def _ci(desk: ServiceDesk, ci_id: str) -> ConfigurationItem | None:
    if not ci_id:
        return None
    found = desk.load(UUID(ci_id))
    return found if isinstance(found, ConfigurationItem) else None
