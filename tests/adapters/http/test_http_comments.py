"""Notes on tickets over HTTP (issue 19 item 2, ADR 0055): ``POST /api/v1/tickets/{ref}/comment``
``{body, visibility, attachments}`` answered as every ticket command (``200``, the ticket's
view, ``ETag``; ``If-Match`` and ``Idempotency-Key`` as everywhere); staff write public or
internal notes, a requester's note is the customer's public message (and resumes a ticket
waiting for the customer), auditors write none. Requesters never read an internal note --
not in any answer of the app: the last test calls every ``GET`` route there is (the API, the
desk, the portal) with a requester's and an auditor's token and looks for the note's text.
Auditors read that an internal note was written, by whom and when, never what it says."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.adapters.http.test_access_matrix import ADMIN_TOKEN, World
from tests.fixtures_http import ALL_STORES, API, Api, assert_problem

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SECRET = "内部备注-仅员工-7f3a9c"  # an internal note's marker
OPEN = "公开答复：明天上午上门更换硬盘"


def bearer(api: Api, user: str, *roles: str, customer: str | None = None,
           groups: tuple[str, ...] = ()) -> dict[str, str]:
    body: dict[str, Any] = {"id": user, "name": user, "roles": list(roles),
                            "groups": list(groups)}
    if customer:
        body["customer"] = customer
    r = api.client.post(f"{API}/users", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    r = api.client.post(f"{API}/users/{user}/tokens", json={}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


class Desk:
    """A store with a customer's ticket assigned to an engineer, and a token per person."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.agent = bearer(api, "agent-zhou", "agent")
        self.eng = bearer(api, "eng-li", "engineer")
        self.other_eng = bearer(api, "eng-zhao", "engineer")
        self.auditor = bearer(api, "audit-sun", "auditor")
        self.manager = bearer(api, "mgr-wang", "manager")
        self.li = bearer(api, "li", "requester", customer="客户A")
        self.zhao = bearer(api, "zhao", "requester", customer="客户B")
        self.ticket = api.ok(api.register(headers=ADMIN, **{
            "type": "fault", "category": "hardware", "urgency": "urgent", "impact": "single",
            "importance": "important"}), 201)
        self.ref = self.ticket["id"]
        api.ok(api.command(self.ref, "assign", {"assignee": "eng-li"}, ADMIN))
        api.ok(api.command(self.ref, "start", {}, self.eng))

    def note(self, body: dict[str, Any], who: dict[str, str], **headers: str) -> Any:
        return self.api.command(self.ref, "comment", body, {**who, **headers})

    def view(self) -> dict[str, Any]:
        return self.api.ok(self.api.client.get(f"{API}/tickets/{self.ref}", headers=ADMIN))

    def history(self, who: dict[str, str]) -> list[dict[str, Any]]:
        r = self.api.client.get(f"{API}/tickets/{self.ref}/history", headers=who)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def notes(self, who: dict[str, str]) -> list[dict[str, Any]]:
        return [h["data"] for h in self.history(who) if h["type"] == "CommentAdded"]


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Desk:
    return Desk(make_api(admin_token=ADMIN_TOKEN))


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_staff_notes_are_read_by_staff_and_only_the_public_ones_by_the_requester(desk: Desk):
    api = desk.api
    r = desk.note({"body": SECRET, "visibility": "internal"}, desk.eng)
    view = api.ok(r)  # 200, the ticket's view, ETag = its version
    assert view["id"] == desk.ref and view["status"] == "in_progress"
    assert SECRET not in r.text  # the view carries no note
    api.ok(desk.note({"body": OPEN, "visibility": "public"}, desk.agent))
    staff = desk.notes(desk.manager)
    assert [(n["body"], n["visibility"], n["author"], n["via"]) for n in staff] == [
        (SECRET, "internal", "staff", "api"), (OPEN, "public", "staff", "api")]
    # the requester: the public note only; the internal one is not there at all
    mine = desk.history(desk.li)
    assert [h["data"]["body"] for h in mine if h["type"] == "CommentAdded"] == [OPEN]
    assert SECRET not in str(mine)
    # the auditor: both notes, the internal one without its text (who, when, how stay)
    audited = [h for h in desk.history(desk.auditor) if h["type"] == "CommentAdded"]
    assert [h["data"]["body"] for h in audited] == ["[hidden]", OPEN]
    assert audited[0]["actor"] == "eng-li" and audited[0]["data"]["visibility"] == "internal"
    assert [h["version"] for h in desk.history(desk.auditor)] == [
        h["version"] for h in desk.history(desk.manager)]  # the record has no gap
    # the customer of another organisation: the ticket does not exist for them
    r = api.client.get(f"{API}/tickets/{desk.ref}/history", headers=desk.zhao)
    assert_problem(r, 404)


def test_staff_notes_are_internal_unless_they_say_public(desk: Desk):
    view = desk.api.ok(desk.note({"body": "先查 RAID 卡日志"}, desk.agent))
    assert desk.notes(desk.agent)[-1]["visibility"] == "internal"
    assert desk.notes(desk.li) == []
    # the ticket list counts the note as a version, as the view does (its version is the
    # If-Match of the desk's bulk forms)
    listed = desk.api.client.get(f"{API}/tickets", headers=desk.agent).json()["items"]
    assert [t["version"] for t in listed if t["id"] == desk.ref] == [view["version"]]


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_a_requesters_note_is_the_customers_public_message_and_resumes_a_waiting_ticket(
        desk: Desk):
    api = desk.api
    api.ok(api.command(desk.ref, "await_customer", {"reason": "请提供硬盘序列号"}, desk.eng))
    r = desk.note({"body": "序列号 WD-12345", "visibility": "internal"}, desk.li)
    assert_problem(r, 422, field="visibility")
    assert desk.view()["status"] == "waiting_customer"  # nothing recorded
    view = api.ok(desk.note({"body": "序列号 WD-12345"}, desk.li))
    assert view["status"] == "in_progress"  # the customer answered: work resumes
    history = desk.history(desk.manager)
    assert [h["type"] for h in history[-2:]] == ["CommentAdded", "Resumed"]
    assert history[-2]["data"] == {
        "body": "序列号 WD-12345", "visibility": "public", "author": "customer", "via": "api",
        "attachments": [], "message_id": "", "sender": "", "actor": "li"}
    assert history[-2]["actor"] == "li"
    # the requester reads their own message; a public staff note on a running ticket
    # changes no status
    api.ok(desk.note({"body": OPEN, "visibility": "public"}, desk.li))
    assert [n["body"] for n in desk.notes(desk.li)] == ["序列号 WD-12345", OPEN]
    assert desk.view()["status"] == "in_progress"


def test_who_may_write_a_note(desk: Desk):
    body = {"body": "查看了机房温度", "visibility": "internal"}
    assert_problem(desk.note(body, desk.auditor), 403)  # auditors read only
    assert_problem(desk.note(body, desk.other_eng), 403)  # not their ticket
    assert_problem(desk.note(body, desk.zhao), 404)  # another organisation's ticket
    for who in (desk.eng, desk.agent, desk.manager, ADMIN):
        desk.api.ok(desk.note(body, who))
    assert len(desk.notes(desk.manager)) == 4


def test_a_note_is_refused_naming_its_field(desk: Desk):
    assert_problem(desk.note({"body": "   "}, desk.agent), 422, field="body")
    assert_problem(desk.note({"body": "x", "visibility": "secret"}, desk.agent), 400,
                   field="visibility")
    assert_problem(desk.note({"visibility": "public"}, desk.agent), 400, field="body")
    assert_problem(desk.note({"body": "x", "author": "customer"}, desk.agent), 400,
                   field="author")  # the author is who calls, not a field
    assert_problem(desk.api.command("SR-20000101-999", "comment", {"body": "x"}, desk.agent),
                   404)
    assert desk.notes(desk.manager) == []


def test_if_match_and_idempotency_as_every_command(desk: Desk):
    api = desk.api
    version = desk.view()["version"]
    assert_problem(desk.note({"body": "旧页面上写的"}, desk.agent, **{"If-Match": f'"{version - 1}"'}), 412)
    first = desk.note({"body": "只记一次"}, desk.agent, **{"Idempotency-Key": "n-1"})
    again = desk.note({"body": "只记一次"}, desk.agent, **{"Idempotency-Key": "n-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert_problem(desk.note({"body": "另一句"}, desk.agent, **{"Idempotency-Key": "n-1"}), 422)
    assert [n["body"] for n in desk.notes(desk.agent)] == ["只记一次"]
    api.ok(desk.note({"body": "新版本上写的"}, desk.agent,
                     **{"If-Match": f'"{first.json()["version"]}"'}))


def test_the_audit_log_hides_an_internal_notes_text_from_auditors(desk: Desk):
    desk.api.ok(desk.note({"body": SECRET, "visibility": "internal"}, desk.eng))
    desk.api.ok(desk.note({"body": OPEN, "visibility": "public"}, desk.eng))

    def notes(who: dict[str, str]) -> list[dict[str, Any]]:
        r = desk.api.client.get(f"{API}/audit/events", params={"limit": 500}, headers=who)
        assert r.status_code == 200, r.text
        return [i for i in r.json()["items"] if i["type"] == "CommentAdded"]

    audited, managed = notes(desk.auditor), notes(desk.manager)
    assert [i["position"] for i in audited] == [i["position"] for i in managed]
    assert [i["data"]["body"] for i in audited] == ["[hidden]", OPEN]
    assert [i["data"]["body"] for i in managed] == [SECRET, OPEN]
    hidden = audited[0]["data"]
    assert hidden == {"body": "[hidden]", "visibility": "internal", "author": "staff",
                      "via": "api", "attachments": "[hidden]", "message_id": "[hidden]",
                      "sender": "[hidden]", "actor": "eng-li"}
    verdict = desk.api.client.get(f"{API}/audit/verify", headers=desk.auditor).json()
    assert verdict["ok"] is True  # the chain covers the stored bytes, untouched


def test_a_mails_sender_is_masked_for_those_who_do_not_see_contacts(desk: Desk):
    from application.commands.tickets import CustomerReply

    desk.api.services.desk.handle(CustomerReply(
        ref=desk.ref, body="附件是日志", via="email", message_id="<m1@example.com>",
        sender="李四 <li@example.com>"), actor="system:mail")
    assert desk.notes(desk.agent)[-1]["sender"] == "李四 <li@example.com>"
    for who in (desk.li, desk.auditor):
        text = str(desk.notes(who))
        assert "李* <l***@example.com>" in text and "li@example.com" not in text


# ------------------------------------------------------------------ the walk


def _fill(world: World, template: str) -> str:
    """``template`` (any route of the app) naming customer A's records, the staff records,
    and for a parameter nobody here knows, A's ticket."""
    refs = {"tickets": world.ticket["id"], "problems": world.problem["id"],
            "changes": world.change["id"], "knowledge": world.public_article["id"],
            "projects": world.project["id"], "calendars": "china-5x8",
            "sla-policies": "default", "standard-changes": "os-patch", "users": "target",
            "customers": "客户A", "queues": "unassigned"}
    parts = template.split("/")
    collection = next((p for p in parts if p in refs), "tickets")
    values = {"ref": refs[collection], "slug": refs[collection], "customer": "客户A",
              "name": "unassigned", "assignee": "u-engineer", "period": "2026-11",
              "token_id": world.target_token, "user": "target"}
    path = re.sub(r"\{(\w+)(?::\w+)?\}",
                  lambda m: str(values.get(m.group(1), world.ticket["id"])), template)
    return path


def _get_routes(api: Api) -> list[str]:
    """Every ``GET`` route of the app (the API, the desk, the portal, exports), from its own
    route table: a new read is walked as soon as it exists."""
    return sorted({route.path for route in api.client.app.routes
                   if "GET" in getattr(route, "methods", ())
                   and not route.path.startswith(("/schema", "/ui/static"))})


@pytest.fixture
def world(make_api: Callable[..., Api]) -> World:
    return World(make_api(admin_token=ADMIN_TOKEN))


@pytest.mark.parametrize("http_store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_no_answer_of_the_app_carries_an_internal_note_to_a_requester_or_an_auditor(world):
    """An internal note with a marker on the requester's own ticket (and one more on the
    other customer's), a public note beside it; then every GET route of the app with the
    requester's and the auditor's token, plain, as of now, searching for the marker, in
    Markdown and HTML: the marker is in no answer, the public note is where the ticket's
    history is. Not vacuous: a manager's history has the marker."""
    client, ticket = world.api.client, world.ticket["id"]
    for ref in (ticket, world.ticket_b["id"]):
        r = client.post(f"{API}/tickets/{ref}/comment",
                        json={"body": f"{SECRET} 服务器密码在 KeePass", "visibility": "internal"},
                        headers=world.admin)
        assert r.status_code == 200, r.text
    r = client.post(f"{API}/tickets/{ticket}/comment", json={"body": OPEN, "visibility": "public"},
                    headers=world.tokens["agent"])
    assert r.status_code == 200, r.text
    manager = client.get(f"{API}/tickets/{ticket}/history", headers=world.tokens["manager"])
    assert SECRET in manager.text
    now = world.api.clock.now().isoformat()
    queries: list[dict[str, str]] = [{}, {"as_of": now}, {"q": SECRET}, {"q": "KeePass"},
                                     {"format": "md"}, {"format": "html"}, {"limit": "500"}]
    routes = _get_routes(world.api)
    assert f"{API}/tickets/{{ref:str}}/history" in routes and "/portal/tickets/{ref:str}" in routes
    leaks: list[str] = []
    read: dict[tuple[str, str], int] = {}
    for role in ("requester", "auditor"):
        headers = world.tokens[role]
        for template in routes:
            path = _fill(world, template)
            for query in queries:
                r = client.get(path, params=query, headers=headers)
                where = f"{role} {template} {query}"
                assert r.status_code < 500, (where, r.text[:300])
                if not query:
                    read[(role, template)] = r.status_code
                # a search echoes its query: look for the note's other words then
                marks = [m for m in (SECRET, "KeePass") if m not in query.values()]
                if any(m in r.text for m in marks):
                    leaks.append(where)
                if r.status_code == 200 and OPEN in r.text:
                    read[(role, "public note")] = 200
    assert leaks == []
    # the walk reached the answers that carry notes
    assert read[("requester", f"{API}/tickets/{{ref:str}}/history")] == 200
    assert read[("requester", "/portal/tickets/{ref:str}")] == 200
    assert read[("auditor", f"{API}/tickets/{{ref:str}}/history")] == 200
    assert read[("auditor", f"{API}/audit/events")] == 200
    assert read[("auditor", "/ui/tickets/{ref:str}")] == 200
    assert read[("requester", "public note")] == read[("auditor", "public note")] == 200
