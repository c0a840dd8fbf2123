"""Agreement commands (SLA / OLA / UC, issue 21 item 2, ADR 0066); fields are named as the
bodies of ``POST /api/v1/agreements`` and ``POST /api/v1/agreements/{ref}/<verb>``.

Concluding saves the agreement (``AGR-YYYYMMDD-NNN``) and the directory that lists it in one
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from application.agreements import LABEL, today_of
from application.commands.base import NOTHING, Command, RecordCommand, command, listed
from application.customers import find_customer
from domain.agreement import Agreement, AgreementDirectory, Target
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.numbering import RecordKind, record_id_for

if TYPE_CHECKING:
    from application.desk import Context, ServiceDesk


def _known_customer(desk: ServiceDesk, customer: str | None) -> None:
    if customer and normalise_customer_id(customer) and find_customer(desk, customer) is None:
        raise InvalidCommand.field("customer", f"no registered customer {customer!r}")


@command
class ConcludeAgreement(Command):
    """``Agreement.conclude`` → ``Agreement.Concluded`` (version 1), listed
    (``AgreementDirectory.Listed``). HTTP: ``POST /agreements``.
    Body: ``ConcludeAgreement``."""

    record_class = Agreement
    record_label = LABEL
    verb = "conclude"

    valid_to: date | None
    kind: str = ""  # left out: sla with a customer, ola with groups, uc with a vendor
    title: str = ""  # left out: the kind and the party
    valid_from: date | None = None  # left out: the day it is concluded
    customer: str = ""
    groups: Sequence[str] = ()
    vendor: str = ""
    services: Sequence[str] = ()
    targets: Sequence[Target] = ()
    sla_policy: str = ""
    notes: str = ""

    def prepare(self, desk: ServiceDesk) -> None:
        _known_customer(desk, self.customer)

    def decide(self, record: None, ctx: Context) -> Any:
        number = ctx.issue(RecordKind.AGREEMENT)
        a = Agreement.conclude(
            id=record_id_for(number), number=number, kind=self.kind, title=self.title,
            customer=self.customer, groups=tuple(self.groups), vendor=self.vendor,
            services=tuple(self.services), targets=tuple(self.targets),
            sla_policy=self.sla_policy, valid_to=self.valid_to, notes=self.notes,
            valid_from=self.valid_from or today_of(ctx.desk, ctx.at),  # left out: today
            actor=ctx.actor, at=ctx.at)
        return listed(ctx, AgreementDirectory, a)


@command
class AgreementCommand(RecordCommand):
    record_class = Agreement
    record_label = LABEL


@command
class ReviseAgreement(AgreementCommand):
    """``Agreement.revise`` → ``Agreement.Revised``: the next version of the agreement, with
    the fields given (``None``: unchanged). Nothing is recorded when nothing differs.
    Body: ``ReviseAgreement``."""

    verb = "revise"

    reason: str = ""
    title: str | None = None
    customer: str | None = None
    groups: Sequence[str] | None = None
    vendor: str | None = None
    services: Sequence[str] | None = None
    targets: Sequence[Target] | None = None
    sla_policy: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    notes: str | None = None

    def prepare(self, desk: ServiceDesk) -> None:
        _known_customer(desk, self.customer)

    def decide(self, a: Agreement, ctx: Context) -> Any:
        changes = {name: getattr(self, name) for name in (
            "title", "customer", "groups", "vendor", "services", "targets", "sla_policy",
            "valid_from", "valid_to", "notes")}
        if not a.revise(changes=changes, reason=self.reason, actor=ctx.actor, at=ctx.at):
            return NOTHING
        return None


@command
class TerminateAgreement(AgreementCommand):
    """``Agreement.terminate`` → ``Agreement.Terminated`` (ended before ``valid_to``).
    Body: ``TerminateAgreement``."""

    verb = "terminate"

    reason: str


@command
class WarnAgreementExpiry(AgreementCommand):
    """``Agreement.warn_expiry`` → ``Agreement.ExpiryWarned`` once per ``valid_to`` when the
    agreement ends within 30 days of ``today`` (the watcher's; nothing otherwise)."""

    verb = "warn_expiry"

    today: date
