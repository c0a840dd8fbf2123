"""Helpers for the console's tests (tests/adapters/console/, tests/browser/): people with
passwords, and logging in through the login form as a browser does.

    admin = {"Authorization": "Bearer s3cret"}        # make_api(admin_token="s3cret")
    person(client, admin, "wang", "dispatcher")        # registered, password PASSWORD
    person(client, admin, "li", "requester", customer="客户A")
    login(client, "wang")                              # the client now holds the session

    api = staffed(make_api, {"wang": ("dispatcher", "王调度"),     # an app with ADMIN's token,
                             "li": ("requester", "李四", "客户A")},  # these people and
                  customers=("客户A",))                            # customers
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from litestar.testing import TestClient

PASSWORD = "correct horse battery"
ADMIN_TOKEN = "s3cret"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def person(client: TestClient[Any], admin: dict[str, str], user: str, *roles: str,
           customer: str | None = None, groups: tuple[str, ...] = (),
           password: str = PASSWORD, name: str | None = None) -> None:
    """Registers ``user`` with ``roles`` and sets their console password."""
    body: dict[str, Any] = {"id": user, "name": name or user, "roles": list(roles),
                            "groups": list(groups)}
    if customer is not None:
        body["customer"] = customer
    r = client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code in (200, 201), r.text
    r = client.post(f"/api/v1/users/{user}/password", json={"password": password},
                    headers=admin)
    assert r.status_code == 204, r.text


def add_customers(client: TestClient[Any], admin: dict[str, str], *ids: str) -> None:
    """Registers each customer of ``ids`` (its name is its id)."""
    for c in ids:
        r = client.post("/api/v1/customers", json={"id": c, "name": c}, headers=admin)
        assert r.status_code == 201, r.text


def staffed(make_api: Callable[..., Any], people: Mapping[str, Sequence[Any]], *,
            customers: Sequence[str] = (), **settings: Any) -> Any:
    """``make_api(admin_token=ADMIN_TOKEN, **settings)`` with ``customers`` registered and
    ``people``: ``{user: (role, name, customer, groups)}``, the tail optional (``None``: not
    given), each with the console password ``PASSWORD``. Returns the ``Api``."""
    api = make_api(admin_token=ADMIN_TOKEN, **settings)
    add_customers(api.client, ADMIN, *customers)
    for user, who in people.items():
        role, name, customer, groups = (*who, None, None, None)[:4]
        person(api.client, ADMIN, user, role, name=name, customer=customer, groups=groups or ())
    return api


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    found = _CSRF.search(html)
    assert found, "no CSRF input in the page"
    return found.group(1)


def login(client: TestClient[Any], user: str, password: str = PASSWORD,
          expect: int = 303) -> Any:
    """Logs in through ``/ui/login`` as a browser does (the form's CSRF token, the cookie)."""
    client.cookies.delete("opsledger_session")
    token = csrf_of(client.get("/ui/login").text)
    r = client.post("/ui/login", data={"user": user, "password": password,
                                       "_csrf_token": token}, follow_redirects=False)
    assert r.status_code == expect, r.text[:500]
    return r


def csrf(client: TestClient[Any], page: str = "/ui/login") -> str:
    """A CSRF token valid for ``client``'s cookie (taken from ``page``)."""
    return csrf_of(client.get(page).text)
