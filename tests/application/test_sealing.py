"""Sealing contacts in stored events (ADR 0034): what the mapper writes and reads back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from application.encoding import MsgspecMapper
from application.sealing import ContactSealer, MemoryKeyStore, key_id_for
from domain.errors import InvalidCommand
from domain.privacy import ErasureCounts, PersonalDataErasure
from domain.ticket import ERASED_CONTACT, Channel, Contact, Ticket

AT = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
CONTACT = Contact("李四", "13800005678", "li@example.com")


def registered(customer: str = "acme", contact: Contact = CONTACT) -> Ticket.Registered:
    ticket = Ticket.register(id=uuid4(), number="SR-20261121-001", customer=customer,
                             contact=contact, channel=Channel.PHONE, title="t", description="",
                             affected_system="", reported_at=AT, actor="a", at=AT)
    return ticket.collect_events()[0]  # type: ignore[return-value]


def mapper() -> MsgspecMapper:
    return MsgspecMapper(sealer=ContactSealer(MemoryKeyStore()))


def test_the_stored_bytes_hold_no_contact_and_read_back_plain() -> None:
    m = mapper()
    stored = m.to_stored_event(registered())
    assert b"13800005678" not in stored.state and "李四".encode() not in stored.state
    sealed = msgspec.json.decode(stored.state)["contact"]
    assert sealed["alg"] == "AES-256-GCM" and sealed["key_id"] == key_id_for("acme")
    assert m.to_domain_event(stored).contact == CONTACT  # type: ignore[attr-defined]
    # The projection runner's partial reads open it too, or skip it when not asked for.
    row = (stored.topic, stored.originator_id, stored.originator_version, stored.state)
    assert m.event_from_row(*row, fields=frozenset({"contact"})).contact == CONTACT  # type: ignore[attr-defined]
    assert not hasattr(m.event_from_row(*row, fields=frozenset({"customer"})), "contact")


def test_a_destroyed_key_reads_as_erased_and_other_customers_still_open() -> None:
    m = mapper()
    mine, theirs = m.to_stored_event(registered("acme")), m.to_stored_event(registered("beta"))
    assert m.sealer is not None
    m.sealer.keys.destroy(key_id_for("acme"))
    m.sealer.forget(key_id_for("acme"))
    assert m.to_domain_event(mine).contact == ERASED_CONTACT  # type: ignore[attr-defined]
    assert m.to_domain_event(theirs).contact == CONTACT  # type: ignore[attr-defined]


def test_a_sealed_value_moved_to_another_event_or_changed_does_not_open() -> None:
    m = mapper()
    a, b = m.to_stored_event(registered()), m.to_stored_event(registered())
    state = msgspec.json.decode(b.state)
    state["contact"] = msgspec.json.decode(a.state)["contact"]
    moved = StoredEvent(b.originator_id, b.originator_version, b.topic,
                        msgspec.json.encode(state))
    assert m.to_domain_event(moved).contact == ERASED_CONTACT  # type: ignore[attr-defined]
    state = msgspec.json.decode(a.state)
    ct = state["contact"]["sealed"]
    state["contact"]["sealed"] = ("A" if ct[0] != "A" else "B") + ct[1:]
    changed = StoredEvent(a.originator_id, a.originator_version, a.topic,
                          msgspec.json.encode(state))
    assert m.to_domain_event(changed).contact == ERASED_CONTACT  # type: ignore[attr-defined]


def test_without_a_sealer_contacts_are_plain_and_sealed_ones_unreadable() -> None:
    plain, sealed = MsgspecMapper(), mapper()
    stored = plain.to_stored_event(registered())
    assert b"13800005678" in stored.state
    assert sealed.to_domain_event(stored).contact == CONTACT  # type: ignore[attr-defined]
    assert plain.to_domain_event(sealed.to_stored_event(registered())).contact == ERASED_CONTACT  # type: ignore[attr-defined]


def test_plaintext_of_an_erased_customer_reads_as_erased() -> None:
    m = mapper()
    stored = MsgspecMapper().to_stored_event(registered())
    assert m.sealer is not None
    m.sealer.keys.destroy(key_id_for("acme"))
    m.sealer.forget(key_id_for("acme"))
    assert m.to_domain_event(stored).contact == ERASED_CONTACT  # type: ignore[attr-defined]


def test_a_ticket_records_the_erasure_once() -> None:
    ticket = Ticket.register(id=uuid4(), number="SR-20261121-001", customer="acme",
                             contact=CONTACT, channel=Channel.PHONE, title="t", description="",
                             affected_system="", reported_at=AT, actor="a", at=AT)
    assert ticket.erase_contact(reason="asked", erasure_id="x", actor="admin", at=AT)
    assert ticket.contact == ERASED_CONTACT
    assert not ticket.erase_contact(reason="asked", erasure_id="x", actor="admin", at=AT)
    assert [type(e).__name__ for e in ticket.collect_events()] == ["Registered", "ContactErased"]


@pytest.mark.parametrize("field,values", [("reason", {"reason": " "}),
                                          ("requested_by", {"requested_by": ""})])
def test_an_erasure_names_why_and_who_asked(field: str, values: dict[str, Any]) -> None:
    record = PersonalDataErasure.open("acme", actor="admin", at=AT)
    args: dict[str, Any] = {"reason": "asked", "requested_by": "li", **values}
    with pytest.raises(InvalidCommand) as e:
        record.erase(**args, key_id="k", key_versions=(1,), counts=ErasureCounts(1, 1, 0),
                     actor="admin", at=AT)
    assert [f.field for f in e.value.errors] == [field]
