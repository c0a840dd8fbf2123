"""The field visits panel of the ticket page (ADR 0064): what ``pages/tickets.py`` hands to
``templates/visits/_ticket.html`` with one line. The forms it draws post to the routes of
``pages/field_work.py`` (``/ui/tickets/{ref}/visits`` …), which run the API's commands.

A visit's step is offered when its status admits it (``domain.visit.VISIT_ALLOWED``), the
ticket takes visits, and the caller may call the API's operation (the matrix; an engineer
only on their own visit, as the API's route checks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request

from adapters.http.access import ADMIN, DISPATCHER, ENGINEER, MANAGER, customer_side, may_call
from adapters.http.access import principal_of
from adapters.http.schemas import visits as vs
from application.visits import VisitRow
from domain.ticket import VISITS_CLOSE, VISITS_OPEN, Ticket
from domain.visit import VISIT_ALLOWED

API = "/api/v1"
STEPS = ("reschedule", "depart", "arrive", "leave")


def operation(step: str) -> str:
    if step == "plan":
        return f"POST {API}/tickets/{{ref}}/visits"
    return f"POST {API}/tickets/{{ref}}/visits/{{visit}}/{step}"


def visit_panel(request: Request[Any, Any, Any], ticket: Ticket,
                as_of: datetime | None, now: datetime) -> dict[str, Any]:
    """The ticket's visits as the panel shows them, and the forms the caller gets."""
    principal = principal_of(request)
    only_own = ENGINEER in principal.roles and not principal.roles & {DISPATCHER, MANAGER,
                                                                         ADMIN}
    items = []
    for v in ticket.visits:
        view = vs.visit_view(VisitRow(v, ticket), as_of or now, not customer_side(request))
        steps = [] if as_of else [
            s for s in STEPS if s in VISIT_ALLOWED[v.status]
            and ticket.status in (VISITS_CLOSE if s == "leave" else VISITS_OPEN)
            and may_call(principal, operation(s))
            and (not only_own or s == "reschedule" or v.engineer == principal.user_id)]
        items.append({"v": view, "steps": steps})
    may_plan = (not as_of and ticket.status in VISITS_OPEN
                and may_call(principal, operation("plan")))
    return {"items": items, "may_plan": may_plan}
