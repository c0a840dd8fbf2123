"""How a store without users behaves (ADR 0036), and the masks themselves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.http.access import mask, mask_email, mask_name, mask_phone
from tests.fixtures_http import API, ticket_body


def test_a_fresh_store_without_admin_token_is_open_until_its_first_user(api):
    client = api.client
    r = client.post(f"{API}/tickets", json=ticket_body(), headers={"X-Opsledger-Actor": "dev-li"})
    assert r.status_code == 201, r.text
    assert client.get(f"{API}/tickets/{r.json()['id']}/history").json()[0]["actor"] == "dev-li"
    created = client.post(f"{API}/users", json={"id": "ops-admin", "name": "运维管理员", "roles": ["admin"]})
    assert created.status_code == 201, created.text
    assert client.get(f"{API}/tickets").status_code == 401  # closed from now on
    token = client.post(f"{API}/users/ops-admin/tokens", json={}).status_code
    assert token == 401


def test_with_an_admin_token_nothing_is_open(make_api):
    client = make_api(admin_token="s3cret").client
    assert client.get(f"{API}/tickets").status_code == 401
    assert client.get(f"{API}/tickets", headers={"X-Opsledger-Actor": "x"}).status_code == 401
    ok = client.get(f"{API}/tickets", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_masks():
    assert mask_name("李四") == "李*" and mask_name("王小明") == "王**"
    assert mask_name("[erased]") == "[erased]"
    assert mask_phone("13800005678") == "138****5678"
    assert mask_email("li@example.com") == "l***@example.com"
    doc = {"items": [{"contact": {"name": "李四", "phone": "13800005678", "email": None}},
                     {"data": {"signer": "王经理", "title": "李四的电脑"}}]}
    assert mask(doc) == {"items": [{"contact": {"name": "李*", "phone": "138****5678", "email": None}},
                                   {"data": {"signer": "王**", "title": "李四的电脑"}}]}
    people = {"interface_person": "赵六", "consent": {"given_by": "钱总", "evidence": "邮件"},
              "confirmed_by": "孙主任", "assignee": "li.engineer"}
    assert mask(people) == {"interface_person": "赵*", "consent": {"given_by": "钱*",
                                                                   "evidence": "邮件"},
                            "confirmed_by": "孙**", "assignee": "li.engineer"}


@given(st.text(alphabet="0123456789+- ", min_size=1, max_size=40))
def test_a_masked_phone_shows_at_most_seven_digits_and_never_the_whole_number(phone):
    masked = mask_phone(phone)
    digits = [c for c in phone if c.isdigit()]
    shown = [c for c in masked if c.isdigit()]
    assert len(shown) <= 7
    if len(digits) >= 2:
        assert len(shown) < len(digits)


def test_a_fresh_open_store_is_open_even_where_old_services_were(make_api):
    """The open-store state is per ``Services``; one left by services that are gone, whose
    ``id`` the new ones reuse, must not be inherited (it once closed a fresh store: 401)."""
    import asyncio
    import time as _time

    from adapters.http import access

    api = make_api()
    services = api.services

    class Gone:
        pass

    gone = Gone()
    stale = object.__new__(access._OpenState)  # what closed services left under this id
    stale.__dict__.update(owner=__import__("weakref").ref(gone), open=False,
                          checked=_time.monotonic())
    access._open_states[id(services)] = stale
    async def run_blocking(fn, *args):
        return fn(*args)

    assert asyncio.run(access.open_store(services, run_blocking)) is True
    r = api.client.get("/api/v1/tickets")
    assert r.status_code == 200, r.text
