"""Idempotency keys, kept in the event store beside the command they belong to.

An ``IdempotencyRecord`` is saved in the same transaction as the events of the command it
answers, so "acknowledged" and "remembered" cannot drift apart on a crash, and two clients
racing with one key cannot both apply: the record's id derives from the key, so the second
save conflicts, retries, finds the record and returns the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    fingerprint: str  # a digest of method, path and body, made by the edge

    @property
    def record_id(self) -> UUID:
        return uuid5(NAMESPACE_URL, f"opsledger:idempotency:{self.key}")


class IdempotencyRecord(Aggregate):
    TOPIC = "opsledger.idempotency:IdempotencyRecord"

    class Event(Aggregate.Event):
        TOPIC = "opsledger.idempotency:IdempotencyRecord.Event"

    class Recorded(Aggregate.Created):
        TOPIC = "opsledger.idempotency:IdempotencyRecord.Recorded"
        key: str
        fingerprint: str
        target_id: UUID
        target_version: int
        created: bool
        actor: str

    def __init__(
        self,
        key: str,
        fingerprint: str,
        target_id: UUID,
        target_version: int,
        created: bool,
        actor: str,
    ) -> None:
        self.key = key
        self.fingerprint = fingerprint
        self.target_id = target_id
        self.target_version = target_version
        self.created = created
        self.actor = actor

    @classmethod
    def record(
        cls,
        key: IdempotencyKey,
        *,
        target_id: UUID,
        target_version: int,
        created: bool,
        actor: str,
        at: datetime,
    ) -> IdempotencyRecord:
        return cls._create(
            cls.Recorded,
            id=key.record_id,
            timestamp=at,
            key=key.key,
            fingerprint=key.fingerprint,
            target_id=target_id,
            target_version=target_version,
            created=created,
            actor=actor,
        )
