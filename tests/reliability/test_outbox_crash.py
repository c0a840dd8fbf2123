"""A notice decided before a crash is sent after the restart, exactly once (issue 19 item 4,
ADR 0059), against a real ``opsledger serve`` killed with SIGKILL and a real SMTP sink.

The relay is down while the ticket is registered: the outbox's process manager stores the
acknowledgement (in the transaction that moves its position) and the sender's attempt fails,
so the row is stored, unsent, with its error. The server is killed; the sink comes up on the
relay's port; a new server sends the notice -- once, with the Message-ID derived from the
notice's id -- and marks it sent, and nothing more arrives. With ``serve --workers 2`` there
is one sender: every notice arrives once."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.channels.conftest import SmtpSink, free_port
from tests.support.serve import Process

API = "/api/v1"


def register(url: str, title: str, email: str) -> str:
    r = httpx.post(f"{url}{API}/tickets", timeout=30, json={
        "customer": "客户A", "contact": {"name": "李四", "phone": "13800005678", "email": email},
        "channel": "email", "title": title})
    assert r.status_code == 201, r.text
    return str(r.json()["number"])


def notices(url: str, number: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}{API}/tickets/{number}/notices", timeout=30)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def wait_for(what: Any, timeout: float = 60.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def env(relay: str, **more: str) -> dict[str, str]:
    return {"OPSLEDGER_SLA_WATCH_SECONDS": "0", "OPSLEDGER_SMTP_RELAY": relay,
            "OPSLEDGER_MAIL_FROM": "desk@opsledger.example", "OPSLEDGER_NOTICE_ATTEMPTS": "50",
            "OPSLEDGER_NOTICE_RETRY_SECONDS": "0.2", **more}


def test_a_notice_decided_before_a_kill_is_sent_once_after_the_restart(reliable_url: str,
                                                                      tmp_path: Path):
    port = free_port()
    relay = f"127.0.0.1:{port}"  # nobody listens yet
    first = Process(reliable_url, tmp_path / "serve-1.log", env=env(relay)).start()
    try:
        number = register(first.url, "打印机卡纸", "li.si@acme.example")
        # Decided and stored; the attempt failed: pending with its error.
        row = wait_for(lambda: [n for n in notices(first.url, number)
                                if n["attempts"] >= 1 and n["last_error"]])
        assert row, notices(first.url, number)
        [notice] = row
        assert (notice["rule"], notice["status"], notice["recipient"]) == (
            "registered", "pending", "contact")
        assert "ConnectionRefusedError" in notice["last_error"]
    finally:
        first.kill()  # SIGKILL: no shutdown code runs
    sink = SmtpSink(port).start()
    second = Process(reliable_url, tmp_path / "serve-2.log", env=env(relay)).start()
    try:
        sent = wait_for(lambda: [n for n in notices(second.url, number) if n["status"] == "sent"])
        assert sent, (notices(second.url, number), second.log_tail())
        time.sleep(2.0)  # a second sending would come within this
        mails = [m for m in sink.mails if m["To"] == "li.si@acme.example"]
        assert len(mails) == 1, [m["Subject"] for m in mails]
        assert " ".join(str(mails[0]["Message-ID"]).split()) == (
            f"<{number}.{notice['id']}@opsledger.example>") == sent[0]["message_id"]
        assert mails[0]["Subject"] == f"[{number}] 已受理：打印机卡纸"
        [after] = notices(second.url, number)
        assert (after["id"], after["status"]) == (notice["id"], "sent")
        assert after["attempts"] > notice["attempts"] and after["last_error"] is None
        health = httpx.get(f"{second.url}/healthz", timeout=30).json()["notifications"]
        assert (health["sent"], health["pending"], health["failed"]) == (1, 0, 0)
    finally:
        second.stop()
        sink.stop()


@pytest.mark.parametrize("http_store", ["sqlite"])
def test_serve_with_two_workers_has_one_sender(reliable_url: str, tmp_path: Path):
    sink = SmtpSink().start()
    server = Process(reliable_url, tmp_path / "serve.log", command=("serve", "--workers", "2"),
                     env=env(sink.relay)).start()
    try:
        numbers = [register(server.url, f"工单 {i}", f"user{i}@acme.example") for i in range(6)]
        assert wait_for(lambda: all(n["status"] == "sent" for number in numbers
                                    for n in notices(server.url, number)), timeout=90)
        time.sleep(2.0)
        ids = Counter(" ".join(str(m["Message-ID"]).split()) for m in sink.mails)
        assert len(ids) == 6 and set(ids.values()) == {1}, ids
    finally:
        server.stop()
        sink.stop()
