"""``GET /api/v1/search`` (issue 18, ADR 0050), on memory, SQLite and PostgreSQL.

A ticket is found by its number (first), a Chinese word of its title, an English word of its
description, its work log and its affected system; by its contact's phone only for a role that
sees contacts (a dispatcher), never for an auditor or a requester -- not even the requester's
own ticket, and the phone never shows in their snippets; a requester finds only their own
organisation's tickets, only public articles and no problem or change; problems, changes and
knowledge are found by their titles; ``kinds`` and ``limit`` narrow the answer; bad parameters
are 400s naming them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, PRECISE, Api, CLASSIFICATION, assert_problem

pytestmark = pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)

ADMIN = {"Authorization": "Bearer s3cret"}
PHONE_A, PHONE_B = "13912340001", "13698760002"


@dataclass
class Desk:
    api: Api
    tokens: dict[str, dict[str, str]]
    tickets: dict[str, dict[str, Any]]
    records: dict[str, dict[str, Any]]

    def search(self, who: str, q: str, status: int = 200, **params: Any) -> dict[str, Any]:
        r = self.api.client.get(f"{API}/search", params={"q": q, **params},
                                headers=self.tokens[who])
        assert r.status_code == status, r.text
        return r.json()  # type: ignore[no-any-return]

    def numbers(self, who: str, q: str, kind: str = "ticket", **params: Any) -> list[str]:
        found = self.search(who, q, **params)
        [group] = [g for g in found["groups"] if g["kind"] == kind] or [{"items": []}]
        return [h["number"] for h in group["items"]]


def _post(api: Api, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = api.client.post(f"{API}{path}", json=body, headers=ADMIN)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Desk:
    api = make_api(admin_token="s3cret")
    tokens: dict[str, dict[str, str]] = {"admin": ADMIN}
    for user, role, extra in (("disp", "dispatcher", {}), ("eng-wang", "engineer", {}),
                              ("aud", "auditor", {}),
                              ("req-a", "requester", {"customer": "客户A"})):
        _post(api, "/users", {"id": user, "name": user, "roles": [role], **extra}, 201)
        token = _post(api, f"/users/{user}/tokens", {}, 201)["token"]
        tokens[user] = {"Authorization": f"Bearer {token}"}

    def ticket(customer: str, phone: str, title: str, description: str, system: str) -> Any:
        return _post(api, "/tickets", {
            "customer": customer, "channel": "phone", "title": title,
            "description": description, "affected_system": system,
            "contact": {"name": "联系人", "phone": phone, "email": f"{phone}@example.com"},
            "reported_at": "2026-11-21T00:30:00+08:00", **CLASSIFICATION}, 201)

    printer = ticket("客户A", PHONE_A, "三楼打印机卡纸", "The printer jams on every second page",
                     "HP LaserJet 4250")
    _post(api, f"/tickets/{printer['id']}/assign", {"assignee": "eng-wang"})
    _post(api, f"/tickets/{printer['id']}/log_work",
          {"action": "更换搓纸轮 and cleaned the fuser", "hours": 0.5})
    erp = ticket("客户B", PHONE_B, "ERP 无法登录", "所有用户登录 ERP 报 500 error", "ERP")
    _post(api, f"/tickets/{erp['id']}/assign", {"assignee": "eng-wang"})
    _post(api, f"/tickets/{erp['id']}/start", {})
    _post(api, f"/tickets/{erp['id']}/resolve", {"resolution": PRECISE, "root_cause": "会话表已满"})
    again = ticket("客户A", "13500000003", "打印机又卡纸", f"same as {printer['number']}", "HP")
    problem = _post(api, "/problems", {"title": "打印机搓纸轮老化", "description": "多台打印机卡纸",
                                       "tickets": [printer["id"]]}, 201)
    change = _post(api, "/changes", {"kind": "normal", "origin": erp["id"],
                                     "title": "ERP 会话表扩容", "description": "扩大会话表"}, 201)
    article = _post(api, "/knowledge", {"title": "打印机卡纸的处理", "symptoms": "打印机频繁卡纸",
                                        "solution": "更换搓纸轮"}, 201)
    public = _post(api, "/knowledge", {"title": "如何更换硒鼓", "symptoms": "打印颜色变淡",
                                       "solution": "按说明书更换硒鼓", "audience": "public"}, 201)
    return Desk(api, tokens, {"printer": printer, "erp": erp, "again": again},
                {"problem": problem, "change": change, "article": article, "public": public})


def test_a_ticket_is_found_by_its_number_first(desk: Desk) -> None:
    printer, again = desk.tickets["printer"]["number"], desk.tickets["again"]["number"]
    assert desk.numbers("disp", printer) == [printer, again]  # "again" mentions it
    found = desk.search("disp", printer.lower(), kinds="ticket")
    [group] = found["groups"]
    assert group["items"][0]["number"] == printer and group["items"][0]["href"] == (
        f"{API}/tickets/{desk.tickets['printer']['id']}")


def test_a_ticket_is_found_by_words_of_its_title_description_work_log_and_system(desk) -> None:
    printer, erp = desk.tickets["printer"]["number"], desk.tickets["erp"]["number"]
    again = desk.tickets["again"]["number"]
    assert desk.numbers("disp", "打印机") == [again, printer]  # newest first
    assert desk.numbers("disp", "三楼打印机") == [printer]
    assert desk.numbers("disp", "PRINTER jams") == [printer]  # English, case folded
    assert desk.numbers("disp", "搓纸轮") == [printer]  # the work log
    assert desk.numbers("disp", "fuser") == [printer]
    assert desk.numbers("disp", "LaserJet") == [printer]  # the affected system
    assert desk.numbers("disp", "会话表已满") == [erp]  # the resolution's root cause
    assert desk.numbers("disp", "打印机 ERP") == []  # every word must match
    [hit] = desk.search("disp", "搓纸轮", kinds="ticket")["groups"][0]["items"]
    assert hit["snippet"] == "更换<mark>搓纸轮</mark> and cleaned the fuser"
    assert (hit["status"], hit["customer"], hit["title"]) == ("in_progress", "客户A", "三楼打印机卡纸")


def test_the_contact_phone_is_searched_only_for_roles_that_see_contacts(desk) -> None:
    printer = desk.tickets["printer"]["number"]
    assert desk.numbers("disp", PHONE_A) == [printer]
    assert desk.numbers("admin", "0001") == [printer]  # its last four digits
    assert desk.numbers("admin", "12340001") == [printer]  # its last eight
    assert desk.numbers("admin", "2340001") == []  # not any part of it (ADR 0050: digests)
    assert desk.numbers("disp", f"{PHONE_A}@example.com") == [printer]  # the e-mail
    for who in ("aud", "req-a"):  # the requester's own ticket: not by its phone either
        assert desk.numbers(who, PHONE_A) == [], who
        assert desk.numbers(who, f"{PHONE_A}@example.com") == [], who
        text = str(desk.search(who, "打印机"))
        assert PHONE_A not in text, who
    assert desk.numbers("aud", "打印机") == [desk.tickets["again"]["number"], printer]


def test_a_requester_finds_only_their_own_organisations_tickets(desk) -> None:
    printer, again = desk.tickets["printer"]["number"], desk.tickets["again"]["number"]
    assert desk.numbers("req-a", "ERP") == []  # customer B's
    assert desk.numbers("req-a", desk.tickets["erp"]["number"]) == []
    assert desk.numbers("req-a", "打印机") == [again, printer]
    kinds = [g["kind"] for g in desk.search("req-a", "打印机")["groups"]]
    assert "problem" not in kinds and "change" not in kinds  # not theirs to read
    assert desk.numbers("req-a", "打印机", kind="knowledge") == []  # an internal article
    public = desk.records["public"]["number"]
    assert desk.numbers("req-a", "硒鼓", kind="knowledge") == [public]  # a public one
    assert desk.numbers("disp", "硒鼓", kind="knowledge") == [public]
    assert desk.numbers("disp", "ERP") == [desk.tickets["erp"]["number"]]


def test_problems_changes_and_knowledge_are_found_by_their_titles(desk) -> None:
    found = desk.search("disp", "打印机")
    by_kind = {g["kind"]: [h["number"] for h in g["items"]] for g in found["groups"]}
    assert by_kind["problem"] == [desk.records["problem"]["number"]]
    assert by_kind["knowledge"] == [desk.records["article"]["number"]]
    assert by_kind["change"] == []
    assert desk.numbers("disp", "会话表扩容", kind="change") == [desk.records["change"]["number"]]
    assert found["count"] == sum(len(v) for v in by_kind.values())
    [hit] = [g for g in found["groups"] if g["kind"] == "knowledge"][0]["items"]
    assert "<mark>打印机</mark>" in hit["snippet"] and hit["href"].startswith(f"{API}/knowledge/")
    assert [g["kind"] for g in desk.search("aud", "打印机")["groups"]] == [
        "ticket", "problem", "change", "knowledge"]


def test_kinds_and_limit_narrow_the_answer(desk) -> None:
    found = desk.search("disp", "打印机", kinds="ticket,knowledge", limit=1)
    assert [g["kind"] for g in found["groups"]] == ["ticket", "knowledge"]
    tickets = found["groups"][0]
    assert tickets["count"] == 1 and tickets["more"] is True
    assert desk.search("disp", "打印机", kinds="knowledge", limit=5)["groups"][0]["more"] is False
    assert desk.search("disp", "", kinds="ticket")["groups"][0]["items"] == []
    assert desk.search("disp", "  -  ")["count"] == 0


def test_bad_parameters_are_400s_naming_them(desk) -> None:
    client = desk.api.client
    for params, field in (({"q": "x", "limit": "0"}, "limit"), ({"q": "x", "limit": "51"}, "limit"),
                          ({"q": "x", "kinds": "ticket,nonsense"}, "kinds"),
                          ({"q": "x" * 201}, "q")):
        assert_problem(client.get(f"{API}/search", params=params, headers=ADMIN), 400,
                       field=field)


def test_an_erased_contact_is_no_longer_found(desk) -> None:
    assert desk.numbers("disp", PHONE_A) == [desk.tickets["printer"]["number"]]
    _post(desk.api, "/customers/客户A/erase_personal_data",
          {"reason": "客户要求删除个人信息", "requested_by": "客户A 法务部"})
    assert desk.numbers("disp", PHONE_A) == []
    assert desk.numbers("disp", "联系人") == [desk.tickets["erp"]["number"]]  # B's stays
    assert desk.numbers("disp", "三楼打印机") == [desk.tickets["printer"]["number"]]
