"""The mail quarantine on the console (ADR 0057): a manager sees what the fault mailbox kept
aside and why, opens a message as itself and releases it into a ticket; a release that still
fails says why and keeps it; an engineer has neither the page nor its link."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from adapters.mail.intake import MailIntake
from tests.adapters.mail.messages import message
from tests.fixtures_http import ALL_STORES, Api
from tests.support.console import ADMIN, login, staffed


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"boss": ("manager", "周经理"), "eng": ("engineer",)})


def nav(html: str) -> str:
    return html.split("<nav>", 1)[1].split("</nav>", 1)[0]


def csrf_of_form(html: str, action: str) -> dict[str, str]:
    start = html.index(f'method="post" action="{action}"')
    form = html[start:html.index("</form>", start)]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_manager_reads_opens_and_releases_quarantined_mail(desk: Api) -> None:
    intake = MailIntake(desk.services)
    raw = message("自动回复: 其实是报障", "二号机房空调停机", Auto_Submitted="auto-replied").as_bytes()
    kept = intake.receive(raw, source="smtp:192.0.2.7")
    senderless = intake.receive(b"Subject: x\r\n\r\nno sender", source="imap:INBOX")
    login(desk.client, "boss")
    page = desk.client.get("/ui/mail/quarantine")
    assert page.status_code == 200
    assert 'href="/ui/mail/quarantine"' in nav(page.text) and "隔离邮件" in nav(page.text)
    assert f'data-quarantined="{kept.quarantine_id}"' in page.text
    assert "auto-reply: Auto-Submitted: auto-replied" in page.text
    assert "自动回复: 其实是报障" in page.text and "wangzhe@acme.com" in page.text

    opened = desk.client.get(f"/ui/mail/quarantine/{kept.quarantine_id}")
    assert opened.status_code == 200 and opened.content == raw
    assert opened.headers["content-type"].startswith("message/rfc822")

    action = f"/ui/mail/quarantine/{kept.quarantine_id}/release"
    r = desk.client.post(action, data=csrf_of_form(page.text, action), follow_redirects=False)
    assert r.status_code == 303, r.text
    number = r.headers["location"].rsplit("/", 1)[1]
    assert desk.client.get(r.headers["location"]).status_code == 200
    assert desk.services.desk.get_ticket(number).title == "自动回复: 其实是报障"
    page = desk.client.get("/ui/mail/quarantine")
    assert f'data-quarantined="{kept.quarantine_id}"' not in page.text
    listed = desk.client.get("/ui/mail/quarantine?released=1").text
    assert f'href="/ui/tickets/{number}"' in listed

    action = f"/ui/mail/quarantine/{senderless.quarantine_id}/release"
    r = desk.client.post(action, data=csrf_of_form(page.text, action), follow_redirects=True)
    assert r.status_code == 200
    assert f'data-kept="{senderless.quarantine_id}"' in r.text
    assert "malformed: no sender address (From)" in r.text


def test_without_a_csrf_token_nothing_is_released(desk: Api) -> None:
    kept = MailIntake(desk.services).receive(
        message("退信", "x", Auto_Submitted="auto-replied").as_bytes(), source="test")
    login(desk.client, "boss")
    r = desk.client.post(f"/ui/mail/quarantine/{kept.quarantine_id}/release", data={},
                         follow_redirects=False)
    assert r.status_code == 403
    assert [m.id for m in desk.services.quarantine.list()] == [kept.quarantine_id]


def test_an_engineer_has_neither_the_page_nor_its_link(desk: Api) -> None:
    kept = MailIntake(desk.services).receive(
        message("退信", "x", Auto_Submitted="auto-replied").as_bytes(), source="test")
    login(desk.client, "eng")
    home = desk.client.get("/ui/")
    assert "/ui/mail/quarantine" not in nav(home.text)
    assert desk.client.get("/ui/mail/quarantine").status_code == 403
    assert desk.client.get(f"/ui/mail/quarantine/{kept.quarantine_id}").status_code == 403
