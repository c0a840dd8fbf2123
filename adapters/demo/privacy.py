"""Demo erasure (``opsledger demo``): one customer's personal data erased (ADR 0034).

The demo's smallest customer asks for its contacts' personal data to be erased; the real use
case destroys its key, so the demo shows the result: that customer's tickets read
``contact_erased: true`` (name ``[erased]``, no phone or e-mail) in every view, their
histories stay complete, and every other customer's contacts are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.desk import ServiceDesk
from application.ports import FixedClock
from application.privacy import erase_personal_data

OFFICER = "admin-he"  # the desk's data protection officer performs erasures
REASON = "客户依据《个人信息保护法》第四十七条申请删除其联系人个人信息"


def add_demo_erasure(desk: ServiceDesk, clock: FixedClock,
                     plans: Sequence[Any]) -> tuple[str, str] | None:
    """Erases the contacts of the customer with the fewest demo tickets; returns (customer,
    one of its ticket numbers), ``None`` when no ticket was registered."""
    registered = [p for p in plans if p.number]
    if not registered:
        return None
    counts: dict[str, int] = {}
    for p in registered:
        counts[p.customer.name] = counts.get(p.customer.name, 0) + 1
    customer = min(counts, key=lambda name: (counts[name], name))
    clock.advance(seconds=1)
    erase_personal_data(desk, customer, reason=REASON,
                        requested_by=f"{customer} 个人信息保护负责人", actor=OFFICER)
    return customer, next(p.number for p in registered if p.customer.name == customer)
