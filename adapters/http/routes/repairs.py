"""HTTP for repair orders (设备送修单): ``/api/v1/repairs`` (issue 20 item 5, ADR 0065), and
the monthly repair summary ``GET /api/v1/reports/{period}?kind=repair``.

``POST /repairs {ticket, ci, vendor, fault, warranty?, loaner_ci?}`` sends a CI to a vendor
(``201`` + ``Location``; ``RP-…``); ``POST /repairs/{ref}/<verb>``: ``report_progress
{text}``, ``quote {amount, parts, currency?, note?}``, ``approve_quote {reference?}`` and
``reject_quote {reason}`` (the customer's requester, or a manager for them with the written
approval's ``reference``), ``replace_part {part, note?}`` (out of warranty: ``409`` naming
``quote_approval`` until a quote is approved), ``return {note?, loaner_back?}``, ``close
{note?}``. All honour ``If-Match`` and ``Idempotency-Key`` like every command.

Reads: ``GET /repairs?status=&customer=&ticket=&overdue=&limit=&cursor=`` (the latest sent
first), ``GET /repairs/{ref}`` (``?as_of=``) and ``/history`` (staff). A requester reads only
their organisation's orders (the list is filtered to it; another's answers ``404``).

``GET /reports/{period}?kind=repair[&customer=][&as_of=]`` is the monthly repair summary (月度维修总结,
due by the 10th of the next month, ``late`` when it was not handed in by then); ``POST
/reports/{period}/submit {kind: "repair"}`` records that it was handed in. ``kind`` names the
report: ``repair`` is the only one so far (another kind is a ``422`` naming ``kind``).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter

from adapters.http import kit
from adapters.http.access import customer_side, scoped_customer
from adapters.http.openapi.contract import also_answers
from adapters.http.params import AsOf, Cursor, choice, limit, listed
from adapters.http.schemas import repairs as rs
from application import repairs as uc
from application.commands.repairs import (ApproveRepairQuote, CloseRepair, QuoteRepair,
                                          RejectRepairQuote, ReplaceRepairPart,
                                          ReportRepairProgress, ReturnRepair, SendForRepair,
                                          SubmitRepairSummary)
from application.commands.base import resolve_ref
from application.desk import CommandResult, ServiceDesk
from application.errors import RecordNotFound
from application.report_period import parse_period
from domain.errors import InvalidCommand

TAG = "repairs"
REPORT_KINDS = ("repair",)


def _present(result: CommandResult, desk: ServiceDesk) -> rs.RepairView:
    return rs.repair_view(result.aggregate, result.at or desk.clock.now())


REPAIRS = kit.Records("repairs", rs.RepairView, _present)


send = REPAIRS.creates(
    "send", SendForRepair, rs.SendForRepair,
    "Send a configuration item to a vendor for repair (设备送修单)",
    lambda request, state, data: SendForRepair(
        ticket=data.ticket, ci=data.ci, vendor=data.vendor, fault=data.fault,
        warranty=data.warranty, loaner_ci=data.loaner_ci))


report_progress = REPAIRS.command(ReportRepairProgress, rs.ReportRepairProgress,
                                  "Record a written progress report (书面维修进度)")
quote = REPAIRS.command(
    QuoteRepair, rs.QuoteRepair, "Record the vendor's quote for an out-of-warranty repair",
    build=lambda ref, b: QuoteRepair(ref=ref, amount=str(b.amount), parts=tuple(b.parts),
                                     currency=b.currency, note=b.note))
replace_part = REPAIRS.command(
    ReplaceRepairPart, rs.ReplaceRepairPart,
    "Record a part replaced (out of warranty: only after the customer approved the quote)")
return_ = REPAIRS.command(ReturnRepair, rs.ReturnRepair,
                          "Record the equipment repaired and back at the user's site")
close = REPAIRS.command(CloseRepair, rs.CloseRepair, "Close a returned repair order")


def _approval(ref: str, b: rs.ApproveRepairQuote) -> ApproveRepairQuote:
    return ApproveRepairQuote(ref=ref, reference=b.reference)


def _rejection(ref: str, b: rs.RejectRepairQuote) -> RejectRepairQuote:
    return RejectRepairQuote(ref=ref, reason=b.reason)


@post(f"{kit.API}/repairs/{{ref:str}}/approve_quote", status_code=200, tags=[TAG],
      summary="The customer's written approval of the quote (a requester of the customer, or "
              "a manager for them naming the approval)", name="repair order-approve_quote",
      opt={kit.COMMAND_OPT: rs.ApproveRepairQuote,
           kit.STATE_OPT: (uc.LABEL, "approve_quote"),
           kit.COMMAND_CLASS_OPT: ApproveRepairQuote, kit.BUILD_OPT: _approval})
@kit.threaded
def approve_quote(request: Request[Any, Any, Any], state: State, ref: str,
                  data: rs.ApproveRepairQuote | None = None) -> Response[rs.RepairView]:
    body = data or rs.ApproveRepairQuote()
    return kit.run_command(request, state, body, ApproveRepairQuote(
        ref=ref, reference=body.reference, on_behalf=not customer_side(request)), ref,
        respond=REPAIRS.respond)


@post(f"{kit.API}/repairs/{{ref:str}}/reject_quote", status_code=200, tags=[TAG],
      summary="The customer rejects the quote (a requester of the customer, or a manager for "
              "them)", name="repair order-reject_quote",
      opt={kit.COMMAND_OPT: rs.RejectRepairQuote, kit.STATE_OPT: (uc.LABEL, "reject_quote"),
           kit.COMMAND_CLASS_OPT: RejectRepairQuote, kit.BUILD_OPT: _rejection})
@kit.threaded
def reject_quote(request: Request[Any, Any, Any], state: State, ref: str,
                 data: rs.RejectRepairQuote) -> Response[rs.RepairView]:
    return kit.run_command(request, state, data, RejectRepairQuote(
        ref=ref, reason=data.reason, on_behalf=not customer_side(request)), ref,
        respond=REPAIRS.respond)


get_repair = REPAIRS.read(
    "get_repair", "A repair order (optionally as of a past time)", uc.get_repair,
    rs.repair_view, readable=uc.readable, view_as_of=True)


repair_history = REPAIRS.history(
    "repair_history", "Every event of a repair order, oldest first", uc.repair_history)


StatusFilter = listed(uc.STATUSES, "The orders' status")
TicketFilter = Annotated[str | None, QueryParameter(
    description="The repair orders of this ticket: its id or its SR-… number", max_length=100)]
Limit = limit(50)


def _ticket_filter(ref: str | None) -> str | None:
    """The ticket id a ``ticket`` filter names (an id or a number); any other text names no
    ticket, and the list is empty."""
    text = (ref or "").strip()
    if not text:
        return None
    try:
        return str(resolve_ref(text, "ticket"))
    except RecordNotFound:
        return text


@get(f"{kit.API}/repairs", tags=[TAG],
     summary="List repair orders (requesters: those of their organisation)")
@kit.threaded
def list_repairs(request: Request[Any, Any, Any], state: State, status: StatusFilter = None,
                 customer: str | None = None, ticket: TicketFilter = None,
                 overdue: bool = False, limit: Limit = 50,
                 cursor: Cursor = None) -> rs.RepairPage:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    page = uc.list_repairs(desk, uc.RepairQuery(
        now=now, statuses=kit.split_values(status, "status", set(uc.STATUSES)),
        customer=scoped_customer(request, customer or None), ticket=_ticket_filter(ticket),
        overdue=overdue, limit=kit.parse_limit(limit), offset=kit.parse_cursor(cursor) or 0))
    return kit.page_body(rs.RepairPage, [rs.repair_view(r, now) for r in page.items],
                         page.next_offset)


# ------------------------------------------------------- the monthly summary

ReportKind = choice(REPORT_KINDS, "The report (required): repair, the monthly repair summary "
                                  "(月度维修总结)")


def _kind(value: str | None) -> str:
    kind = (value or "").strip().lower()
    if kind not in REPORT_KINDS:
        raise InvalidCommand.field("kind", "one of " + ", ".join(REPORT_KINDS))
    return kind


@get(f"{kit.API}/reports/{{period:str}}", tags=["reports"],
     summary="A report across projects for a month, quarter or year: kind=repair, the "
             "monthly repair summary (due by the 10th of the next month)",
     responses=also_answers(422, "A malformed period or as_of, or no kind: errors[] names it"))
@kit.threaded
def period_report(request: Request[Any, Any, Any], state: State, period: str,
                  kind: ReportKind = None, customer: str | None = None,
                  as_of: AsOf = None) -> rs.RepairSummaryView:
    _kind(kind)
    desk = kit.services_of(state).desk
    wanted = scoped_customer(request, customer or None)
    return rs.summary_view(uc.repair_summary(desk, period, desk.clock.now(), wanted,
                                             kit.parse_as_of(as_of)))


@post(f"{kit.API}/reports/{{period:str}}/submit", status_code=200, tags=["reports"],
      summary="Record that a period's report was handed in (kind=repair: the monthly repair "
              "summary)",
      responses=also_answers(422, "A malformed period, or no kind: errors[] names it"))
@kit.threaded
def submit_report(request: Request[Any, Any, Any], state: State, period: str,
                  data: rs.SubmitReport) -> rs.RepairSummaryView:
    _kind(data.kind)
    desk = kit.services_of(state).desk
    label = parse_period(period, desk.timezone.key).label
    desk.handle(SubmitRepairSummary(period=label), actor=kit.actor_of(request),
                idempotency=kit.idempotency_key(request, data))
    return rs.summary_view(uc.repair_summary(desk, label, desk.clock.now()))


HANDLERS = [send, report_progress, quote, approve_quote, reject_quote, replace_part, return_,
            close, get_repair, repair_history, list_repairs, period_report, submit_report]
