"""Files on the console's ticket pages (issue 19 item 3, ADR 0056), as a browser uses them:
the desk's upload form (multipart, CSRF-checked) uploads a file as the ticket's customer's and
attaches it with a note; the list links every file the caller may read to the download; the
portal lists the public files only; a form over the size limit is refused before it is read."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures_http import ALL_STORES, API, CLASSIFICATION, Api, ticket_body
from tests.support.console import ADMIN, login, staffed

_HIDDEN = re.compile(r'type="hidden" name="([^"]+)" value="([^"]*)"')
SHEET = "巡检单（签字）.pdf"
DATA = bytes(range(256)) * 8


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"li": ("engineer", "李工"), "shen": ("auditor", "沈审计"),
                              "kehu": ("requester", "张客户", "客户A"),
                              "other": ("requester", "王客户", "客户B")},
                   attachment_max_bytes=100_000)


def working(api: Api) -> dict[str, Any]:
    r = api.client.post(f"{API}/tickets", json=ticket_body(**CLASSIFICATION), headers=ADMIN)
    assert r.status_code == 201, r.text
    t = r.json()
    for verb, body in (("assign", {"assignee": "li"}), ("start", {})):
        r = api.client.post(f"{API}/tickets/{t['number']}/{verb}", json=body, headers=ADMIN)
        assert r.status_code == 200, r.text
    return t


def attach(api: Api, number: str, name: str, data: bytes, **fields: str) -> Any:
    page, action = f"/ui/tickets/{number}", f"/ui/tickets/{number}/attach"
    html = api.client.get(page).text
    start = html.index(f'action="{action}"')
    hidden = dict(_HIDDEN.findall(html[start:html.index("</form>", start)]))
    return api.client.post(action, data={**hidden, **fields}, files={"file": (name, data,
                                                                              "application/pdf")},
                           follow_redirects=False)


def files_on(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-file="([^"]+)" data-visibility="(\w+)"', html)


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_the_desk_uploads_a_file_with_a_note_and_everyone_entitled_sees_it(desk: Api):
    t = working(desk)
    login(desk.client, "li")
    r = attach(desk, t["number"], SHEET, DATA, body="巡检单已上传", visibility="public")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/ui/tickets/{t['number']}#attachments"
    r = attach(desk, t["number"], "内部.txt", b"internal", visibility="internal")
    assert r.status_code == 303, r.text
    html = desk.client.get(f"/ui/tickets/{t['number']}").text
    listed = files_on(html)
    assert [v for _, v in listed] == ["public", "internal"]
    assert SHEET in html and "data-attach-form" in html
    public_id, internal_id = (i for i, _ in listed)
    got = desk.client.get(f"{API}/attachments/{public_id}")  # the session reads the download
    assert got.status_code == 200 and got.content == DATA
    meta = desk.client.get(f"{API}/attachments/{public_id}/meta", headers=ADMIN).json()
    assert meta["customer"] == "客户A" and meta["links"][0]["number"] == t["number"]
    history = desk.client.get(f"{API}/tickets/{t['id']}/history", headers=ADMIN).json()
    notes = [h["data"] for h in history if h["type"] == "CommentAdded"]
    assert [(n["body"], n["attachments"]) for n in notes] == [
        ("巡检单已上传", [public_id]), ("", [internal_id])]

    login(desk.client, "shen")  # auditors: the public file only, and no form
    html = desk.client.get(f"/ui/tickets/{t['number']}").text
    assert files_on(html) == [(public_id, "public")] and "data-attach-form" not in html

    login(desk.client, "kehu")  # the customer's portal: the public file only
    html = desk.client.get(f"/portal/tickets/{t['number']}").text
    assert files_on(html) == [(public_id, "public")] and "内部.txt" not in html
    assert desk.client.get(f"{API}/attachments/{public_id}").content == DATA
    assert desk.client.get(f"{API}/attachments/{internal_id}").status_code == 404

    login(desk.client, "other")  # another organisation: nothing
    assert desk.client.get(f"/portal/tickets/{t['number']}").status_code == 404
    assert desk.client.get(f"{API}/attachments/{public_id}").status_code == 404


def test_a_work_logs_file_is_listed_with_the_ticket(desk: Api):
    t = working(desk)
    f = desk.client.post(f"{API}/attachments", files={"file": ("服务记录.jpg", b"jpg")},
                         headers=ADMIN).json()
    r = desk.client.post(f"{API}/tickets/{t['number']}/log_work", headers=ADMIN, json={
        "action": "更换硬盘", "hours": 2, "attachments": [f["id"]]})
    assert r.status_code == 200, r.text
    assert r.json()["work_log"][0]["attachments"] == [f["id"]]
    login(desk.client, "li")
    assert files_on(desk.client.get(f"/ui/tickets/{t['number']}").text) == [(f["id"], "public")]


def test_a_form_without_a_file_or_over_the_limit_records_nothing(desk: Api):
    t = working(desk)
    login(desk.client, "li")
    page, action = f"/ui/tickets/{t['number']}", f"/ui/tickets/{t['number']}/attach"
    r = attach(desk, t["number"], "big.bin", b"x" * 200_000)
    assert r.status_code == 413, r.text[:300]
    html = desk.client.get(page).text
    start = html.index(f'action="{action}"')
    hidden = dict(_HIDDEN.findall(html[start:html.index("</form>", start)]))
    r = desk.client.post(action, data={**hidden, "body": "无文件"},
                         files={"other": ("x", b"")}, follow_redirects=False)
    assert r.status_code == 400, r.text[:300]
    r = desk.client.post(action, data={"body": "no token"}, files={"file": ("a.txt", b"a")},
                         follow_redirects=False)
    assert r.status_code == 403  # the CSRF check
    assert desk.services.blobs.names() == []
    history = desk.client.get(f"{API}/tickets/{t['id']}/history", headers=ADMIN).json()
    assert [h for h in history if h["type"] == "CommentAdded"] == []
