"""Stored change histories stay readable (STYLE.md: topics and fields are a stored contract).

``tests/fixtures/change_history_v1.json`` holds events as the store kept them when changes
were introduced (topic + JSON state): an emergency change closed after its owed reviews with
a follow-up improvement, a standard change under a model that was rolled back, a rejected and
cancelled change. Renaming an event, moving its module or changing a field without an upcast
breaks this test.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.encoding import MsgspecMapper
from domain.change import Change, ChangeKind, Status
from domain.standard_change import StandardChangeModel

FIXTURE = Path(__file__).parent.parent / "fixtures" / "change_history_v1.json"
# Event classes that came after the fixture was frozen (never regenerated, ADR 0032): a later
# history (``history_vN``) gets their samples, as in tests/contracts/test_history_v1.py.
NOT_IN_V1 = {Change.PersonalDataErased.TOPIC,  # the erasure (issue 16, ADR 0043)
             # a maintenance announcement's link (issue 19, ADR 0060)
             Change.AnnouncementLinked.TOPIC, Change.AnnouncementWithdrawn.TOPIC,
             Change.CisAffected.TOPIC}  # its configuration items (issue 20, ADR 0063)


def replayed() -> dict[str, Any]:
    mapper = MsgspecMapper()
    records: dict[str, Any] = defaultdict(lambda: None)
    for item in json.loads(FIXTURE.read_text(encoding="utf-8")):
        stored = StoredEvent(originator_id=UUID(item["originator_id"]),
                             originator_version=item["originator_version"], topic=item["topic"],
                             state=json.dumps(item["state"], ensure_ascii=False).encode())
        event = mapper.to_domain_event(stored)
        records[item["originator_id"]] = event.mutate(records[item["originator_id"]])
    return {getattr(r, "number", None) or r.__class__.__name__: r for r in records.values()}


def test_every_change_event_class_has_a_stored_sample() -> None:
    topics = {item["topic"] for item in json.loads(FIXTURE.read_text(encoding="utf-8"))}
    events = {v.TOPIC for v in vars(Change).values()  # the event classes we define
              if isinstance(v, type) and "TOPIC" in vars(v) and v is not Change.Event
              and issubclass(v, Change.Event | Change.Requested)}
    assert events - NOT_IN_V1 <= topics, events - NOT_IN_V1 - topics


def test_the_stored_history_replays() -> None:
    records = replayed()
    emergency, follow_up, standard, cancelled = (
        records[f"CHG-20261121-00{i}"] for i in (1, 2, 3, 4))
    assert emergency.kind is ChangeKind.EMERGENCY and emergency.status is Status.CLOSED
    assert emergency.authorised_by == "emergency" and emergency.owed_gates() == ()
    assert emergency.consents[0].reference == "FAX-001"
    assert emergency.improvements[0].change_number == follow_up.number
    assert follow_up.origin.number == emergency.number and follow_up.status is Status.REQUESTED
    assert standard.pre_approved and standard.status is Status.ROLLED_BACK
    assert standard.standard_model.id == "os-patch"
    assert cancelled.status is Status.CANCELLED and cancelled.reviews[0].comment == "不必要"
    assert isinstance(records["StandardChangeModel"], StandardChangeModel)
