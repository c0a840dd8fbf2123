"""CI commands through the desk (ADR 0063): registered with a CI- number whose id derives
from it, related by number, status changed (H5's repair orders use ``ChangeCiStatus``), and
readable as of a past time."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from application.cis import get_ci
from application.commands.cis import CiFields, ChangeCiStatus, RegisterCi, RelateCi
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.ci import Status
from domain.errors import InvalidCommand
from domain.numbering import record_id_for


START = datetime(2031, 3, 14, 1, 0, tzinfo=timezone.utc)


def test_register_relate_change_status_as_of() -> None:
    clock = FixedClock(START)
    desk = ServiceDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    server = desk.handle(RegisterCi(item=CiFields(name="srv-1", ci_class="server",
                                                  customer="acme")), actor="mgr").aggregate
    app = desk.handle(RegisterCi(item=CiFields(name="ERP", ci_class="application",
                                               customer="acme")), actor="mgr").aggregate
    assert server.number.startswith("CI-") and server.id == record_id_for(server.number)
    desk.handle(RelateCi(ref=app.number, type="runs_on", target_ci=server.number), actor="mgr")
    with pytest.raises(InvalidCommand) as e:
        desk.handle(RelateCi(ref=app.number, type="runs_on", target_ci="CI-20000101-999"),
                    actor="mgr")
    assert e.value.errors[0].field == "target"
    before = clock.now()
    clock.advance(hours=1)
    desk.handle(ChangeCiStatus(ref=str(server.id), status="in_repair", reason="RP"),
                actor="mgr")
    assert get_ci(desk, server.number).status is Status.IN_REPAIR
    assert get_ci(desk, server.number, as_of=before).status is Status.IN_USE
    assert get_ci(desk, app.number).relations[0].target == str(server.id)
