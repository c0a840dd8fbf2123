"""Erasure of a customer's personal data by crypto-shredding (DOMAIN §7, ADR 0034, 0043).

``erase_personal_data`` reads raw every stored event that holds personal data
(``application.sealing.PERSONAL_FIELDS``) and the first events of tickets, projects, changes
and users: which records belong to the customer, which of their personal values are sealed
and with which key version, which are plaintext from before sealing. It records the erasure
(``PersonalDataErasure.Erased``, no personal data) and an erasure event on each of the
customer's records that still shows personal data (``Ticket.ContactErased``,
``Project.PersonalDataErased``, ``Change.PersonalDataErased``, ``User.PersonalDataErased``
for its requesters) in one transaction, then destroys the customer's key. The order matters:
the record is saved first, so a crash leaves a recorded erasure whose key still lives (a
repeat destroys it), never a destroyed key without a record.

The erasure events are also what clears cached aggregates: every process's aggregate cache
fast-forwards through them before it answers, so no view keeps showing a name. A record
written while the erasure ran is found by a second scan after the key is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from application.commands.privacy import EraseLateRecords, RecordErasure
from application.desk import ServiceDesk
from application.errors import ApplicationError
from application.sealing import (
    PERSONAL_FIELDS,
    PERSONAL_TOPICS,
    ContactSealer,
    is_sealed,
    key_id_for,
    personal_values,
    routine_description,
)
from domain.change import Change
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.identity import User
from domain.privacy import PersonalDataErasure, erasure_id
from domain.project import Project
from domain.ticket import Ticket

SCAN_BATCH = 1000
_raw = msgspec.json.Decoder()
# The first events that say which records exist, besides those with personal data.
_RECORD_TOPICS = (Project.Contracted.TOPIC, Change.Requested.TOPIC)
_CLASSES: dict[str, type] = {cls.TOPIC: cls for cls in (  # type: ignore[attr-defined]
    *PERSONAL_FIELDS, Project.Contracted, Change.Requested)}
_FIRST = (Ticket.Registered, Project.Contracted, Change.Requested)  # first events of records


class NoKeyStore(ApplicationError):
    """The desk has no sealer wired: nothing was sealed, nothing can be shredded."""


@dataclass
class _Scan:
    # The customer's records (ordered sets): by their first event, or by personal data of the
    # customer in one of their events (a record written to while the erasure ran).
    tickets: dict[UUID, None] = field(default_factory=dict)
    projects: dict[UUID, None] = field(default_factory=dict)
    changes: dict[UUID, None] = field(default_factory=dict)
    users: dict[UUID, str | None] = field(default_factory=dict)  # user -> its latest customer
    sealed: int = 0
    legacy: int = 0
    versions: set[int] = field(default_factory=set)
    last: int = 0

    def records(self, customer: str) -> tuple[list[UUID], ...]:
        return (list(self.tickets), list(self.projects), list(self.changes),
                [u for u, c in self.users.items() if c == customer])


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
    projects_erased: int = 0  # projects, changes and requesters that got an erasure event now
    changes_erased: int = 0
    users_erased: int = 0


def _scan(desk: ServiceDesk, sealer: ContactSealer, customer: str, after: int = 0) -> _Scan:
    """The customer's records and personal values in events after position ``after``, raw."""
    found = _Scan(last=after)
    mapper: Any = desk.mapper
    while True:
        batch = desk.recorder.select_notifications(
            start=found.last, limit=SCAN_BATCH, topics=[*PERSONAL_TOPICS, *_RECORD_TOPICS],
            inclusive_of_start=False)
        for n in batch:
            data = n.state
            if mapper.cipher:
                data = mapper.cipher.decrypt(data)
            if mapper.compressor:
                data = mapper.compressor.decompress(data)
            _scan_event(found, sealer, customer, _CLASSES[n.topic], _raw.decode(data),
                        n.originator_id)
        if batch:
            found.last = batch[-1].id
        if len(batch) < SCAN_BATCH:
            return found


def _scan_event(found: _Scan, sealer: ContactSealer, customer: str, cls: type,
                state: dict[str, Any], originator_id: UUID) -> None:
    owner = None
    if cls in _FIRST and sealer.owners is not None:  # learnt: its later events are its owner's
        owner = sealer.owners.from_first(originator_id, state)
    if cls is User.Registered or cls is User.Updated:
        found.users[originator_id] = state.get("customer")
    elif cls is Ticket.Registered and state.get("customer") == customer:
        found.tickets[originator_id] = None
    elif cls is Project.Contracted and state.get("customer") == customer:
        found.projects[originator_id] = None
    elif cls is Change.Requested and owner == customer:
        found.changes[originator_id] = None
    values = [(spec, value) for spec, value in personal_values(cls, state)
              if sealer.owner(spec, state, originator_id) == customer]
    legacy = any(not is_sealed(value) for _, value in values) or (
        cls is Ticket.Registered and state.get("customer") == customer
        and routine_description(state))
    if legacy:
        found.legacy += 1
    elif values:
        found.sealed += 1
    found.versions.update(int(value["key_version"]) for _, value in values if is_sealed(value))
    if values:
        kind = {Ticket: found.tickets, Project: found.projects, Change: found.changes}.get(
            _aggregate_of(cls))
        if kind is not None:
            kind[originator_id] = None


def _aggregate_of(event_class: type) -> type | None:
    return next((a for a in (Ticket, Project, Change, User)
                 if event_class.__qualname__.startswith(a.__name__ + ".")), None)


def _sealer(desk: ServiceDesk) -> ContactSealer:
    sealer = getattr(desk.mapper, "sealer", None)
    if sealer is None:
        raise NoKeyStore("no key store is wired: contacts are not sealed (ADR 0034)")
    return sealer  # type: ignore[no-any-return]


def _erased(events: Any) -> tuple[int, int, int, int]:
    """The tickets, projects, changes and requesters that got an erasure event."""
    counts = [0, 0, 0, 0]
    for e in events:
        kind = _ERASED.get(type(e))
        if kind is not None:
            counts[kind] += 1
    return counts[0], counts[1], counts[2], counts[3]


_ERASED = {Ticket.ContactErased: 0, Project.PersonalDataErased: 1,
           Change.PersonalDataErased: 2, User.PersonalDataErased: 3}


def erase_personal_data(desk: ServiceDesk, customer: str, *, reason: str, requested_by: str,
                        actor: str) -> ErasureResult:
    """Shreds the customer's personal data; ``CustomerNotFound`` when the customer is neither
    registered nor named by any ticket. A process of two commands around the destruction of
    the key: ``RecordErasure``, then ``EraseLateRecords`` for what was written meanwhile."""
    sealer = _sealer(desk)
    text = normalise_customer_id(customer)
    if not text:
        raise InvalidCommand.field("customer", "must not be empty")
    key_id = key_id_for(text)
    scan = _scan(desk, sealer, text)
    result = desk.handle(RecordErasure(customer=text, reason=reason, requested_by=requested_by,
                                       key_id=key_id, scan=scan), actor=actor)
    record: PersonalDataErasure = result.aggregate
    erased = [e for e in result.events if type(e) is PersonalDataErasure.Erased]
    at = erased[-1].timestamp if erased else desk.clock.now()
    tickets, projects, changes, users = _erased(result.events)
    position = result.position
    destroyed = sealer.keys.destroy(key_id)
    sealer.forget(key_id)
    # Written while we ran: sealed with the key now destroyed, but perhaps cached as plain.
    late = _scan(desk, sealer, text, after=scan.last)
    if any(late.records(text)):
        late_result = desk.handle(EraseLateRecords(customer=text, reason=reason, scan=late),
                                  actor=actor)
        position = late_result.position or position
        more = _erased(late_result.events)
        tickets, projects, changes, users = (tickets + more[0], projects + more[1],
                                             changes + more[2], users + more[3])
    return ErasureResult(
        customer=text, erasure_id=record.id, recorded=result.changed, erased_at=at,
        tickets=len(scan.tickets.keys() | late.tickets.keys()), tickets_erased=tickets,
        sealed_events=scan.sealed + late.sealed,
        legacy_plaintext_events=scan.legacy + late.legacy,
        destroyed_key_versions=destroyed, position=position, projects_erased=projects,
        changes_erased=changes, users_erased=users)


def erasures(desk: ServiceDesk, customer: str) -> list[PersonalDataErasure.Erased]:
    """Every erasure recorded for the customer, oldest first (empty when none)."""
    record: PersonalDataErasure | None = desk.load(erasure_id(normalise_customer_id(customer)))
    return [] if record is None else list(record.erasures)
