"""The ticket search read model (issue 18, ADR 0050): one row per ticket with the text a desk
searches -- number, title, description, work log, resolution, affected system, customer --
and, apart, the contact's name, phone and e-mail, which only staff who see contacts search.

``apply`` computes a row from the row as it stands (or ``None``) and one ticket event. The
status follows ``projections.ticket_list.projection.status_after`` (the list's own handlers),
so the two read models cannot disagree about it.

**Personal data** (ADR 0034, 0043). The contact is the customer's personal data: the row
keeps it only while it can be read. A contact already erased when the registration is read
(a rebuild after the erasure) is stored empty; ``Ticket.ContactErased`` empties it, and
erases the signer's name from an old routine ticket's description as the event mapper does
(``domain.privacy.without_routine_signer``). The customer's other words (interface person,
signers, feedback, added information) are never read. The SQL views also make sure that the
erased values do not linger in the database's bytes (``sql.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, TypedDict

from domain.privacy import names_routine_signer, without_routine_signer
from domain.ticket import Ticket
from projections.base import stamp
from projections.knowledge.search import fold
from projections.ticket_list.projection import row_key, status_after

NAME = "ticket_search"
# Bump when the row shape, the folding or the handlers change: the runner rebuilds the view.
VERSION = 7  # 2, 3: the SQL views index two-character windows (search.pairs); 4: contact
# digests; 5: SQLite indexes the contact's digests as whole words; 6: the windows in a column
# of their own, SQLite indexes them as words (ADR 0077); 7: PostgreSQL indexes the windows and
# the contact's digests as arrays of words (ADR 0081)


class TicketSearchRow(TypedDict):
    id: str
    seq: int  # log position of the registration: a stable ordering key (newest first)
    number: str
    customer: str
    status: str
    title: str
    description: str
    affected_system: str
    work_log: str  # JSON list of the work-log texts (what was done; a workaround), oldest first
    resolution: str  # the resolution and its root cause, one a line ("" until resolved)
    contact_name: str  # the value's tokens (``contact_tokens``), never the value; "" once erased
    contact_phone: str
    contact_email: str
    source: str  # what opened the ticket when not a person ("" for a person)
    recorded_at: str
    updated_at: str
    version: int


COLUMNS: tuple[str, ...] = tuple(TicketSearchRow.__annotations__)

T = Ticket
# Events that only move the status (by the ticket list's handlers).
_STATUS_EVENTS = (T.Invalidated, T.Classified, T.Assigned, T.Started, T.CustomerAwaited,
                  T.Resumed, T.AcceptanceConfirmed, T.AcceptanceRejected, T.Reopened,
                  T.ServiceRequested, T.Approved, T.ApprovalRejected)  # ADR 0061
TOPICS = frozenset(cls.TOPIC for cls in (T.Registered, T.WorkLogged, T.Resolved,
                                         T.ContactErased, *_STATUS_EVENTS))

# The fields ``apply`` reads, per topic: the runner decodes only these (ADR 0005). The status
# handlers of the ticket list read ``classification``, ``assignee`` and ``group``; no personal
# field but the registration's contact is ever decoded (an acceptance's signer is not).
FIELDS: dict[str, frozenset[str]] = {topic: frozenset({"timestamp"}) for topic in TOPICS} | {
    T.Registered.TOPIC: frozenset({"timestamp", "number", "customer", "contact", "title",
                                   "description", "affected_system", "source"}),
    T.Classified.TOPIC: frozenset({"timestamp", "classification"}),
    T.Assigned.TOPIC: frozenset({"timestamp", "assignee", "group"}),
    T.WorkLogged.TOPIC: frozenset({"timestamp", "entry"}),
    T.Resolved.TOPIC: frozenset({"timestamp", "resolution"}),
    T.ServiceRequested.TOPIC: frozenset({"timestamp", "approval"}),  # ADR 0061
    T.Approved.TOPIC: frozenset({"timestamp", "status"}),
}


def text_of(row: TicketSearchRow) -> str:
    """The folded text every caller may search (``knowledge.search.fold``: NFKC, lower case,
    length kept), one field a line: a term never holds a line break, so no match spans two
    fields."""
    return fold("\n".join((row["number"], row["title"], row["affected_system"], row["customer"],
                           row["description"], *work_log(row), row["resolution"])))


def contact_of(row: TicketSearchRow) -> str:
    """The contact's search tokens (name, phone, e-mail; ``contact_tokens``): searched only
    for staff who see contacts."""
    return " ".join(v for v in (row["contact_name"], row["contact_phone"],
                                row["contact_email"]) if v)


def contact_token(term: str) -> str:
    """What a folded search term (or a folded contact value) is stored and looked up as
    among a contact's tokens: a digest, never the value (ADR 0050 amended: the contact is
    sealed in the log, ADR 0034, and no read model keeps it in clear)."""
    if _PHONE_LIKE.match(term):
        term = "".join(ch for ch in term if ch.isdigit())  # 138-0000-5678 is 13800005678
    return "k" + hashlib.sha256(("opsledger-contact\n" + term).encode()).hexdigest()[:24]


_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]*\d[\d\s().-]*$")


def contact_tokens(value: str, kind: str) -> str:
    """The tokens of one contact value: the whole value folded; a phone also by its digits
    and their last four and eight; an e-mail also by its local part. Not remembered across
    calls (ADR 0082): a cache would keep contact values in clear in a server's memory after
    their erasure (ADR 0034, 0043)."""
    folded = fold(value).strip()
    if not folded:
        return ""
    keys = {folded}
    if kind == "phone":
        digits = "".join(ch for ch in folded if ch.isdigit())
        keys |= {d for d in (digits, digits[-4:], digits[-8:]) if len(d) >= 4}
    elif kind == "email":
        keys.add(folded.partition("@")[0])
    return " ".join(sorted(contact_token(k) for k in keys if k))


def work_log(row: TicketSearchRow) -> list[str]:
    return list(json.loads(row["work_log"]))


def _registered(e: Any, position: int, when: Any = stamp) -> TicketSearchRow:
    contact = e.contact
    erased = contact.erased
    at = when(e.timestamp)
    return TicketSearchRow(
        id=row_key(e.originator_id), seq=position, number=e.number, customer=e.customer,
        status="registered", title=e.title, description=e.description,
        affected_system=e.affected_system, work_log="[]", resolution="",
        contact_name="" if erased else contact_tokens(contact.name, "name"),
        contact_phone="" if erased else contact_tokens(contact.phone or "", "phone"),
        contact_email="" if erased else contact_tokens(contact.email or "", "email"),
        source=getattr(e, "source", None) or "", recorded_at=at, updated_at=at,
        version=e.originator_version)


def _erased(row: dict[str, Any]) -> None:
    row.update(contact_name="", contact_phone="", contact_email="")
    if names_routine_signer(row["source"], row["description"]):
        row["description"] = without_routine_signer(row["description"])


def apply(row: TicketSearchRow | None, event: Any, position: int,
          when: Any = stamp) -> TicketSearchRow | None:
    """The row after ``event`` (``None`` if the row cannot exist yet); a given row is updated
    in place and returned. An event not newer than the row changes nothing.

    ``when`` makes the stored times of an event's timestamp (``stamp``); a bulk fold gives
    ``keep``, which keeps the ``datetime``, and stamps only the row's last ones (``stamped``):
    one ``isoformat`` a row, not one an event (ADR 0082)."""
    kind = type(event)
    if row is None:
        return _registered(event, position, when) if kind is T.Registered else None
    if event.originator_version <= row["version"]:
        return row  # already applied: a view fed the same event twice is unchanged
    new: dict[str, Any] = row  # type: ignore[assignment]
    if kind is T.WorkLogged:
        entry = event.entry
        texts = [t for t in (entry.action, entry.workaround) if t]
        new["work_log"] = json.dumps([*work_log(row), *texts], ensure_ascii=False)
    elif kind is T.Resolved:
        r = event.resolution
        new["resolution"] = "\n".join(t for t in (r.resolution, r.root_cause) if t)
    elif kind is T.ContactErased:
        _erased(new)
    new["status"] = status_after(row["status"], event)
    new["updated_at"] = when(event.timestamp)
    new["version"] = event.originator_version
    return row


def keep(value: Any) -> Any:
    """``apply``'s ``when`` in a bulk fold: the timestamp as it is, stamped by ``stamped``."""
    return value


def stamped(row: dict[str, Any]) -> dict[str, Any]:
    """A row folded with ``when=keep``, its times as ``stamp`` makes them (in place)."""
    row["recorded_at"] = stamp(row["recorded_at"])
    row["updated_at"] = stamp(row["updated_at"])
    return row
