"""The work queues (API.md "Queues"; the desk's home, issue 18): which tickets a queue holds
and in which order, as one query of the ticket list's read model (``TicketQuery``), the same
for the JSON API (``GET /api/v1/queues/{name}``) and the console (``/ui/?queue=``).

A queue is a base query for the caller; the console's filters narrow it, never widen it
(``queue_query``): a status filter within an open-tickets queue keeps the statuses both
allow, an assignee filter on "mine" that names someone else leaves nothing. No aggregate is
loaded: each queue is one indexed query of the read model (``projections/ticket_list``), so a
page costs the same at a million tickets as at a hundred.

The queues:

* ``unassigned``: registered or classified, no assignee and no group (queue order);
* ``mine``: open, assigned to the caller (queue order);
* ``groups``: open, assigned to one of the caller's groups (queue order);
* ``breaching``: open, SLA state warning or breached now; the earliest due of the running
  clocks first (ADR 0017);
* ``waiting``: waiting for the customer (the SLA clocks paused; queue order);
* ``acceptance``: resolved, the customer has not accepted yet (an acceptance closes the
  ticket, a rejection returns it to work; queue order);
* ``all``: every ticket, newest first.

Orders (the read model's): ``queue`` (P1 first, then the oldest), ``newest`` (registration,
newest first), ``breaching`` (earliest due first; only tickets with SLA deadlines).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from projections.ticket_list.view import OPEN_STATUSES, TicketQuery

UNASSIGNED, MINE, GROUPS, BREACHING = "unassigned", "mine", "groups", "breaching"
WAITING, ACCEPTANCE, ALL = "waiting", "acceptance", "all"
QUEUES = (UNASSIGNED, MINE, GROUPS, BREACHING, WAITING, ACCEPTANCE, ALL)

ORDERS = ("queue", "newest", "breaching")

#: The statuses of an open ticket (neither closed nor invalid).
OPEN = tuple(s.value for s in OPEN_STATUSES)


@dataclass(frozen=True)
class Narrowing:
    """Filters over a queue (each left empty or ``None`` filters nothing); ``order`` replaces
    the queue's own order."""

    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    customer: str | None = None
    group: str | None = None
    assignee: str | None = None
    category: str | None = None
    sla_states: tuple[str, ...] = ()
    order: str | None = None


def base_query(name: str, *, user: str, groups: Iterable[str] = (), now: str | None = None,
               limit: int = 50, after: int | None = None) -> TicketQuery | None:
    """The query of queue ``name`` for the caller ``user`` (a member of ``groups``) at
    ``now`` (a ``projections.base.stamp``); ``None`` when the queue holds nothing for this
    caller (``groups`` of someone in no group). ``KeyError`` for an unknown name."""
    page = {"limit": limit, "after": after, "now": now}
    if name == UNASSIGNED:
        return TicketQuery(statuses=("registered", "classified"), unassigned=True,
                           order="queue", **page)
    if name == MINE:
        return TicketQuery(statuses=OPEN, assignee=user, order="queue", **page)
    if name == GROUPS:
        mine = tuple(sorted(set(groups)))
        return TicketQuery(statuses=OPEN, groups=mine, order="queue", **page) if mine else None
    if name == BREACHING:
        return TicketQuery(statuses=OPEN, sla_states=("warning", "breached"),
                           order="breaching", **page)
    if name == WAITING:
        return TicketQuery(statuses=("waiting_customer",), order="queue", **page)
    if name == ACCEPTANCE:
        return TicketQuery(statuses=("resolved",), order="queue", **page)
    if name == ALL:
        return TicketQuery(order="newest", **page)
    raise KeyError(name)


def queue_query(name: str, narrowing: Narrowing = Narrowing(), *, user: str,
                groups: Iterable[str] = (), now: str | None = None, limit: int = 50,
                after: int | None = None) -> TicketQuery | None:
    """Queue ``name`` (``base_query``) narrowed by ``narrowing``; ``None`` when nothing can
    match (the filters contradict the queue)."""
    q = base_query(name, user=user, groups=groups, now=now, limit=limit, after=after)
    if q is None:
        return None
    n = narrowing
    statuses = _both(q.statuses, n.statuses)
    sla_states = _both(q.sla_states, n.sla_states)
    if statuses is None or sla_states is None:
        return None
    assignee, group, groups_ = q.assignee, q.group, q.groups
    if n.assignee is not None:
        if q.unassigned or (assignee is not None and assignee != n.assignee):
            return None
        assignee = n.assignee
    if n.group is not None:
        if q.unassigned or (groups_ and n.group not in groups_):
            return None
        group, groups_ = n.group, ()
    return replace(q, statuses=statuses, sla_states=sla_states, assignee=assignee, group=group,
                   groups=groups_, priorities=n.priorities or q.priorities,
                   customer=n.customer if n.customer is not None else q.customer,
                   category=n.category if n.category is not None else q.category,
                   order=n.order or q.order)


def _both(queue: tuple[str, ...], asked: tuple[str, ...]) -> tuple[str, ...] | None:
    """What both the queue and the filter allow (``()``: anything); ``None``: nothing."""
    if not asked:
        return queue
    if not queue:
        return asked
    kept = tuple(x for x in queue if x in asked)
    return kept or None
