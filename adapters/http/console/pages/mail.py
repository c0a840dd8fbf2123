"""The mail intake's quarantine on the console (ADR 0057): ``GET /ui/mail/quarantine`` lists
what the fault mailbox kept aside (newest first; ``?released=1``: the released ones too), as
``GET /api/v1/mail/quarantine`` does; each message opens as itself (``GET
/ui/mail/quarantine/{id}``: ``message/rfc822``, saved as ``<id>.eml``) and, for whom the
matrix lets release, has a button that runs the intake on it again (``POST
/ui/mail/quarantine/{id}/release``): to the ticket it became, or back to the list saying
why it stays. Each page is governed by the rule of the API operation it shows
(``OPERATION_OPT``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from adapters.http import kit
from adapters.http.access import AUDIENCE_OPT, OPERATION_OPT, STAFF
from adapters.http.console.records import page_route
from adapters.http.console.render import page
from adapters.mail.intake import MailIntake
from application.errors import RecordNotFound

API = kit.API
_Q = f"{API}/mail/quarantine"
LABEL = "quarantined mail"


@page_route("/ui/mail/quarantine", "console-mail-quarantine", operation=f"GET {_Q}")
def quarantine_list(request: Request[Any, Any, Any], state: State, released: str | None = None,
                    kept: str | None = None, reason: str | None = None) -> Template:
    """``kept``/``reason``: a release that did not get the message in (its id, why)."""
    show_all = (released or "").strip() in ("1", "true", "yes")
    rows = kit.services_of(state).quarantine.list(limit=200, released=show_all)
    return page(request, "mail/quarantine.html", items=rows, released=show_all,
                kept=(kept or "")[:100], reason=(reason or "")[:500])


@page_route("/ui/mail/quarantine/{id:str}", "console-mail-quarantined",
            operation=f"GET {_Q}/{{id}}")
def quarantined(state: State, id: str) -> Response[bytes]:
    return kit.quarantined_message(state, id)


@post("/ui/mail/quarantine/{id:str}/release", name="console-mail-release",
      include_in_schema=False, status_code=303,
      opt={OPERATION_OPT: f"POST {_Q}/{{id}}/release", AUDIENCE_OPT: STAFF})
@kit.threaded
def release(state: State, id: str) -> Redirect:
    receipt = MailIntake(kit.services_of(state)).release(id.strip())
    if receipt is None:
        raise RecordNotFound(id, LABEL)
    if receipt.ticket and receipt.outcome in ("registered", "appended", "duplicate"):
        return Redirect(f"/ui/tickets/{receipt.ticket}", status_code=303)
    return Redirect(f"/ui/mail/quarantine?kept={quote(id.strip())}"
                    f"&reason={quote(receipt.reason[:300])}", status_code=303)


HANDLERS = [quarantine_list, quarantined, release]
