"""Who reads which notes of a ticket (issue 19 item 2, ADR 0055): the one filter that every
answer carrying a ticket's events goes through -- ``GET /tickets/{ref}/history``, the audit
log (``GET /audit/events``), the desk's ticket page and the portal's.

A note is ``Ticket.CommentAdded``; its ``visibility`` is ``public`` or ``internal``. Who reads
an internal note (``sees_internal``): the staff who work tickets (agent, dispatcher,
engineer, manager) and admins. Everyone else reads public notes only:

- a **requester** never learns that an internal note exists: the event is left out
  (``visible_history``, ``visible_data`` answer ``None``), as the customer of Request Tracker
  or Zammad never sees an internal article. A user who is a requester is never shown one,
  whatever other role they hold (their words are the customer's);
- an **auditor** (with no role that works tickets) reads the process record complete: the
  event stays, so versions and positions have no gap and an auditor replaying the log never
  "misses" one, with who wrote it (``actor``), when, its ``visibility``, ``author`` and
  ``via`` -- and
  every other field (the text, the sender, the message id, the attached files' ids) read
  ``[hidden]``, as a password's hash reads in the same answers (``application.desk.HIDDEN``).
  Fields a later version adds are hidden too: only ``SHOWN`` is shown.

The chain (``GET /audit/verify``) is recomputed on the server from the stored bytes, so it is
not affected; the audit bundle is the operator's export (CLI), not a role's answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.http.access import ADMIN, AGENT, DISPATCHER, ENGINEER, MANAGER, REQUESTER
from application.desk import HIDDEN
from application.identities import Principal
from domain.ticket import Ticket, Visibility

#: The stored topic of a note.
NOTE_TOPIC = Ticket.CommentAdded.TOPIC
#: The roles that read internal notes (and write them, ``access.RULES``).
INTERNAL_READERS = frozenset({AGENT, DISPATCHER, ENGINEER, MANAGER, ADMIN})
#: What an auditor reads of an internal note: that it was written, how, and by which side.
SHOWN = frozenset({"visibility", "author", "via", "actor"})
#: The desk's own words in a field visit's events, hidden from requesters (ADR 0064).
VISIT_INTERNAL = {Ticket.VisitPlanned.TOPIC: "note", Ticket.VisitRescheduled.TOPIC: "reason"}


def sees_internal(principal: Principal) -> bool:
    """Whether ``principal`` reads internal notes (see the module's docstring)."""
    if ADMIN in principal.roles:
        return True
    return REQUESTER not in principal.roles and bool(principal.roles & INTERNAL_READERS)


def internal(topic: str, data: Mapping[str, Any]) -> bool:
    """Whether an event (its ``topic`` and data) is a note that is not public: anything but
    ``visibility: public`` counts as internal (fail closed)."""
    return topic == NOTE_TOPIC and data.get("visibility") != Visibility.PUBLIC.value


def visible_data(principal: Principal, topic: str,
                 data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """An event's data as ``principal`` may read it: as it is, with an internal note's
    fields hidden (auditors), or ``None`` when the event is left out (requesters)."""
    if topic in VISIT_INTERNAL and REQUESTER in principal.roles and not sees_internal(principal):
        return {**data, VISIT_INTERNAL[topic]: HIDDEN}  # a field visit's desk notes (0064)
    if not internal(topic, data) or sees_internal(principal):
        return data
    if REQUESTER in principal.roles:
        return None
    return {k: (v if k in SHOWN else HIDDEN) for k, v in data.items()}


def visible_history(principal: Principal, entries: Iterable[Any]) -> list[Any]:
    """A record's history (``application.desk.HistoryEntry`` items) as ``principal`` may
    read it (``visible_data`` for each)."""
    shown = []
    for entry in entries:
        data = visible_data(principal, entry.topic, entry.data)
        if data is None:
            continue
        shown.append(entry if data is entry.data else dataclasses.replace(entry, data=data))
    return shown
