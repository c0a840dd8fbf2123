"""A priority given at registration counts in the service report's ``by_priority``
(issue 16 item 4; docs/reports.md: ``by_priority`` by current priority, ``unclassified`` the
valid tickets without one)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from application.reports import _Ticket, volumes
from domain.priority import Priority
from domain.ticket import Channel, Contact, Ticket

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def ticket(n: int, **given: object) -> _Ticket:
    t = Ticket.register(id=uuid4(), number=f"SR-20261120-{n:03d}", customer="客户A",
                        contact=Contact("李四"), channel=Channel.PHONE, title="无法登录",
                        description="", affected_system="ERP", reported_at=AT, actor="agent",
                        at=AT, **given)  # type: ignore[arg-type]
    return _Ticket(ticket=t, sla=None, resolution_seconds=None)


def test_a_priority_given_before_classification_is_counted_by_priority():
    v = volumes([ticket(1, priority=Priority.P1, override_reason="生产停线"), ticket(2)])
    assert v.by_priority == {"P1": 1, "P2": 0, "P3": 0}
    assert (v.valid, v.unclassified) == (2, 1)
    assert v.by_type == {}  # its type is not known yet
