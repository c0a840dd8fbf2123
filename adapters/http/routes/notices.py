"""The delivery status of a ticket's notices (issue 19 item 4, ADR 0059): staff only."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get
from litestar.datastructures import State

from adapters.http import kit
from adapters.http.access import needs_masking, principal_of
from adapters.http.notices import notice_items
from adapters.http.schemas.notices import NoticeList, NoticeView


@get(f"{kit.API}/tickets/{{ref:str}}/notices", name="ticket-notices", tags=["tickets"],
     summary="The ticket's notices (mails, robots, webhooks) and how far each got: pending, "
             "sent, failed or dropped (staff)")
@kit.threaded
def ticket_notices(request: Request[Any, Any, Any], state: State, ref: str) -> NoticeList:
    services = kit.services_of(state)
    ticket = services.desk.get_ticket(ref)  # 404 for an unknown ticket
    items = notice_items(services, str(ticket.id), masked=needs_masking(principal_of(request)))
    views = [msgspec.convert(i, NoticeView) for i in items]
    return NoticeList(items=views, count=len(views))


HANDLERS = [ticket_notices]
