"""The frozen sample history loads and answers the same views, forever (ADR 0032).

``tests/fixtures/history_v1/events.jsonl`` holds stored rows exactly as the store kept them
when they were written (``tests/fixtures/make_history.py``, run once): every event class of
every aggregate. ``views.json`` beside it is what the HTTP API answered then for every
ticket, problem, change and project and their lists. Here the rows go into a fresh store
(memory, SQLite, PostgreSQL), the read models are rebuilt from them, and the API must answer
the same: renaming an event class, its topic or a field, or changing a field's meaning
without an upcaster, fails this test. Views may gain fields; they may not lose or change one.
"""

from __future__ import annotations

import base64
import importlib
import json
import pkgutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

import application
import domain
from adapters.container import Services, build
from adapters.settings import Settings
from application.ports import FixedClock
from tests.fixtures.make_history import api_views

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HISTORY = FIXTURES / "history_v1"

# Event classes that came after history_v1 was frozen: each needs a sample in a later
# ``history_vN`` (written by make_history.py's successor) once its shape is settled.
NOT_IN_V1 = ("opsledger.privacy:",  # crypto-shredding (issue 6, ADR 0034): the module
             "opsledger.ticket:Ticket.ContactErased",
             # the erasure of the other personal data (issue 16, ADR 0043)
             "opsledger.project:Project.PersonalDataErased",
             "opsledger.change:Change.PersonalDataErased",
             "opsledger.ticket:Ticket.PriorityGiven",  # a priority before classification (issue 16)
             "opsledger.ticket:Ticket.InformationAdded",  # the customer's words (ADR 0052)
             "opsledger.ticket:Ticket.CommentAdded",  # notes (issue 19, ADR 0055)
             "opsledger.attachment:",  # uploaded files (issue 19, ADR 0056)
             "opsledger.announcement:",  # planned maintenance (issue 19, ADR 0060)
             "opsledger.ci:",  # configuration items (issue 20, ADR 0063)
             "opsledger.ticket:Ticket.CisAffected",  # a ticket's CIs (ADR 0063)
             "opsledger.problem:Problem.CisAffected",  # a problem's CIs (ADR 0063)
             "opsledger.change:Change.CisAffected",  # a change's CIs (ADR 0063)
             "opsledger.change:Change.Announcement",  # a change's announcement (ADR 0060)
             "opsledger.risk:",  # hidden risks (issue 21, ADR 0067)
             "opsledger.major_incident:",  # major incidents (issue 21, ADR 0067)
             "opsledger.repair:",  # repair orders (issue 20, ADR 0065)
             "opsledger.catalogue:",  # the service catalogue (issue 21, ADR 0061)
             "opsledger.ticket:Ticket.ServiceRequested",  # a catalogue request (ADR 0061)
             "opsledger.ticket:Ticket.Approved",  # its approval (ADR 0061)
             "opsledger.ticket:Ticket.ApprovalRejected",
             "opsledger.ticket:Ticket.Milestone",  # milestone clocks' marks (ADR 0062)
             "opsledger.spare_part:",  # spare parts (issue 20, ADR 0064)
             "opsledger.visit:",  # the out-of-office register (ADR 0064)
             "opsledger.ticket:Ticket.Visit",  # field visits (ADR 0064)
             "opsledger.agreement:",  # SLA / OLA / UC (issue 21, ADR 0066)
             "opsledger.complaint:",  # complaints (issue 21, ADR 0066)
             "opsledger.identity:")  # users and tokens (issue 7, ADR 0035)


def stored_rows(history: Path = HISTORY) -> list[dict[str, Any]]:
    with (history / "events.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def defined_event_topics() -> set[str]:
    """The TOPIC of every concrete event class of every aggregate in ``domain/`` and
    ``application/`` (idempotency records live there)."""
    topics = set()
    modules = [f"{package.__name__}.{info.name}" for package in (domain, application)
               for info in pkgutil.iter_modules(package.__path__)]
    for name in modules:
        module = importlib.import_module(name)
        for owner in vars(module).values():
            if not (isinstance(owner, type) and owner.__module__ == module.__name__):
                continue
            for event in vars(owner).values():
                # (``getattr``: the library subclasses created-event classes, which then
                # inherit our TOPIC rather than define it)
                topic = getattr(event, "TOPIC", None) if isinstance(event, type) else None
                if isinstance(topic, str) and hasattr(event, "mutate") and not topic.endswith(".Event"):
                    topics.add(topic)
    return topics


def assert_contains(expected: Any, actual: Any, path: str = "") -> None:
    """``actual`` has everything ``expected`` has, equal (dicts may have more keys)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        for key, value in expected.items():
            assert key in actual, f"{path}/{key}: missing"
            assert_contains(value, actual[key], f"{path}/{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), \
            f"{path}: {len(expected)} items expected, got {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_contains(e, a, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: expected {expected!r}, got {actual!r}"


def load(services: Services, rows: list[dict[str, Any]]) -> None:
    services.desk.recorder.insert_events([
        StoredEvent(originator_id=UUID(r["originator_id"]),
                    originator_version=r["originator_version"], topic=r["topic"],
                    state=base64.b64decode(r["state"]))
        for r in rows])
    services.runner.catch_up_all()  # rows written behind the desk's back: no save woke it


@pytest.fixture
def replayed(store_url: str) -> Iterator[Services]:
    meta = json.loads((HISTORY / "meta.json").read_text(encoding="utf-8"))
    services = build(Settings(database_url=store_url, sla_watch_seconds=0),
                     clock=FixedClock(datetime.fromisoformat(meta["now"])))
    try:
        load(services, stored_rows())
        yield services
    finally:
        services.close()


def test_every_event_class_has_a_frozen_sample() -> None:
    sampled = {r["topic"] for h in FIXTURES.glob("history_v*") for r in stored_rows(h)}
    defined = defined_event_topics()
    unsampled = sorted(t for t in defined - sampled if not t.startswith(NOT_IN_V1))
    assert not unsampled, unsampled
    assert sampled <= defined, f"stored topics no class answers to: {sorted(sampled - defined)}"


def test_the_rows_are_exactly_as_stored(replayed: Services) -> None:
    rows = stored_rows()
    assert [r["position"] for r in rows] == list(range(1, len(rows) + 1))
    assert replayed.desk.max_position() == len(rows)


def test_the_frozen_history_gives_the_same_views(replayed: Services) -> None:
    expected = json.loads((HISTORY / "views.json").read_text(encoding="utf-8"))
    for kind in ("tickets", "problems", "changes", "projects"):
        assert expected[f"{kind}/list"]["items"], kind  # the fixture has every kind
    actual = api_views(replayed)
    assert sorted(actual) == sorted(expected)
    for key in sorted(expected):
        assert_contains(expected[key], actual[key], key)
