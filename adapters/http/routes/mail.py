"""HTTP for the mail quarantine (ADR 0057): what the fault mailbox's intake kept aside.

``GET /api/v1/mail/quarantine`` lists the kept messages, newest first (``?released=true``:
the released ones too): when, from where (``smtp:<peer>``, ``imap:<folder>``), why, the
sender, the subject and the size. ``GET /api/v1/mail/quarantine/{id}`` answers the message
itself, byte for byte, as ``message/rfc822`` (open it in a mail client). ``POST
.../{id}/release`` runs the intake on it again without the auto-reply and loop checks (an
administrator read it and lets it in): ``200`` with the outcome and the ticket; a message that
still cannot be recorded stays in the quarantine (``outcome``: ``quarantined`` again, or
``deferred``). Administrators and managers only; ``404`` for an unknown id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from msgspec import Struct

from adapters.http import kit
from adapters.http import params as p
from adapters.http.schemas.common import copied
from adapters.mail.intake import MailIntake
from adapters.stores.quarantine import QuarantinedMail
from application.errors import RecordNotFound

TAGS = ["mail"]
LABEL = "quarantined mail"
_Q = f"{kit.API}/mail/quarantine"

Released = Annotated[bool, Parameter(description="List the released messages too")]


class QuarantinedOut(Struct, frozen=True):
    id: str
    received_at: datetime
    source: str
    reason: str
    sender: str
    subject: str
    size: int
    released_at: datetime | None
    released_outcome: str
    released_ticket: str
    raw: str  # where the message itself is


class QuarantineList(Struct, frozen=True):
    items: list[QuarantinedOut]
    count: int


class ReleaseOut(Struct, frozen=True):
    id: str
    outcome: str  # registered | appended | duplicate | quarantined | deferred
    ticket: str | None
    reason: str


def quarantined_out(row: QuarantinedMail) -> QuarantinedOut:
    return copied(
        QuarantinedOut, row,
        raw=f"{_Q}/{row.id}")


QuarantineLimit = p.limit(100, clamped=True)


@get(_Q, summary="Mail kept aside by the intake (newest first)", tags=TAGS)
@kit.threaded
def quarantine_list(state: State, released: Released = False,
                    limit: QuarantineLimit = 100) -> QuarantineList:
    rows = kit.services_of(state).quarantine.list(limit=min(limit, p.MAX_LIMIT),
                                                  released=released)
    return QuarantineList(items=[quarantined_out(r) for r in rows], count=len(rows))


@get(f"{_Q}/{{id:str}}", summary="A quarantined message, byte for byte (message/rfc822)",
     tags=TAGS, media_type="message/rfc822")
@kit.threaded
def quarantine_show(state: State, id: str) -> Response[bytes]:
    return kit.quarantined_message(state, id)


@post(f"{_Q}/{{id:str}}/release", status_code=200, tags=TAGS,
      summary="Run the intake again on a quarantined message (no auto-reply or loop checks)")
@kit.threaded
def quarantine_release(state: State, id: str) -> ReleaseOut:
    receipt = MailIntake(kit.services_of(state)).release(id.strip())
    if receipt is None:
        raise RecordNotFound(id, LABEL)
    return ReleaseOut(id=id.strip(), outcome=receipt.outcome, ticket=receipt.ticket,
                      reason=receipt.reason)


HANDLERS = [quarantine_list, quarantine_show, quarantine_release]
