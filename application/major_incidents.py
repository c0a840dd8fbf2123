"""Major incidents (重大事件, issue 21 item 5, ADR 0067): reads, and the lookups the commands
make (the ticket declared on, whether the declarer is a manager).

The commands are values in ``application.commands.major_incidents`` run by
``ServiceDesk.handle``; the watcher's missed updates are ``application.record_watch``'s.
Major incidents are few, so the lists read the records named by ``MajorIncidentDirectory``
from the aggregate cache instead of keeping a read model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec

from application.desk import HistoryEntry, ServiceDesk
from application.records import Page, as_they_stood, loaded, page_of
from domain.customer import normalise_customer_id
from domain.identity import User, normalise_user_id
from domain.major_incident import MajorIncident, MajorIncidentDirectory, Status

LABEL = "major incident"
STATUSES = tuple(s.value for s in Status)


def acts_as_manager(desk: ServiceDesk, actor: str) -> bool:
    """Whether ``actor`` may declare a major incident on any ticket: a user with the manager
    or admin role, or a caller who is no registered user (the operator's admin token, a
    development store without users: the edge let them in as admins)."""
    user = desk.load(User.id_for(normalise_user_id(actor))) if actor else None
    if not isinstance(user, User):
        return True
    return bool({"manager", "admin"} & set(user.roles))


def get_incident(desk: ServiceDesk, ref: str | UUID,
                 as_of: datetime | None = None) -> MajorIncident:
    return desk.get_record(ref, MajorIncident, LABEL, as_of)  # type: ignore[no-any-return]


def incident_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, MajorIncident, LABEL)


def directory(desk: ServiceDesk) -> MajorIncidentDirectory | None:
    found = desk.load(MajorIncidentDirectory.ID)
    return found if isinstance(found, MajorIncidentDirectory) else None


def all_incidents(desk: ServiceDesk) -> list[MajorIncident]:
    d = directory(desk)
    return [] if d is None else loaded(desk, d.incidents, MajorIncident)


def active_on(desk: ServiceDesk, ticket_id: str) -> MajorIncident | None:
    """The incident active on the ticket ``ticket_id`` (``None``: none, or only closed ones)."""
    d = directory(desk)
    incident_id = d.by_ticket.get(ticket_id) if d is not None else None
    found = desk.load(UUID(incident_id)) if incident_id else None
    if isinstance(found, MajorIncident) and found.status is Status.ACTIVE:
        return found
    return None


@dataclass(frozen=True)
class IncidentQuery:
    now: datetime
    statuses: tuple[str, ...] = ()
    customer: str | None = None
    limit: int = 50
    offset: int = 0


def list_incidents(desk: ServiceDesk, q: IncidentQuery) -> Page[MajorIncident]:
    """The incidents ``q`` asks for, active first, the latest declared first."""
    rows = [m for m in all_incidents(desk)
            if (not q.statuses or m.status.value in q.statuses)
            and (q.customer is None or m.concerns(q.customer))]
    rows.sort(key=lambda m: (m.status is Status.ACTIVE, m.declared_at), reverse=True)
    return page_of(rows, q.offset, q.limit)


# ------------------------------------------------------------------- reports


class IncidentItem(msgspec.Struct, kw_only=True):
    number: str
    title: str
    ticket: str  # its SR- number
    status: str
    commander: str
    declared_at: datetime
    closed_at: datetime | None
    updates: int
    missed_updates: int
    reviewed: bool
    problem: str | None  # the PRB- number opened from it


class IncidentFigures(msgspec.Struct, kw_only=True):
    """The major incidents declared on the report's customer's tickets in its period, as
    they stood at its ``as_of``: how many, closed, updates missed, reviews recorded."""

    declared: int
    closed: int
    missed_updates: int
    reviewed: int
    items: list[IncidentItem]


def incident_figures(desk: ServiceDesk, customer: str, start: datetime, end: datetime,
                     at: datetime) -> IncidentFigures:
    until = min(end, at)
    wanted = normalise_customer_id(customer)
    found = [m for m in as_they_stood(desk, (x for x in all_incidents(desk)
                                             if x.customer == wanted), MajorIncident, LABEL, at)
             if start <= m.declared_at < until]
    found.sort(key=lambda m: m.declared_at)
    tz = start.tzinfo
    items = [IncidentItem(
        number=m.number, title=m.title, ticket=m.ticket_number, status=m.status.value,
        commander=m.commander, declared_at=m.declared_at.astimezone(tz),
        closed_at=m.closed_at.astimezone(tz) if m.closed_at else None, updates=len(m.updates),
        missed_updates=len(m.missed), reviewed=m.review is not None,
        problem=m.problem_number or None) for m in found]
    return IncidentFigures(
        declared=len(items), closed=sum(i.status == Status.CLOSED.value for i in items),
        missed_updates=sum(i.missed_updates for i in items),
        reviewed=sum(i.reviewed for i in items), items=items)
