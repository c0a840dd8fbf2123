"""The notices' delivery status over HTTP (ADR 0059): ``GET /api/v1/tickets/{ref}/notices``
for staff (an address masked for an auditor, as contacts are), not for requesters; the
desk's ticket page shows them; ``/healthz`` counts them for staff; a user's e-mail is kept
and masked like a contact's."""

from __future__ import annotations

import time
from pathlib import Path
from application.commands.users import RegisterUser
from tests.adapters.channels.conftest import SmtpSink
from tests.fixtures_http import API, Api

ADMIN_TOKEN = "admin-notices-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(api: Api, user: str, *roles: str, customer: str | None = None) -> dict[str, str]:
    """A user registered in the desk and a token issued for them over HTTP."""
    api.services.desk.handle(RegisterUser(id=user, name=user, roles=list(roles),
                                          customer=customer), actor="admin")
    token = api.client.post(f"{API}/users/{user}/tokens", json={}, headers=ADMIN).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_notices_of_a_ticket_for_staff_masked_for_auditors(make_api, sink: SmtpSink,
                                                                tmp_path: Path):
    rules = tmp_path / "rules.json"
    rules.write_text('{"groups": {"network": {"addresses": ["net-team@provider.example"]}}}',
                     encoding="utf-8")
    api: Api = make_api(admin_token=ADMIN_TOKEN, smtp_relay=sink.relay, notice_rules=str(rules))
    agent = bearer(api, "agent.wang", "agent")
    auditor = bearer(api, "audit.zhao", "auditor")
    requester = bearer(api, "li.si", "requester", customer="ACME")
    engineer = bearer(api, "eng.li", "engineer")
    r = api.client.post(f"{API}/users/eng.li/update", headers=ADMIN,
                        json={"email": "eng.li@provider.example"})
    assert r.status_code == 200 and r.json()["email"] == "eng.li@provider.example", r.text
    r = api.client.post(f"{API}/users/eng.li/update", headers=ADMIN, json={"email": "nobody"})
    assert r.status_code == 422 and "email" in r.text
    r = api.client.post(f"{API}/tickets", headers=agent, json={
        "customer": "ACME", "contact": {"name": "李四", "email": "li.si@acme.example"},
        "channel": "email", "title": "打印机卡纸", "type": "fault", "category": "hardware",
        "urgency": "urgent", "impact": "some", "importance": "important"})
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    r = api.client.post(f"{API}/tickets/{number}/assign", headers=ADMIN,
                        json={"assignee": "eng.li", "group": "network"})
    assert r.status_code == 200, r.text
    # The app's own runner and sender (started with it) decide and send them.
    deadline = time.monotonic() + 30
    while True:
        r = api.client.get(f"{API}/tickets/{number}/notices", headers=agent)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if len(items) == 3 and all(n["status"] != "pending" for n in items):
            break
        assert time.monotonic() < deadline, items
        time.sleep(0.05)
    got = sorted((n["rule"], n["recipient"], n["email"], n["channel"], n["status"]) for n in items)
    assert got == [("assigned", "address", "net-team@provider.example", "email", "sent"),
                   ("assigned", "user:eng.li", None, "email", "sent"),
                   ("registered", "contact", None, "email", "sent")]
    assert all(n["message_id"].startswith(f"<{number}.") for n in items)
    assert "li.si@acme.example" not in r.text  # the contact's address is never in the outbox

    r = api.client.get(f"{API}/tickets/{number}/notices", headers=auditor)
    assert r.status_code == 200
    assert {n["email"] for n in r.json()["items"]} == {None, "n***@provider.example"}
    assert api.client.get(f"{API}/tickets/{number}/notices", headers=requester).status_code == 403
    assert api.client.get(f"{API}/tickets/SR-20000101-999/notices",
                          headers=agent).status_code == 404

    health = api.client.get("/healthz", headers=agent).json()["notifications"]
    assert (health["sent"], health["pending"], health["failed"]) == (3, 0, 0)
    assert "notifications" not in api.client.get("/healthz").json()

    page = api.client.get(f"/ui/tickets/{number}", headers=agent)
    assert page.status_code == 200
    assert page.text.count("data-notice=") == 3 and "已发送" in page.text

    user = api.client.get(f"{API}/users/eng.li", headers=ADMIN).json()
    assert user["email"] == "eng.li@provider.example"
    assert api.client.get(f"{API}/users/eng.li", headers=engineer).json()["email"] == (
        "eng.li@provider.example")
