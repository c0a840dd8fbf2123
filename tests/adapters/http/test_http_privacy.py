"""Crypto-shredding of contact data (issue 6 item 6, ADR 0034), on every store.

Contacts are stored sealed with a per-customer key: the phone number never appears in the
database, before or after an erasure; the erasure destroys the key without changing one stored
event byte, and from then on every view (ticket, as-of, history, audit log) shows the contact
as erased, while other customers' tickets are untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.container import build
from adapters.settings import Settings
from adapters.stores.views_file import SUFFIX
from tests.fixtures_http import ALL_STORES, API, Api, assert_problem, ticket_body
from tests.support.stored import schema_rows

PHONE_A = "13800005678"
EMAIL_A = "li@example.com"
PHONE_B = "13900001111"
ERASE = {"reason": "客户依据个人信息保护法要求删除联系人信息", "requested_by": "客户A 法务 张三"}

pytestmark = pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)


def stored_rows(api: Api) -> list[tuple[int, str, int, str, bytes]]:
    """Every stored event as the recorder has it (position, originator, version, topic, bytes)."""
    notes = api.services.desk.recorder.select_notifications(start=1, limit=100_000)
    return [(n.id, str(n.originator_id), n.originator_version, n.topic, bytes(n.state))
            for n in notes]


def database_holds(api: Api, text: str) -> bool:
    """Whether ``text`` occurs anywhere in the database: the SQLite files (the events' and the
    read models', ADR 0073) and their WALs byte by byte; every row of every PostgreSQL table of the schema (bytea as hex too); the stored
    events of the in-memory store."""
    needle = text.encode()
    db = api.services.settings.database
    if db.kind == "sqlite":
        files = [Path(p + wal) for p in (db.path, db.path + SUFFIX) for wal in ("", "-wal")]
        return any(f.exists() and needle in f.read_bytes() for f in files)
    if db.kind == "postgres":
        import psycopg

        with psycopg.connect(db.conninfo) as conn:
            events_table = api.services.desk.recorder.events_table_name  # type: ignore[attr-defined]
            return any(text in row or needle.hex() in row
                       for row in schema_rows(conn, events_table))
    return any(needle in row[4] for row in stored_rows(api))


def register(api: Api, customer: str, phone: str, **extra: Any) -> dict[str, Any]:
    contact = {"name": "李四", "phone": phone,
               "email": EMAIL_A if phone == PHONE_A else f"{phone}@example.com"}
    return api.ok(api.register(customer=customer, contact=contact, **extra), 201)


def erase(api: Api, customer: str, body: dict[str, Any] | None = None) -> Any:
    return api.client.post(f"{API}/customers/{customer}/erase_personal_data",
                           json=ERASE if body is None else body)


def test_contacts_are_sealed_and_an_erasure_shreds_them_without_changing_history(
        api: Api) -> None:
    a = register(api, "客户A", PHONE_A)
    b = register(api, "客户B", PHONE_B)
    api.ok(api.command(a["id"], "invalidate", {"reason": "重复报障"}))
    registered_at = api.clock.now()
    assert a["contact"] == {"name": "李四", "phone": PHONE_A, "email": EMAIL_A}
    assert a["contact_erased"] is False
    # Sealed at rest: neither phone number is in the database, only in the views.
    assert not database_holds(api, PHONE_A) and not database_holds(api, PHONE_B)
    assert not database_holds(api, EMAIL_A)
    before = stored_rows(api)

    api.clock.advance(hours=2)
    r = erase(api, "客户A")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer"] == "客户A" and body["recorded"] is True
    assert (body["tickets"], body["tickets_erased"], body["sealed_events"],
            body["legacy_plaintext_events"]) == (1, 1, 1, 0)
    assert body["destroyed_key_versions"] == [1]

    # History intact: every stored row before the erasure is byte for byte the same.
    after = stored_rows(api)
    assert after[: len(before)] == before
    assert len(after) > len(before)
    assert not database_holds(api, PHONE_A) and not database_holds(api, PHONE_B)
    verify = api.client.get(f"{API}/audit/verify")
    assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text

    erased = {"name": "[erased]", "phone": None, "email": None}
    view = api.view(a["id"])
    assert view["contact"] == erased and view["contact_erased"] is True
    assert view["status"] == "invalid"
    as_of = api.get(a["id"], as_of=registered_at.isoformat())
    assert as_of.status_code == 200, as_of.text
    assert as_of.json()["contact"] == erased and as_of.json()["contact_erased"] is True
    history = api.history(a["id"])
    assert history[0]["data"]["contact"]["erased"] is True
    assert history[0]["data"]["contact"]["name"] == "[erased]"
    assert history[-1]["type"] == "ContactErased"
    assert history[-1]["data"]["reason"] == ERASE["reason"]
    log = api.client.get(f"{API}/audit/events", params={"limit": 500})
    assert PHONE_A not in log.text and EMAIL_A not in log.text
    assert "PersonalDataErased" not in log.text and "Erased" in log.text
    erased_events = [e for e in log.json()["items"] if e["type"] == "Erased"]
    assert erased_events[0]["data"]["requested_by"] == ERASE["requested_by"]
    assert PHONE_A not in api.client.get(f"{API}/tickets/{a['id']}/history").text

    # The other customer is untouched.
    other = api.view(b["id"])
    assert other["contact"]["phone"] == PHONE_B and other["contact_erased"] is False
    assert PHONE_B in log.text


def test_a_repeat_records_nothing_and_new_tickets_get_a_new_key(api: Api) -> None:
    register(api, "客户A", PHONE_A)
    assert erase(api, "客户A").status_code == 200
    again = erase(api, "客户A")
    assert again.status_code == 200, again.text
    assert again.json()["recorded"] is False and again.json()["tickets_erased"] == 0
    fresh = register(api, "客户A", "13700002222")
    assert api.view(fresh["id"])["contact"]["phone"] == "13700002222"
    raw = [row for row in stored_rows(api) if row[1] == fresh["id"]][0][4]
    assert b'"key_version":2' in raw
    third = erase(api, "客户A").json()
    assert third["recorded"] is True and third["tickets_erased"] == 1
    assert third["destroyed_key_versions"] == [2]
    assert api.view(fresh["id"])["contact_erased"] is True
    erasures = api.client.get(f"{API}/customers/客户A/erasures").json()
    assert erasures["count"] == 2
    assert [e["tickets_erased"] for e in erasures["items"]] == [1, 1]


def test_contacts_stored_before_sealing_read_as_erased_and_are_counted(api: Api) -> None:
    mapper: Any = api.services.desk.mapper
    sealer, mapper.sealer = mapper.sealer, None  # a desk from before ADR 0034
    try:
        legacy = register(api, "客户A", PHONE_A)
    finally:
        mapper.sealer = sealer
    assert database_holds(api, PHONE_A)  # plaintext, as older versions stored it
    r = erase(api, "客户A")
    body = r.json()
    assert body["legacy_plaintext_events"] == 1 and body["sealed_events"] == 0
    assert "plaintext" in body["note"]
    assert api.view(legacy["id"])["contact_erased"] is True
    assert PHONE_A not in api.client.get(f"{API}/tickets/{legacy['id']}/history").text
    assert PHONE_A not in api.client.get(f"{API}/audit/events", params={"limit": 500}).text


def test_erasure_input_is_checked(api: Api) -> None:
    assert_problem(erase(api, "nobody"), 404)
    register(api, "客户A", PHONE_A)
    assert_problem(erase(api, "客户A", {"reason": " ", "requested_by": "x"}), 422, field="reason")
    assert_problem(erase(api, "客户A", {"reason": "r"}), 400)


def test_keys_survive_a_restart_and_erasure_stays(api: Api, http_store: str) -> None:
    if http_store == "memory":
        pytest.skip("nothing survives a restart of the in-memory store")
    a = register(api, "客户A", PHONE_A)
    b = register(api, "客户B", PHONE_B)
    api.clock.advance(minutes=5)
    assert erase(api, "客户A").status_code == 200
    again = build(Settings(database_url=api.services.settings.database_url, sla_watch_seconds=0),
                  clock=api.clock)
    try:
        assert again.desk.get_ticket(b["id"]).contact.phone == PHONE_B
        assert again.desk.get_ticket(a["id"]).contact.erased
    finally:
        again.close()
