"""``GET /api/v1/audit/verify`` (API.md "Audit", ADR 0030)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.adapters.audit.audit_support import flip_byte
from tests.fixtures_http import PROBLEM, Api


def test_verify_after_commands_then_after_tampering(api: Api, http_store: str) -> None:
    for _ in range(3):
        api.given_ticket("in_progress")
    head = api.events()["head"]
    body = verify(api)
    assert body["ok"] is True and body["events"] == head == body["position"]
    assert len(body["head"]) == 64
    part = verify(api, {"from": 3, "anchor": _head_at(api, 2)})
    assert part["ok"] and part["head"] == body["head"] and part["events"] == head - 2
    if http_store == "memory":
        return
    flip_byte(api.services, 5)
    bad = verify(api)
    assert (bad["ok"], bad["first_bad_position"], bad["events"]) == (False, 5, 4)


def verify(api: Api, params: dict[str, Any] | None = None) -> dict[str, Any]:
    r = api.client.get("/api/v1/audit/verify", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _head_at(api: Api, position: int) -> str:
    from adapters.audit.chain import verify_store

    return verify_store(api.services.desk.recorder, stop=position).head


@pytest.mark.parametrize(("params", "field"), [({"from": 0}, "from"), ({"from": "abc"}, "from"), ({"from": 2, "anchor": "xyz"}, "anchor"),
                                               ({"anchor": "ab" * 32}, "anchor")])
def test_bad_parameters_are_named(api: Api, params: dict[str, Any], field: str) -> None:
    r = api.client.get("/api/v1/audit/verify", params=params)
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in r.json()["errors"]] == [field]
