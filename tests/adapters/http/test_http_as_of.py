"""As-of everywhere (issue 6): every aggregate's ``GET /{ref}?as_of=`` answers the record as
it stood at that recorded time (before it existed: 404), ``/history`` stamps every event with
its recorded time, and what happened earlier than it was recorded shows how late.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.fixtures_http import API, CLASSIFICATION, Api, etag
from tests.adapters.http.test_http_changes import request
from tests.adapters.http.test_http_knowledge import ARTICLE, write
from tests.adapters.http.test_http_problems import given_problem
from tests.adapters.http.test_http_projects import create

Step = Callable[[Api], dict[str, Any]]


def post(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return api.ok(api.client.post(f"{API}/{path}", json=body))


# kind: (create, a later command on the record, a field the command changes)
CASES: dict[str, tuple[Step, Callable[[Api, str], dict[str, Any]], str]] = {
    "tickets": (lambda api: api.ok(api.register(), 201),
                lambda api, ref: post(api, f"tickets/{ref}/classify", CLASSIFICATION), "status"),
    "problems": (given_problem,
                 lambda api, ref: post(api, f"problems/{ref}/record_workaround",
                                       {"workaround": "重启连接池"}), "workaround"),
    "changes": (request,
                lambda api, ref: post(api, f"changes/{ref}/assess",
                                      {"risk": "low", "impact": "ERP 短暂不可用"}), "status"),
    "projects": (lambda api: api.ok(create(api), 201),
                 lambda api, ref: post(api, f"projects/{ref}/approve",
                                       {"project_manager": "pm-zhang", "team": ["eng-li"]}),
                 "status"),
    "knowledge": (lambda api: api.ok(write(api), 201),
                  lambda api, ref: post(api, f"knowledge/{ref}/revise",
                                        {**ARTICLE, "solution": "换用集群 VIP", "note": "新方案"}),
                  "revision"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_aggregate_answers_as_of_by_recorded_time(api: Api, kind: str) -> None:
    make, change, field = CASES[kind]
    first = make(api)
    ref, created_at = first["id"], api.clock.now()
    api.clock.advance(minutes=5)
    later = change(api, ref)
    assert later[field] != first[field] and later["version"] > first["version"]

    def read(**params: str) -> Any:
        return api.client.get(f"{API}/{kind}/{ref}", params=params)

    then = read(as_of=created_at.isoformat())
    assert then.status_code == 200, then.text
    assert then.headers["etag"] == etag(first["version"]) and then.json()[field] == first[field]
    assert read(as_of=(created_at + timedelta(minutes=5)).isoformat()).json()[field] == later[field]
    assert read().json()[field] == later[field]
    assert read(as_of=(created_at - timedelta(seconds=1)).isoformat()).status_code == 404
    assert read(as_of="yesterday").status_code == 400
    history = api.client.get(f"{API}/{kind}/{ref}/history").json()
    assert len(history) >= 2 and all(h["recorded_at"] for h in history)


def test_a_late_ticket_and_late_work_show_how_late(api: Api) -> None:
    now = api.clock.now()
    t = api.ok(api.register(reported_at=(now - timedelta(hours=2)).isoformat()), 201)
    assert t["late_by_seconds"] == 7200
    assert t["recorded_at"] == now.isoformat().replace("+00:00", "Z")
    ticket = api.given_ticket("in_progress", reported_at=now.isoformat())
    api.clock.advance(hours=3)
    done = post(api, f"tickets/{ticket['id']}/log_work", {
        "action": "重启服务", "hours": 1,
        "performed_at": (api.clock.now() - timedelta(hours=1)).isoformat()})
    entry = done["work_log"][-1]
    assert entry["late_by_seconds"] == 3600 and entry["performed_at"] != entry["recorded_at"]
    assert done["late_by_seconds"] == 0  # registered as reported
