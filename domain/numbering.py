"""Human record numbers: ``SR-YYYYMMDD-NNN``, ``SD-…``, ``FB-…`` ([003] 填写说明).

One ``DailySequence`` aggregate per prefix and day (its id is derived from both). Issuing a
number is an event on it, saved in the same transaction as the record that uses the number,
so the store's optimistic concurrency (unique originator id + version) makes a duplicate
impossible: two concurrent creators that read the same sequence version cannot both commit,
and the loser retries with the next number. No gaps either, since a refused or failed command
saves neither the record nor the number.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate


class RecordKind(StrEnum):
    SERVICE_REQUEST = "SR"
    DELIVERY_ACCEPTANCE = "SD"
    FEEDBACK = "FB"
    PROBLEM = "PRB"
    CHANGE = "CHG"
    ARTICLE = "KB"
    PROJECT = "PRJ"
    ANNOUNCEMENT = "ANN"  # planned maintenance (ADR 0060)
    CONFIGURATION_ITEM = "CI"  # 配置项 (ADR 0063)
    SPARE_PART_REQUISITION = "BJ"  # 备件领用单 (ADR 0064)
    DISPATCH_ORDER = "PG"  # 派工单, a field visit (ADR 0064)
    REPAIR_ORDER = "RP"  # 设备送修单 (ADR 0065)
    AGREEMENT = "AGR"  # SLA / OLA / UC (ADR 0066)
    COMPLAINT = "CMP"  # 投诉 (ADR 0066)
    RISK = "RSK"  # 隐患 (ADR 0067)
    MAJOR_INCIDENT = "MI"  # 重大事件 (ADR 0067)


# The aggregates whose id derives from their number (``record_id_for``), by number prefix.
NUMBERED_RECORDS: dict[str, str] = {
    RecordKind.SERVICE_REQUEST.value: "ticket",
    RecordKind.PROBLEM.value: "problem",
    RecordKind.CHANGE.value: "change",
    RecordKind.ARTICLE.value: "article",
    RecordKind.PROJECT.value: "project",
    RecordKind.ANNOUNCEMENT.value: "announcement",
    RecordKind.CONFIGURATION_ITEM.value: "ci",
    RecordKind.SPARE_PART_REQUISITION.value: "requisition",
    RecordKind.DISPATCH_ORDER.value: "visit",
    RecordKind.REPAIR_ORDER.value: "repair",
    RecordKind.AGREEMENT.value: "agreement",
    RecordKind.COMPLAINT.value: "complaint",
    RecordKind.RISK.value: "risk",
    RecordKind.MAJOR_INCIDENT.value: "major_incident",
}


@lru_cache(maxsize=4096)  # every command on a number resolves it; uuid5 is a SHA-1 each time
def record_id_for(number: str) -> UUID:
    """The id of the record that carries ``number`` (``SR-…`` → its ticket, ``PRB-…`` → its
    problem, …): numbers resolve to ids without a read model."""
    prefix = number.split("-", 1)[0].upper()
    return uuid5(NAMESPACE_URL, f"opsledger:{NUMBERED_RECORDS[prefix]}:{number.upper()}")


def format_number(kind: RecordKind, day: date, seq: int) -> str:
    return f"{kind.value}-{day:%Y%m%d}-{seq:03d}"


class DailySequence(Aggregate):
    TOPIC = "opsledger.numbering:DailySequence"

    class Event(Aggregate.Event):
        TOPIC = "opsledger.numbering:DailySequence.Event"

    class Opened(Aggregate.Created):
        TOPIC = "opsledger.numbering:DailySequence.Opened"
        kind: RecordKind
        day: date

    class NumberIssued(Event):
        TOPIC = "opsledger.numbering:DailySequence.NumberIssued"
        number: str
        seq: int

        def apply(self, seq: DailySequence) -> None:
            seq.last = self.seq

    def __init__(self, kind: RecordKind, day: date) -> None:
        self.kind = RecordKind(kind)
        self.day = day
        self.last = 0

    @staticmethod
    @lru_cache(maxsize=1024)  # asked by every creating command; uuid5 is a SHA-1 each time
    def id_for(kind: RecordKind, day: date) -> UUID:
        return uuid5(NAMESPACE_URL, f"opsledger:sequence:{RecordKind(kind).value}:{day.isoformat()}")

    @classmethod
    def open(cls, kind: RecordKind, day: date, at: datetime) -> DailySequence:
        return cls._create(cls.Opened, id=cls.id_for(kind, day), timestamp=at, kind=kind, day=day)

    def issue(self, at: datetime) -> str:
        seq = self.last + 1
        number = format_number(self.kind, self.day, seq)
        self.trigger_event(self.NumberIssued, timestamp=at, number=number, seq=seq)
        return number
