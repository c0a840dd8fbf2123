"""The SMTP/LMTP gateway inside a real ``opsledger serve`` (ADR 0057), fed with ``smtplib``
over 127.0.0.1 as an MTA would: what each answer says, and what the service then shows over
HTTP (the ticket, its history, its files, the quarantine)."""

from __future__ import annotations

import base64
import quopri
import smtplib
import socket
import time
from collections.abc import Iterator
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.mail.messages import message as mail
from tests.support.postgres import PostgresServer, create_database
from tests.support.serve import Process, free_port

API = "/api/v1"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
HEADERS = {"X-Opsledger-Actor": "desk"}  # an open development store: no tokens
MAX_BYTES = 200_000


def wire(raw: bytes) -> bytes:
    """``raw`` as it travels over SMTP: every line ending in CRLF, the last one too."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


class Served:
    def __init__(self, process: Process, smtp_port: int, lmtp_port: int) -> None:
        self.process, self.smtp_port, self.lmtp_port = process, smtp_port, lmtp_port
        self.http = httpx.Client(base_url=process.url, headers=HEADERS, timeout=30)

    def send(self, raw: bytes, *, lmtp: bool = False) -> tuple[int, str]:
        """DATA's answer (code, text), as the MTA reads it (lines end in CRLF on the wire)."""
        raw = wire(raw)
        client = smtplib.LMTP if lmtp else smtplib.SMTP
        with client("127.0.0.1", self.lmtp_port if lmtp else self.smtp_port, timeout=30) as c:
            c.ehlo()
            c.mail("sender@example.org")
            c.rcpt("helpdesk@ops.example")
            code, text = c.data(raw)
        return code, text.decode()

    def ticket(self, number: str) -> dict[str, Any]:
        r = self.http.get(f"{API}/tickets/{number}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def history(self, number: str) -> list[dict[str, Any]]:
        r = self.http.get(f"{API}/tickets/{number}/history")
        assert r.status_code == 200, r.text
        return list(r.json())

    def command(self, number: str, verb: str, body: dict[str, Any]) -> None:
        r = self.http.post(f"{API}/tickets/{number}/{verb}", json=body)
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("smtp")
    smtp_port, lmtp_port = free_port(), free_port()
    process = Process(f"sqlite:///{tmp}/o.sqlite3", tmp / "serve.log",
                      command=("serve", "--lmtp", f"127.0.0.1:{lmtp_port}"),
                      env={"OPSLEDGER_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
                           "OPSLEDGER_MAIL_MAX_BYTES": str(MAX_BYTES),
                           "OPSLEDGER_MAIL_CUSTOMERS": "acme.com=ACME",
                           "OPSLEDGER_MAIL_FROM": "Desk <desk@ops.example>",
                           "OPSLEDGER_SLA_WATCH_SECONDS": "0"})
    with process:
        s = Served(process, smtp_port, lmtp_port)
        yield s
        s.http.close()


def number_of(answer: tuple[int, str]) -> str:
    code, text = answer
    assert code == 250, text
    return text.rsplit(" ", 1)[1]


def test_a_new_mail_becomes_a_ticket_titled_by_its_subject(served):
    answer = served.send(mail("ERP 无法登录", "所有用户登录 ERP 报 500").as_bytes())
    assert answer[1].startswith("2.0.0 OK: registered SR-")
    t = served.ticket(number_of(answer))
    assert (t["title"], t["channel"], t["customer"], t["status"]) == (
        "ERP 无法登录", "email", "ACME", "registered")
    assert t["description"] == "所有用户登录 ERP 报 500"
    assert (t["contact"]["name"], t["contact"]["email"]) == ("王喆", "wangzhe@acme.com")


def test_an_unknown_sender_still_registers_a_ticket(served):
    t = served.ticket(number_of(served.send(
        mail("打印机卡纸", "三楼打印机", sender="someone@random-domain.example").as_bytes())))
    assert (t["title"], t["customer"]) == ("打印机卡纸", "random-domain.example")


@pytest.mark.parametrize("charset", ["gbk", "gb2312", "gb18030", "utf-8"])
@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_chinese_charsets_in_base64_and_quoted_printable(served, charset, encoding):
    subject, body = "数据库连接超时", "订单库连接超时，报错 ORA-12170。"
    words = base64.b64encode(subject.encode(charset)).decode()
    text = body.encode(charset)
    payload = base64.encodebytes(text) if encoding == "base64" else quopri.encodestring(text)
    raw = (f"From: =?{charset}?B?{base64.b64encode('李四'.encode(charset)).decode()}?= "
           f"<li@acme.com>\r\nTo: helpdesk@ops.example\r\nSubject: =?{charset}?B?{words}?=\r\n"
           f"Message-ID: {make_msgid(domain='acme.com')}\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: text/plain; charset={charset}\r\n"
           f"Content-Transfer-Encoding: {encoding}\r\n\r\n").encode() + payload
    t = served.ticket(number_of(served.send(raw)))
    assert (t["title"], t["description"], t["contact"]["name"]) == (subject, body, "李四")


def test_fixtures_mislabelled_gb2312_and_html_only(served):
    t = served.ticket(number_of(served.send((FIXTURES / "gb2312_mislabelled.eml").read_bytes())))
    assert (t["title"], t["contact"]["name"]) == ("朱镕的服务器宕机了", "王喆")
    t = served.ticket(number_of(served.send((FIXTURES / "html_only_utf8.eml").read_bytes())))
    assert t["title"] == "磁盘告警"
    assert "- 主机 db-01\n- 主机 db-02" in t["description"]
    assert "<" not in t["description"] and "alert(" not in t["description"]


def test_an_attachment_is_stored_and_its_bytes_come_back(served):
    m = mail("巡检单", "见附件")
    data = bytes(range(256)) * 40
    m.add_attachment(data, maintype="application", subtype="vnd.ms-excel",
                     filename="巡检单-12月.xls")
    t = served.ticket(number_of(served.send(m.as_bytes())))
    (file_id,) = t["attachments"]
    r = served.http.get(f"{API}/attachments/{file_id}")
    assert r.status_code == 200
    assert r.content == data
    meta = served.http.get(f"{API}/attachments/{file_id}/meta").json()
    assert (meta["filename"], meta["customer"]) == ("巡检单-12月.xls", "ACME")


def test_replies_by_subject_and_by_in_reply_to_reach_the_ticket_and_resume_it(served):
    number = number_of(served.send(mail("VPN 断线", "VPN 每小时断一次").as_bytes()))
    served.command(number, "classify", {"type": "fault", "category": "network",
                                        "urgency": "urgent", "impact": "some",
                                        "importance": "important"})
    served.command(number, "assign", {"assignee": "u-eng"})
    served.command(number, "start", {})
    served.command(number, "await_customer", {"reason": "请提供客户端日志"})
    assert served.ticket(number)["status"] == "waiting_customer"

    code, text = served.send(mail(f"答复: [{number}] VPN 断线",
                                  "日志见附件\n\n-----原始邮件-----\n请提供客户端日志").as_bytes())
    assert (code, text) == (250, f"2.0.0 OK: added to {number}")
    assert served.ticket(number)["status"] == "in_progress"
    served.command(number, "await_customer", {"reason": "请确认"})
    reply = mail("Re: VPN", "已经好了", In_Reply_To=f"<{number}.n42@ops.example>")
    code, text = served.send(reply.as_bytes(), lmtp=True)  # through the LMTP listener
    assert (code, text) == (250, f"2.0.0 OK: added to {number}")
    history = served.history(number)
    notes = [h["data"]["body"] for h in history if h["type"] == "CommentAdded"]
    assert notes == ["日志见附件", "已经好了"]
    assert [h["type"] for h in history].count("Resumed") == 2
    assert served.ticket(number)["status"] == "in_progress"


def test_lmtp_answers_once_per_recipient_and_records_once(served):
    raw = wire(mail("两个收件人", "同一封信").as_bytes())
    with socket.create_connection(("127.0.0.1", served.lmtp_port), timeout=30) as sock:
        lines = sock.makefile("rb")

        def say(command: bytes) -> bytes:
            sock.sendall(command + b"\r\n")
            reply = lines.readline()
            while reply[3:4] == b"-":  # a multi-line reply (LHLO)
                reply = lines.readline()
            return reply

        assert lines.readline().startswith(b"220")
        assert say(b"LHLO client.example").startswith(b"250")
        assert say(b"MAIL FROM:<wangzhe@acme.com>").startswith(b"250")
        assert say(b"RCPT TO:<helpdesk@ops.example>").startswith(b"250")
        assert say(b"RCPT TO:<fault@ops.example>").startswith(b"250")
        assert say(b"DATA").startswith(b"354")
        sock.sendall(raw + b".\r\n")
        first, second = lines.readline(), lines.readline()
    assert first == second and first.startswith(b"250 2.0.0 OK: registered SR-")
    number = first.decode().split()[-1]
    assert served.ticket(number)["title"] == "两个收件人"


def test_the_same_message_id_twice_records_once(served):
    raw = mail("重复投递", "同一封信", msgid="<dup-1@acme.com>").as_bytes()
    number = number_of(served.send(raw))
    code, text = served.send(b"Received: from second.relay\r\n" + raw)
    assert (code, text) == (250, f"2.0.0 OK: received before ({number})")
    assert len(served.history(number)) == 1
    r = served.http.get(f"{API}/tickets", params={"limit": 200})
    assert [i["title"] for i in r.json()["items"]].count("重复投递") <= 1


def quarantined(served: Served) -> list[dict[str, Any]]:
    r = served.http.get(f"{API}/mail/quarantine", params={"limit": 500})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


@pytest.mark.parametrize(("headers", "sender", "reason"), [
    ({"Auto_Submitted": "auto-replied"}, "wangzhe@acme.com",
     "auto-reply: Auto-Submitted: auto-replied"),
    ({"Precedence": "bulk"}, "news@acme.com", "auto-reply: Precedence: bulk"),
    ({"X_Loop": "opsledger@ops.example"}, "wangzhe@acme.com",
     "loop: X-Loop: opsledger@ops.example"),
    ({}, "Desk <desk@ops.example>", "loop: from our own address desk@ops.example"),
])
def test_auto_replies_and_loops_are_quarantined_with_reason_and_raw_bytes(served, headers,
                                                                           sender, reason):
    raw = wire(mail("自动回复: 休假中", "12 月 14 日回来", sender=sender, **headers).as_bytes())
    code, text = served.send(raw)
    assert code == 250 and text.startswith("2.0.0 OK: kept in the quarantine")
    row = next(r for r in quarantined(served) if r["reason"] == reason)
    assert (row["source"], row["subject"], row["size"]) == ("smtp:127.0.0.1", "自动回复: 休假中",
                                                             len(raw))
    r = served.http.get(row["raw"])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("message/rfc822")
    assert r.content == raw


def test_an_oversized_message_is_refused_and_a_garbage_one_kept(served):
    code, text = served.send(mail("大附件", "x" * (MAX_BYTES + 1000)).as_bytes())
    assert code == 552, text  # the sender's MTA returns it to the sender
    assert all(r["subject"] != "大附件" for r in quarantined(served))
    garbage = wire((FIXTURES / "garbage.eml").read_bytes())
    code, text = served.send(garbage)
    assert code == 250 and "kept in the quarantine (malformed" in text
    row = next(r for r in quarantined(served) if r["size"] == len(garbage))
    assert served.http.get(row["raw"]).content == garbage
    assert served.http.get("/healthz").status_code == 200  # still serving


def test_release_from_the_quarantine_registers_the_message(served):
    raw = mail("自动回复: 其实是报障", "真的坏了", Auto_Submitted="auto-generated").as_bytes()
    assert "kept in the quarantine" in served.send(raw)[1]
    row = next(r for r in quarantined(served) if r["subject"] == "自动回复: 其实是报障")
    r = served.http.post(f"{API}/mail/quarantine/{row['id']}/release")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "registered"
    assert served.ticket(body["ticket"])["title"] == "自动回复: 其实是报障"
    assert all(q["id"] != row["id"] for q in quarantined(served))
    assert served.http.get(f"{API}/mail/quarantine/no-such").status_code == 404


def test_the_gateway_runs_once_beside_http_workers(tmp_path):
    """``serve --workers 2``: the supervisor listens for mail, the HTTP workers do not (each
    would fail to bind the same port)."""
    port = free_port()
    with Process(f"sqlite:///{tmp_path}/w.sqlite3", tmp_path / "serve.log",
                 command=("serve", "--workers", "2", "--smtp", f"127.0.0.1:{port}"),
                 env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}) as p:
        s = Served(p, port, 0)
        number = number_of(s.send(mail("多进程", "两个 HTTP 工作进程").as_bytes()))
        assert s.ticket(number)["title"] == "多进程"
        s.http.close()
    log = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert log.count("opsledger mail intake: SMTP on 127.0.0.1") == 1
    assert "address already in use" not in log.lower()


@pytest.mark.postgres
def test_a_database_that_is_away_gets_451_and_the_mta_tries_again(tmp_path):
    with PostgresServer(url="") as server:
        url = create_database(server.url, "mailfaults")
        port = free_port()
        with Process(url, tmp_path / "serve.log", command=("serve", "--smtp", f"127.0.0.1:{port}"),
                     env={"OPSLEDGER_SLA_WATCH_SECONDS": "0"}) as p:
            s = Served(p, port, 0)
            raw = mail("断库时来信", "数据库重启中", msgid="<away-1@acme.com>").as_bytes()
            server.halt()
            try:
                code, text = s.send(raw)
                assert code == 451, text
                assert s.http.get(f"{API}/mail/quarantine").status_code == 503  # not kept there
            finally:
                server.resume()
            deadline = time.monotonic() + 30
            while (answer := s.send(raw))[0] == 451 and time.monotonic() < deadline:
                time.sleep(0.5)  # the MTA's next tries
            number = number_of(answer)
            assert s.ticket(number)["title"] == "断库时来信"
            s.http.close()
