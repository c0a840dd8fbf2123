"""The mail intake in process on every store (ADR 0057): what a message becomes, who its
customer is, replies, exactly once, the quarantine and its release, a store that is away."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.http.access import ADMIN
from adapters.mail.intake import MailIntake
from application.attachments import read
from application.commands.tickets import AwaitCustomer, Assign, Classify, Start
from application.commands.users import RegisterUser
from domain.attachment import Attachment
from domain.ticket import Status
from tests.adapters.mail.messages import message
from tests.fixtures_http import ALL_STORES, CLASSIFICATION

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"


@pytest.fixture(params=ALL_STORES)
def http_store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def services(make_api: Any) -> Any:
    api = make_api(mail_customers="acme.com=ACME,example.cn=示例", mail_from="Desk <desk@ops.example>")
    return api.services


@pytest.fixture
def intake(services: Any) -> MailIntake:
    return MailIntake(services)


def mail(*args: str, **kwargs: str) -> bytes:
    return message(*args, **kwargs).as_bytes()


def history_types(services: Any, number: str) -> list[str]:
    return [h.type for h in services.desk.ticket_history(number)]


def test_a_new_mail_registers_a_ticket(intake, services):
    r = intake.receive(mail(), source="test")
    assert (r.outcome, r.reason) == ("registered", "")
    t = services.desk.get_ticket(r.ticket)
    assert (t.title, t.channel, t.customer) == ("服务器宕机", "email", "ACME")
    assert (t.contact.name, t.contact.email) == ("王喆", "wangzhe@acme.com")
    assert t.description == "机房 3 号机柜的服务器宕机"
    assert services.desk.ticket_history(r.ticket)[0].actor == "system:mail"


def test_the_customer_from_the_map_a_user_a_known_contact_or_the_domain(intake, services):
    # a subdomain of a mapped domain
    assert intake.customer_of("ops@mail.acme.com") == "ACME"
    # a registered requester with that address
    services.desk.handle(RegisterUser(id="zhou@partner.cn", name="周", roles=("requester",),
                                      customer="PARTNER"), actor=ADMIN)
    assert intake.customer_of("zhou@partner.cn") == "PARTNER"
    # the contact of an earlier ticket (the search view keeps contacts' digests)
    first = intake.receive(mail(sender="钱 <qian@old.example>"), source="test")
    assert services.desk.get_ticket(first.ticket).customer == "old.example"  # unknown: its domain
    services.desk.handle(Classify(ref=first.ticket, **CLASSIFICATION), actor=ADMIN)
    services.runner.catch_up_all()
    # moved to another customer since? the newest ticket of that contact says who
    assert intake.customer_of("qian@old.example") == "old.example"
    assert intake.customer_of("nobody@elsewhere.example") == "elsewhere.example"


def test_the_default_customer_when_configured(make_api):
    services = make_api(mail_default_customer="散客").services
    r = MailIntake(services).receive(mail(sender="x@unknown.example"), source="test")
    assert services.desk.get_ticket(r.ticket).customer == "散客"


def test_chinese_encodings_html_and_attachments_from_fixtures(intake, services):
    r = intake.receive((FIXTURES / "gb2312_mislabelled.eml").read_bytes(), source="test")
    t = services.desk.get_ticket(r.ticket)
    assert (t.title, t.contact.name, t.customer) == ("朱镕的服务器宕机了", "王喆", "ACME")
    r = intake.receive((FIXTURES / "html_only_utf8.eml").read_bytes(), source="test")
    assert "磁盘使用率 95%" in services.desk.get_ticket(r.ticket).description
    r = intake.receive((FIXTURES / "attachments.eml").read_bytes(), source="test")
    t = services.desk.get_ticket(r.ticket)
    assert t.customer == "示例"
    files = [services.desk.load(UUID(ref)) for ref in t.attachments]
    assert all(isinstance(f, Attachment) for f in files)
    by_name = {f.filename: f for f in files}
    assert set(by_name) == {"巡检单-喆.xls", "维修记录.pdf", "attachment-3.png", "attachment-4.eml"}
    xls = by_name["巡检单-喆.xls"]
    assert read(services.desk, services.blobs, xls) == bytes(range(256))
    assert xls.sha256 == hashlib.sha256(bytes(range(256))).hexdigest()
    assert [link.number for link in xls.links] == [t.number]


def test_a_reply_appends_the_customers_words_and_resumes_a_waiting_ticket(intake, services):
    first = intake.receive(mail(msgid="<first@acme.com>"), source="test")
    number = first.ticket
    desk = services.desk
    desk.handle(Classify(ref=number, **CLASSIFICATION), actor=ADMIN)
    desk.handle(Assign(ref=number, assignee="u-eng"), actor=ADMIN)
    desk.handle(Start(ref=number), actor=ADMIN)
    desk.handle(AwaitCustomer(ref=number, reason="请确认是否恢复"), actor=ADMIN)
    assert desk.get_ticket(number).status is Status.WAITING_CUSTOMER
    # by In-Reply-To of a mail we sent (contract 1), the subject without the number
    reply = mail("Re: 服务器宕机", "已经恢复了\n\n-----原始邮件-----\n请确认是否恢复",
                 In_Reply_To=f"<{number}.n1@ops.example>")
    r = intake.receive(reply, source="test")
    assert (r.outcome, r.ticket) == ("appended", number)
    t = desk.get_ticket(number)
    assert t.status is Status.IN_PROGRESS
    entry = desk.ticket_history(number)[-2]
    assert entry.type == "CommentAdded"
    assert entry.data["body"] == "已经恢复了"
    assert (entry.data["author"], entry.data["visibility"], entry.data["via"]) == (
        "customer", "public", "email")
    # by [SR-…] in the subject, with a file
    m = EmailMessage()
    m["From"], m["Subject"], m["Message-ID"] = "wangzhe@acme.com", f"回复：[{number.lower()}] 截图", "<r2@acme.com>"
    m.set_content("截图见附件")
    m.add_attachment(b"\x89PNGdata", maintype="image", subtype="png", filename="屏幕.png")
    r = intake.receive(m.as_bytes(), source="test")
    assert (r.outcome, r.ticket) == ("appended", number)
    last = desk.ticket_history(number)[-1]
    assert last.data["body"] == "截图见附件"
    (file_id,) = last.data["attachments"]
    assert read(desk, services.blobs, desk.load(UUID(file_id))) == b"\x89PNGdata"


def test_a_reply_to_a_ticket_we_do_not_have_registers_a_new_one(intake, services):
    r = intake.receive(mail("Re: [SR-20200101-999] 旧事"), source="test")
    assert r.outcome == "registered"
    assert services.desk.get_ticket(r.ticket).title == "Re: [SR-20200101-999] 旧事"


def test_a_reply_from_another_customers_domain_is_quarantined(intake, services):
    first = intake.receive(mail(), source="test")
    r = intake.receive(mail(f"Re: [{first.ticket}] 服务器宕机", "我来插一句",
                            sender="li@example.cn"), source="test")
    assert r.outcome == "quarantined"
    assert "belongs to customer 示例, not ACME" in r.reason
    assert "CommentAdded" not in history_types(services, first.ticket)


def test_the_same_message_id_records_once(intake, services):
    raw = mail(msgid="<once@acme.com>")
    first = intake.receive(raw, source="smtp:127.0.0.1")
    head = services.desk.max_position()
    again = intake.receive(raw.replace(b"From:", b"Received: from relay2\r\nFrom:", 1),
                           source="imap:INBOX")
    assert (again.outcome, again.ticket) == ("duplicate", first.ticket)
    assert services.desk.max_position() == head  # nothing new, not even a file
    reply = mail(f"Re: [{first.ticket}]", "补充", msgid="<reply-once@acme.com>")
    assert intake.receive(reply, source="test").outcome == "appended"
    assert intake.receive(reply, source="test").outcome == "duplicate"
    assert history_types(services, first.ticket).count("CommentAdded") == 1


def test_a_message_without_a_message_id_is_known_by_its_bytes(intake, services):
    raw = mail().replace(b"Message-ID:", b"X-Old-Id:")
    first = intake.receive(raw, source="test")
    assert intake.receive(raw, source="test").outcome == "duplicate"
    assert first.outcome == "registered"


@pytest.mark.parametrize(("headers", "sender", "reason"), [
    ({"Auto_Submitted": "auto-replied"}, "a@acme.com", "auto-reply: Auto-Submitted: auto-replied"),
    ({"Precedence": "bulk"}, "a@acme.com", "auto-reply: Precedence: bulk"),
    ({"Precedence": "junk"}, "a@acme.com", "auto-reply: Precedence: junk"),
    ({"X_Loop": "opsledger@ops.example"}, "a@acme.com", "loop: X-Loop: opsledger@ops.example"),
    ({}, "Desk <DESK@ops.example>", "loop: from our own address desk@ops.example"),
])
def test_auto_replies_and_loops_are_kept_aside_with_their_reason(intake, services, headers,
                                                                 sender, reason):
    raw = mail(sender=sender, **headers)
    r = intake.receive(raw, source="smtp:192.0.2.7")
    assert (r.outcome, r.reason, r.ticket) == ("quarantined", reason, None)
    (row,) = services.quarantine.list()
    assert (row.reason, row.source, row.size) == (reason, "smtp:192.0.2.7", len(raw))
    assert services.quarantine.get(row.id).raw == raw
    # kept once: a redelivery adds no second row
    assert intake.receive(raw, source="smtp:192.0.2.7").outcome == "duplicate"
    assert len(services.quarantine.list()) == 1


def test_auto_submitted_no_is_a_person(intake):
    assert intake.receive(mail(Auto_Submitted="no"), source="test").outcome == "registered"


def test_too_many_hops_is_a_loop(intake):
    raw = b"".join(b"Received: from hop%d\r\n" % i for i in range(31)) + mail()
    r = intake.receive(raw, source="test")
    assert (r.outcome, r.reason) == ("quarantined", "loop: 31 Received headers (more than 30)")


def test_oversized_garbage_and_senderless_mail_are_kept_never_a_crash(make_api):
    services = make_api(mail_max_bytes=2048).services
    intake = MailIntake(services)
    big = mail(body="x" * 4000)
    assert intake.receive(big, source="imap:INBOX").reason.startswith("oversized: ")
    garbage = (FIXTURES / "garbage.eml").read_bytes()
    r = intake.receive(garbage, source="test")
    assert r.outcome == "quarantined" and r.reason.startswith("malformed: ")
    senderless = b"Subject: hello\r\n\r\nno sender"
    r = intake.receive(senderless, source="test")
    assert (r.outcome, r.reason) == ("quarantined", "malformed: no sender address (From)")
    assert {row.size for row in services.quarantine.list()} == {
        len(big), len(garbage), len(senderless)}


def test_release_lets_a_quarantined_message_in_once(intake, services):
    raw = mail("自动回复: 但其实是报障", Auto_Submitted="auto-replied")
    kept = intake.receive(raw, source="test")
    released = intake.release(kept.quarantine_id)
    assert released.outcome == "registered"
    assert services.desk.get_ticket(released.ticket).title == "自动回复: 但其实是报障"
    assert services.quarantine.list() == []
    (row,) = services.quarantine.list(released=True)
    assert (row.released_outcome, row.released_ticket) == ("registered", released.ticket)
    assert intake.release(kept.quarantine_id).outcome == "duplicate"
    assert intake.release("no-such-id") is None


def test_a_release_that_still_fails_leaves_the_message_where_it_is(intake, services):
    kept = intake.receive(b"Subject: x\r\n\r\nno sender", source="test")
    again = intake.release(kept.quarantine_id)
    assert (again.outcome, again.quarantine_id) == ("quarantined", kept.quarantine_id)
    assert [r.id for r in services.quarantine.list()] == [kept.quarantine_id]
