"""The customers' portal (``/portal/``): a requester's own organisation's tickets."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from adapters.http import kit
from adapters.http.access import AUDIENCE_OPT, OPERATION_OPT, PORTAL, scoped_customer
from adapters.http.console.render import page
from projections.ticket_list.view import TicketQuery


@get("/portal/", name="console-portal", include_in_schema=False,
     opt={OPERATION_OPT: f"GET {kit.API}/tickets", AUDIENCE_OPT: PORTAL})
@kit.threaded
def portal_home(request: Request[Any, Any, Any], state: State) -> Template:
    services = kit.services_of(state)
    customer = scoped_customer(request, None)
    rows = services.tickets.query(TicketQuery(order="newest", customer=customer, limit=50)).rows
    return page(request, "portal/home.html", tickets=[dict(r) for r in rows])


HANDLERS = [portal_home]
