"""Ticket feedback (客户反馈, DOMAIN §1.9) beyond the scores: the 3-working-day window and the
improvement a low score must raise (ADR 0028). Used by ``commands.tickets.GiveFeedback``.

* The window ends 3 working days after the (last passed) acceptance, at the same point of the
  working day, in the ticket's SLA calendar (the project's for project tickets); feedback after
  it is recorded all the same and flagged ``late``.
* A score ≤ 2 on any dimension needs an improvement action: the one given with the feedback,
  else an automatic one owned by the project's manager (project tickets) or the escalation
  manager of the ticket's policy, due 5 working days later. For a project ticket the project
  records it too (``ImprovementRaised``, source ``feedback``, reference the FB number), in the
  same transaction, while the project still takes improvements.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from application.commands.catalog import DEFAULT_CALENDAR
from application.projects import IMPROVEMENT_WORKING_DAYS, project_calendar
from domain.calendar import BusinessCalendar
from domain.project import LOW_SCORE, Project
from domain.ticket import Improvement, Ticket

if TYPE_CHECKING:
    from application.desk import ServiceDesk

WINDOW_WORKING_DAYS = 3


def ticket_calendar(desk: ServiceDesk, t: Ticket) -> BusinessCalendar:
    d = t.sla_deadlines
    if d is not None and desk.sla is not None:
        return desk.sla.calendar(d.calendar, d.calendar_version)[0]  # type: ignore[no-any-return]
    return project_calendar(desk, DEFAULT_CALENDAR)


def window_end(desk: ServiceDesk, t: Ticket) -> datetime | None:
    """When the ticket's feedback window closes (``None``: never accepted nor closed)."""
    accepted = [a.at for a in t.acceptances if a.passed]
    start = accepted[-1] if accepted else t.closed_at
    if start is None:
        return None
    return ticket_calendar(desk, t).add_working_days(start, WINDOW_WORKING_DAYS)


def _low(scores: tuple[Any, ...]) -> bool:
    valid = all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 5 for s in scores)
    return valid and min(scores) <= LOW_SCORE


def follow_up(
    desk: ServiceDesk, t: Ticket, scores: tuple[Any, ...], improvement: Improvement | None,
    number: str, actor: str, at: datetime,
) -> tuple[Improvement | None, tuple[Project, ...]]:
    """The improvement the feedback carries and the project changed with it (if any)."""
    if not _low(scores):
        return improvement, ()
    terms = desk.sla.project_terms(t.customer, t.reported_at) if desk.sla else None
    project: Project | None = (
        desk.get_record(terms.project_id, Project, "project") if terms else None)
    if improvement is None:
        if project is not None and project.project_manager:
            owner = project.project_manager
        else:
            owner = desk.sla.escalation_contacts(t)[0] if desk.sla else "sla-manager"
        cal = ticket_calendar(desk, t)
        due = cal.add_working_days(at, IMPROVEMENT_WORKING_DAYS)
        improvement = Improvement(
            action=f"Follow up the low feedback {number} on {t.number} with the customer and "
                   "agree corrective steps",
            owner=owner, due=due.astimezone(ZoneInfo(cal.timezone)).date())
    if project is None or "raise_improvement" not in project.allowed_commands():
        return improvement, ()
    project.raise_improvement(action=improvement.action, owner=improvement.owner,
                              due=improvement.due, source="feedback", reference=number,
                              actor=actor, at=at)
    return improvement, (project,)
