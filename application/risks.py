"""Hidden risks (隐患, issue 21 item 4, ADR 0067): reads, the lookups the commands make and
the figures of the service report.

The commands are values in ``application.commands.risks`` (``RecordRisk``, ``FollowUpRisk``,
``RemoveRisk``, ``AcceptRisk``, ``AlarmOverdueRisk``), run by ``ServiceDesk.handle``; the
watcher's alarms are ``application.record_watch``'s. Risks
are few (tens a month per customer), so the lists read the records named by
``RiskDirectory`` from the aggregate cache instead of keeping a read model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from application.desk import HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from application.records import Page, as_they_stood, directory_records, page_of
from domain.calendar import DEFAULT_TIMEZONE
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.identity import User, normalise_user_id
from domain.risk import Risk, RiskDirectory, Status

LABEL = "risk"
STATUSES = tuple(s.value for s in Status)


def due_time(value: str | datetime | None, field: str = "due",
             timezone: str = DEFAULT_TIMEZONE) -> datetime | None:
    """A due time from the wire: a time with an offset, or a day (``2026-12-31``: the end of
    that day in the service's time zone, i.e. the next midnight there); ``None`` stays
    ``None`` (the domain names the missing field). Anything else is a 422 naming ``field``."""
    if value is None or isinstance(value, datetime):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1), datetime.min.time(),
                                    ZoneInfo(timezone))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not 1971 <= moment.year <= 2198:
        raise InvalidCommand.field(field, "a day (2026-12-31) or a time with an offset "
                                          "(2026-12-31T18:00:00+08:00)")
    return moment


def actor_customer(desk: ServiceDesk, actor: str) -> str | None:
    """The customer organisation of ``actor`` when they are a requester (``None``: staff,
    the operator's admin, or a name on a store without users)."""
    user = desk.load(User.id_for(normalise_user_id(actor))) if actor else None
    if isinstance(user, User) and "requester" in user.roles:
        return user.customer or ""
    return None


# --------------------------------------------------------------------- reads


def get_risk(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> Risk:
    return desk.get_record(ref, Risk, LABEL, as_of)  # type: ignore[no-any-return]


def readable(r: Risk, customer: str | None) -> Risk:
    """``r`` for a requester of ``customer`` (``None``: staff): another customer's risk is
    not found, exactly like an unknown number."""
    if customer is not None and normalise_customer_id(customer) != r.customer:
        raise RecordNotFound(r.number, LABEL)
    return r


def risk_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Risk, LABEL)


def all_risks(desk: ServiceDesk) -> list[Risk]:
    return directory_records(desk, RiskDirectory, "risks", Risk)


@dataclass(frozen=True)
class RiskQuery:
    """``statuses``: open, removed, accepted (none: all); ``overdue``: only those open past
    their due time at ``now``; ``customer``: a requester's own organisation, always."""

    now: datetime
    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    customer: str | None = None
    overdue: bool | None = None
    limit: int = 50
    offset: int = 0


def list_risks(desk: ServiceDesk, q: RiskQuery) -> Page[Risk]:
    """The risks ``q`` asks for: the soonest due first (open before closed)."""
    wanted = normalise_customer_id(q.customer) if q.customer is not None else None
    rows = [r for r in all_risks(desk)
            if (not q.statuses or r.status.value in q.statuses)
            and (not q.severities or r.severity.value in q.severities)
            and (wanted is None or r.customer == wanted)
            and (q.overdue is None or r.overdue(q.now) == q.overdue)]
    rows.sort(key=lambda r: (r.status is not Status.OPEN, r.due, r.number))
    return page_of(rows, q.offset, q.limit)


# ------------------------------------------------------------------- reports


class RiskItem(msgspec.Struct, kw_only=True):
    number: str
    title: str
    severity: str
    owner: str
    due: datetime
    overdue: bool


class RiskFigures(msgspec.Struct, kw_only=True):
    """The hidden risks (隐患) of the report's customer in its period, as they stood at its
    ``as_of``: ``found`` recorded in the period, ``removed`` / ``accepted`` closed in it,
    ``open`` still open at its end (or at ``as_of``, if sooner), ``overdue`` those of them
    past their due time then; ``open_items`` the open ones, the soonest due first."""

    found: int
    removed: int
    accepted: int
    open: int
    overdue: int
    open_items: list[RiskItem]


def risk_figures(desk: ServiceDesk, customer: str, start: datetime, end: datetime,
                 at: datetime) -> RiskFigures:
    until = min(end, at)
    risks = [x for x in as_they_stood(desk, (r for r in all_risks(desk)
                                             if r.customer == normalise_customer_id(customer)),
                                      Risk, LABEL, at)
             if x.recorded_at < until]
    closed = [r for r in risks if r.closed_at is not None and start <= r.closed_at < until]
    still = [r for r in risks if r.closed_at is None or r.closed_at >= until]
    late = [r for r in still if until >= r.due]
    return RiskFigures(
        found=sum(start <= r.recorded_at < until for r in risks),
        removed=sum(r.status is Status.REMOVED for r in closed),
        accepted=sum(r.status is Status.ACCEPTED for r in closed),
        open=len(still), overdue=len(late),
        open_items=[RiskItem(number=r.number, title=r.title, severity=r.severity.value,
                             owner=r.owner, due=r.due.astimezone(start.tzinfo),
                             overdue=r in late)
                    for r in sorted(still, key=lambda r: (r.due, r.number))])
