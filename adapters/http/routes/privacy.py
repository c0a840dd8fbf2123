"""HTTP for erasing a customer's personal data (crypto-shredding, DOMAIN §7, ADR 0034, 0043).

``POST /customers/{id}/erase_personal_data`` {``reason``, ``requested_by``} destroys the
customer's personal-data key and records the erasure: ``200`` with what it covered. A repeat
is a ``200`` with ``recorded`` false. ``legacy_plaintext_events`` counts events whose personal
data was stored before it was sealed: views show it erased from now on, but its bytes stay in
the append-only store (say so to whoever asked). ``GET /customers/{id}/erasures`` lists the
erasures recorded.
``404`` when the customer is neither registered nor named by a ticket.

Who may erase: any authenticated user for now; admin-only once roles exist (issue 7).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from msgspec import Struct

from adapters.http.schemas import common as s
from adapters.http import kit
from application.customers import CustomerNotFound
from application.privacy import ErasureResult, NoKeyStore, erase_personal_data, erasures


class EraseIn(s.Input):
    reason: s.Text
    requested_by: s.Name


class ErasureView(Struct, frozen=True):
    customer: str
    erasure_id: str
    recorded: bool
    erased_at: datetime
    tickets: int
    tickets_erased: int
    sealed_events: int
    legacy_plaintext_events: int
    destroyed_key_versions: list[int]
    note: str
    # The customer's projects, changes and requester users that got an erasure event (ADR 0043).
    projects_erased: int = 0
    changes_erased: int = 0
    users_erased: int = 0


class ErasureEntry(Struct, frozen=True):
    recorded_at: datetime
    actor: str
    reason: str
    requested_by: str
    key_versions: list[int]
    tickets_erased: int
    sealed_events: int
    legacy_plaintext_events: int
    projects_erased: int = 0  # 0 in erasures recorded before ADR 0043
    changes_erased: int = 0
    users_erased: int = 0


class ErasureList(Struct, frozen=True):
    items: list[ErasureEntry]
    count: int


def _note(r: ErasureResult) -> str:
    if r.legacy_plaintext_events:
        return (f"{r.legacy_plaintext_events} event(s) held personal data (contacts, signers, "
                "names) in plaintext, stored before it was sealed: every view now shows it "
                "erased, but the append-only store still holds their bytes (ADR 0034, 0043).")
    return "all stored personal data of this customer was sealed; its key is destroyed."


@post(f"{kit.API}/customers/{{customer:str}}/erase_personal_data",
      summary="Erase a customer's personal data (crypto-shredding)", tags=["customers"],
      status_code=200)
@kit.threaded
def erase(request: Request[Any, Any, Any], state: State, customer: str,
          data: EraseIn) -> ErasureView:
    services = kit.services_of(state)
    try:
        r = erase_personal_data(services.desk, customer, reason=data.reason,
                                requested_by=data.requested_by, actor=kit.actor_of(request))
    except CustomerNotFound as e:
        raise NotFoundException(str(e)) from None
    except NoKeyStore as e:
        raise ServiceUnavailableException(str(e)) from None
    # The answer comes once the read models have dropped what they held of the customer's
    # people (the ticket search keeps contacts, ADR 0050), as far as they can within the
    # read-your-writes wait, and the search has purged what the old values left in the files.
    kit.read_your_writes(services)
    services.ticket_search.purge()
    # Never the contact itself: only who, which customer, and the counts.
    kit.log.info("customer.erase_personal_data", customer=r.customer, actor=kit.actor_of(request),
             recorded=r.recorded, tickets_erased=r.tickets_erased,
             legacy_plaintext_events=r.legacy_plaintext_events)
    return s.copied(
        ErasureView, r,
        erasure_id=str(r.erasure_id),
        erased_at=s.utc(r.erased_at),
        destroyed_key_versions=list(r.destroyed_key_versions), note=_note(r))


@get(f"{kit.API}/customers/{{customer:str}}/erasures", summary="A customer's recorded erasures",
     tags=["customers"])
@kit.threaded
def list_erasures(state: State, customer: str) -> ErasureList:
    items = [
        ErasureEntry(recorded_at=s.utc(e.timestamp), actor=e.actor, reason=e.reason,
                     requested_by=e.requested_by, key_versions=list(e.key_versions),
                     tickets_erased=e.counts.tickets, sealed_events=e.counts.sealed_events,
                     legacy_plaintext_events=e.counts.legacy_plaintext_events,
                     projects_erased=e.counts.projects, changes_erased=e.counts.changes,
                     users_erased=e.counts.users)
        for e in erasures(kit.services_of(state).desk, customer)
    ]
    return ErasureList(items=items, count=len(items))


HANDLERS = [erase, list_erasures]
