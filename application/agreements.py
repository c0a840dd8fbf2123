"""Agreements -- SLA, OLA, UC (签订和维护 SLA、OLA 和 UC, issue 21 item 2, ADR 0066): reads, a
ticket's applicable agreements, the compliance of each agreement, and the watcher's expiry
warnings.

The commands are values in ``application.commands.agreements``. Agreements are few (tens),
so the lists read the records named by ``AgreementDirectory`` from the aggregate cache, like
announcements; whether one is in force or expiring is decided at the reader's day (in the
service's zone).

Compliance of an agreement over a period comes from the same data and rules as the SLA
compliance figures (``application.sla_compliance``, ADR 0017): the rows of the ticket list
view, a ticket counting when it has deadlines, is not invalid and was reported in the period
(and within the agreement's validity); per clock met (stopped by its due), breached (stopped
after it, or still running past it at ``now``; a paused ticket read where its pause began) or
pending. The tickets counted are those the agreement covers (``Agreement.covers``: its
customer, groups, services -- matched against the row's category and affected system).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from application.desk import HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from application.records import Page, page_of, directory_records
from application.sla_compliance import met_pct
from domain.agreement import Agreement, AgreementDirectory, Kind, Phase
from domain.customer import normalise_customer_id
from domain.ticket import Ticket
from projections.base import stamp
from projections.ticket_list.view import TicketListView, TicketQuery, reported_bound

LABEL = "agreement"
KINDS = tuple(k.value for k in Kind)
PHASES = tuple(p.value for p in Phase)
_PAGE = 500


def today_of(desk: ServiceDesk, now: datetime) -> date:
    """The service's day at ``now`` (validity is in whole local days)."""
    return now.astimezone(desk.timezone).date()


# --------------------------------------------------------------------- reads


def get_agreement(desk: ServiceDesk, ref: str | UUID,
                  as_of: datetime | None = None) -> Agreement:
    return desk.get_record(ref, Agreement, LABEL, as_of)  # type: ignore[no-any-return]


def readable(a: Agreement, customer: str | None) -> Agreement:
    """``a`` for a requester of ``customer`` (``None``: staff): only their organisation's
    SLAs; any other agreement is not found, like an unknown number."""
    if customer is not None and not (a.kind is Kind.SLA and a.concerns(customer)):
        raise RecordNotFound(a.number, LABEL)
    return a


def sla_customer(desk: ServiceDesk, ref: str | UUID) -> str | None:
    """The customer whose SLA ``ref`` is (``None`` for an OLA or UC: no customer's)."""
    a = get_agreement(desk, ref)
    return a.customer if a.kind is Kind.SLA else None


def agreement_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Agreement, LABEL)


def all_agreements(desk: ServiceDesk) -> list[Agreement]:
    return directory_records(desk, AgreementDirectory, "agreements", Agreement)


@dataclass(frozen=True)
class AgreementQuery:
    """``kinds`` (sla, ola, uc), ``phases`` (none: all), ``customer`` (SLAs of it: a
    requester's own, always), ``vendor``, ``expiring``: only those ending within 30 days."""

    today: date
    kinds: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    customer: str | None = None
    vendor: str | None = None
    expiring: bool = False
    limit: int = 50
    offset: int = 0


def list_agreements(desk: ServiceDesk, q: AgreementQuery) -> Page[Agreement]:
    """The agreements ``q`` asks for, the soonest to end first."""
    wanted = normalise_customer_id(q.customer) if q.customer is not None else None
    vendor = q.vendor.strip().casefold() if q.vendor and q.vendor.strip() else None
    rows = [a for a in all_agreements(desk)
            if (not q.kinds or a.kind.value in q.kinds)
            and (not q.phases or a.phase(q.today).value in q.phases)
            and (wanted is None or a.customer == wanted)
            and (vendor is None or a.vendor.casefold() == vendor)
            and (not q.expiring or a.expiring(q.today))]
    rows.sort(key=lambda a: (a.valid_to, a.number))
    return page_of(rows, q.offset, q.limit)


def ticket_services(ticket: Ticket) -> tuple[str, ...]:
    """What names a ticket's service for an agreement: its catalogue service (when the
    ticket has one), its category and its affected system."""
    category = ticket.classification.category if ticket.classification else None
    request = getattr(ticket, "service_request", None)  # a catalogue request (ADR 0061)
    service = (request.service_id, request.service_name) if request is not None else ()
    named = (*service, category, ticket.affected_system)
    return tuple(str(n) for n in named if n)


def applicable(desk: ServiceDesk, ticket: Ticket, today: date) -> list[Agreement]:
    """The agreements in force on ``today`` that cover ``ticket`` (its customer, group and
    service): SLAs first, then OLAs, then UCs, each by number."""
    order = {Kind.SLA: 0, Kind.OLA: 1, Kind.UC: 2}
    found = [a for a in all_agreements(desk)
             if a.in_force(today) and a.covers(ticket.customer, ticket.group,
                                               ticket_services(ticket))]
    return sorted(found, key=lambda a: (order[a.kind], a.number))


def vendor_agreements(desk: ServiceDesk, vendor: str, today: date) -> list[Agreement]:
    """The UCs in force with ``vendor`` (what a repair order sent to it is held to)."""
    name = vendor.strip().casefold()
    return [a for a in all_agreements(desk)
            if a.kind is Kind.UC and a.in_force(today) and a.vendor.casefold() == name]


# ---------------------------------------------------------------- compliance


@dataclass
class ClockCount:
    met: int = 0
    breached: int = 0
    pending: int = 0

    @property
    def met_pct(self) -> float | None:
        return met_pct(self.met, self.breached)


@dataclass
class AgreementCompliance:
    """The agreement's figures for ``[period_start, period_end)`` at ``now``."""

    agreement: Agreement
    period_start: datetime
    period_end: datetime
    now: datetime
    tickets: int = 0
    response: ClockCount = field(default_factory=ClockCount)
    resolution: ClockCount = field(default_factory=ClockCount)
    breached_tickets: list[str] = field(default_factory=list)  # their numbers


def _rows(view: TicketListView, a: Agreement) -> Iterator[Any]:
    """The ticket list rows that may be in ``a``'s scope (filtered by customer, and by group
    for a one-group agreement), every page."""
    after: int | None = None
    while True:
        page = view.query(TicketQuery(
            customer=a.customer or None, group=a.groups[0] if len(a.groups) == 1 else None,
            limit=_PAGE, after=after))
        yield from page.rows
        if page.next_cursor is None or not page.rows:
            return
        after = int(page.next_cursor)


def _clock(due: str, stopped: str | None, at: str) -> str:
    if stopped is not None:
        return "met" if stopped <= due else "breached"
    return "breached" if at >= due else "pending"


def compliance(view: TicketListView, desk: ServiceDesk, a: Agreement, start: datetime,
               end: datetime, now: datetime) -> AgreementCompliance:
    """Met/breached counts of the tickets ``a`` covers, reported in ``[start, end)`` and
    within its validity (the SLA compliance figures' rules, ADR 0017)."""
    zone = desk.timezone
    valid_start = datetime.combine(a.valid_from, time.min, tzinfo=zone)
    valid_end = datetime.combine(a.valid_to + timedelta(days=1), time.min, tzinfo=zone)
    lo, hi = reported_bound(max(start, valid_start)), reported_bound(min(end, valid_end))
    out = AgreementCompliance(a, start, end, now)
    at_now = stamp(now)
    for r in _rows(view, a):
        if r["response_due"] is None or r["status"] == "invalid":
            continue
        if not lo <= r["reported_at"] < hi:
            continue
        if not a.covers(r["customer"], r["group"],
                        tuple(s for s in (r["category"], r["affected_system"]) if s)):
            continue
        at = r["paused_since"] if r["status"] == "waiting_customer" and r["paused_since"] \
            else at_now
        out.tickets += 1
        missed = False
        for name, due, stop in (("response", r["response_due"], r["responded_at"]),
                                ("resolution", r["resolution_due"], r["resolved_at"])):
            state = _clock(due, stop, at)
            count: ClockCount = getattr(out, name)
            setattr(count, state, getattr(count, state) + 1)
            missed = missed or state == "breached"
        if missed:
            out.breached_tickets.append(r["number"])
    out.breached_tickets.sort()
    return out


# ------------------------------------------------------- the vendor's UC clock


@dataclass(frozen=True)
class UcClock:
    """What a UC promises a repair order sent to its vendor: ``due`` = ``started`` (sent to
    the vendor) + the target's resolution time for the ticket's priority (or the UC's only
    target; 24×7, a vendor's promise runs on the calendar day), stopped when the equipment
    came back. ``state``: met / breached (stopped, or still at the vendor past ``due``) /
    running; ``None`` without a resolution target (``due`` is then ``None``)."""

    agreement: Agreement
    target: Any  # domain.agreement.Target | None
    started: datetime
    due: datetime | None
    stopped: datetime | None
    state: str | None


def uc_clocks(desk: ServiceDesk, vendor: str, priority: str | None, started: datetime,
              stopped: datetime | None, now: datetime) -> list[UcClock]:
    """The clocks of the UCs in force (on the day the order was sent) with ``vendor``."""
    out = []
    for a in vendor_agreements(desk, vendor, today_of(desk, started)):
        target = a.target(priority) or (a.targets[0] if len(a.targets) == 1 else None)
        span = target.resolution if target is not None else None
        due = started + span if span is not None else None
        state = None
        if due is not None:
            end = stopped or now
            state = ("met" if stopped <= due else "breached") if stopped is not None else (
                "breached" if end >= due else "running")
        out.append(UcClock(a, target, started, due, stopped, state))
    return out
