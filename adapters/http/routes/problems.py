"""HTTP for problems (问题管理): ``/api/v1/problems`` (API.md "Problems", ADR 0019).

(Named ``problem_records`` because ``problems.py`` is the RFC 9457 problem+json module.)

``POST /problems`` records one (``201`` + ``Location``), ``POST /problems/{ref}/<command>``
runs ``link_ticket``, ``link_tickets`` (several in one step), ``classify``,
``record_root_cause``, ``record_workaround``, ``mark_known_error``, ``resolve`` and ``close``;
each answers the problem's view with ``ETag``, honours ``If-Match`` (``412``) and
``Idempotency-Key``, exactly as the ticket commands do (they share ``kit.run_command``, through
``kit.Records``): each builds its command (``application.commands.problems``) from the body.
``POST /tickets/{ref}/link_problem`` is the same link from the ticket's side; it answers the
ticket's view. ``GET /problems/{ref}`` (``?as_of=``), ``/history`` and the list
``GET /problems?status=&category=&ticket=&known_error=&limit=&cursor=`` read.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from msgspec.structs import asdict
from litestar import get
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from adapters.http.schemas import problems as ps
from adapters.http.schemas import common as s
from adapters.http.schemas.tickets import TicketView
from adapters.http import kit
from adapters.http.params import Cursor, choice, limit, listed
from application import problems as uc
from application.commands.problems import (
    ClassifyProblem,
    CloseProblem,
    LinkTicket,
    LinkTickets,
    MarkKnownError,
    RecordProblem,
    RecordRootCause,
    RecordWorkaround,
    ResolveProblem,
)
from application.commands.tickets import LinkProblem
from domain.numbering import RecordKind
from domain.problem import Status
from projections.problem_list.view import ProblemQuery

TAG = "problems"


PROBLEMS = kit.Records("problems", ps.ProblemView,
                       lambda result, desk: ps.problem_view(result.aggregate))


record_problem = PROBLEMS.creates(
    "record_problem", RecordProblem, ps.RecordProblem,
    "Record a problem (from 0..n tickets)",
    lambda request, state, data: RecordProblem(**asdict(data)))


PROBLEM_COMMANDS = [
    PROBLEMS.command(ClassifyProblem, ps.ClassifyProblem, "Set the category and/or priority"),
    PROBLEMS.command(LinkTicket, ps.LinkTicket, "Link a ticket (both sides, one transaction)"),
    PROBLEMS.command(LinkTickets, ps.LinkTickets, "Link several tickets in one step"),
    PROBLEMS.command(RecordRootCause, ps.RootCause, "Record (or revise) the root cause"),
    PROBLEMS.command(RecordWorkaround, ps.Workaround, "Record (or revise) the workaround"),
    PROBLEMS.command(MarkKnownError, s.Empty,
                     "Mark as a known error (needs a root cause or workaround)"),
    PROBLEMS.command(ResolveProblem, ps.ResolveProblem,
                     "Resolve, optionally naming the change that fixed it"),
    PROBLEMS.command(CloseProblem, s.Empty, "Close a resolved problem"),
]

link_problem = kit.command_route(
    "tickets", LinkProblem, ps.LinkProblem,
    "Link the ticket to a problem (both sides, one transaction)",
    respond=kit.respond_ticket, view=TicketView,
)


get_problem = PROBLEMS.read("get_problem", "A problem (optionally as of a past time)",
                            uc.get_problem, lambda p, now: ps.problem_view(p))


problem_history = PROBLEMS.history(
    "problem_history", "Every event of a problem, oldest first", uc.problem_history)


_STATUSES = {x.value for x in Status}
StatusFilter = listed(_STATUSES, "Problem status")
KnownError = choice(["true", "false"], "Known errors only (true) or none of them (false)")
TicketFilter = Annotated[str | None, QueryParameter(
    description="Problems linked to this ticket: its id or its SR-… number",
    schema_extra={"pattern": r"^(?:[Ss][Rr]-[^\x00-\x1f\x7f-\x9f]*|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}"
                             r"-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"})]
Limit = limit(50)


def _ticket_filter(desk: ServiceDesk, ref: str | None) -> str | None:
    """The ticket id a ``ticket`` filter names (an id or an ``SR-…`` number)."""
    if ref is None or not ref.strip():
        return None
    ref = ref.strip()
    if ref.upper().startswith(f"{RecordKind.SERVICE_REQUEST.value}-"):
        return str(desk.resolve_ref(ref, "ticket"))
    try:
        return str(UUID(ref))
    except ValueError:
        raise ValidationException("bad ticket", extra=[
            {"key": "ticket", "message": "a ticket id or SR-… number"}]) from None


def _known_error(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() not in ("true", "false"):
        raise ValidationException("bad known_error", extra=[
            {"key": "known_error", "message": "true or false"}])
    return value.lower() == "true"


@get(f"{kit.API}/problems", summary="List problems with filters", tags=[TAG])
@kit.threaded
def list_problems(
    state: State,
    status: StatusFilter = None,
    category: str | None = None,
    ticket: TicketFilter = None,
    known_error: KnownError = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ps.ProblemPage:
    services = kit.services_of(state)
    q = ProblemQuery(
        statuses=kit.split_values(status, "status", _STATUSES),
        categories=kit.split_values(category, "category"),
        ticket=_ticket_filter(services.desk, ticket),
        known_error=_known_error(known_error),
        limit=kit.parse_limit(limit),
        after=kit.parse_cursor(cursor),
    )
    kit.read_your_writes(services)
    page = services.problems.query(q)
    items = [ps.problem_item(r) for r in page.rows]
    return ps.ProblemPage(items=items, next_cursor=page.next_cursor, count=len(items))


HANDLERS = [record_problem, *PROBLEM_COMMANDS, link_problem, get_problem,
                    problem_history, list_problems]
