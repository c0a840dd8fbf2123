"""A major incident's communication plan through the notice outbox (ADR 0059, 0067): the
requesters of the customers in the plan and the staff it names are mailed when the incident
is declared, at each update and when it is closed -- each in their language -- and the
ticket's contact hears of it through the public notes on the ticket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.container import Services, build
from application.commands.major_incidents import (CloseMajorIncident, Communication,
                                                  DeclareMajorIncident, PostIncidentUpdate,
                                                  RecordIncidentReview)
from application.commands.tickets import RegisterTicket
from application.commands.users import RegisterUser
from domain.ticket import Contact
from tests.adapters.channels.conftest import SmtpSink
from tests.adapters.channels.test_outbox import send_all, settings


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


@pytest.fixture
def world(store_url: str, sink: SmtpSink, tmp_path: Path) -> Iterator[Services]:
    rules = tmp_path / "notices.toml"
    rules.write_text('[customers.GLOBEX]\nlanguage = "en"\n', encoding="utf-8")
    s = build(settings(store_url, sink.relay, str(rules)))
    yield s
    s.close()


def test_the_plan_is_told_at_declaration_each_update_and_the_close(world, sink):
    desk = world.desk
    for user, roles, customer, email in (
            ("bob@globex", ["requester"], "GLOBEX", "bob@globex.example"),
            ("amy@initech", ["requester"], "INITECH", "amy@initech.example"),
            ("mgr.wang", ["manager"], None, "mgr.wang@provider.example")):
        desk.handle(RegisterUser(id=user, name=user, roles=roles, customer=customer,
                                 email=email), actor="admin")
    t = desk.handle(RegisterTicket(
        customer="GLOBEX", contact=Contact(name="Bob", email="bob.contact@globex.example"),
        channel="phone", title="Core network down", type="fault", category="network",
        urgency="very_urgent", impact="all", importance="very_important"), actor="desk.wang")
    send_all(world)
    sink.raw.clear()
    m = desk.handle(DeclareMajorIncident(
        ticket=t.aggregate.number, commander="mgr.wang",
        communication=Communication(informed=("mgr.wang",), interval_minutes=15)),
        actor="mgr.wang").aggregate
    send_all(world)
    got = sorted((x["To"], x["Subject"]) for x in sink.mails)
    assert [to for to, _ in got] == ["bob.contact@globex.example", "bob@globex.example",
                                     "mgr.wang@provider.example"]  # not INITECH's amy
    assert (f"[{m.number}] Major incident: Core network down") in dict(got).values()
    assert dict(got)["mgr.wang@provider.example"] == f"[{m.number}] 重大事件通报：Core network down"
    sink.raw.clear()
    desk.handle(PostIncidentUpdate(ref=m.number, text="Traffic moved to the backup link."),
                actor="mgr.wang")
    send_all(world)
    bodies = {x["To"]: x.get_body(preferencelist=("plain",)).get_content() for x in sink.mails}
    assert set(bodies) == {"bob.contact@globex.example", "bob@globex.example",
                           "mgr.wang@provider.example"}
    assert all("Traffic moved to the backup link." in b for b in bodies.values())
    sink.raw.clear()
    desk.handle(RecordIncidentReview(ref=m.number, summary="Switch failure",
                                     root_cause="Old power supply"), actor="mgr.wang")
    desk.handle(CloseMajorIncident(ref=m.number), actor="mgr.wang")
    send_all(world)
    assert sorted((x["To"], x["Subject"]) for x in sink.mails) == [
        ("bob@globex.example", f"[{m.number}] Major incident closed"),
        ("mgr.wang@provider.example", f"[{m.number}] 重大事件已关闭")]
