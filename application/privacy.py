"""Erasure of a customer's personal data by crypto-shredding (DOMAIN §7, ADR 0034).

``erase_personal_data`` finds the customer's tickets (their ``Registered`` events, read raw:
which contacts are sealed and with which key version, which are plaintext from before
sealing), records the erasure (``PersonalDataErasure.Erased``, no personal data) and a
``Ticket.ContactErased`` on each ticket in one transaction, then destroys the customer's key.
The order matters: the record is saved first, so a crash leaves a recorded erasure whose key
still lives (a repeat destroys it), never a destroyed key without a record.

The ``ContactErased`` events are also what clears cached aggregates: every process's aggregate
cache fast-forwards through them before it answers, so no view keeps showing the contact. A
ticket registered while the erasure ran is found by a second scan after the key is gone.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.customers import CustomerNotFound, find_customer
from application.desk import MAX_ATTEMPTS, RETRY_DELAY, RETRY_MAX_DELAY, ServiceDesk
from application.errors import ApplicationError, ConcurrencyConflict
from application.sealing import ContactSealer, is_sealed, key_id_for
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.privacy import ErasureCounts, PersonalDataErasure, erasure_id
from domain.ticket import Ticket

SCAN_BATCH = 1000
_raw = msgspec.json.Decoder()


class NoKeyStore(ApplicationError):
    """The desk has no sealer wired: nothing was sealed, nothing can be shredded."""


@dataclass
class _Scan:
    tickets: list[UUID] = field(default_factory=list)
    sealed: int = 0
    legacy: int = 0
    versions: set[int] = field(default_factory=set)
    last: int = 0


@dataclass(frozen=True)
class ErasureResult:
    customer: str
    erasure_id: UUID
    recorded: bool  # False: a repeat, nothing new to record (the key is destroyed anyway)
    erased_at: datetime
    tickets: int  # tickets of the customer found in the store
    tickets_erased: int  # tickets that got a ``ContactErased`` now
    sealed_events: int
    legacy_plaintext_events: int
    destroyed_key_versions: tuple[int, ...]
    position: int | None


def _scan(desk: ServiceDesk, customer: str, after: int = 0) -> _Scan:
    """The customer's ``Ticket.Registered`` events after position ``after``, read raw."""
    found = _Scan(last=after)
    mapper: Any = desk.mapper
    while True:
        batch = desk.recorder.select_notifications(
            start=found.last, limit=SCAN_BATCH, topics=[Ticket.Registered.TOPIC],
            inclusive_of_start=False)
        for n in batch:
            data = n.state
            if mapper.cipher:
                data = mapper.cipher.decrypt(data)
            if mapper.compressor:
                data = mapper.compressor.decompress(data)
            state = _raw.decode(data)
            if state.get("customer") != customer:
                continue
            found.tickets.append(n.originator_id)
            if is_sealed(state.get("contact")):
                found.sealed += 1
                found.versions.add(int(state["contact"]["key_version"]))
            else:
                found.legacy += 1
        if batch:
            found.last = batch[-1].id
        if len(batch) < SCAN_BATCH:
            return found


def _mark(desk: ServiceDesk, ids: list[UUID], reason: str, record_id: UUID, actor: str,
          at: datetime) -> list[Ticket]:
    marked = []
    for ticket_id in ids:
        ticket: Ticket = desk._get(ticket_id)
        if ticket.erase_contact(reason=reason, erasure_id=str(record_id), actor=actor, at=at):
            marked.append(ticket)
    return marked


def _sealer(desk: ServiceDesk) -> ContactSealer:
    sealer = getattr(desk.mapper, "sealer", None)
    if sealer is None:
        raise NoKeyStore("no key store is wired: contacts are not sealed (ADR 0034)")
    return sealer  # type: ignore[no-any-return]


def erase_personal_data(desk: ServiceDesk, customer: str, *, reason: str, requested_by: str,
                        actor: str) -> ErasureResult:
    """Shreds the customer's contact data; ``CustomerNotFound`` when the customer is neither
    registered nor named by any ticket."""
    sealer = _sealer(desk)
    text = normalise_customer_id(customer)
    if not text:
        raise InvalidCommand.field("customer", "must not be empty")
    key_id = key_id_for(text)
    scan = _scan(desk, text)
    for attempt in range(MAX_ATTEMPTS):
        at = desk.clock.now()
        try:
            record: PersonalDataErasure = desk._get(erasure_id(text))
        except AggregateNotFoundError:
            if not scan.tickets and find_customer(desk, text) is None:
                raise CustomerNotFound(text) from None
            record = PersonalDataErasure.open(text, actor=actor, at=at)
        tickets = _mark(desk, scan.tickets, reason, record.id, actor, at)
        recorded = bool(tickets) or not record.erasures
        if recorded:
            counts = ErasureCounts(tickets=len(tickets), sealed_events=scan.sealed,
                                   legacy_plaintext_events=scan.legacy)
            record.erase(reason=reason, requested_by=requested_by, key_id=key_id,
                         key_versions=tuple(sorted(scan.versions)), counts=counts,
                         actor=actor, at=at)
        try:
            position = desk._save(record, *tickets) if recorded else None
        except IntegrityError:
            time.sleep(random.uniform(0, min(RETRY_MAX_DELAY, RETRY_DELAY * 2**attempt)))
            continue
        break
    else:
        raise ConcurrencyConflict(MAX_ATTEMPTS)
    destroyed = sealer.keys.destroy(key_id)
    sealer.forget(key_id)
    late = _scan(desk, text, after=scan.last)  # registered while we ran: sealed, now shredded
    if late.tickets:
        late_marked = _mark(desk, late.tickets, reason, record.id, actor, at)
        position = desk._save(*late_marked) or position
        tickets += late_marked
    return ErasureResult(
        customer=text, erasure_id=record.id, recorded=recorded, erased_at=at,
        tickets=len(scan.tickets) + len(late.tickets), tickets_erased=len(tickets),
        sealed_events=scan.sealed + late.sealed,
        legacy_plaintext_events=scan.legacy + late.legacy,
        destroyed_key_versions=destroyed, position=position)


def erasures(desk: ServiceDesk, customer: str) -> list[PersonalDataErasure.Erased]:
    """Every erasure recorded for the customer, oldest first (empty when none)."""
    try:
        record: PersonalDataErasure = desk._get(erasure_id(normalise_customer_id(customer)))
    except AggregateNotFoundError:
        return []
    return list(record.erasures)
