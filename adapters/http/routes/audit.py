"""``GET /api/v1/audit/verify`` (API.md "Audit", ADR 0030): recompute the store's hash chain.

``{"ok": true, "events": n, "head": "<hash>", "position": p}`` when every stored event and
chain row checks out; ``{"ok": false, "first_bad_position": n, "reason": ..., "expected": ...,
"found": ...}`` otherwise (still 200: the check itself succeeded). The check streams the store
page by page; for big stores ``?from=<position>`` checks only from there on, trusting the
chain row before it — or, with ``&anchor=<hash>``, only if that row equals a hash the caller
trusts (a head it published or verified before), which makes repeated checks incremental.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from adapters.audit.chain import verify_store
from adapters.http import kit
from adapters.http import params as p
from adapters.http.access import principal_of
from adapters.http.notes import visible_data
from adapters.http.schemas import common as s
from adapters.http.openapi.contract import also_answers
from adapters.inputs.numbers import MAX_WHOLE, NotAWholeNumber, whole_number
from domain.errors import InvalidCommand

_HASH = re.compile(r"[0-9a-fA-F]{64}")
# The parameters as the OpenAPI document states them (ADR 0044).
From = Annotated[str | None, QueryParameter(
    name="from", description="Check from this position on (1 or more)",
    schema_extra={"pattern": r"^[1-9][0-9]{0,17}$"})]
Anchor = Annotated[str | None, QueryParameter(
    description="The hash of the chain row before from (64 hex digits); only with from",
    schema_extra={"pattern": f"^{_HASH.pattern}$"})]


class AuditVerdict(msgspec.Struct, omit_defaults=True):
    """The check's answer (``application.audit.Verdict.as_dict``); the failure fields only
    when ``ok`` is false, ``anchor`` only with ``from``."""

    ok: bool
    events: int
    head: str
    position: int
    anchor: dict[str, Any] | None = None
    first_bad_position: int | None = None
    reason: str | None = None
    expected: str | None = None
    found: str | None = None


@get(f"{kit.API}/audit/verify", summary="Recompute the event log's hash chain (tamper evidence)",
     tags=["audit"], responses=also_answers(
         422, "from is not a position, or anchor not a hash or given without from"))
@kit.threaded
def audit_verify(state: State, from_: From = None, anchor: Anchor = None) -> AuditVerdict:
    start = _position(from_)
    if anchor is not None and not _HASH.fullmatch(anchor):
        raise InvalidCommand.field("anchor", "must be a hash of 64 hex digits")
    if anchor is not None and start is None:
        raise InvalidCommand.field("anchor", "only with from")
    recorder = kit.services_of(state).desk.recorder
    return AuditVerdict(**verify_store(recorder, start=start or 0, anchor=anchor).as_dict())


def _position(value: str | None) -> int | None:
    """``?from=``: a position of 1 or more (a 422 naming ``from`` otherwise)."""
    if value is None:
        return None
    try:
        return whole_number(value.strip(), low=1)
    except NotAWholeNumber:
        raise InvalidCommand.field(
            "from", f"must be a position from 1 to {MAX_WHOLE} (ASCII digits)") from None




AuditLimit = p.limit(100, clamped=True)


@get(f"{kit.API}/audit/events", summary="The global event kit.log in recorded order", tags=["audit"])
@kit.threaded
def audit_events(request: Request[Any, Any, Any], state: State, after: p.After = 0,
                 limit: AuditLimit = 100) -> s.LogPage:
    if not 0 <= after <= kit.MAX_POSITION:
        raise ValidationException("bad after", extra=[
            {"key": "after", "message": f"must be from 0 to {kit.MAX_POSITION} (a position)"}])
    desk = kit.services_of(state).desk
    reader = principal_of(request)
    items = [
        s.LogItem(
            position=n.id,
            originator_id=str(n.originator_id),
            version=n.originator_version,
            type=type(e).__name__,
            topic=n.topic,
            recorded_at=s.utc(e.timestamp) if getattr(e, "timestamp", None) else None,
            actor=getattr(e, "actor", None),
            # an internal note's text hidden from auditors (ADR 0055)
            data=s.plain(visible_data(reader, n.topic, {k: v for k, v in vars(e).items() if k not in ("originator_id", "originator_version", "timestamp")}) or {}),
        )
        for n, e in desk.read_log(after, kit.parse_limit(limit) if limit <= 500 else 500)
    ]
    return s.LogPage(items=items, last_position=items[-1].position if items else None, head=desk.max_position())


HANDLERS = [audit_events, audit_verify]
