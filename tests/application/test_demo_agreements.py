"""``opsledger demo`` also concludes agreements and files complaints (adapters/demo/
agreements.py, ADR 0066): an SLA per customer (one ending within 30 days), an OLA, a UC with
the repair orders' vendor (its clock on the order), a complaint being handled and one closed
after the customer's confirmation."""

from __future__ import annotations

from application import agreements as agr
from application import complaints as cmp
from application import repairs
from application.desk import ServiceDesk


def test_the_demo_records_agreements_and_complaints(demo_desk: ServiceDesk) -> None:
    desk = demo_desk
    now = desk.clock.now()
    today = agr.today_of(desk, now)
    found = agr.all_agreements(desk)
    kinds = sorted(a.kind.value for a in found)
    assert kinds.count("sla") == 2 and "ola" in kinds and "uc" in kinds
    assert [a.kind.value for a in found if a.expiring(today)] == ["sla"]
    order = sorted(repairs.all_repairs(desk), key=lambda r: r.number)[0]
    priority = desk.get_ticket(order.ticket_id).priority
    [clock] = agr.uc_clocks(desk, order.vendor, priority.value if priority else "P3",
                            order.sent_at, order.returned_at, now)
    assert clock.agreement.kind.value == "uc" and clock.due is not None
    statuses = sorted(c.status.value for c in cmp.all_complaints(desk))
    assert statuses == ["closed", "handling"]
    assert all(c.handler == "mgr-yang" for c in cmp.all_complaints(desk))
