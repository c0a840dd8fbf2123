"""The desk's home (``/ui/``): the work queues."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from adapters.http import kit
from adapters.http.access import AUDIENCE_OPT, OPERATION_OPT, STAFF
from adapters.http.console.render import page
from projections.ticket_list.view import TicketQuery


@get("/ui/", name="console-desk", include_in_schema=False,
     opt={OPERATION_OPT: f"GET {kit.API}/tickets", AUDIENCE_OPT: STAFF})
@kit.threaded
def desk_home(request: Request[Any, Any, Any], state: State) -> Template:
    services = kit.services_of(state)
    rows = services.tickets.query(TicketQuery(order="newest", limit=50)).rows
    return page(request, "desk/home.html", tickets=[dict(r) for r in rows])


HANDLERS = [desk_home]
