"""Field visits (派工单, 外出登记, 技术服务单; issue 20 item 4, ADR 0064): reads.

The visits live on their tickets (``Ticket.visits``, from the ``Ticket.Visit*`` events), so a
ticket "as of" any time shows its visits as they were. The out-of-office register (外出登记)
is a read model over them: ``VisitRegister`` names every visit's ticket in order of planning,
and the register's rows are the visits of those tickets (read from the aggregate cache),
filtered by engineer, status, customer, a time window and whether the engineer is out now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.desk import ServiceDesk
from application.errors import RecordNotFound
from application.records import Page, page_of
from domain.customer import normalise_customer_id
from domain.ticket import Ticket
from domain.visit import Visit, VisitRegister

LABEL = "visit"


@dataclass(frozen=True)
class VisitRow:
    """A visit with its ticket (what the register and a visit's read show)."""

    visit: Visit
    ticket: Ticket


def visits_of(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> list[VisitRow]:
    t = desk.get_ticket(ref, as_of)
    return [VisitRow(v, t) for v in t.visits]


def _register(desk: ServiceDesk) -> dict[str, str]:
    register = desk.load(VisitRegister.ID)
    return register.visits if isinstance(register, VisitRegister) else {}


def get_visit(desk: ServiceDesk, number: str, customer: str | None = None) -> VisitRow:
    """The visit ``number`` (``PG-…``); another customer's, for a requester, is not found."""
    wanted = number.strip().upper()
    ticket_id = _register(desk).get(wanted)
    t = desk.load(UUID(ticket_id)) if ticket_id else None
    if isinstance(t, Ticket) and (customer is None or normalise_customer_id(t.customer)
                                  == normalise_customer_id(customer)):
        for v in t.visits:
            if v.number == wanted:
                return VisitRow(v, t)
    raise RecordNotFound(number, LABEL)


@dataclass(frozen=True)
class RegisterQuery:
    """The out-of-office register's filters: ``engineer``; ``statuses``; ``customer`` (a
    requester's own, always); ``away_at``: only engineers out of the office at that time;
    ``start``/``end``: visits whose time out (departure or planned arrival … leaving)
    overlaps the window."""

    engineer: str | None = None
    statuses: tuple[str, ...] = ()
    customer: str | None = None
    away_at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 50
    offset: int = 0


def _overlaps(v: Visit, start: datetime | None, end: datetime | None) -> bool:
    first = v.departed_at or v.arrived_at or v.planned_arrival
    last = v.left_at or max(first, v.planned_arrival)
    return (start is None or last >= start) and (end is None or first < end)


def all_visits(desk: ServiceDesk) -> list[VisitRow]:
    rows: list[VisitRow] = []
    tickets: dict[str, Ticket | None] = {}
    for number, ticket_id in _register(desk).items():
        if ticket_id not in tickets:
            found = desk.load(UUID(ticket_id))
            tickets[ticket_id] = found if isinstance(found, Ticket) else None
        t = tickets[ticket_id]
        v = next((x for x in t.visits if x.number == number), None) if t else None
        if t is not None and v is not None:
            rows.append(VisitRow(v, t))
    return rows


def out_of_office(desk: ServiceDesk, q: RegisterQuery) -> Page[VisitRow]:
    """The out-of-office register (外出登记): the visits ``q`` asks for, latest first."""
    wanted = normalise_customer_id(q.customer) if q.customer is not None else None
    engineer = q.engineer.strip() if q.engineer else None
    rows = [r for r in all_visits(desk)
            if (engineer is None or r.visit.engineer == engineer)
            and (not q.statuses or r.visit.status.value in q.statuses)
            and (wanted is None or normalise_customer_id(r.ticket.customer) == wanted)
            and (q.away_at is None or r.visit.away(q.away_at))
            and _overlaps(r.visit, q.start, q.end)]
    rows.sort(key=lambda r: (r.visit.departed_at or r.visit.planned_arrival, r.visit.number),
              reverse=True)
    return page_of(rows, q.offset, q.limit)
