"""The erasure commands (DOMAIN §7, ADR 0034, 0043), run by the process
``application.privacy.erase_personal_data``: it scans the store for the customer's records
and personal values (``scan``), runs ``RecordErasure``, destroys the customer's key, scans
again for what was written meanwhile and runs ``EraseLateRecords``. Not an HTTP body: the
edge calls the process.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.commands.base import NOTHING, Command, command
from application.customers import CustomerNotFound, find_customer
from domain.privacy import ErasureCounts, PersonalDataErasure, erasure_id
from domain.ticket import Ticket

if TYPE_CHECKING:
    from application.desk import Context, ServiceDesk


def mark_records(desk: ServiceDesk, records: tuple[list[UUID], ...], reason: str,
                 erasure: UUID, actor: str, at: datetime) -> list[list[Any]]:
    """Records an erasure event on each of the customer's tickets
    (``Ticket.erase_contact`` → ``Ticket.ContactErased``), projects, changes and requesters
    (``erase_personal_data`` → ``PersonalDataErased``) that still shows personal data; the
    records that got one, by kind."""
    marked: list[list[Any]] = [[] for _ in records]
    for found, record_ids in zip(marked, records, strict=True):
        for record_id in record_ids:
            record = desk.load(record_id)
            if record is None:
                continue
            erase = record.erase_contact if isinstance(record, Ticket) \
                else record.erase_personal_data
            if erase(reason=reason, erasure_id=str(erasure), actor=actor, at=at):
                found.append(record)
    return marked


@command
class RecordErasure(Command):
    """``PersonalDataErasure.erase`` → ``PersonalDataErasure.Erased`` (``Opened`` first for the
    customer's first erasure), with an erasure event on each of the customer's records
    ``scan`` found that still shows personal data, in one save; ``NOTHING`` for a repeat
    that finds nothing new. ``CustomerNotFound`` when the customer is neither registered nor
    named by any record. ``scan``: ``application.privacy``'s scan of the store."""

    record_class = PersonalDataErasure
    record_label = "erasure"
    verb = "erase_personal_data"
    missing_ok = True

    customer: str  # as kept (normalised)
    reason: str
    requested_by: str
    key_id: str
    scan: Any

    def target(self) -> UUID | None:
        return erasure_id(self.customer)

    def decide(self, record: PersonalDataErasure | None, ctx: Context) -> Any:
        at, actor, scan = ctx.at, ctx.actor, self.scan
        records = scan.records(self.customer)
        new = record is None
        if record is None:
            if not any(records) and find_customer(ctx.desk, self.customer) is None:
                raise CustomerNotFound(self.customer)
            record = PersonalDataErasure.open(self.customer, actor=actor, at=at)
        tickets, projects, changes, users = mark_records(ctx.desk, records, self.reason,
                                                         record.id, actor, at)
        marked = (*tickets, *projects, *changes, *users)
        if not marked and record.erasures:
            return NOTHING
        counts = ErasureCounts(tickets=len(tickets), sealed_events=scan.sealed,
                               legacy_plaintext_events=scan.legacy, projects=len(projects),
                               changes=len(changes), users=len(users))
        record.erase(reason=self.reason, requested_by=self.requested_by, key_id=self.key_id,
                     key_versions=tuple(sorted(scan.versions)), counts=counts, actor=actor,
                     at=at)
        return (record, *marked) if new else marked


@command
class EraseLateRecords(Command):
    """After the key is destroyed: an erasure event (``Ticket.erase_contact`` →
    ``Ticket.ContactErased``, ``Project.erase_personal_data`` →
    ``Project.PersonalDataErased``, ...) on each record ``scan`` (a second scan) found
    written while the erasure ran (sealed with the key now destroyed, but perhaps cached as
    plain), addressed to the customer's erasure record; ``NOTHING`` when none."""

    record_class = PersonalDataErasure
    record_label = "erasure"
    verb = "erase_late_records"

    customer: str
    reason: str
    scan: Any

    def target(self) -> UUID | None:
        return erasure_id(self.customer)

    def decide(self, record: PersonalDataErasure, ctx: Context) -> Any:
        marked = mark_records(ctx.desk, self.scan.records(self.customer), self.reason,
                              record.id, ctx.actor, ctx.at)
        others = tuple(r for found in marked for r in found)
        return others or NOTHING
