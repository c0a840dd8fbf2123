"""The mail we send threads back (contract 1 of issue 19, ADR 0059 with ADR 0057): the
customer's reply to a notice -- its ``In-Reply-To`` naming our ``Message-ID``, the subject
changed -- lands on the ticket through the mail intake, and our own mail fed back to the
intake is quarantined (it is auto-generated), never a new ticket."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from adapters.container import build
from adapters.mail.intake import MailIntake
from adapters.settings import Settings
from application.commands.tickets import Comment, RegisterTicket
from domain.ticket import Contact, Ticket
from tests.adapters.channels.conftest import SmtpSink


def test_a_reply_to_a_notice_comes_back_to_its_ticket_and_our_mail_never_loops(
        store_url: str, sink: SmtpSink):
    s = build(Settings(database_url=store_url, smtp_relay=sink.relay,
                       mail_from="desk@opsledger.example"))
    try:
        r = s.desk.handle(RegisterTicket(customer="ACME", channel="phone", title="打印机卡纸",
                                         contact=Contact(name="李四", email="li.si@acme.example")),
                          actor="desk.wang")
        number = r.aggregate.number
        s.desk.handle(Comment(ref=number, body="请问打印机型号？", visibility="public"),
                      actor="eng.li")
        s.runner.catch_up_all()
        s.notifier.drain()
        ours = [m for m in sink.mails if "新回复" in m["Subject"]]
        assert len(ours) == 1
        our_id = " ".join(str(ours[0]["Message-ID"]).split())

        reply = EmailMessage()
        reply["From"] = "李四 <li.si@acme.example>"
        reply["To"] = "desk@opsledger.example"
        reply["Subject"] = "Re: 型号"  # no number in the subject: the thread carries it
        reply["Message-ID"] = make_msgid(domain="acme.example")
        reply["In-Reply-To"] = our_id
        reply["References"] = our_id
        reply.set_content("型号是 HP M404", charset="utf-8")
        intake = MailIntake(s)
        receipt = intake.receive(reply.as_bytes(), source="test")
        assert (receipt.outcome, receipt.ticket) == ("appended", number)
        words = [e.body for e in s.desk.events.get(r.aggregate.id)
                 if isinstance(e, Ticket.CommentAdded) and e.author == "customer"]
        assert any("HP M404" in w for w in words)

        looped = intake.receive(sink.raw[-1], source="test")
        assert looped.outcome == "quarantined" and looped.ticket is None
        assert "Auto-Submitted: auto-generated" in looped.reason
    finally:
        s.close()
