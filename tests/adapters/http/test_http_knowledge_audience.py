"""Who reads an article (ADR 0052): ``audience`` ``internal`` (the default, and what every
article written before the flag reads as) or ``public``. Requesters reach ``GET /knowledge``
and ``GET /knowledge/{ref}`` for the published public articles only, without the staff's
parts (the tickets an article was written from, the problem behind it, the revision note);
anything else is a 404 for them, as if it did not exist. Staff see every entry as before."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.container import build
from adapters.settings import Settings
from adapters.stores.views_file import SUFFIX
from projections.knowledge.view import KnowledgeQuery
from tests.contracts.test_history_v1 import load, stored_rows
from tests.fixtures_http import ALL_STORES, API, Api, assert_problem

ADMIN = {"Authorization": "Bearer s3cret"}
PUBLIC = {"title": "打印机脱机怎么办", "symptoms": "打印时提示打印机脱机",
          "solution": "在打印队列中取消“脱机使用打印机”", "tags": ["打印"]}
INTERNAL = {"title": "打印服务器重启步骤", "symptoms": "打印队列卡死，所有打印机脱机",
            "solution": "登录 PRN01 重启 Spooler 服务", "tags": ["打印"]}


@pytest.fixture
def kb(make_api: Callable[..., Api]) -> Api:
    api = make_api(admin_token="s3cret")
    api.client.headers.update(ADMIN)
    return api


def token(api: Api, user: str, *roles: str, customer: str | None = None) -> dict[str, str]:
    body: dict[str, Any] = {"id": user, "name": user, "roles": list(roles)}
    if customer:
        body["customer"] = customer
    assert api.client.post(f"{API}/users", json=body).status_code == 201
    r = api.client.post(f"{API}/users/{user}/tokens", json={})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def numbers(api: Api, headers: dict[str, str], q: str = "") -> list[str]:
    r = api.client.get(f"{API}/knowledge", params={"q": q}, headers=headers)
    assert r.status_code == 200, r.text
    return [i["number"] for i in r.json()["items"]]


def write(api: Api, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    r = api.client.post(f"{API}/knowledge", json=body)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def revise(api: Api, article: dict[str, Any], **changes: Any) -> Any:
    body = {k: article[k] for k in ("title", "symptoms", "solution", "tags")}
    return api.client.post(f"{API}/knowledge/{article['id']}/revise", json={**body, **changes},
                           headers={"If-Match": f'"{article["version"]}"'})


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_requesters_read_only_the_published_public_articles_without_the_staffs_parts(kb: Api):
    t = kb.ok(kb.register(), 201)
    public = write(kb, {**PUBLIC, "audience": "public", "tickets": [t["number"]]})
    internal = write(kb, INTERNAL)
    assert (public["audience"], internal["audience"]) == ("public", "internal")
    li = token(kb, "li", "requester", customer="客户A")
    agent = token(kb, "zhang", "agent")
    assert numbers(kb, li) == [public["number"]]
    assert numbers(kb, li, "打印机脱机") == [public["number"]]
    assert sorted(numbers(kb, agent, "打印机脱机")) == sorted([public["number"],
                                                           internal["number"]])
    seen = kb.client.get(f"{API}/knowledge/{public['number']}", headers=li)
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["title"] == PUBLIC["title"] and view["solution"] == PUBLIC["solution"]
    assert view["tickets"] == [] and view["problem_id"] is None and view["note"] is None
    assert t["number"] not in seen.text
    staff_view = kb.client.get(f"{API}/knowledge/{public['number']}", headers=agent).json()
    assert [x["number"] for x in staff_view["tickets"]] == [t["number"]]
    for ref in (internal["number"], internal["id"]):
        assert_problem(kb.client.get(f"{API}/knowledge/{ref}", headers=li), 404)
    assert_problem(kb.client.get(f"{API}/knowledge/{public['id']}/history", headers=li), 403)


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_the_audience_is_kept_by_a_revision_that_leaves_it_out_and_changed_by_one_that_names_it(
        kb: Api):
    li = token(kb, "li", "requester", customer="客户A")
    a = write(kb, {**PUBLIC, "audience": "public"})
    a = kb.ok(revise(kb, a, solution="取消“脱机使用打印机”后重新打印", note="更清楚的步骤"))
    assert a["audience"] == "public" and numbers(kb, li) == [a["number"]]
    assert kb.client.get(f"{API}/knowledge/{a['id']}", headers=li).json()["note"] is None
    a = kb.ok(revise(kb, a, audience="internal"))  # only the audience: still a revision
    assert a["audience"] == "internal" and a["revision"] == 3
    assert numbers(kb, li) == []
    assert_problem(kb.client.get(f"{API}/knowledge/{a['id']}", headers=li), 404)
    assert_problem(revise(kb, a, audience="internal"), 422, field="text")  # nothing changed
    while_internal = kb.clock.now().isoformat()
    kb.clock.advance(minutes=5)
    a = kb.ok(revise(kb, a, audience="public"))
    assert numbers(kb, li) == [a["number"]]
    # as of a time it was internal, a requester does not see it either
    assert_problem(kb.client.get(f"{API}/knowledge/{a['id']}", params={"as_of": while_internal},
                                 headers=li), 404)
    assert kb.client.get(f"{API}/knowledge/{a['id']}", params={"as_of": while_internal},
                         headers=ADMIN).json()["audience"] == "internal"
    retired = kb.client.post(f"{API}/knowledge/{a['id']}/retire", json={"reason": "已过时"},
                             headers={"If-Match": f'"{a["version"]}"'})
    assert retired.status_code == 200 and retired.json()["audience"] == "public"
    assert numbers(kb, li) == []
    assert_problem(kb.client.get(f"{API}/knowledge/{a['id']}", headers=li), 404)
    assert_problem(kb.client.post(f"{API}/knowledge", json={**PUBLIC, "audience": "everyone"}),
                   400, field="audience")


def test_a_requester_never_reads_a_problems_knowledge_entry(kb: Api):
    li = token(kb, "li", "requester", customer="客户A")
    p = kb.ok(kb.client.post(f"{API}/problems", json={
        "title": "打印服务器内存泄漏", "description": "打印机脱机"}), 201)
    kb.ok(kb.client.post(f"{API}/problems/{p['id']}/record_workaround",
                         json={"workaround": "每日重启 Spooler"}))
    kb.ok(kb.client.post(f"{API}/problems/{p['id']}/mark_known_error", json={}))
    assert p["number"] in numbers(kb, ADMIN, "打印机脱机")
    assert numbers(kb, li, "打印机脱机") == []
    assert_problem(kb.client.get(f"{API}/knowledge/{p['number']}", headers=li), 404)


@pytest.mark.parametrize("http_store", ["memory", "sqlite"], indirect=True)
def test_articles_written_before_the_flag_read_as_internal(http_database_url: str):
    services = build(Settings(database_url=http_database_url, sla_watch_seconds=0))
    try:
        rows = stored_rows()
        load(services, rows)
        articles = {str(UUID(r["originator_id"])) for r in rows
                    if r["topic"].startswith("opsledger.article:")}
        assert articles
        for article_id in articles:
            row = services.knowledge.get(article_id)
            assert row is not None and row["audience"] == "internal", row
        assert services.knowledge.search(KnowledgeQuery(audience="public")).hits == []
        assert services.knowledge.search(KnowledgeQuery(audience="internal")).hits  # problems
    finally:
        services.close()


def test_an_sqlite_store_of_the_old_shape_rebuilds_its_knowledge_view(tmp_path: Path):
    """A store whose knowledge table has no ``audience`` column (view version 1): the view is
    dropped and rebuilt from the log when the new code opens it, with the column."""
    url = f"sqlite:///{tmp_path}/o.sqlite3"
    services = build(Settings(database_url=url, sla_watch_seconds=0))
    try:
        load(services, stored_rows())
        before = sorted(h.row["number"] for h in services.knowledge.search(KnowledgeQuery(
            limit=100)).hits)
    finally:
        services.close()
    db = sqlite3.connect(f"{tmp_path}/o.sqlite3{SUFFIX}")  # the read models' file (ADR 0073)
    columns = [r[1] for r in db.execute("PRAGMA table_info(knowledge)")]
    old = [c for c in columns if c != "audience"]
    db.execute(f"CREATE TABLE old AS SELECT {', '.join(old)} FROM knowledge")
    db.execute("DROP TABLE knowledge")
    db.execute("ALTER TABLE old RENAME TO knowledge")
    db.execute("UPDATE projection_tracking SET version = 1 WHERE name = 'knowledge'")
    db.commit()
    db.close()
    services = build(Settings(database_url=url, sla_watch_seconds=0))
    try:
        services.runner.catch_up_all()
        after = services.knowledge.search(KnowledgeQuery(limit=100)).hits
        assert sorted(h.row["number"] for h in after) == before and before
        assert {h.row["audience"] for h in after} == {"internal"}
    finally:
        services.close()
    assert json.dumps(before)  # numbers, not rows
