"""An erasure erases every personal datum of the customer, not only the ticket contact
(issue 16 item 3, ADR 0034 and its amendment ADR 0043).

One customer's people appear in many records: the ticket contact, the interface person of an
assignment, the signer of an acceptance, the respondent's words in feedback and surveys, the
signer of an inspection record and of a project acceptance (and the ticket the product opens
for an abnormal inspection, with the signer as its contact), the customer's reviewer, consent
giver and confirmer of a change, and the names of the customer's requester users. After
``erase_personal_data`` none of them may be readable anywhere: not in any view, as-of view,
history, the audit log or an audit bundle, and not in the database's bytes (the SQLite file and
its WAL, every PostgreSQL row) -- while the stored events stay byte for byte the same and the
hash chain still verifies. Another customer's people stay readable.
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.audit.bundle import export
from adapters.stores.views_file import SUFFIX
from tests.fixtures_http import ALL_STORES, API, PRECISE, Api, CLASSIFICATION
from tests.support.stored import schema_rows

ADMIN = {"Authorization": "Bearer s3cret"}
ERASE = {"reason": "客户依据个人信息保护法要求删除个人信息", "requested_by": "客户A 法务部"}

# Every person of customer A, each under a name found nowhere else.
CONTACT = {"name": "诸葛明远", "phone": "13912345678", "email": "zhuge.mingyuan@example.com"}
INTERFACE = "欧阳接口人"
SIGNER = "司马签收人"
FEEDBACK = "感谢上官工程师的耐心处理"
ROUTINE_SIGNER = "端木巡检人"
SURVEY = "夏侯调查意见很满意"
PROJECT_SIGNER = "慕容验收人"
REVIEWER = "皇甫评审人"
CONSENT_GIVER = "令狐同意人"
CONFIRMER = "公孙确认人"
REQUESTER = "东方请求人"
NAMES_A = (CONTACT["name"], CONTACT["phone"], CONTACT["email"], INTERFACE, SIGNER, FEEDBACK,
           ROUTINE_SIGNER, SURVEY, PROJECT_SIGNER, REVIEWER, CONSENT_GIVER, CONFIRMER, REQUESTER)
# Customer B's, which the erasure of A leaves alone.
SIGNER_B = "独孤乙签收"
INTERFACE_B = "宇文乙接口"

pytestmark = pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)


@pytest.fixture
def admin(make_api: Callable[..., Api]) -> Api:
    a = make_api(admin_token="s3cret")
    a.client.headers.update(ADMIN)
    # the tickets' assignee: once users exist, an assignee is one of them (issue 16 item 8)
    r = a.client.post(f"{API}/users", json={"id": "eng-wang", "name": "王工",
                                            "roles": ["engineer"]})
    assert r.status_code == 201, r.text
    return a


def ok(api: Api, r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def post(api: Api, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
    return ok(api, api.client.post(f"{API}{path}", json=body or {}), status)


def get(api: Api, path: str, **params: str) -> Any:
    return ok(api, api.client.get(f"{API}{path}", params=params))


def closed_ticket(api: Api, customer: str, contact: dict[str, str], interface: str,
                  signer: str) -> dict[str, Any]:
    t = post(api, "/tickets", {
        "customer": customer, "contact": contact, "channel": "phone", "title": "ERP 无法登录",
        "description": "所有用户登录 ERP 报 500", "affected_system": "ERP",
        "reported_at": "2026-11-21T00:30:00+08:00", **CLASSIFICATION}, 201)
    ref = t["id"]
    post(api, f"/tickets/{ref}/assign", {"assignee": "eng-wang", "interface_person": interface})
    post(api, f"/tickets/{ref}/start")
    post(api, f"/tickets/{ref}/resolve", {"resolution": PRECISE, "root_cause": "会话表已满"})
    return post(api, f"/tickets/{ref}/confirm", {
        "signer": signer, "items": ["ERP 登录恢复"], "criteria": ["全部用户可登录"],
        "passed": True})


def project_of_a(api: Api) -> dict[str, Any]:
    p = post(api, "/projects", {
        "name": "客户A 运维", "customer": "客户A", "sla_policy": "default",
        "calendar": "china-5x8", "contract": {"number": "HT-A", "services": ["巡检"],
                                             "start": "2026-11-01", "end": "2027-10-31"}}, 201)
    ref = p["id"]
    post(api, f"/projects/{ref}/approve", {"project_manager": "pm-zhang", "team": ["eng-li"]})
    post(api, f"/projects/{ref}/plan", {"targets": "P1 4h", "scope": "ERP", "staff": ["eng-li"],
                                        "budget": "120万", "assessment": "月度评审"})
    p = post(api, f"/projects/{ref}/schedule_routine", {
        "name": "机房巡检", "kind": "inspection", "rrule": "FREQ=WEEKLY;BYDAY=FR;BYHOUR=9"})
    post(api, f"/projects/{ref}/record_routine", {
        "routine_id": p["routine_id"], "run_at": "2026-11-20T09:00:00+08:00",
        "verdict": "abnormal", "findings": "UPS 电池告警", "signer": ROUTINE_SIGNER})
    post(api, f"/projects/{ref}/record_survey", {"timeliness": 5, "effectiveness": 4,
                                                 "attitude": 5, "comment": SURVEY})
    p = post(api, f"/projects/{ref}/accept", {"signer": PROJECT_SIGNER, "passed": True})
    deadline = time.monotonic() + 10  # the process manager opens the abnormal run's ticket
    while not get(api, f"/projects/{ref}")["runs"][0]["ticket_id"]:
        assert time.monotonic() < deadline, "no ticket was opened for the abnormal run"
        time.sleep(0.05)
    return get(api, f"/projects/{ref}")


def change_of_a(api: Api, ticket: str) -> dict[str, Any]:
    c = post(api, "/changes", {"kind": "normal", "origin": ticket, "title": "ERP 内存扩容",
                               "description": "解决登录缓慢"}, 201)
    ref = c["id"]
    post(api, f"/changes/{ref}/assess", {"risk": "medium", "impact": "ERP 停机 4 小时"})
    post(api, f"/changes/{ref}/plan", {
        "goal": "登录 1 秒内", "content": "扩容内存", "steps": ["备份", "扩容"],
        "people": ["eng-wang"], "budget": "2 万元",
        "schedule": {"start": "2026-11-28T22:00:00+08:00", "end": "2026-11-29T02:00:00+08:00"},
        "risk_plan": "启用备用服务器", "rollback_plan": "恢复原配置"})
    post(api, f"/changes/{ref}/review", {"decision": "approved", "reviewer": "mgr-zhang"})
    post(api, f"/changes/{ref}/customer_review", {"decision": "approved", "reviewer": REVIEWER})
    post(api, f"/changes/{ref}/consent", {"evidence": "客户邮件同意", "channel": "email",
                                          "reference": "MSG-1", "given_by": CONSENT_GIVER})
    post(api, f"/changes/{ref}/start")
    post(api, f"/changes/{ref}/complete", {"result": "内存已扩容至 64G"})
    post(api, f"/changes/{ref}/start_trial", {"days": 7})
    post(api, f"/changes/{ref}/evaluate", {"goal_met": True, "notes": "登录 0.6 秒"})
    return post(api, f"/changes/{ref}/close", {"confirmed_by": CONFIRMER})


def scenario(api: Api) -> dict[str, Any]:
    """Every kind of personal datum of customer A, and some of customer B."""
    post(api, "/users", {"id": "req-a1", "name": REQUESTER, "roles": ["requester"],
                         "customer": "客户A"}, 201)
    a = closed_ticket(api, "客户A", CONTACT, INTERFACE, SIGNER)
    a = post(api, f"/tickets/{a['id']}/feedback", {"timeliness": 5, "effectiveness": 5,
                                                   "attitude": 5, "comment": FEEDBACK})
    b = closed_ticket(api, "客户B", {"name": "乙联系人", "phone": "13700001111", "email": ""},
                      INTERFACE_B, SIGNER_B)
    project = project_of_a(api)
    change = change_of_a(api, a["number"])
    return {"a": a, "b": b, "project": project, "routine_ticket": project["runs"][0]["ticket_id"],
            "change": change, "at": api.clock.now().isoformat()}


def erase(api: Api) -> dict[str, Any]:
    api.clock.advance(hours=1)
    return post(api, "/customers/客户A/erase_personal_data", ERASE)


def readable(api: Api, s: dict[str, Any]) -> str:
    """Everything the API answers about the scenario's records, as one text: views, as-of
    views (at the time the scenario ended: before the erasure), histories, the audit log."""
    paths = [f"/tickets/{s['a']['id']}", f"/tickets/{s['routine_ticket']}",
             f"/projects/{s['project']['id']}", f"/changes/{s['change']['id']}", "/users/req-a1",
             f"/tickets/{s['b']['id']}"]
    texts = []
    for path in paths:
        texts.append(json.dumps(get(api, path), ensure_ascii=False))
        if not path.startswith("/users"):
            texts.append(json.dumps(get(api, path, as_of=s["at"]), ensure_ascii=False))
        texts.append(json.dumps(get(api, f"{path}/history"), ensure_ascii=False))
    texts.append(json.dumps(get(api, "/users"), ensure_ascii=False))
    after = 0
    while True:
        page = get(api, "/audit/events", after=str(after), limit="500")
        texts.append(json.dumps(page, ensure_ascii=False))
        if not page["items"]:
            break
        after = page["items"][-1]["position"]
    return "\n".join(texts)


def bundle_text(api: Api) -> str:
    """An audit bundle (ADR 0031) of the whole store, with every event state decoded."""
    out = io.StringIO()
    export(api.services.desk.recorder, out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    states = [base64.b64decode(x["state"]).decode("utf-8", "replace")
              for x in lines if "state" in x]
    return out.getvalue() + "\n".join(states)


def database_bytes(api: Api) -> bytes:
    """The database as stored: the SQLite files (the events' and the read models', ADR 0073)
    and their WALs after a checkpoint (all read byte by byte), every row of every table of the
    PostgreSQL schema as text (bytea as hex) plus the stored event states themselves; the
    in-memory store's stored events."""
    db = api.services.settings.database
    if db.kind == "sqlite":
        files = []
        for path in (db.path, db.path + SUFFIX):
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            files += [Path(path), Path(path + "-wal")]
        assert Path(db.path + SUFFIX).stat().st_size > 0
        return b"".join(f.read_bytes() for f in files if f.exists())
    notes = api.services.desk.recorder.select_notifications(start=1, limit=1_000_000)
    states = b"\n".join(bytes(n.state) for n in notes)
    if db.kind != "postgres":
        return states
    import psycopg

    with psycopg.connect(db.conninfo) as conn:
        events = api.services.desk.recorder.events_table_name  # type: ignore[attr-defined]
        rows = schema_rows(conn, events)
        rows += [bytes(s).hex() for (s,) in conn.execute(f'SELECT state FROM "{events}"')]
    return states + "\n".join(rows).encode()


def holds(data: bytes, text: str) -> bool:
    needle = text.encode()
    return needle in data or needle.hex().encode() in data


def test_after_an_erasure_no_view_history_log_or_bundle_shows_a_name(admin: Api) -> None:
    s = scenario(admin)
    before = readable(admin, s)
    for name in (*NAMES_A, SIGNER_B, INTERFACE_B):
        assert name in before, name  # shown in clear to staff until the erasure
    result = erase(admin)
    assert result["tickets"] == 2 and result["recorded"] is True  # A's own and the routine's
    after = readable(admin, s)
    shown = [name for name in NAMES_A if name in after]
    assert not shown, f"still readable after the erasure: {shown}"
    bundle = bundle_text(admin)
    assert not [name for name in NAMES_A if name in bundle]
    # The records say what they held: erased, not absent.
    view = get(admin, f"/tickets/{s['a']['id']}")
    assert view["interface_person"] == "[erased]" and view["contact_erased"] is True
    assert view["acceptance"]["signer"] == "[erased]"
    assert view["feedback"]["comment"] == "[erased]"
    project = get(admin, f"/projects/{s['project']['id']}")
    assert project["runs"][0]["signer"] == "[erased]"
    assert project["acceptances"][0]["signer"] == "[erased]"
    assert project["surveys"][0]["comment"] == "[erased]"
    assert project["surveys"][0]["mean"] == s["project"]["surveys"][0]["mean"]
    change = get(admin, f"/changes/{s['change']['id']}")
    assert change["confirmed_by"] == "[erased]"
    assert get(admin, "/users/req-a1")["name"] == "[erased]"
    # Customer B is untouched, and the chain over the unchanged events still verifies.
    b = get(admin, f"/tickets/{s['b']['id']}")
    assert b["interface_person"] == INTERFACE_B and b["acceptance"]["signer"] == SIGNER_B
    verify = get(admin, "/audit/verify")
    assert verify["ok"] is True, verify


def test_after_an_erasure_the_database_holds_no_name(admin: Api) -> None:
    s = scenario(admin)
    stored = admin.services.desk.recorder.select_notifications(start=1, limit=1_000_000)
    erase(admin)
    data = database_bytes(admin)
    found = [name for name in NAMES_A if holds(data, name)]
    assert not found, f"in the database after the erasure: {found}"
    # The erasure changed no stored event: the chain over them still verifies.
    again = admin.services.desk.recorder.select_notifications(start=1, limit=1_000_000)
    assert [(n.id, bytes(n.state)) for n in again[: len(stored)]] == [
        (n.id, bytes(n.state)) for n in stored]
    assert get(admin, "/audit/verify")["ok"] is True
    assert get(admin, f"/tickets/{s['b']['id']}")["acceptance"]["signer"] == SIGNER_B


def test_personal_data_stored_before_it_was_sealed_reads_as_erased_and_is_counted(
        admin: Api) -> None:
    """A store written before ADR 0043 (or 0034) holds these values in plaintext: they stay
    readable until the erasure, then every view shows them erased, and the answer counts the
    events whose bytes still hold them (an append-only history cannot shred them)."""
    mapper: Any = admin.services.desk.mapper
    sealer, mapper.sealer = mapper.sealer, None  # a desk from before sealing
    try:
        s = scenario(admin)
    finally:
        mapper.sealer = sealer
    assert holds(database_bytes(admin), SIGNER)  # plaintext, as older versions stored it
    assert SIGNER in readable(admin, s)
    result = erase(admin)
    assert result["legacy_plaintext_events"] >= 10 and "plaintext" in result["note"]
    assert (result["projects_erased"], result["changes_erased"], result["users_erased"]) == (
        1, 1, 1)
    after = readable(admin, s)
    assert not [name for name in NAMES_A if name in after]
    b = get(admin, f"/tickets/{s['b']['id']}")
    assert b["interface_person"] == INTERFACE_B and b["acceptance"]["signer"] == SIGNER_B
