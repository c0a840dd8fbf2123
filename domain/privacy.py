"""Erasure of a customer's personal data (crypto-shredding, DOMAIN §7, ADR 0034).

The record of *that* an erasure happened, kept forever next to the history it shredded: who
asked, who performed it, why, when, which key version was destroyed and what it covered. It
holds no personal data. One stream per customer id (uuid5 of the customer text), so repeated
requests for one customer meet on one record; each request that destroyed a key appends an
``Erased`` event.

Pure: standard library and ``eventsourcing.domain`` only; time and actor come in as arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.checks import refuse_fields
from domain.errors import FieldError
from domain.records import RecordEvent

MAX_TEXT = 2000
# What a personal text reads as once its customer's key is destroyed (a contact reads as
# ``domain.ticket.ERASED_CONTACT``, whose name is this text).
ERASED_TEXT = "[erased]"


def erased(value: str) -> str:
    """A personal text after an erasure: ``[erased]``; an empty one stays empty."""
    return ERASED_TEXT if value else value


class HoldsPersonalData:
    """``erase_personal_data`` of a record that keeps texts of the customer's people (a mixin
    of its aggregate, ADR 0034, 0043): the record names them in ``personal_texts`` and has a
    ``PersonalDataErased`` event (``reason``, ``erasure_id``) that shows them erased."""

    def personal_texts(self) -> Iterable[str]:
        raise NotImplementedError

    def erase_personal_data(self, *, reason: str, erasure_id: str, actor: str,
                            at: datetime) -> bool:
        """Records that the customer's personal data was erased; ``False`` (nothing recorded)
        when none is readable here (none recorded, or all erased already)."""
        if all(erased(v) == v for v in self.personal_texts()):
            return False
        self.trigger_event(self.PersonalDataErased,  # type: ignore[attr-defined]
                           timestamp=at, actor=actor, reason=reason, erasure_id=erasure_id)
        return True


# The product's own text that named a person before ADR 0043: the description of a ticket
# opened for an abnormal routine run said who signed the run. New ones do not; old ones are
# redacted on read once their customer had an erasure (their bytes stay: ADR 0034, legacy).
ROUTINE_SIGNED = re.compile(r", signed by (.+?), found: ", re.DOTALL)
ROUTINE_SIGNER = "the ticket's contact"  # what new descriptions say instead of the name
ROUTINE_SIGNER_GONE = ", signed by [erased], found: "


def names_routine_signer(source: object, description: object) -> bool:
    """Whether a ticket opened by ``source`` with ``description`` is a routine ticket whose
    description names the run's signer (written before ADR 0043)."""
    if not (isinstance(source, str) and source.startswith("routine:")
            and isinstance(description, str)):
        return False
    found = ROUTINE_SIGNED.search(description)
    return found is not None and found.group(1) not in (ROUTINE_SIGNER, ERASED_TEXT)


def without_routine_signer(description: str) -> str:
    """A routine ticket's description with the signer's name erased."""
    return ROUTINE_SIGNED.sub(ROUTINE_SIGNER_GONE, description, 1)


def erasure_id(customer: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"opsledger:personal-data-erasure:{customer}")


@dataclass(frozen=True)
class ErasureCounts:
    """What one erasure covered: tickets (and projects, changes, requester users) that got an
    erasure event, events whose personal data was sealed with the destroyed key (now
    unreadable), and ``legacy_plaintext_events`` written before their personal data was sealed,
    whose plaintext stays in the store (an append-only history cannot shred it; ADR 0034, ADR
    0043). The last three counts are absent (0) in erasures recorded before ADR 0043."""

    tickets: int
    sealed_events: int
    legacy_plaintext_events: int
    projects: int = 0
    changes: int = 0
    users: int = 0


class PersonalDataErasure(Aggregate):
    TOPIC = "opsledger.privacy:PersonalDataErasure"

    class Event(RecordEvent):
        TOPIC = "opsledger.privacy:PersonalDataErasure.Event"

    class Opened(Aggregate.Created):
        TOPIC = "opsledger.privacy:PersonalDataErasure.Opened"
        customer: str
        actor: str

    class Erased(Event):
        TOPIC = "opsledger.privacy:PersonalDataErasure.Erased"
        reason: str
        requested_by: str
        key_id: str
        key_versions: tuple[int, ...]
        counts: ErasureCounts

        def apply(self, record: PersonalDataErasure) -> None:
            record.erasures = (*record.erasures, self)

    def __init__(self, customer: str, actor: str) -> None:
        self.customer = customer
        self.erasures: tuple[PersonalDataErasure.Erased, ...] = ()

    @classmethod
    def open(cls, customer: str, *, actor: str, at: datetime) -> PersonalDataErasure:
        return cls._create(cls.Opened, id=erasure_id(customer), timestamp=at, customer=customer,
                           actor=actor)

    def erase(self, *, reason: str, requested_by: str, key_id: str,
              key_versions: tuple[int, ...], counts: ErasureCounts, actor: str,
              at: datetime) -> None:
        errors = []
        for name, value in (("reason", reason), ("requested_by", requested_by)):
            if not value.strip():
                errors.append(FieldError(name, "must not be empty"))
            elif len(value) > MAX_TEXT:
                errors.append(FieldError(name, f"at most {MAX_TEXT} characters"))
        refuse_fields(errors)
        self.trigger_event(self.Erased, timestamp=at, actor=actor, reason=reason.strip(),
                           requested_by=requested_by.strip(), key_id=key_id,
                           key_versions=key_versions, counts=counts)
