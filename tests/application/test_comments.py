"""Notes on tickets (ADR 0055) and attaching uploaded files to them (ADR 0056), on the
in-memory store and on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from application.commands.tickets import (
    AwaitCustomer,
    Assign,
    Classify,
    Comment,
    CustomerReply,
    RegisterTicket,
    Start,
)
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.attachment import Attachment
from domain.errors import InvalidCommand
from domain.ticket import Contact, Status, Ticket

START = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["popo", "sqlite"])
def desk(request, tmp_path) -> Iterator[ServiceDesk]:
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if request.param == "sqlite":
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
               "SQLITE_DBNAME": str(tmp_path / "s.sqlite3")}
    desk = ServiceDesk(env, clock=FixedClock(START))
    yield desk
    desk.close()


def notes(desk: ServiceDesk, t: Ticket) -> list:
    return [e for e in desk.events.get(t.id) if isinstance(e, Ticket.CommentAdded)]


def waiting_ticket(desk: ServiceDesk) -> Ticket:
    r = desk.handle(RegisterTicket(customer="ACME", contact=Contact(name="李四"), channel="email",
                                   title="打印机卡纸"), actor="desk.wang")
    ref = r.aggregate.number
    desk.handle(Classify(ref=ref, type="fault", category="hardware", urgency="urgent",
                         impact="single", importance="important"), actor="desk.wang")
    desk.handle(Assign(ref=ref, assignee="eng.li", known_assignee=False), actor="desk.wang")
    desk.handle(Start(ref=ref), actor="eng.li")
    desk.handle(AwaitCustomer(ref=ref, reason="请提供打印机型号"), actor="eng.li")
    return desk.load(r.aggregate.id)


def test_internal_and_public_notes_are_recorded_with_their_visibility(desk):
    t = waiting_ticket(desk)
    desk.handle(Comment(ref=t.number, body="客户的打印机是旧型号", visibility="internal"),
                actor="eng.li")
    desk.handle(Comment(ref=t.number, body="我们明天上门", visibility="public"), actor="eng.li")
    events = notes(desk, t)
    assert [(e.visibility, e.author, e.body) for e in events] == [
        ("internal", "staff", "客户的打印机是旧型号"), ("public", "staff", "我们明天上门")]
    assert desk.load(t.id).status is Status.WAITING_CUSTOMER  # a note is not an answer


def test_a_customer_reply_is_public_and_resumes_a_waiting_ticket(desk):
    t = waiting_ticket(desk)
    desk.handle(CustomerReply(ref=t.number, body="型号是 HP M404", message_id="<a@b>",
                              sender="李四 <li@example.com>"), actor="system:mail")
    after = desk.load(t.id)
    assert after.status is Status.IN_PROGRESS
    added = notes(desk, t)[-1]
    assert (added.visibility, added.author, added.via, added.message_id) == (
        "public", "customer", "email", "<a@b>")


def test_an_empty_note_or_an_unknown_visibility_is_refused_naming_the_field(desk):
    t = waiting_ticket(desk)
    with pytest.raises(InvalidCommand) as refused:
        desk.handle(Comment(ref=t.number, body="  ", visibility="secret"), actor="eng.li")
    assert {e.field for e in refused.value.errors} == {"body", "visibility"}


def test_files_are_attached_in_the_same_save_and_only_by_their_uploader(desk):
    t = waiting_ticket(desk)
    a = Attachment.upload(id=uuid4(), sha256="a" * 64, size=3, content_type="text/plain",
                          filename="巡检单.txt", owner="ACME", actor="eng.li", at=START)
    desk.save(a)
    with pytest.raises(InvalidCommand) as refused:
        desk.handle(Comment(ref=t.number, body="见附件", attachments=(str(a.id),)),
                    actor="eng.zhao")
    assert "someone else" in str(refused.value.errors[0].message)
    desk.handle(Comment(ref=t.number, body="见附件", visibility="internal",
                        attachments=(str(a.id),)), actor="eng.li")
    linked = desk.load(a.id)
    assert [(link.kind, link.number, link.visibility) for link in linked.links] == [
        ("ticket", t.number, "internal")]
    with pytest.raises(InvalidCommand):
        desk.handle(Comment(ref=t.number, body="x", attachments=(str(uuid4()),)),
                    actor="eng.li")
