"""Uploaded files over HTTP (issue 19 item 3, ADR 0056): ``POST /api/v1/attachments``
(multipart, field ``file``) → 201 ``{id, sha256, size, content_type}``; ``GET
/api/v1/attachments/{id}`` the exact bytes with their media type and a Content-Disposition
that carries a Chinese name (RFC 6266/5987); who may read follows the records a file is
attached to (another organisation's requester: 404 as for an unknown id); an erasure of the
owner customer makes the file unreadable (410); altered bytes are reported (409)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from uuid import UUID, uuid4

import pytest

from adapters.settings import Settings
from application.commands.tickets import Comment
from tests.fixtures_http import (ALL_STORES, API, CLASSIFICATION, Api, assert_problem,
                                 run_concurrently, ticket_body)

ADMIN_TOKEN = "attachments-admin"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NAME = "机房巡检单 2026-11（签字版）.pdf"
BINARY = bytes(range(256)) * 64 + b"\x00\r\n--boundary--\r\n" + "巡检".encode()


class World:
    """Customers 客户A and 客户B, a user per role, one ticket of each customer."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.tokens: dict[str, dict[str, str]] = {"admin": ADMIN}
        for c in ("客户A", "客户B"):
            self.ok(self.post("/customers", {"id": c, "name": c}), 201)
        for user, role, extra in [("req-a", "requester", {"customer": "客户A"}),
                                  ("req-b", "requester", {"customer": "客户B"}),
                                  ("agent", "agent", {}), ("auditor", "auditor", {}),
                                  ("eng", "engineer", {}), ("mgr", "manager", {}),
                                  ("eng-2", "engineer", {})]:
            self.ok(self.post("/users", {"id": user, "name": user, "roles": [role], **extra}), 201)
            token = self.ok(self.post(f"/users/{user}/tokens", {}), 201)["token"]
            self.tokens[user] = {"Authorization": f"Bearer {token}"}
        self.ticket = self.ok(self.post("/tickets", ticket_body(**CLASSIFICATION)), 201)
        self.ok(self.post(f"/tickets/{self.ticket['id']}/assign", {"assignee": "eng"}))
        self.ok(self.post(f"/tickets/{self.ticket['id']}/start", {}, "eng"))

    def post(self, path: str, body: dict[str, Any], who: str = "admin") -> Any:
        return self.api.client.post(f"{API}{path}", json=body, headers=self.tokens[who])

    @staticmethod
    def ok(r: Any, status: int = 200) -> Any:
        assert r.status_code == status, r.text
        return r.json()

    def upload(self, data: bytes = BINARY, name: str = NAME, who: str = "admin",
               content_type: str = "application/pdf", **fields: str) -> Any:
        return self.api.client.post(f"{API}/attachments", files={"file": (name, data, content_type)},
                                    data=fields, headers=self.tokens[who])

    def uploaded(self, who: str = "admin", data: bytes = BINARY, **fields: str) -> dict[str, Any]:
        return self.ok(self.upload(data, who=who, **fields), 201)  # type: ignore[no-any-return]

    def download(self, ref: str, who: str = "admin") -> Any:
        return self.api.client.get(f"{API}/attachments/{ref}", headers=self.tokens[who])

    def log_work(self, files: list[str], who: str = "eng") -> Any:
        return self.post(f"/tickets/{self.ticket['id']}/log_work",
                         {"action": "更换 UPS 电池", "hours": 1, "attachments": files}, who)

    def internal_note(self, file_id: str, actor: str) -> None:
        self.api.services.desk.handle(Comment(ref=self.ticket["id"], body="内部：机房门禁密码见附件",
                                              visibility="internal", attachments=(file_id,)),
                                      actor=actor)


@pytest.fixture
def world(make_api: Any) -> World:
    return World(make_api(admin_token=ADMIN_TOKEN))


# ------------------------------------------------------------------ upload and download


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_the_exact_bytes_come_back_with_their_type_and_chinese_name(world: World):
    r = world.upload(customer="客户A")
    assert r.status_code == 201, r.text
    body = r.json()
    assert {"id", "sha256", "size", "content_type"} <= set(body)
    assert UUID(body["id"])
    assert body["sha256"] == hashlib.sha256(BINARY).hexdigest()
    assert body["size"] == len(BINARY)
    assert body["content_type"] == "application/pdf"
    assert body["filename"] == NAME and body["customer"] == "客户A"
    assert r.headers["location"] == f"{API}/attachments/{body['id']}"

    got = world.download(body["id"])
    assert got.status_code == 200, got.text
    assert got.content == BINARY
    assert got.headers["content-type"] == "application/pdf"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"")
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == NAME
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["etag"] == f'"{body["sha256"]}"'

    meta = world.ok(world.api.client.get(f"{API}/attachments/{body['id']}/meta", headers=ADMIN))
    assert meta["state"] == "ok" and meta["links"] == [] and meta["filename"] == NAME


def test_a_json_file_is_served_as_uploaded_even_to_masked_roles(world: World):
    data = b'{"contact": {"name": "\xe6\x9d\x8e\xe5\x9b\x9b", "phone": "13800005678"}}'
    f = world.uploaded("req-a", data=data)
    assert world.ok(world.post(f"/tickets/{world.ticket['id']}/log_work",
                               {"action": "日志", "hours": 1}, "eng")) is not None
    got = world.download(f["id"], "req-a")  # a requester's answers are masked, not files
    assert got.status_code == 200 and got.content == data


def test_the_same_bytes_uploaded_at_once_are_one_blob(world: World):
    responses = run_concurrently(6, lambda i: world.upload(name=f"扫描件{i}.pdf",
                                                           customer="客户A"))
    bodies = [world.ok(r, 201) for r in responses]
    assert len({b["id"] for b in bodies}) == 6
    assert {b["sha256"] for b in bodies} == {hashlib.sha256(BINARY).hexdigest()}
    assert len(world.api.services.blobs.names()) == 1
    for b in bodies:
        assert world.download(b["id"]).content == BINARY


def test_two_customers_identical_files_do_not_share_a_blob(world: World):
    a = world.uploaded(customer="客户A")
    b = world.uploaded(customer="客户B")
    p = world.uploaded()  # the provider's own
    assert a["sha256"] == b["sha256"] == p["sha256"]
    assert len(world.api.services.blobs.names()) == 3


def test_an_empty_file_is_a_file(world: World):
    f = world.uploaded(data=b"")
    assert f["size"] == 0
    assert world.download(f["id"]).content == b""


@pytest.mark.parametrize("http_store", ["memory"])
def test_the_size_limit_is_a_413_problem_and_configurable(make_api: Any):
    api = make_api(attachment_max_bytes=1000)
    ok = api.client.post(f"{API}/attachments", files={"file": ("a.bin", b"x" * 1000)})
    assert ok.status_code == 201, ok.text
    r = api.client.post(f"{API}/attachments", files={"file": ("a.bin", b"x" * 1001)})
    assert_problem(r, 413, field="file", detail_has="OPSLEDGER_ATTACHMENT_MAX_BYTES")
    big = api.client.post(f"{API}/attachments", files={"file": ("a.bin", b"x" * 200_000)})
    assert_problem(big, 413, field="file")
    assert len(api.services.blobs.names()) == 1


def test_the_default_limit_is_20_mib():
    assert Settings().attachment_max_bytes == 20 * 1024 * 1024
    assert Settings.from_env({"OPSLEDGER_ATTACHMENT_MAX_BYTES": "5"}).attachment_max_bytes == 5


def test_a_missing_file_field_is_a_422_and_another_body_a_415(world: World):
    client = world.api.client
    r = client.post(f"{API}/attachments", files={"document": ("a.txt", b"x")}, headers=ADMIN)
    assert_problem(r, 422, field="file")
    r = client.post(f"{API}/attachments", data={"file": "not a file"}, files={"x": ("x", b"")},
                    headers=ADMIN)
    assert_problem(r, 422, field="file")
    assert_problem(client.post(f"{API}/attachments", json={"file": "x"}, headers=ADMIN), 415,
                   field="Content-Type")
    r = client.post(f"{API}/attachments", content=b"--x\r\nbroken",
                    headers={**ADMIN, "content-type": "multipart/form-data; boundary=x"})
    assert r.status_code in (400, 422), r.text
    assert world.api.services.blobs.names() == []


def test_a_header_smuggling_media_type_is_refused_to_octet_stream(world: World):
    f = world.uploaded(content_type="text/html; charset=utf-8")
    assert f["content_type"] == "text/html"
    g = world.uploaded(content_type="bad type\r\nX-Evil: 1")
    assert g["content_type"] == "application/octet-stream"


# ------------------------------------------------------------------ who reads a file


def test_an_unattached_upload_is_its_uploaders_and_the_admins(world: World):
    f = world.uploaded("agent", customer="客户A")
    assert world.download(f["id"], "agent").content == BINARY
    assert world.download(f["id"], "admin").status_code == 200
    for other in ("req-a", "req-b", "auditor", "eng", "mgr"):
        assert_problem(world.download(f["id"], other), 404)
    assert_problem(world.download(str(uuid4()), "agent"), 404)
    assert_problem(world.download("not-an-id", "agent"), 404)


def test_a_file_follows_its_ticket_requesters_of_other_organisations_get_404(world: World):
    f = world.uploaded("eng", customer="客户A")
    world.ok(world.log_work([f["id"]]))
    for reader in ("req-a", "agent", "auditor", "mgr", "eng-2", "eng"):
        r = world.download(f["id"], reader)
        assert r.status_code == 200 and r.content == BINARY, (reader, r.text)
    unknown = str(uuid4())
    r, u = world.download(f["id"], "req-b"), world.download(unknown, "req-b")
    assert_problem(r, 404)
    assert_problem(u, 404)  # the same answer as for an id that does not exist
    assert r.json()["detail"].replace(f["id"], unknown) == u.json()["detail"]
    meta = world.ok(world.api.client.get(f"{API}/attachments/{f['id']}/meta",
                                         headers=world.tokens["req-a"]))
    assert [(x["kind"], x["number"], x["visibility"]) for x in meta["links"]] == [
        ("ticket", world.ticket["number"], "public")]
    assert_problem(world.api.client.get(f"{API}/attachments/{f['id']}/meta",
                                        headers=world.tokens["req-b"]), 404)


def test_an_internal_notes_file_is_for_staff_only(world: World):
    f = world.uploaded("agent", customer="客户A")
    world.internal_note(f["id"], "agent")
    for reader in ("agent", "mgr", "eng"):
        assert world.download(f["id"], reader).status_code == 200, reader
    for reader in ("req-a", "req-b", "auditor"):
        assert_problem(world.download(f["id"], reader), 404)


def test_a_requester_uploads_for_their_own_organisation_and_attaches_it(world: World):
    f = world.uploaded("req-a")
    assert f["customer"] == "客户A"
    r = world.upload(who="req-a", customer="客户B")
    assert_problem(r, 400, field="customer")
    assert world.download(f["id"], "req-a").status_code == 200
    # someone else's upload cannot be attached by another user
    r = world.log_work([f["id"]], who="eng")
    assert_problem(r, 422, field="attachments")


def test_an_id_shaped_reference_must_be_an_uploaded_file(world: World):
    r = world.log_work([str(uuid4())])
    assert_problem(r, 422, field="attachments")
    # a text reference of a registration stays a text reference
    t = world.ok(world.post("/tickets", ticket_body(attachments=["scan-001.pdf"])), 201)
    assert t["attachments"] == ["scan-001.pdf"]


def test_auditors_upload_nothing(world: World):
    assert_problem(world.upload(who="auditor"), 403)


# ------------------------------------------------------------------ other records


def _project_of_a(world: World) -> dict[str, Any]:
    p = world.ok(world.post("/projects", {
        "name": "客户A 运维", "customer": "客户A", "sla_policy": "default",
        "calendar": "china-5x8", "contract": {"number": "HT-A", "services": ["巡检"],
                                             "start": "2026-11-01", "end": "2027-10-31"}}), 201)
    ref = p["id"]
    world.ok(world.post(f"/projects/{ref}/approve", {"project_manager": "pm-zhang", "team": ["eng"]}))
    world.ok(world.post(f"/projects/{ref}/plan", {
        "targets": "P1 4h", "scope": "ERP", "staff": ["eng"], "budget": "120万",
        "assessment": "月度评审"}))
    return world.ok(world.post(f"/projects/{ref}/schedule_routine", {  # type: ignore[no-any-return]
        "name": "机房巡检", "kind": "inspection", "rrule": "FREQ=WEEKLY;BYDAY=FR;BYHOUR=9"}))


def test_inspection_sheets_and_acceptance_forms_follow_their_project(world: World):
    p = _project_of_a(world)
    sheet = world.uploaded("eng", customer="客户A")
    world.ok(world.post(f"/projects/{p['id']}/record_routine", {
        "routine_id": p["routine_id"], "run_at": "2026-11-20T09:00:00+08:00",
        "verdict": "normal", "findings": "正常", "signer": "王工", "attachments": [sheet["id"]]},
        "eng"))
    form = world.uploaded("mgr", data=b"signed", customer="客户A")
    world.ok(world.post(f"/projects/{p['id']}/accept", {
        "signer": "客户A 李总", "passed": True, "attachments": [form["id"]]}, "mgr"))
    for f in (sheet, form):
        assert world.download(f["id"], "req-a").status_code == 200
        assert world.download(f["id"], "auditor").status_code == 200
        assert_problem(world.download(f["id"], "req-b"), 404)
    meta = world.ok(world.api.client.get(f"{API}/attachments/{form['id']}/meta", headers=ADMIN))
    assert [(x["kind"], x["number"]) for x in meta["links"]] == [("project", p["number"])]


def test_files_attach_to_a_change(world: World):
    c = world.ok(world.post("/changes", {"kind": "normal", "origin": world.ticket["id"],
                                         "title": "ERP 内存扩容", "description": "扩容"}), 201)
    plan = world.uploaded("eng", data=b"plan")
    secret = world.uploaded("eng", data=b"secret")
    r = world.post(f"/changes/{c['id']}/attach", {"attachments": [plan["id"]]}, "eng")
    assert r.status_code == 200, r.text
    world.ok(world.post(f"/changes/{c['id']}/attach",
                        {"attachments": [secret["id"]], "visibility": "internal"}, "eng"))
    # again: nothing new recorded
    again = world.post(f"/changes/{c['id']}/attach", {"attachments": [plan["id"]]}, "eng")
    assert again.status_code == 200
    assert world.download(plan["id"], "auditor").status_code == 200
    assert_problem(world.download(secret["id"], "auditor"), 404)
    assert world.download(secret["id"], "mgr").status_code == 200
    for requester in ("req-a", "req-b"):  # changes are staff records
        assert_problem(world.download(plan["id"], requester), 404)
    assert_problem(world.post(f"/changes/{c['id']}/attach", {"attachments": []}, "eng"), 422,
                   field="attachments")
    assert_problem(world.post(f"/changes/{c['id']}/attach", {"attachments": [plan["id"]],
                                                             "visibility": "secret"}, "eng"),
                   422, field="visibility")
    assert_problem(world.post(f"/changes/{c['id']}/attach", {"attachments": [plan["id"]]},
                              "req-a"), 403)


# ------------------------------------------------------------------ erasure and integrity


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_the_erasure_of_its_customer_makes_a_file_gone(world: World):
    f = world.uploaded("eng", customer="客户A")
    world.ok(world.log_work([f["id"]]))
    own = world.uploaded("eng")  # the provider's own file stays
    b = world.uploaded("eng", customer="客户B")
    world.ok(world.post("/customers/客户A/erase_personal_data",
                        {"reason": "客户要求", "requested_by": "客户A 法务"}))
    r = world.download(f["id"], "eng")
    body = assert_problem(r, 410)
    assert "erased" in body["detail"] and body["attachment"] == f["id"]
    meta = world.ok(world.api.client.get(f"{API}/attachments/{f['id']}/meta", headers=ADMIN))
    assert meta["state"] == "erased" and meta["filename"] != NAME
    assert world.download(own["id"], "eng").content == BINARY
    assert world.download(b["id"], "eng").content == BINARY
    # a new upload for the erased customer is sealed with a new key and reads
    again = world.uploaded("eng", customer="客户A")
    assert world.download(again["id"], "eng").content == BINARY


def _tamper(world: World, file: dict[str, Any], store: str, tmp_path: Path) -> None:
    blobs = world.api.services.blobs
    (name,) = [n for n in blobs.names() if n.startswith(file["sha256"])]
    stored = blobs.get(name)
    assert stored is not None and BINARY[:64] not in stored  # sealed at rest
    altered = stored[:-1] + bytes([stored[-1] ^ 1])
    if store == "memory":
        blobs._blobs[name] = altered  # type: ignore[attr-defined]
    elif store == "sqlite":
        (path,) = tmp_path.glob(f"o.sqlite3.blobs/*/{name}")
        path.write_bytes(altered)
    else:
        with blobs.store.transaction() as cur:  # type: ignore[attr-defined]
            cur.execute("UPDATE attachment_blobs SET data=%s WHERE name=%s", (altered, name))


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_altered_bytes_are_reported_never_served(world: World, http_store: str,
                                                 tmp_path: Path):
    f = world.uploaded(customer="客户A")
    _tamper(world, f, http_store, tmp_path)
    body = assert_problem(world.download(f["id"]), 409)
    assert body["type"].endswith("attachment-altered") and body["sha256"] == f["sha256"]
    meta = world.ok(world.api.client.get(f"{API}/attachments/{f['id']}/meta", headers=ADMIN))
    assert meta["state"] == "altered"


def test_a_registration_links_its_uploaded_files_and_keeps_text_references(world: World):
    f = world.uploaded("req-a")
    t = world.ok(world.post("/tickets", ticket_body(attachments=["现场照片.jpg", f["id"]]),
                            "req-a"), 201)
    assert t["attachments"] == ["现场照片.jpg", f["id"]]
    meta = world.ok(world.api.client.get(f"{API}/attachments/{f['id']}/meta",
                                         headers=world.tokens["agent"]))
    assert [(x["kind"], x["number"]) for x in meta["links"]] == [("ticket", t["number"])]
    assert world.download(f["id"], "auditor").status_code == 200
    assert_problem(world.download(f["id"], "req-b"), 404)
    r = world.post("/tickets", ticket_body(attachments=[str(uuid4())]), "req-a")
    assert_problem(r, 422, field="attachments")


def test_the_document_describes_the_upload_form(world: World):
    doc = world.api.client.get("/schema/openapi.json").json()
    op = doc["paths"][f"{API}/attachments"]["post"]
    form = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    assert {"201", "413", "415", "422"} <= set(op["responses"])
    assert {"200", "404", "409", "410"} <= set(doc["paths"][f"{API}/attachments/{{ref}}"]["get"]["responses"])
