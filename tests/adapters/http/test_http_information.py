"""Adding information to an open ticket (``POST /tickets/{ref}/add_information``, ADR 0052):
the customer's words, recorded as ``Ticket.InformationAdded`` without a status change, only
while the ticket is open, by the requester of the ticket's own organisation (another
organisation's ticket is a 404), sealed with the customer's key like every personal text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.ticket import TAKES_INFORMATION, Status
from tests.domain.test_ticket import T0, assign, at, classify, register, resolve
from tests.fixtures_http import ALL_STORES, API, Api, assert_problem
from tests.support.console import person

ADMIN = {"Authorization": "Bearer s3cret"}
WORDS = "补充：出错时间为 9:05，截图见附件 err-0905.png"


# ------------------------------------------------------------------ the domain


def test_information_is_recorded_in_every_open_status_and_changes_nothing_else():
    t = register()
    classify(t, at(1))
    assign(t, at(2))
    before = (t.status, t.version, t.allowed_commands())
    t.add_information(information=f"  {WORDS}  ", actor="li", at=at(3))
    event = t.collect_events()[-1]
    assert type(event).__name__ == "InformationAdded"
    assert event.information == WORDS and event.actor == "li" and event.timestamp == at(3)
    assert (t.status, t.allowed_commands()) == before[::2]
    assert t.version == before[1] + 1


def test_information_is_refused_once_resolved_and_when_empty():
    t = register()
    with pytest.raises(InvalidCommand) as e:
        t.add_information(information="   ", actor="li", at=at(1))
    assert [f.field for f in e.value.errors] == ["information"]
    classify(t, at(1))
    assign(t, at(2))
    resolve(t, at(3))
    assert t.status is Status.RESOLVED and Status.RESOLVED not in TAKES_INFORMATION
    version = t.version
    with pytest.raises(TransitionNotAllowed) as refused:
        t.add_information(information=WORDS, actor="li", at=at(4))
    assert refused.value.command == "add_information" and refused.value.state == "resolved"
    assert t.version == version  # nothing recorded
    assert T0 < at(4)


# ------------------------------------------------------------------- over HTTP


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    api = make_api(admin_token="s3cret")
    person(api.client, ADMIN, "wang", "dispatcher")
    person(api.client, ADMIN, "eng", "engineer")
    return api


def token(api: Api, user: str, *roles: str, customer: str | None = None) -> dict[str, str]:
    body: dict[str, Any] = {"id": user, "name": user, "roles": list(roles)}
    if customer:
        body["customer"] = customer
    assert api.client.post(f"{API}/users", json=body, headers=ADMIN).status_code == 201
    r = api.client.post(f"{API}/users/{user}/tokens", json={"label": "t"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_a_requester_adds_information_to_their_own_ticket_and_not_to_another_one(desk: Api):
    li = token(desk, "li", "requester", customer="客户A")
    zhao = token(desk, "zhao", "requester", customer="客户B")
    t = desk.ok(desk.register(headers=ADMIN), 201)
    r = desk.client.post(f"{API}/tickets/{t['number']}/add_information",
                         json={"information": WORDS}, headers=li)
    view = desk.ok(r)
    assert view["status"] == "registered" and view["version"] == t["version"] + 1
    history = desk.client.get(f"{API}/tickets/{t['id']}/history", headers=ADMIN).json()
    assert history[-1]["type"] == "InformationAdded"
    assert history[-1]["data"]["information"] == WORDS and history[-1]["actor"] == "li"
    listed = desk.client.get(f"{API}/tickets", headers=ADMIN).json()["items"]
    assert [x["version"] for x in listed if x["id"] == t["id"]] == [view["version"]]
    other = desk.client.post(f"{API}/tickets/{t['number']}/add_information",
                             json={"information": WORDS}, headers=zhao)
    assert_problem(other, 404)
    engineer = desk.client.post(f"{API}/tickets/{t['number']}/add_information",
                                json={"information": WORDS}, headers=token(desk, "e2", "engineer"))
    assert_problem(engineer, 403)


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_information_on_a_resolved_ticket_is_a_409_before_its_fields(desk: Api):
    desk.client.headers.update(ADMIN)
    t = desk.given_ticket("resolved", assignee="eng")
    r = desk.client.post(f"{API}/tickets/{t['id']}/add_information", json={"information": ""})
    body = assert_problem(r, 409)
    assert body["allowed_commands"] == ["confirm", "close"]
    assert_problem(desk.client.post(f"{API}/tickets/{t['id']}/add_information", json={}), 409)
    open_ticket = desk.given_ticket("waiting_customer", assignee="eng")
    assert_problem(desk.client.post(f"{API}/tickets/{open_ticket['id']}/add_information",
                                    json={"information": ""}), 422, field="information")


def test_the_information_is_erased_with_the_customers_personal_data(desk: Api):
    desk.client.headers.update(ADMIN)
    t = desk.ok(desk.register(), 201)
    desk.ok(desk.command(t["id"], "add_information", {"information": WORDS}))
    desk.clock.advance(hours=1)
    r = desk.client.post(f"{API}/customers/客户A/erase_personal_data",
                         json={"reason": "客户要求删除个人信息", "requested_by": "客户A 法务部"})
    assert r.status_code == 200, r.text
    history = json.dumps(desk.client.get(f"{API}/tickets/{t['id']}/history").json(),
                         ensure_ascii=False)
    assert WORDS not in history and "[erased]" in history
