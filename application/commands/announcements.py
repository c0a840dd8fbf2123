"""Announcement commands (维护通知, issue 19 item 5, ADR 0060); fields are named as the body of
``POST /api/v1/announcements`` (its ``scope`` a ``Scope``) and ``POST /api/v1/announcements/{ref}/withdraw``.

Publishing saves in one transaction: the announcement (``ANN-YYYYMMDD-NNN``), the directory
that lists it and, for an announcement about a change, ``Change.AnnouncementLinked`` on the
change; withdrawing saves ``Announcement.Withdrawn`` and ``Change.AnnouncementWithdrawn``.
The notice outbox (ADR 0059) mails the contacts in scope from these events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.announcements import LABEL, announced_change, unknown_customers
from application.commands.base import Command, RecordCommand, command, listed
from domain.announcement import DEFAULT_LEAD, Announcement, AnnouncementDirectory
from domain.change import AnnouncementLink, Change, ChangeKind
from domain.errors import InvalidCommand
from domain.numbering import RecordKind, record_id_for

if TYPE_CHECKING:
    from application.desk import Context, ServiceDesk


@dataclass(frozen=True)
class Scope:
    """Whom an announcement concerns: the customers told (ids) and the systems touched."""

    customers: Sequence[str] = ()
    systems: Sequence[str] = ()


@command
class PublishAnnouncement(Command):
    """``Announcement.publish`` → ``Announcement.Published``, listed
    (``AnnouncementDirectory.Listed``), and with ``change_id`` (an id or ``CHG-`` number)
    ``Change.AnnouncementLinked``. ``lead``: the least notice (the edge passes
    ``OPSLEDGER_ANNOUNCEMENT_LEAD_HOURS``); an emergency change's window may be sooner.
    HTTP: ``PublishAnnouncement``."""

    record_class = Announcement
    record_label = LABEL
    verb = "publish"

    body: str
    scope: Scope
    starts: datetime | None
    ends: datetime | None
    title: str = ""
    change_id: str | None = None
    lead: timedelta = DEFAULT_LEAD

    def prepare(self, desk: ServiceDesk) -> None:
        unknown = unknown_customers(desk, self.scope.customers)
        if unknown:
            raise InvalidCommand.field("scope.customers", "no registered customer "
                                       + ", ".join(repr(c) for c in unknown))

    def decide(self, record: None, ctx: Context) -> Any:
        change = announced_change(ctx.desk, self.change_id)
        plan = change.plan if change is not None else None
        systems = tuple(self.scope.systems)
        if change is not None and not systems and change.affected_system:
            systems = (change.affected_system,)
        number = ctx.issue(RecordKind.ANNOUNCEMENT)
        a = Announcement.publish(
            id=record_id_for(number), number=number, title=self.title, body=self.body,
            customers=tuple(self.scope.customers), systems=systems, starts=self.starts,
            ends=self.ends, actor=ctx.actor, at=ctx.at, lead=self.lead,
            short_notice=change is not None and change.kind is ChangeKind.EMERGENCY,
            change_id=str(change.id) if change is not None else "",
            change_number=change.number if change is not None else "",
            change_window=(plan.schedule_start, plan.schedule_end) if plan else None)
        if change is None:
            return listed(ctx, AnnouncementDirectory, a)
        change.link_announcement(AnnouncementLink(str(a.id), a.number, a.starts, a.ends),
                                 actor=ctx.actor, at=ctx.at)
        return (*listed(ctx, AnnouncementDirectory, a), change)


@command
class WithdrawAnnouncement(RecordCommand):
    """``Announcement.withdraw`` → ``Announcement.Withdrawn`` (and the change's
    ``Change.AnnouncementWithdrawn``). HTTP: ``WithdrawAnnouncement``."""

    record_class = Announcement
    record_label = LABEL
    verb = "withdraw"

    reason: str

    def decide(self, a: Announcement, ctx: Context) -> Any:
        a.withdraw(reason=self.reason, actor=ctx.actor, at=ctx.at)
        if not a.change_id:
            return None
        change = ctx.desk.load(UUID(a.change_id))
        if not isinstance(change, Change):
            return None
        change.announcement_withdrawn(str(a.id), reason=a.withdraw_reason or "",
                                      actor=ctx.actor, at=ctx.at)
        return change
