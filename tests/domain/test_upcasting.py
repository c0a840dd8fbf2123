"""Upcasting (ADR 0032): a stored event of an older class version is turned into today's shape
before the typed decode. ``Ticket.FeedbackGiven`` is at version 2 (``late`` and
``window_end`` came with issue 5); ``tests/fixtures/upcast/feedback_given_v1.json`` is a row
in the version-1 shape, as stored before then.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.encoding import MsgspecMapper
from domain.ticket import Feedback, Ticket

ROW = Path(__file__).parent.parent / "fixtures" / "upcast" / "feedback_given_v1.json"


def stored_v1() -> StoredEvent:
    row = json.loads(ROW.read_text(encoding="utf-8"))
    assert "class_version" not in row["state"] and "late" not in row["state"]
    return StoredEvent(originator_id=UUID(row["originator_id"]),
                       originator_version=row["originator_version"], topic=row["topic"],
                       state=json.dumps(row["state"], ensure_ascii=False).encode())


def test_a_version_1_event_is_upcast_to_todays_shape() -> None:
    event = MsgspecMapper().to_domain_event(stored_v1())
    assert isinstance(event, Ticket.FeedbackGiven)
    # The upcaster put the fields in the state (not just the class defaults showing through).
    assert vars(event)["late"] is False and vars(event)["window_end"] is None
    assert event.feedback.number == "FB-20260928-001" and event.feedback.mean == 4.67


def test_todays_events_are_stored_with_their_class_version_and_read_back_unchanged() -> None:
    mapper = MsgspecMapper()
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    event = Ticket.FeedbackGiven(
        originator_id=UUID(int=1), originator_version=9, timestamp=at, actor="c",
        feedback=Feedback("FB-1", 5, 5, 4, 4.67, "ok", at), late=True,
        window_end=datetime(2026, 11, 19, 9, 0, tzinfo=UTC))
    stored = mapper.to_stored_event(event)
    assert json.loads(stored.state)["class_version"] == Ticket.FeedbackGiven.class_version == 2
    again = mapper.to_domain_event(stored)
    assert vars(again) == vars(event)
