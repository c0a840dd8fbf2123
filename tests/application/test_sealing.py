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


# ------------------------------------------------ every personal field (issue 16, ADR 0043)


def test_every_personal_field_names_a_field_of_its_event() -> None:
    from typing import get_type_hints

    from application.sealing import PERSONAL_FIELDS

    for event_class, specs in PERSONAL_FIELDS.items():
        for spec in specs:
            hints: Any = get_type_hints(event_class)
            for name in spec.path:
                assert name in hints, (event_class, spec.path)
                hints = get_type_hints(hints[name]) if name != spec.path[-1] else None
            assert spec.owner is None or spec.owner in get_type_hints(event_class)


def owned_mapper(owners: dict[Any, str]) -> MsgspecMapper:
    """A sealing mapper whose records belong to the customers ``owners`` names."""
    from application.sealing import RecordOwners

    def first(originator_id: Any) -> tuple[str, bytes] | None:
        customer = owners.get(originator_id)
        return None if customer is None else ("t", msgspec.json.encode({"customer": customer}))

    return MsgspecMapper(sealer=ContactSealer(MemoryKeyStore(), owners=RecordOwners(first)))


def accepted(ticket_id: Any, signer: str = "王经理") -> Ticket.AcceptanceConfirmed:
    from domain.ticket import Acceptance

    return Ticket.AcceptanceConfirmed(
        originator_id=ticket_id, originator_version=7, timestamp=AT, actor="agent",
        acceptance=Acceptance(number="SD-1", signer=signer, items=("ERP",), criteria=("可登录",),
                              passed=True, at=AT))


def test_a_nested_personal_field_is_sealed_with_its_records_customers_key() -> None:
    ticket = uuid4()
    m = owned_mapper({ticket: "acme"})
    stored = m.to_stored_event(accepted(ticket))
    assert "王经理".encode() not in stored.state
    state = msgspec.json.decode(stored.state)
    assert state["acceptance"]["signer"]["key_id"] == key_id_for("acme")
    assert state["acceptance"]["items"] == ["ERP"]  # the rest of the object stays plain
    assert m.to_domain_event(stored).acceptance.signer == "王经理"  # type: ignore[attr-defined]
    assert m.sealer is not None
    m.sealer.keys.destroy(key_id_for("acme"))
    m.sealer.forget(key_id_for("acme"))
    again = m.to_domain_event(stored).acceptance  # type: ignore[attr-defined]
    assert again.signer == "[erased]" and again.items == ("ERP",) and again.passed


def test_a_sealed_value_moved_to_another_field_does_not_open() -> None:
    from domain.change import Change, Decision, Review

    change = uuid4()
    m = owned_mapper({change: "acme"})
    event = Change.CustomerReviewed(
        originator_id=change, originator_version=5, timestamp=AT, actor="agent",
        review=Review(decision=Decision.APPROVED, reviewer="王经理", comment="同意", revision=1,
                      actor="agent", at=AT))
    stored = m.to_stored_event(event)
    state = msgspec.json.decode(stored.state)
    review = state["review"]
    review["reviewer"], review["comment"] = review["comment"], review["reviewer"]
    swapped = StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                          msgspec.json.encode(state))
    read = m.to_domain_event(swapped).review  # type: ignore[attr-defined]
    assert (read.reviewer, read.comment) == ("[erased]", "[erased]")


def test_a_record_of_no_customer_and_a_staff_name_stay_plain() -> None:
    from domain.identity import User

    m = owned_mapper({})
    stored = m.to_stored_event(accepted(uuid4(), "某人"))  # no first event: no owner known
    assert "某人".encode() in stored.state
    staff = User.Registered(originator_id=uuid4(), originator_version=1, timestamp=AT,
                            actor="admin", originator_topic=User.TOPIC, user="eng-wang",
                            name="王工", roles=("engineer",), customer=None, skills=(),
                            groups=())
    assert "王工".encode() in m.to_stored_event(staff).state
    requester = User.Registered(originator_id=uuid4(), originator_version=1, timestamp=AT,
                                actor="admin", originator_topic=User.TOPIC, user="li",
                                name="李四", roles=("requester",), customer="acme", skills=(),
                                groups=())
    stored = m.to_stored_event(requester)
    assert "李四".encode() not in stored.state
    assert m.to_domain_event(stored).name == "李四"  # type: ignore[attr-defined]


def test_plaintext_of_before_sealing_reads_as_erased_once_its_customer_had_an_erasure() -> None:
    ticket = uuid4()
    m = owned_mapper({ticket: "acme"})
    plain = MsgspecMapper().to_stored_event(accepted(ticket))
    assert "王经理".encode() in plain.state
    assert m.to_domain_event(plain).acceptance.signer == "王经理"  # type: ignore[attr-defined]
    assert m.sealer is not None
    m.sealer.keys.destroy(key_id_for("acme"))
    m.sealer.forget(key_id_for("acme"))
    assert m.to_domain_event(plain).acceptance.signer == "[erased]"  # type: ignore[attr-defined]


def test_a_routine_tickets_description_of_before_names_no_signer_after_the_erasure() -> None:
    ticket = Ticket.register(
        id=uuid4(), number="SR-20261121-001", customer="acme", contact=Contact("周敏"),
        channel=Channel.ONSITE, title="巡检: abnormal result",
        description="Routine inspection '巡检' of project PRJ-1 run at 2026-11-02T01:00:00+00:00, "
                    "performed 2026-11-02T09:50:00+08:00, signed by 周敏, found: UPS 告警",
        affected_system="", reported_at=AT, actor="system:routines", at=AT,
        source="routine:p:r:2026-11-02T01:00:00+00:00")
    stored = MsgspecMapper().to_stored_event(ticket.collect_events()[0])  # as stored then
    m = mapper()
    assert "signed by 周敏" in m.to_domain_event(stored).description  # type: ignore[attr-defined]
    assert m.sealer is not None
    m.sealer.keys.destroy(key_id_for("acme"))
    m.sealer.forget(key_id_for("acme"))
    event: Any = m.to_domain_event(stored)
    assert "周敏" not in event.description and "signed by [erased], found: UPS 告警" in \
        event.description
    assert event.contact == ERASED_CONTACT


def test_a_partial_read_of_an_upcast_event_opens_its_personal_fields() -> None:
    """Upcast classes (``FeedbackGiven``) are decoded whole even when a read model asks for a
    few fields: their sealed values are opened first, not handed to the typed decoder."""
    from domain.ticket import Feedback

    ticket = uuid4()
    m = owned_mapper({ticket: "acme"})
    event = Ticket.FeedbackGiven(
        originator_id=ticket, originator_version=9, timestamp=AT, actor="li",
        feedback=Feedback("FB-1", 5, 5, 4, 4.67, "张工很耐心", AT))
    stored = m.to_stored_event(event)
    assert "张工".encode() not in stored.state
    row = (stored.topic, stored.originator_id, stored.originator_version, stored.state)
    assert m.event_from_row(*row, fields=frozenset({"late"})).late is False  # type: ignore[attr-defined]
    read: Any = m.event_from_row(*row, fields=frozenset({"feedback"}))
    assert read.feedback.comment == "张工很耐心" and read.feedback.mean == 4.67
