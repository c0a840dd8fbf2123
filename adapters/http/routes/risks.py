"""HTTP for hidden risks (隐患): ``/api/v1/risks`` (issue 21 item 4, ADR 0067).

``POST /risks {customer, title, severity, due, description?, owner?, ticket?, project?,
routine_id?}`` records one (``201`` + ``Location``); ``severity`` is low, medium, high or
critical; ``due`` a day or a time with an offset. ``POST /risks/{ref}/follow_up {note,
severity?, owner?, due?}``, ``/remove {how}`` (整改完成), ``/accept {reason}`` (the customer
accepts it: a requester of the risk's customer, or a manager on their behalf). All honour
``If-Match`` and ``Idempotency-Key`` like every command.

Reads: ``GET /risks?status=&severity=&customer=&overdue=&limit=&cursor=`` (open ones first,
the soonest due first) and ``GET /risks/{ref}`` (``?as_of=``), ``/history``. A requester reads
only their organisation's risks (the rule's ``kind="risk"``: another customer's risk answers
``404`` like an unknown number; the list is filtered to their organisation).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State

from adapters.http import kit
from adapters.http.access import scoped_customer
from adapters.http.params import Cursor, choice, limit, listed
from adapters.http.schemas import risks as rs
from application import risks as uc
from application.commands.risks import AcceptRisk, FollowUpRisk, RecordRisk, RemoveRisk
from application.desk import CommandResult, ServiceDesk
from domain.risk import SEVERITIES

TAG = "risks"


def _present(result: CommandResult, desk: ServiceDesk) -> rs.RiskView:
    return rs.risk_view(result.aggregate, desk.clock.now())


RISKS = kit.Records("risks", rs.RiskView, _present)


def record_command(data: rs.RecordRisk) -> RecordRisk:
    """The command of a recording body (the API's and the console's form)."""
    return RecordRisk(**{f: getattr(data, f) for f in data.__struct_fields__})


record = RISKS.creates(
    "record", RecordRisk, rs.RecordRisk,
    "Record a hidden risk (隐患) of a customer's system, with severity, owner and due date",
    lambda request, state, data: record_command(data))


follow_up = RISKS.command(FollowUpRisk, rs.FollowUpRisk,
                          "Follow a risk up: a note, and a new severity, owner or due date")
remove = RISKS.command(RemoveRisk, rs.RemoveRisk, "The risk is removed (整改完成)")
accept = RISKS.command(AcceptRisk, rs.AcceptRisk,
                       "The customer accepts the risk (a requester of the customer, or a "
                       "manager on their behalf)")


get_risk = RISKS.read("get_risk", "A risk (optionally as of a past time)", uc.get_risk,
                      rs.risk_view, readable=uc.readable)


risk_history = RISKS.history(
    "risk_history", "Every event of a risk, oldest first", uc.risk_history,
    readable=lambda desk, ref, customer: uc.readable(uc.get_risk(desk, ref), customer))


StatusFilter = listed(uc.STATUSES, "The risk's status")
SeverityFilter = listed(SEVERITIES, "The risk's severity")
OverdueFilter = choice(("true", "false"), "Only risks open past their due time (true), or "
                                         "only the others (false)")
Limit = limit(50)


@get(f"{kit.API}/risks", tags=[TAG],
     summary="List risks (requesters: their organisation's)")
@kit.threaded
def list_risks(request: Request[Any, Any, Any], state: State, status: StatusFilter = None,
               severity: SeverityFilter = None, customer: str | None = None,
               overdue: OverdueFilter = None, limit: Limit = 50,
               cursor: Cursor = None) -> rs.RiskPage:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    page = uc.list_risks(desk, uc.RiskQuery(
        now=now, statuses=kit.split_values(status, "status", set(uc.STATUSES)),
        severities=kit.split_values(severity, "severity", set(SEVERITIES)),
        customer=scoped_customer(request, customer or None),
        overdue=None if overdue is None else overdue == "true",
        limit=kit.parse_limit(limit), offset=kit.parse_cursor(cursor) or 0))
    return kit.page_body(rs.RiskPage, [rs.risk_view(r, now) for r in page.items], page.next_offset)


HANDLERS = [record, follow_up, remove, accept, get_risk, risk_history, list_risks]
