"""The IMAP poller against a real IMAP server (ADR 0058): Debian's Dovecot on a private port
(tests/support/dovecot.py), messages delivered by IMAP APPEND, handed to the real mail intake
(adapters/mail/intake.py) on an SQLite store.

Exactly once: a message is flagged and moved only after the intake returned; a crash between
the two is re-polled and the Message-ID makes it a duplicate. IDLE wakes the poller within a
second or two; without IDLE it polls; a restarted server is reconnected to; a malformed
message is quarantined and never fetched again; SIGTERM stops ``opsledger mail-poll``.
"""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from imapclient.exceptions import CapabilityError

from adapters.container import Services
from adapters.mail.imap import Deferred, ImapPoller, Tally, batches
from adapters.mail.intake import MailIntake, Receipt
from adapters.settings import Settings, parse_imap_url
from tests.fixtures_stores import sqlite_url
from tests.support.dovecot import (  # noqa: F401 - fixtures
    PASSWORD,
    Dovecot,
    dovecot_server,
    imap_user,
    running_dovecot,
)
from tests.support.serve import ROOT, child_env
from tests.support.services import built

SEEN = b"\\Seen"


def mail(subject: str, body: str = "二号机房的核心交换机端口全部掉线，请尽快处理。", *,
         sender: str = "张三 <zhang.san@customer-a.example>", message_id: str | None = None,
         in_reply_to: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "报障 <fault@opsledger.localhost>"
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="customer-a.example")
    message["Date"] = "Mon, 07 Dec 2026 09:30:00 +0800"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body, charset="utf-8")
    return message.as_bytes()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Services]:
    with built(Settings(database_url=sqlite_url(tmp_path))) as services:
        yield services


def poller(server: Dovecot, user: str, services: Services, **options: Any) -> ImapPoller:
    return ImapPoller(parse_imap_url(server.url(user)), MailIntake(services).receive, **options)


def registered(services: Services) -> list[Any]:
    """Every Ticket.Registered in the store's log."""
    return [event for notification, event in services.desk.read_log(0, 100_000)
            if notification.topic.endswith("Ticket.Registered")]


def wait_for(condition: Callable[[], bool], timeout: float,
             server: Dovecot | None = None) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout`` (with the server's log)."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            pytest.fail(f"not within {timeout} s" + (f"; Dovecot's log:\n{server.output()}"
                                                     if server is not None else ""))
        time.sleep(0.02)
    return time.monotonic() - began


class Running:
    """``poller.run()`` in a thread, stopped (and joined) at the end of the test."""

    def __init__(self, poller: ImapPoller) -> None:
        self.poller = poller
        self.thread = threading.Thread(target=poller.run, name="imap-poller", daemon=True)

    def __enter__(self) -> ImapPoller:
        self.thread.start()
        wait_for(lambda: self.poller.connections > 0, 10)
        return self.poller

    def __exit__(self, *_: object) -> None:
        self.poller.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the poller did not stop within 10 s"


# ---------------------------------------------------------------- one pass


def test_new_mail_becomes_a_ticket_and_is_moved_to_processed(dovecot_server, imap_user,
                                                             services):
    """On every store (memory, SQLite, PostgreSQL)."""
    store = services
    dovecot_server.deliver(imap_user, mail("核心交换机端口掉线"))
    tally = poller(dovecot_server, imap_user, store).once()
    assert tally.line() == "received 1: 1 registered"
    [event] = registered(store)
    assert (event.title, event.channel) == ("核心交换机端口掉线", "email")
    assert dovecot_server.messages(imap_user) == {}
    [flags] = dovecot_server.messages(imap_user, "Processed").values()
    assert SEEN in flags
    assert poller(dovecot_server, imap_user, store).once().received == 0


def test_a_reply_lands_on_the_tickets_history(dovecot_server, imap_user, store):
    first_id = make_msgid(domain="customer-a.example")
    dovecot_server.deliver(imap_user, mail("打印机卡纸", "三楼打印机卡纸。", message_id=first_id))
    receipts: list[Any] = []
    intake = MailIntake(store)

    def receive(raw: bytes, *, source: str) -> Any:
        receipts.append(intake.receive(raw, source=source))
        return receipts[-1]

    box = parse_imap_url(dovecot_server.url(imap_user))
    ImapPoller(box, receive).once()
    number = receipts[0].ticket
    assert receipts[0].outcome == "registered" and number
    dovecot_server.deliver(imap_user, mail(f"Re: [{number}] 打印机卡纸", "换了硒鼓以后好了，谢谢。",
                                           in_reply_to=first_id))
    tally = ImapPoller(box, receive).once()
    assert tally.line() == "received 1: 1 appended"
    assert (receipts[1].outcome, receipts[1].ticket) == ("appended", number)
    history = store.desk.ticket_history(number)
    assert any("换了硒鼓以后好了" in str(entry.data) for entry in history
               if entry.type.endswith("CommentAdded")), [e.type for e in history]
    assert len(registered(store)) == 1


def test_flag_only_mode_leaves_the_message_in_place_seen(dovecot_server, imap_user, store):
    dovecot_server.deliver(imap_user, mail("UPS 告警"))
    box = parse_imap_url(dovecot_server.url(imap_user), processed_folder="none")
    assert ImapPoller(box, MailIntake(store).receive).once().line() == "received 1: 1 registered"
    [flags] = dovecot_server.messages(imap_user).values()
    assert SEEN in flags
    assert dovecot_server.messages(imap_user, "Processed") == {}
    assert ImapPoller(box, MailIntake(store).receive).once().received == 0


class Crash(BaseException):
    """The process dying between the intake and the flag (as SIGKILL would)."""


def test_a_crash_between_receive_and_flag_repolls_and_records_nothing_new(
        dovecot_server, imap_user, services):
    """On every store (memory, SQLite, PostgreSQL)."""
    store = services
    dovecot_server.deliver(imap_user, mail("数据库主从延迟"))
    intake = MailIntake(store)

    def receive_then_die(raw: bytes, *, source: str) -> Any:
        intake.receive(raw, source=source)
        raise Crash

    box = parse_imap_url(dovecot_server.url(imap_user))
    with pytest.raises(Crash):
        ImapPoller(box, receive_then_die).once()
    assert len(registered(store)) == 1
    [flags] = dovecot_server.messages(imap_user).values()  # received, never marked
    assert SEEN not in flags
    # restarted: the message comes again, the Message-ID makes it a duplicate
    tally = poller(dovecot_server, imap_user, store).once()
    assert tally.line() == "received 1: 1 duplicate"
    assert len(registered(store)) == 1
    assert dovecot_server.messages(imap_user) == {}


def test_a_deferred_message_stays_unseen_and_the_loop_comes_back_for_it(
        dovecot_server, imap_user, store):
    """The intake's ``deferred`` (its store unreachable, nothing recorded): the message is
    left unread, the pass ends, the loop tries again after its backoff."""
    dovecot_server.deliver(imap_user, mail("存储阵列告警 1"))
    dovecot_server.deliver(imap_user, mail("存储阵列告警 2"))
    intake = MailIntake(store)
    away = [2]  # the store is away for the first two attempts

    def receive(raw: bytes, *, source: str) -> Any:
        if away[0]:
            away[0] -= 1
            return Receipt("deferred", None, "store unavailable: OperationalError")
        return intake.receive(raw, source=source)

    box = parse_imap_url(dovecot_server.url(imap_user))
    with pytest.raises(Deferred) as deferred:
        ImapPoller(box, receive).once()
    assert deferred.value.tally.line() == "received 1: 1 deferred"
    assert all(SEEN not in flags for flags in dovecot_server.messages(imap_user).values())
    assert len(dovecot_server.messages(imap_user)) == 2
    running = ImapPoller(box, receive, backoff=(0.2, 1.0))
    with Running(running):
        wait_for(lambda: len(registered(store)) == 2, 10)
    assert running.total.counts == {"deferred": 1, "registered": 2}
    assert dovecot_server.messages(imap_user) == {}


def test_a_malformed_message_is_quarantined_and_not_fetched_again(dovecot_server, imap_user, store):
    dovecot_server.deliver(imap_user, b"\x00\xff\xfe garbage without a single header\r\n\r\n\x00")
    tally = poller(dovecot_server, imap_user, store).once()
    assert tally.line() == "received 1: 1 quarantined"
    assert registered(store) == []
    assert dovecot_server.messages(imap_user) == {}
    assert len(dovecot_server.messages(imap_user, "Processed")) == 1
    assert poller(dovecot_server, imap_user, store).once().received == 0


def test_many_messages_in_order_in_batches(dovecot_server, imap_user, store):
    subjects = [f"巡检异常 {i:02d}" for i in range(7)]
    for subject in subjects:
        dovecot_server.deliver(imap_user, mail(subject))
    tally = poller(dovecot_server, imap_user, store, batch=3, batch_bytes=2000).once()
    assert tally.line() == "received 7: 7 registered"
    assert [e.title for e in registered(store)] == subjects


def test_batches_hold_few_messages_and_few_bytes():
    sizes = {5: 10, 1: 10, 2: 985, 3: 10, 4: 10, 9: 5000, 7: 10}
    assert list(batches(sizes, 3, 1000)) == [[1, 2], [3, 4, 5], [7], [9]]
    assert list(batches({}, 3, 1000)) == []


# ---------------------------------------------------------------- the loop


def test_idle_wakes_the_poller_within_two_seconds_of_a_delivery(dovecot_server, imap_user, store):
    passes: list[Tally] = []
    # poll_seconds=60: only IDLE can explain an answer within two seconds
    with Running(poller(dovecot_server, imap_user, store, poll_seconds=60,
                        on_pass=passes.append)):
        for n in range(2):
            time.sleep(1.0)  # the pass is over, the poller waits in IDLE
            dovecot_server.deliver(imap_user, mail(f"机柜温度过高 {n}"))
            seconds = wait_for(lambda: len(registered(store)) == n + 1, 10)
            assert seconds < 2.0, f"IDLE took {seconds:.2f} s"
    assert sum(t.received for t in passes) == 2


def test_without_idle_the_poller_polls(tmp_path, store):
    with running_dovecot(capabilities="IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN UIDPLUS") as server:
        user = server.add_user()
        with server.client(user) as client:
            assert not client.has_capability("IDLE")
        box = parse_imap_url(server.url(user))
        with Running(ImapPoller(box, MailIntake(store).receive, poll_seconds=0.3)) as running:
            server.deliver(user, mail("备份任务失败"))
            wait_for(lambda: len(registered(store)) == 1, 10)
        assert running.total.line() == "received 1: 1 registered"
        # no MOVE capability either: copied, flagged deleted and expunged by UID
        assert server.messages(user) == {}
        assert len(server.messages(user, "Processed")) == 1


def test_the_poller_reconnects_after_the_server_restarts(store):
    with running_dovecot() as server:
        user = server.add_user()
        # poll_seconds=2: mail that comes while the poller reconnects may be announced
        # where imapclient does not look (ADR 0058) and wait for the IDLE's end
        with Running(poller(server, user, store, backoff=(0.2, 1.0), poll_seconds=2)) as running:
            server.deliver(user, mail("机房断电"))
            wait_for(lambda: len(registered(store)) == 1, 10)
            server.restart()
            server.deliver(user, mail("机房恢复供电"))
            wait_for(lambda: len(registered(store)) == 2, 15, server)
            assert running.connections >= 2
        assert [e.title for e in registered(store)] == ["机房断电", "机房恢复供电"]


def test_starttls_and_imaps_with_a_private_ca_and_never_clear_text_by_accident(store, dovecot_server):
    with running_dovecot(tls=True) as server:
        user = server.add_user()
        server.deliver(user, mail("VPN 无法连接"))
        box = parse_imap_url(server.url(user), ca_file=str(server.cert))
        assert box.security == "starttls"
        assert ImapPoller(box, MailIntake(store).receive).once().line() == "received 1: 1 registered"
        server.deliver(user, mail("VPN 证书过期"))
        imaps = parse_imap_url(f"imaps://{user}@127.0.0.1:{server.tls_port}/INBOX",
                               password=PASSWORD, ca_file=str(server.cert))
        assert ImapPoller(imaps, MailIntake(store).receive).once().line() == "received 1: 1 registered"
        # without the private CA the certificate is not trusted: nothing is fetched
        with pytest.raises(ssl.SSLCertVerificationError):
            ImapPoller(parse_imap_url(server.url(user)), MailIntake(store).receive).once()
    # a server without STARTTLS: the poller refuses to log in in clear text
    plain = dovecot_server.url(dovecot_server.add_user()).replace("?tls=off", "")
    with pytest.raises(CapabilityError):
        ImapPoller(parse_imap_url(plain), MailIntake(store).receive).once()


# ---------------------------------------------------------------- opsledger mail-poll


def test_mail_poll_once_and_sigterm(dovecot_server, imap_user, tmp_path):
    database = sqlite_url(tmp_path / "cli")
    (tmp_path / "cli").mkdir()
    env = child_env(database, OPSLEDGER_IMAP_URL=dovecot_server.url(imap_user),
                    OPSLEDGER_LOG_LEVEL="warning")
    dovecot_server.deliver(imap_user, mail("邮件网关退信"))
    done = subprocess.run([sys.executable, "-m", "adapters.cli.main", "mail-poll", "--once"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "opsledger mail-poll: received 1: 1 registered"

    dovecot_server.deliver(imap_user, mail("磁盘阵列告警", "RAID 5 一块盘黄灯。"))
    dovecot_server.deliver(imap_user, b"\x00 not a mail \x00\r\n")
    loop = subprocess.Popen([sys.executable, "-m", "adapters.cli.main", "mail-poll"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert loop.stderr is not None
        assert "watching" in loop.stderr.readline()
        received = 0
        while received < 2:  # one pass or two: "opsledger mail-poll: received 2: ..."
            line = loop.stderr.readline()
            assert line, "mail-poll ended"
            if ": received " in line:
                received += int(line.split(": received ")[1].split(":")[0])
        loop.send_signal(signal.SIGTERM)
        out, _ = loop.communicate(timeout=10)
    finally:
        if loop.poll() is None:
            loop.kill()
    assert loop.returncode == 0
    assert out.strip().startswith("opsledger mail-poll: received 2")


def test_mail_poll_killed_mid_pass_then_run_again_records_every_message_once(
        dovecot_server, imap_user, tmp_path):
    """SIGKILL in the middle of a pass (wherever it lands: before a receive, between a receive
    and its flag, between flag and move), then ``--once``: one ticket per message."""
    (tmp_path / "cli").mkdir()
    database = sqlite_url(tmp_path / "cli")
    env = child_env(database, OPSLEDGER_IMAP_URL=dovecot_server.url(imap_user),
                    OPSLEDGER_LOG_LEVEL="info")
    subjects = [f"光纤中断 {n:02d}" for n in range(25)]
    for subject in subjects:
        dovecot_server.deliver(imap_user, mail(subject))
    loop = subprocess.Popen([sys.executable, "-m", "adapters.cli.main", "mail-poll"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert loop.stderr is not None
        seen = 0
        while seen < 5:
            line = loop.stderr.readline()
            assert line, "mail-poll ended"
            seen += "mail.imap.received" in line
        loop.kill()
        loop.wait(10)
    finally:
        if loop.poll() is None:
            loop.kill()
    left = len(dovecot_server.messages(imap_user))
    assert 0 < left < len(subjects)
    again = subprocess.run([sys.executable, "-m", "adapters.cli.main", "mail-poll", "--once"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    with built(Settings(database_url=database)) as services:
        assert sorted(e.title for e in registered(services)) == subjects
    assert dovecot_server.messages(imap_user) == {}
    assert len(dovecot_server.messages(imap_user, "Processed")) == len(subjects)


def test_mail_poll_without_a_mailbox_says_what_to_set(tmp_path):
    (tmp_path / "cli").mkdir()
    done = subprocess.run([sys.executable, "-m", "adapters.cli.main", "mail-poll", "--once"],
                          cwd=ROOT, env=child_env(sqlite_url(tmp_path / "cli")),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "OPSLEDGER_IMAP_URL" in done.stderr
