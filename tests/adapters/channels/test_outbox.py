"""The notice outbox against real receivers (ADR 0059): an SMTP sink and HTTP robots in the
test process, on every store (memory, SQLite, PostgreSQL).

A ticket's life mails its contact (acknowledgement, waiting for the customer, the staff's
public note, resolved with the portal's links) threaded on the first mail; the assignee's
mail and the group's robots (WeChat Work, DingTalk signed, a webhook) get theirs; an internal
note reaches nobody; a replayed batch stores and sends nothing twice; a failing relay is
retried with backoff and marked failed after the last attempt; an erased contact's notice is
dropped, never sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.channels.outbox import backoff
from adapters.channels.senders import DingtalkChannel
from adapters.container import Services, build
from adapters.settings import Settings, SettingsError
from application.commands.announcements import PublishAnnouncement, Scope, WithdrawAnnouncement
from application.commands.tickets import (
    Assign, AwaitCustomer, Classify, Comment, Escalate, RegisterTicket, Resolve, Resume, Start)
from application.commands.users import RegisterUser
from application.privacy import erase_personal_data
from domain.identity import user_id
from domain.ticket import Contact
from tests.adapters.channels.conftest import Robots, SmtpSink, free_port
from tests.support.services import built

SECRET = "SECtest-secret"
ID = re.compile(r"^<(SR-\d{8}-\d{3,})\.([0-9a-f]{32})@opsledger\.example>$")


def rules_file(tmp_path: Path, robots: Robots) -> str:
    path = tmp_path / "notices.toml"
    path.write_text(f'''
language = "zh-CN"
html = true

[groups.network]
addresses = ["net-team@provider.example"]
wecom = "{robots.url}/wecom"
dingtalk = "{robots.url}/dingtalk?access_token=abc"
dingtalk_secret = "{SECRET}"
webhook = "{robots.url}/group-hook"

[customers.GLOBEX]
language = "en"
addresses = ["it-ops@globex.example"]

[customers.GLOBEX.notices]
registered = []

[languages]
assigned = "zh-CN"
''', encoding="utf-8")
    return str(path)


def settings(store_url: str, relay: str, rules: str = "", **more: Any) -> Settings:
    return Settings(database_url=store_url, smtp_relay=relay, notice_rules=rules,
                    mail_from="服务台 <desk@opsledger.example>",
                    public_url="https://desk.example", **more)


@pytest.fixture
def world(store_url: str, sink: SmtpSink, robots: Robots, tmp_path: Path) -> Iterator[Services]:
    with built(settings(store_url, sink.relay, rules_file(tmp_path, robots),
                        notify_webhook_url=f"{robots.url}/hook")) as s:
        yield s


def header(m: Any, name: str) -> str:
    """A header's value unfolded (a long Message-ID is folded onto a second line)."""
    return " ".join(str(m[name]).split())


def send_all(s: Services) -> int:
    s.runner.catch_up_all()
    return s.notifier.drain()


def register(s: Services, customer: str = "ACME", email: str = "li.si@acme.example") -> str:
    r = s.desk.handle(RegisterTicket(customer=customer, contact=Contact(name="李四", email=email),
                                     channel="email", title="打印机卡纸"), actor="desk.wang")
    return str(r.aggregate.number)


def work(s: Services, ref: str) -> None:
    s.desk.handle(Classify(ref=ref, type="fault", category="hardware", urgency="urgent",
                           impact="single", importance="important"), actor="desk.wang")
    s.desk.handle(Assign(ref=ref, assignee="eng.li", group="network"), actor="desk.wang")
    s.desk.handle(Start(ref=ref), actor="eng.li")


def staff(s: Services) -> None:
    s.desk.handle(RegisterUser(id="eng.li", name="李工", roles=["engineer"], groups=["network"],
                               email="eng.li@provider.example"), actor="admin")


def test_a_ticket_life_mails_the_contact_in_one_thread_and_the_staff_and_robots(world, sink,
                                                                              robots):
    staff(world)
    ref = register(world)
    work(world, ref)
    world.desk.handle(AwaitCustomer(ref=ref, reason="请提供打印机型号"), actor="eng.li")
    world.desk.handle(Comment(ref=ref, body="内部：旧型号，备件在库房", visibility="internal"),
                      actor="eng.li")
    world.desk.handle(Comment(ref=ref, body="我们明天上午上门更换硒鼓", visibility="public"),
                      actor="eng.li")
    world.desk.handle(Resume(ref=ref), actor="eng.li")
    world.desk.handle(Resolve(ref=ref, resolution="已更换硒鼓", root_cause="硒鼓老化"),
                      actor="eng.li")
    assert send_all(world) > 0

    to_contact = [m for m in sink.mails if m["To"] == "li.si@acme.example"]
    assert [m["Subject"] for m in to_contact] == [
        f"[{ref}] 已受理：打印机卡纸", f"[{ref}] 需要您的信息：打印机卡纸",
        f"[{ref}] 新回复：打印机卡纸", f"[{ref}] 已解决，请确认：打印机卡纸"]
    ids = [ID.match(header(m, "Message-ID")) for m in to_contact]
    assert all(i and i.group(1) == ref for i in ids)
    first = header(to_contact[0], "Message-ID")
    assert to_contact[0]["In-Reply-To"] is None
    assert all(header(m, "In-Reply-To") == first == header(m, "References")
               for m in to_contact[1:])
    for m in sink.mails:
        assert m["Auto-Submitted"] == "auto-generated"
        assert m["X-Loop"] == "opsledger@opsledger.example"
        assert "内部" not in m.get_body(preferencelist=("plain",)).get_content()  # nobody
    note = to_contact[2].get_body(preferencelist=("plain",)).get_content()
    assert "我们明天上午上门更换硒鼓" in note
    html = to_contact[3].get_body(preferencelist=("html",)).get_content()
    link = f"https://desk.example/portal/tickets/{ref}#accept"
    assert f'<a href="{link}">{link}</a>' in html and "已更换硒鼓" in html
    resolved = to_contact[3].get_body(preferencelist=("plain",)).get_content()
    assert f"https://desk.example/portal/tickets/{ref}#accept" in resolved
    assert f"https://desk.example/portal/tickets/{ref}#reject" in resolved
    assert "已更换硒鼓" in resolved
    print("\n---- one zh-CN mail as the sink received it ----\n"
          + sink.raw[[m["To"] for m in sink.mails].index("li.si@acme.example")].decode())
    print(to_contact[0].get_body(preferencelist=("plain",)).get_content())

    assigned = [m for m in sink.mails if m["To"] in ("eng.li@provider.example",
                                                     "net-team@provider.example")]
    assert sorted(m["To"] for m in assigned) == ["eng.li@provider.example",
                                                 "net-team@provider.example"]
    assert all(m["Subject"] == f"[{ref}] 已分派：打印机卡纸" for m in assigned)

    [wecom] = robots.at("/wecom")
    assert wecom["json"]["msgtype"] == "markdown"
    assert ref in wecom["json"]["markdown"]["content"]
    [ding] = robots.at("/dingtalk")
    assert ding["json"]["msgtype"] == "markdown"
    assert ding["json"]["markdown"]["title"].startswith(f"[{ref}] 已分派")
    ts = ding["query"]["timestamp"][0]
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert ding["query"]["sign"] == [expected] and ding["query"]["access_token"] == ["abc"]
    [hook] = robots.at("/group-hook")
    assert (hook["json"]["kind"], hook["json"]["number"]) == ("assigned", ref)

    rows = world.notifier.outbox.of_record(str(world.desk.get_ticket(ref).id))
    assert {r.status for r in rows} == {"sent"}
    assert world.notifier.status()["pending"] == 0


def test_a_replayed_batch_stores_nothing_twice_and_sends_nothing_again(world, sink, store_kind):
    ref = register(world)
    work(world, ref)
    send_all(world)
    outbox = world.notifier.outbox
    ticket_id = str(world.desk.get_ticket(ref).id)
    before = [(r.notice.id, r.status) for r in outbox.of_record(ticket_id)]
    mails = len(sink.raw)
    assert before and mails
    # The decider's position back to before the ticket: the same batch decided again.
    decider = world.runner.views["notices"]
    if store_kind == "memory":
        outbox.tracking._position = 0
    else:
        with outbox.db.transaction() as cur:
            cur.execute(f"UPDATE projection_tracking SET position=0 WHERE name='notices'")
    assert decider.position() == 0
    world.runner.catch_up(decider)
    assert decider.position() == world.desk.max_position()
    assert [(r.notice.id, r.status) for r in outbox.of_record(ticket_id)] == before
    assert world.notifier.drain() == 0
    assert len(sink.raw) == mails


def test_a_failing_relay_is_retried_with_backoff_then_marked_failed(store_url):
    dead = f"127.0.0.1:{free_port()}"  # nobody listens
    with built(settings(store_url, dead, notice_attempts=3, notice_retry_seconds=0)) as s:
        ref = register(s)
        s.runner.catch_up_all()
        ticket_id = str(s.desk.get_ticket(ref).id)
        for attempt in (1, 2):
            assert s.notifier.run_once() == 1
            [row] = s.notifier.outbox.of_record(ticket_id)
            assert (row.status, row.attempts) == ("pending", attempt)
            assert "ConnectionRefusedError" in row.last_error
        assert s.notifier.run_once() == 1
        [row] = s.notifier.outbox.of_record(ticket_id)
        assert (row.status, row.attempts) == ("failed", 3)
        assert s.notifier.run_once() == 0  # a failed notice is not tried again
        status = s.notifier.status()
        assert (status["failed"], status["pending"], status["sent"]) == (1, 0, 0)


def test_the_backoff_doubles_up_to_its_ceiling_and_a_notice_waits_for_it(store_url):
    assert [backoff(n, 30, 3600).total_seconds() for n in (1, 2, 3, 4, 8)] == [
        30, 60, 120, 240, 3600]
    with built(settings(store_url, f"127.0.0.1:{free_port()}", notice_retry_seconds=30)) as s:
        ref = register(s)
        s.runner.catch_up_all()
        assert s.notifier.run_once() == 1
        [row] = s.notifier.outbox.of_record(str(s.desk.get_ticket(ref).id))
        assert row.attempts == 1 and row.status == "pending"
        assert s.notifier.run_once() == 0  # not due for 30 s
        assert s.notifier.status()["oldest_pending_seconds"] is not None


def test_an_erased_contact_is_dropped_never_sent(store_url, sink, store_kind):
    if store_kind == "memory":
        pytest.skip("crypto-shredding needs a key store in the database")
    with built(settings(store_url, sink.relay)) as s:
        ref = register(s)
        s.runner.catch_up_all()  # decided, not sent yet
        erase_personal_data(s.desk, "ACME", reason="客户要求删除", requested_by="dpo",
                            actor="admin")
        s.notifier.drain()
        rows = s.notifier.outbox.of_record(str(s.desk.get_ticket(ref).id))
        assert [(r.notice.rule, r.status, r.last_error) for r in rows] == [
            ("registered", "dropped", "recipient erased")]
        assert sink.raw == []


def test_an_escalation_mails_manager_and_expert_and_posts_the_webhook_json(world, sink, robots):
    for who in ("sla-manager", "sla-expert"):
        world.desk.handle(RegisterUser(id=who, name=who, roles=["manager"],
                                       email=f"{who}@provider.example"), actor="admin")
    ref = register(world)
    world.desk.handle(Escalate(ref=ref, reason="客户投诉"), actor="desk.wang")
    send_all(world)
    escalated = [m for m in sink.mails if "工单升级" in m["Subject"]]
    assert sorted(m["To"] for m in escalated) == ["sla-expert@provider.example",
                                                  "sla-manager@provider.example"]
    hooks = robots.at("/hook")
    assert sorted((h["json"]["role"], h["json"]["recipient"]) for h in hooks) == [
        ("expert", "sla-expert"), ("manager", "sla-manager")]
    assert all(h["json"]["kind"] == "escalation" and h["json"]["number"] == ref
               and h["json"]["reason"] == "客户投诉" for h in hooks)


def test_rules_per_customer_language_and_announcements_to_the_contacts_in_scope(world, sink):
    ref = register(world, customer="GLOBEX", email="bob@globex.example")
    world.desk.handle(Classify(ref=ref, type="fault", category="hardware", urgency="urgent",
                               impact="single", importance="important"), actor="desk.wang")
    world.desk.handle(Assign(ref=ref, assignee="eng.li", group="network",
                             known_assignee=False), actor="desk.wang")
    world.desk.handle(RegisterUser(id="bob@globex", name="Bob", roles=["requester"],
                                   customer="GLOBEX", email="bob@globex.example"), actor="admin")
    send_all(world)
    assert [m for m in sink.mails if m["To"] == "bob@globex.example"] == []  # registered = []
    # the rule's own language wins over the customer's (en)
    assert [m["Subject"] for m in sink.mails] == [f"[{ref}] 已分派：打印机卡纸"]
    sink.raw.clear()
    start = world.desk.clock.now() + timedelta(days=3)
    world.desk.handle(PublishAnnouncement(title="Core switch upgrade", body="Network down 1 h.",
                                          scope=Scope(customers=["GLOBEX"]), starts=start,
                                          ends=start + timedelta(hours=1)), actor="admin")
    send_all(world)
    got = sorted((m["To"], m["Subject"]) for m in sink.mails)
    assert [to for to, _ in got] == ["bob@globex.example", "it-ops@globex.example"]
    assert all("Announcement: Core switch upgrade" in subject for _, subject in got)
    assert "Network down 1 h." in sink.mails[0].get_body(preferencelist=("plain",)).get_content()
    # called off: the same people are told, with the reason
    number = got[0][1].split("]")[0].lstrip("[")
    sink.raw.clear()
    world.desk.handle(WithdrawAnnouncement(ref=number, reason="Vendor postponed the upgrade"),
                      actor="admin")
    send_all(world)
    off = sorted((m["To"], m["Subject"]) for m in sink.mails)
    assert [to for to, _ in off] == ["bob@globex.example", "it-ops@globex.example"]
    assert all(subject == f"[{number}] Called off: Core switch upgrade" for _, subject in off)
    assert "Vendor postponed the upgrade" in sink.mails[0].get_body(
        preferencelist=("plain",)).get_content()


def test_a_bad_rules_file_stops_the_start(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text('{"notices": {"registered": ["the-ceo"]}}', encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown recipient"):
        build(Settings(database_url="memory://", notice_rules=str(path)))


def test_the_dingtalk_signature_is_hmac_sha256_of_timestamp_and_secret():
    url = DingtalkChannel.signed("https://oapi.dingtalk.com/robot/send?access_token=x", "SECabc",
                                 1700000000000)
    digest = hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()
    sign = base64.b64encode(digest).decode()
    from urllib.parse import quote_plus
    assert url == ("https://oapi.dingtalk.com/robot/send?access_token=x&timestamp=1700000000000"
                   f"&sign={quote_plus(sign)}")


def test_sla_warnings_and_breaches_go_to_the_policys_manager_and_expert(store_url, sink):
    from application.ports import FixedClock
    from tests.support.sla import P1, local

    clock = FixedClock(local(2026, 11, 23, 10, 0))
    with built(settings(store_url, sink.relay), clock=clock) as s:
        for who in ("sla-manager", "sla-expert"):
            s.desk.handle(RegisterUser(id=who, name=who, roles=["manager"],
                                       email=f"{who}@provider.example"), actor="admin")
        r = s.desk.handle(RegisterTicket(customer="ACME", contact=Contact(name="李四"),
                                         channel="phone", title="ERP 无法登录",
                                         reported_at=local(2026, 11, 23, 10, 0), **P1),
                          actor="agent")
        clock.set(local(2026, 11, 23, 11, 5))  # response due 12:00: 50 % used
        assert s.watcher.tick().warnings == 1
        send_all(s)
        warned = sorted((m["To"], m["Subject"]) for m in sink.mails)
        number = r.aggregate.number
        assert warned == [("sla-expert@provider.example", f"[{number}] SLA 预警：ERP 无法登录"),
                          ("sla-manager@provider.example", f"[{number}] SLA 预警：ERP 无法登录")]
        assert "响应时限已用去 50%" in sink.mails[0].get_content()


def test_a_changes_window_goes_to_the_cab_and_the_customers_of_its_system(store_url, sink,
                                                                          tmp_path):
    from application.changes import OriginRef
    from application.commands.changes import Assess, PlanChange, RequestChange
    from domain.change import PlanInput

    rules = tmp_path / "rules.toml"
    rules.write_text('[cab]\naddresses = ["cab@provider.example"]\n'
                     '[systems]\n"core-switch" = ["ACME"]\n'
                     '[customers.ACME]\naddresses = ["ops@acme.example"]\n', encoding="utf-8")
    with built(settings(store_url, sink.relay, str(rules))) as s:
        ticket = register(s)
        c = s.desk.handle(RequestChange(kind="normal", title="核心交换机升级",
                                        affected_system="core-switch",
                                        origin=OriginRef(ticket)), actor="mgr").aggregate
        s.desk.handle(Assess(ref=c.id, risk="medium", impact="全网中断 1 小时"), actor="mgr")
        start = s.desk.clock.now() + timedelta(days=3)
        s.desk.handle(PlanChange(ref=c.id, plan=PlanInput(
            goal="g", content="c", steps=("s",), people=("p",), budget="1",
            schedule_start=start, schedule_end=start + timedelta(hours=1), risk_plan="r",
            rollback_plan="rb")), actor="mgr")
        send_all(s)
        planned = sorted((m["To"], m["Subject"]) for m in sink.mails if "变更" in m["Subject"])
        assert planned == [("cab@provider.example", f"[{c.number}] 变更计划：核心交换机升级"),
                           ("ops@acme.example", f"[{c.number}] 变更计划：核心交换机升级")]
        assert "core-switch" in [m for m in sink.mails if "变更" in m["Subject"]][0].get_content()


def test_an_outbox_new_to_a_store_with_a_history_starts_at_its_head(store_url, sink, store_kind):
    if store_kind == "memory":
        pytest.skip("a memory store has no history before its outbox")
    with built(settings(store_url, sink.relay)) as s:
        old = register(s)
        s.runner.catch_up_all()
        with s.notifier.outbox.db.transaction() as cur:  # as before this version
            cur.execute("DROP TABLE notice_outbox")
            cur.execute("DELETE FROM projection_tracking WHERE name='notices'")
    with built(settings(store_url, sink.relay)) as s:
        assert s.runner.views["notices"].position() == s.desk.max_position()
        new = register(s)
        send_all(s)
        assert [m["Subject"] for m in sink.mails] == [f"[{new}] 已受理：打印机卡纸"]
        assert old != new


def test_a_requesters_email_is_erased_with_the_customers_personal_data(store_url, sink,
                                                                      store_kind):
    if store_kind == "memory":
        pytest.skip("crypto-shredding needs a key store in the database")
    with built(settings(store_url, sink.relay)) as s:
        s.desk.handle(RegisterUser(id="li.si@acme", name="李四", roles=["requester"],
                                   customer="ACME", email="li.si@acme.example"), actor="admin")
        erase_personal_data(s.desk, "ACME", reason="客户要求删除", requested_by="dpo",
                            actor="admin")
        assert "@" not in s.desk.load(user_id("li.si@acme")).email
        start = s.desk.clock.now() + timedelta(days=3)
        s.desk.handle(PublishAnnouncement(title="核心交换机升级", body="网络中断 1 小时",
                                          scope=Scope(customers=["ACME"]), starts=start,
                                          ends=start + timedelta(hours=1)), actor="admin")
        send_all(s)
        assert sink.raw == []  # nobody left to mail: the erased requester is not a recipient
