"""Whether a record's state admits a command, asked before its fields are read (issue 16
item 7: errors in the order a person reads them).

A command on a record whose state forbids it is answered ``409`` first, whatever its body.
The domain checks the state first in every command, but a body the HTTP edge cannot even
decode never reaches the domain; so the edge asks :func:`check_state` before it names the
body's bad fields. The answer is the ``TransitionNotAllowed`` the domain would give for the
state: the record's ``allowed_commands``, and the reason where the domain gives one for the
state alone. Gates that are not a state (a change's reviews, a project's plan before its
acceptance) stay the command's own: they are checked after the fields, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain import announcement, article, change, problem, project, ticket
from domain import major_incident, risk  # ADR 0067
from domain import repair  # ADR 0065
from domain import agreement, complaint  # ADR 0066
from domain import spare_part  # ADR 0064
from domain.errors import TransitionNotAllowed

# Each record kind by the label its routes use, with its table of the commands each status
# admits. A command that appears in no status of the table is not governed by the state
# (e.g. ``link_problem`` on a ticket): nothing is refused here.
_KINDS: dict[str, tuple[type, Mapping[Any, tuple[str, ...]]]] = {
    "ticket": (ticket.Ticket, ticket.ALLOWED),
    "problem": (problem.Problem, problem.ALLOWED),
    "change": (change.Change, change.ALLOWED),
    "project": (project.Project, project.ALLOWED),
    "article": (article.Article, article.ALLOWED),
    "announcement": (announcement.Announcement, announcement.ALLOWED),
    "risk": (risk.Risk, risk.ALLOWED),
    "major incident": (major_incident.MajorIncident, major_incident.ALLOWED),
    "repair order": (repair.RepairOrder, repair.ALLOWED),  # ADR 0065
    "agreement": (agreement.Agreement, agreement.ALLOWED),
    "complaint": (complaint.Complaint, complaint.ALLOWED),
    "requisition": (spare_part.Requisition, spare_part.ALLOWED),  # ADR 0064
}


def state_refusal(record: Any, command: str, label: str) -> TransitionNotAllowed | None:
    """The ``409`` that ``command`` meets in ``record``'s current state, or ``None`` when the
    state admits it (or does not govern it): then its fields are looked at next."""
    kind = _KINDS.get(label)
    if kind is None or not isinstance(record, kind[0]):
        return None
    table = kind[1]
    status = record.status
    allowed = record.allowed_commands()
    if isinstance(record, ticket.Ticket):
        if command == "escalate":  # any open status (API.md), not in the table
            if status in ticket.ESCALATABLE:
                return None
            return TransitionNotAllowed(status.value, command, allowed,
                                        "only an open ticket can be escalated")
        if command == "add_information":  # any open status (ADR 0052), not in the table
            if status in ticket.TAKES_INFORMATION:
                return None
            return TransitionNotAllowed(status.value, command, allowed,
                                        ticket.NOT_OPEN_FOR_INFORMATION, record=label)
        if command == "feedback" and status is ticket.Status.CLOSED and command not in allowed:
            return TransitionNotAllowed(status.value, command, allowed,
                                        "feedback for this closure was already given")
    if command in allowed or command in table[status]:
        return None  # the state admits it; any other gate is the command's own
    if not any(command in commands for commands in table.values()):
        return None
    return TransitionNotAllowed(status.value, command, allowed, record=label)


def check_state(desk: Any, ref: str | UUID, label: str, command: str) -> None:
    """Raises the ``404`` for an unknown ``ref`` and the ``409`` of :func:`state_refusal`;
    returns when the record's state admits ``command`` (``desk``: the ``ServiceDesk``)."""
    kind = _KINDS.get(label)
    if kind is None:
        return
    refusal = state_refusal(desk.get_record(ref, kind[0], label), command, label)
    if refusal is not None:
        raise refusal
