"""HTTP for agreements -- SLA / OLA / UC (签订和维护 SLA、OLA 和 UC): ``/api/v1/agreements``
(issue 21 item 2, ADR 0066).

``POST /agreements {kind: sla|ola|uc, title, valid_from, valid_to, customer (sla) | groups
(ola) | vendor (uc), services?, targets?, sla_policy?, notes?}`` concludes one (``201`` +
``Location``). ``POST /agreements/{ref}/revise {…fields to change, reason?}`` records the next
version; ``POST /agreements/{ref}/terminate {reason}`` ends it early.

Reads: ``GET /agreements?kind=&phase=&customer=&vendor=&expiring=true&limit=&cursor=`` (the
soonest to end first; ``expiring=true``: those ending within 30 days, each flagged
``expiring`` in every view), ``GET /agreements/{ref}`` (``?as_of=``), ``/history``,
``GET /agreements/{ref}/compliance?from=&to=`` (met/breached counts of the tickets it covers,
by the SLA compliance figures' rules; default: the current month) and
``GET /tickets/{ref}/agreements`` (the agreements in force that cover the ticket: its
customer's SLAs, its group's OLAs, the UCs of its service), ``GET /repairs/{ref}/agreements``
(the vendor's UC clocks on a repair order, staff). A requester reads only their
organisation's SLAs; any other agreement answers ``404`` like an unknown number.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import QueryParameter

from adapters.http import kit
from adapters.http import params as p
from adapters.http.access import scoped_customer
from adapters.http.params import AsOf, Cursor, limit, listed
from adapters.http.schemas import agreements as ags
from adapters.http.schemas import common as s
from application import agreements as uc
from application.commands.agreements import (ConcludeAgreement, ReviseAgreement,
                                             TerminateAgreement)
from application.desk import CommandResult, ServiceDesk
from application.errors import RecordNotFound
from application.repairs import get_repair

TAG = "agreements"


def _present(result: CommandResult, desk: ServiceDesk) -> ags.AgreementView:
    return ags.agreement_view(result.aggregate, uc.today_of(desk, result.at))


AGREEMENTS = kit.Records("agreements", ags.AgreementView, _present)


conclude = AGREEMENTS.creates(
    "conclude", ConcludeAgreement, ags.ConcludeAgreement,
    "Conclude an agreement: an SLA with a customer, an OLA between groups, a UC with a vendor",
    lambda request, state, data: ags.conclude_command(data))


revise = AGREEMENTS.command(ReviseAgreement, ags.ReviseAgreement,
                            "Revise an agreement (its next version)", ags.revise_command)
terminate = AGREEMENTS.command(TerminateAgreement, ags.TerminateAgreement,
                               "Terminate an agreement before it ends")


@get(f"{kit.API}/agreements/{{ref:str}}", tags=[TAG],
     summary="An agreement (optionally as of a past time)")
@kit.threaded
def get_agreement(request: Request[Any, Any, Any], state: State, ref: str,
                  as_of: AsOf = None) -> Response[ags.AgreementView]:
    desk = kit.services_of(state).desk
    a = uc.readable(uc.get_agreement(desk, ref, as_of=kit.parse_as_of(as_of)),
                    scoped_customer(request, None))
    return kit.versioned(ags.agreement_view(a, uc.today_of(desk, desk.clock.now())), a.version)


agreement_history = AGREEMENTS.history(
    "agreement_history", "Every event of an agreement (its versions), oldest first",
    uc.agreement_history)


@get(f"{kit.API}/agreements/{{ref:str}}/compliance", tags=[TAG],
     summary="The agreement's compliance for a period: met and breached clocks of the "
             "tickets it covers (default: the current month)")
@kit.threaded
def agreement_compliance(request: Request[Any, Any, Any], state: State, ref: str,
                         from_: p.PeriodFrom = None,
                         to: p.PeriodTo = None) -> ags.AgreementComplianceView:
    services = kit.services_of(state)
    desk = services.desk
    a = uc.readable(uc.get_agreement(desk, ref), scoped_customer(request, None))
    start, end = kit.compliance_period(services, from_, to)
    kit.read_your_writes(services)
    return ags.compliance_view(uc.compliance(services.tickets, desk, a, start, end,
                                             desk.clock.now()))


KindFilter = listed(uc.KINDS, "The agreement's kind")
PhaseFilter = listed(uc.PHASES, "Where its validity stands today")
Expiring = Annotated[bool, QueryParameter(
    description="Only agreements ending within 30 days")]
Limit = limit(50)


@get(f"{kit.API}/agreements", tags=[TAG],
     summary="List agreements (requesters: their organisation's SLAs)")
@kit.threaded
def list_agreements(request: Request[Any, Any, Any], state: State, kind: KindFilter = None,
                    phase: PhaseFilter = None, customer: str | None = None,
                    vendor: str | None = None, expiring: Expiring = False, limit: Limit = 50,
                    cursor: Cursor = None) -> ags.AgreementPage:
    desk = kit.services_of(state).desk
    today = uc.today_of(desk, desk.clock.now())
    own = scoped_customer(request, None)  # a requester: their organisation's SLAs only
    wanted = own if own is not None else (customer or None)
    kinds = ("sla",) if own is not None else kit.split_values(kind, "kind", set(uc.KINDS))
    page = uc.list_agreements(desk, uc.AgreementQuery(
        today=today, kinds=kinds, phases=kit.split_values(phase, "phase", set(uc.PHASES)),
        customer=wanted, vendor=vendor, expiring=expiring, limit=kit.parse_limit(limit),
        offset=kit.parse_cursor(cursor) or 0))
    return kit.page_body(ags.AgreementPage, [ags.agreement_view(a, today) for a in page.items],
                         page.next_offset)


@get(f"{kit.API}/tickets/{{ref:str}}/agreements", tags=[TAG],
     summary="The agreements in force that cover a ticket (its customer's SLAs, its "
             "group's OLAs, the UCs of its service)")
@kit.threaded
def ticket_agreements(request: Request[Any, Any, Any], state: State,
                      ref: str) -> ags.TicketAgreements:
    desk = kit.services_of(state).desk
    ticket = desk.get_ticket(ref)
    today = uc.today_of(desk, desk.clock.now())
    found = uc.applicable(desk, ticket, today)
    own = scoped_customer(request, None)
    if own is not None:  # a requester (the rule already scoped the ticket): their SLAs
        found = [a for a in found if a.kind.value == "sla"]
    return ags.TicketAgreements(
        ticket=s.LinkedRecord(str(ticket.id), ticket.number),
        agreements=[ags.agreement_view(a, today) for a in found])


@get(f"{kit.API}/repairs/{{ref:str}}/agreements", tags=[TAG],
     summary="The vendor's UC clocks on a repair order: the repair time each UC in force "
             "with the order's vendor promises, from sending to the return")
@kit.threaded
def repair_agreements(state: State, ref: str) -> ags.RepairAgreements:
    desk = kit.services_of(state).desk
    r = get_repair(desk, ref)
    try:
        priority = desk.get_ticket(r.ticket_id).priority if r.ticket_id else None
    except RecordNotFound:
        priority = None
    clocks = uc.uc_clocks(desk, r.vendor, priority.value if priority else None, r.sent_at,
                          r.returned_at, desk.clock.now())
    return ags.RepairAgreements(repair=s.LinkedRecord(str(r.id), r.number), vendor=r.vendor,
                                clocks=[ags.uc_clock_view(c) for c in clocks])


HANDLERS = [conclude, revise, terminate, get_agreement, agreement_history,
            agreement_compliance, list_agreements, ticket_agreements, repair_agreements]
