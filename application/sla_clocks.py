"""SLA clocks on tickets: which policy, when deadlines are computed, and the clock state at a
time (issue 3 item 3 and the ``sla`` block of the ticket view; ADR 0015).

``SlaClocks`` is attached to the ``ServiceDesk`` by the composition root (``desk.sla``). The
desk calls :meth:`SlaClocks.update` after every ticket command, before the save, so the
deadlines are recorded in the same transaction as the event that changed them:

* **classified** (at registration with all five fields or with a ``priority`` given by hand,
  or by ``classify``): the policy is the
  ticket's ``sla_policy``, else its project's (with the project's calendar, ADR 0028), else the
  customer's (:attr:`SlaClocks.customer_policy`, wired to
  the registered customers by the composition root, ADR 0018), else ``default``; its current version and its calendar's
  current version give both deadlines from ``reported_at``.
* **priority_changed**: the same policy's current version and the new priority's target; the
  start depends on the rule (``same_start``: ``reported_at``, pauses kept; ``restart``: the
  time of the change). A clock that has already stopped keeps its deadline.
* **waiting_customer / acceptance_rejected / reopened** (a pause ended): the recorded policy
  and calendar *versions* again (a pause never switches a ticket to a redefined policy), with
  the new paused working time added.
* **policy_changed / calendar_changed** (:meth:`SlaClocks.refresh`, run by the watcher after a
  redefinition, ADR 0018): the current versions, the running clocks by the rule above.

Nothing is recorded when a recomputation gives the deadlines already recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from application import milestones  # milestone clocks (ADR 0062)
from application.catalog import get_calendar, get_policy
from application.commands.catalog import DEFAULT_POLICY
from application.desk import ServiceDesk
from application.errors import ApplicationError
from application.ports import HolidaySource
from domain.calendar import BusinessCalendar
from domain.customer import ContractTerms
from domain.errors import InvalidCommand
from domain.sla import CalendarRecord, PolicyDefinition, SlaPolicy, valid_slug
from domain.sla_clock import (
    ClockReading,
    DueMark,
    extend_by_pauses,
    overall_state,
    reached_marks,
    read_clock,
    target_due,
    threshold_instant,
)
from domain.ticket import SLA_CLOCKS, SlaDeadlines, Status, Ticket

SLA_ACTOR = "system:sla"
SAME_START, RESTART = "same_start", "restart"
RECOMPUTE_RULES = (SAME_START, RESTART)


@dataclass(frozen=True)
class SlaStatus:
    """The ``sla`` block of a ticket at a time (``now``)."""

    policy: str
    policy_version: int
    calendar: str
    calendar_version: int
    holiday_data: str | None
    response_due: datetime
    resolution_due: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    paused: bool
    paused_seconds: int
    state: str
    response_state: str
    resolution_state: str
    response_remaining_seconds: int
    resolution_remaining_seconds: int
    escalation_level: int = 0
    # The milestone clocks (ADR 0062): ``application.milestones.view``.
    milestones: tuple[dict[str, Any], ...] = ()


# The events after which deadlines may change: a (re)classification, and the end of a pause
# (resume, a rejected acceptance, a reopen). Stops and pause starts keep the deadlines.
_MOVES_DEADLINES = (
    Ticket.Classified,
    Ticket.PriorityGiven,  # a priority given before classification, raised by an escalation
    Ticket.Resumed,
    Ticket.AcceptanceRejected,
    Ticket.Reopened,
)


# The recomputations that follow the recompute rule (``same_start`` / ``restart``).
_RULED = ("priority_changed", "policy_changed", "calendar_changed")


class ProjectTerms(Protocol):
    """(customer id, reported at, as of) -> the project contract a ticket belongs to, from
    the contracts recorded by ``as_of`` (``None``: now)."""

    def __call__(self, customer: str, reported_at: datetime,
                 as_of: datetime | None = None) -> ContractTerms | None: ...


def _no_project(customer: str, reported_at: datetime,
                as_of: datetime | None = None) -> ContractTerms | None:
    return None


class SlaClocks:
    def __init__(
        self,
        desk: ServiceDesk,
        holidays: HolidaySource,
        *,
        rule: str = SAME_START,
        customer_policy: Callable[[str], str | None] | None = None,
        project_terms: ProjectTerms | None = None,
    ) -> None:
        if rule not in RECOMPUTE_RULES:
            raise ValueError(f"SLA recompute rule must be one of {RECOMPUTE_RULES}, not {rule!r}")
        self.desk = desk
        self.holidays = holidays
        self.rule = rule
        # Customer id -> its policy slug (or None); the composition root wires the customers.
        self.customer_policy = customer_policy or (lambda customer: None)
        # The project contract a ticket belongs to (ADR 0028); the root wires the projects.
        self.project_terms: ProjectTerms = project_terms or _no_project
        self._calendars: dict[tuple[str, int], tuple[BusinessCalendar, str | None]] = {}
        self._policies: dict[tuple[str, int], SlaPolicy] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- lookups

    def check_policy(self, slug: str) -> None:
        if not self._policy_exists(slug):
            raise InvalidCommand.field("sla_policy", f"no SLA policy {slug!r}")

    def _policy_exists(self, slug: str) -> bool:
        if not valid_slug(slug):
            return False
        try:
            get_policy(self.desk, slug)
        except ApplicationError:
            return False
        return True

    def policy_for(self, ticket: Ticket) -> str:
        """The ticket's own ``sla_policy``, else its project's, else its customer's, else
        ``default``."""
        return self.policy_source(ticket)[0]

    def policy_source(self, ticket: Ticket) -> tuple[str, str]:
        """The policy the ticket takes and who chose it: ``ticket``, ``project``,
        ``customer``, ``default``."""
        if ticket.sla_policy:
            return ticket.sla_policy, "ticket"
        terms = self.project_terms(ticket.customer, ticket.reported_at)
        if terms is not None and self._policy_exists(terms.sla_policy):
            return terms.sla_policy, "project"
        mapped = self.customer_policy(ticket.customer)
        if mapped and self._policy_exists(mapped):
            return mapped, "customer"
        return DEFAULT_POLICY, "default"

    def outdated(self, ticket: Ticket) -> str | None:
        """``policy_changed`` / ``calendar_changed`` when a running clock of the ticket cites
        an older version of its policy (or of that policy's calendar) than the current one;
        ``None`` otherwise (no deadlines, no running clock, or current)."""
        d = ticket.sla_deadlines
        if d is None or ticket.status in (Status.CLOSED, Status.INVALID):
            return None
        if ticket.first_response_at is not None and ticket.sla_resolved_at is not None:
            return None  # both clocks stopped: they keep what they were measured against
        policy = get_policy(self.desk, d.policy)
        if policy.version != d.policy_version:
            return "policy_changed"
        calendar = self.calendar_slug(ticket, policy.definition, d.policy_source)
        current = get_calendar(self.desk, calendar).version if calendar == d.calendar else None
        if current != d.calendar_version:
            return "calendar_changed"
        return None

    def refresh(self, ticket: Ticket, at: datetime) -> bool:
        """Recomputes the deadlines of a ticket whose policy or calendar was redefined (ADR
        0018) by the recompute rule; ``True`` when new deadlines were recorded."""
        reason = self.outdated(ticket)
        if reason is None:
            return False
        before = ticket.version + len(ticket.pending_events)
        self.update(ticket, at, refresh=reason)
        return ticket.version + len(ticket.pending_events) != before

    def calendar_slug(self, ticket: Ticket, definition: PolicyDefinition, chosen_by: str) -> str:
        """The calendar that governs the ticket's clocks: its project's when the project chose
        the policy (ADR 0028: the project's calendar governs its tickets), else the policy's."""
        if chosen_by == "project":
            terms = self.project_terms(ticket.customer, ticket.reported_at)
            if terms is not None:
                return terms.calendar
        return definition.calendar

    def _policy_at(self, slug: str, version: int | None) -> SlaPolicy:
        """The current policy, or that version of it (cached: a version never changes)."""
        if version is None:
            return get_policy(self.desk, slug)
        key = (slug, version)
        found = self._policies.get(key)
        if found is None:
            found = self.desk.repository.get(SlaPolicy.id_for(slug), version=version)
            with self._lock:
                self._policies.setdefault(key, found)
        return found

    def calendar(self, slug: str, version: int) -> tuple[BusinessCalendar, str | None]:
        """The calendar of that record version (+ the China days when its base is china) and
        the holiday data source used; cached (a version never changes)."""
        key = (slug, version)
        found = self._calendars.get(key)
        if found is not None:
            return found
        record: CalendarRecord = self.desk.repository.get(
            CalendarRecord.id_for(slug), version=version)
        definition = record.definition
        if definition.base == "china":
            holidays, workdays = self.holidays.china_days()
            built = (definition.calendar(holidays, workdays), self.holidays.source)
        else:
            built = (definition.calendar(), None)
        with self._lock:
            self._calendars.setdefault(key, built)
        return self._calendars[key]

    # ----------------------------------------------------------------- writes

    def update(self, ticket: Ticket, at: datetime, *, refresh: str | None = None) -> None:
        priority = ticket.priority
        if priority is None or ticket.status in (Status.INVALID, Status.AWAITING_APPROVAL):
            return  # awaiting approval: the clocks start at the approval (ADR 0061)
        if refresh is None and ticket.sla_deadlines is not None and not any(
            isinstance(e, _MOVES_DEADLINES) for e in ticket.pending_events
        ):
            return  # nothing in this command can move a deadline (a stop keeps its due)
        prev = ticket.sla_deadlines
        pinned = False
        chosen_by = prev.policy_source if prev is not None else ""
        if prev is None:
            slug, chosen_by = self.policy_source(ticket)
            reason, version = "classified", None
        elif refresh is not None:
            reason, slug, version = refresh, prev.policy, None
        elif prev.priority != priority:
            reason, slug, version = "priority_changed", prev.policy, None
        else:
            reason = ticket.clock_pauses[-1].kind if ticket.clock_pauses else "recomputed"
            slug, version, pinned = prev.policy, prev.policy_version, True
        policy = self._policy_at(slug, version)
        definition: PolicyDefinition = policy.definition
        if pinned:
            assert prev is not None
            cal_slug, cal_version = prev.calendar, prev.calendar_version
        else:
            cal_slug = self.calendar_slug(ticket, definition, chosen_by)
            cal_version = get_calendar(self.desk, cal_slug).version
        calendar, source = self.calendar(cal_slug, cal_version)
        target = definition.targets[priority.value]
        pauses = [(p.start, p.end) for p in ticket.clock_pauses]

        thresholds = tuple(definition.warning_thresholds)

        def clock(kind: str, stopped_at: datetime | None) -> tuple[datetime, datetime, int, int]:
            duration = getattr(target, kind)
            if prev is None:
                start = ticket.sla_start  # reported_at, or a catalogue request's approval
            elif reason in _RULED and self.rule == RESTART:
                start = at
            else:
                start = getattr(prev, f"{kind}_started_at")
            base = target_due(calendar, start, duration.days, duration.seconds)
            due, paused = extend_by_pauses(calendar, start, base, pauses, stopped_at)
            return start, due, calendar.working_seconds(start, base), paused

        responded = ticket.first_response_at
        resolved = ticket.sla_resolved_at
        fields: dict[str, Any] = {}
        for kind, stopped in (("response", responded), ("resolution", resolved)):
            if prev is not None and stopped is not None:
                # A stopped clock keeps the deadline it was measured against.
                for k in ("started_at", "due", "target_seconds", "paused_seconds", "target",
                          "warnings"):
                    fields[f"{kind}_{k}"] = getattr(prev, f"{kind}_{k}")
                continue
            start, due, target_seconds, paused = clock(kind, stopped)
            fields[f"{kind}_warnings"] = tuple(
                threshold_instant(calendar, start, target_seconds, th, pauses, stopped)
                for th in thresholds)
            fields[f"{kind}_started_at"] = start
            fields[f"{kind}_due"] = due
            fields[f"{kind}_target_seconds"] = target_seconds
            fields[f"{kind}_paused_seconds"] = paused
            fields[f"{kind}_target"] = getattr(target, kind).text
        deadlines = SlaDeadlines(
            policy=slug,
            policy_version=policy.version,
            calendar=cal_slug,
            calendar_version=cal_version,
            holiday_data=source,
            priority=priority,
            warning_thresholds=thresholds,
            rule=self.rule,
            reason=reason,
            policy_source=chosen_by,
            milestones=definition.milestones,  # the milestone clocks (ADR 0062)
            **fields,
        )
        if prev is not None and replace(deadlines, reason=prev.reason, rule=prev.rule,
                                        policy_source=prev.policy_source) == prev:
            return
        ticket.set_sla_deadlines(deadlines, actor=SLA_ACTOR, at=at)

    # ------------------------------------------------------------------ reads

    def status(self, ticket: Ticket, now: datetime) -> SlaStatus | None:
        """The clocks at ``now`` (the server's time, or ``as_of`` for a past view); ``None``
        while the ticket has no deadlines (no priority yet)."""
        d = ticket.sla_deadlines
        if d is None:
            return None
        calendar, _ = self.calendar(d.calendar, d.calendar_version)
        paused = ticket.status is Status.WAITING_CUSTOMER and ticket.waiting_since is not None
        # A paused clock stands still where the pause began.
        at = ticket.waiting_since if paused and ticket.waiting_since is not None else now
        ongoing = calendar.working_seconds(at, now) if paused else 0
        responded = ticket.first_response_at
        resolved = ticket.sla_resolved_at
        response: ClockReading = read_clock(
            calendar, d.response_due, d.response_target_seconds, at, responded,
            d.warning_thresholds)
        resolution: ClockReading = read_clock(
            calendar, d.resolution_due, d.resolution_target_seconds, at, resolved,
            d.warning_thresholds)
        return SlaStatus(
            policy=d.policy,
            policy_version=d.policy_version,
            calendar=d.calendar,
            calendar_version=d.calendar_version,
            holiday_data=d.holiday_data,
            response_due=d.response_due,
            resolution_due=d.resolution_due,
            responded_at=responded,
            resolved_at=resolved,
            paused=paused,
            paused_seconds=d.resolution_paused_seconds + ongoing,
            state=overall_state(response, resolution),
            response_state=response.state,
            resolution_state=resolution.state,
            response_remaining_seconds=response.remaining_seconds,
            resolution_remaining_seconds=resolution.remaining_seconds,
            escalation_level=getattr(ticket, "escalation_level", 0),
            milestones=tuple(milestones.view(self, ticket, now)),
        )

    # ------------------------------------------------- time-driven events (ADR 0016)

    def warning_instants(self, ticket: Ticket, clock: str) -> tuple[datetime, ...]:
        """The recorded instants of the clock's warnings, or (deadlines recorded before
        ADR 0016) the same computation done now from the recorded versions."""
        d = ticket.sla_deadlines
        assert d is not None
        recorded = d.warnings(clock)
        if recorded or not d.warning_thresholds:
            return recorded
        calendar, _ = self.calendar(d.calendar, d.calendar_version)
        pauses = [(p.start, p.end) for p in ticket.clock_pauses]
        start = getattr(d, f"{clock}_started_at")
        target = getattr(d, f"{clock}_target_seconds")
        return tuple(threshold_instant(calendar, start, target, th, pauses)
                     for th in d.warning_thresholds)

    def reached(self, ticket: Ticket, now: datetime) -> list[DueMark]:
        """The warnings and breaches of the ticket's running clocks reached by ``now`` and
        not yet recorded, oldest first (ties: warnings before the breach)."""
        d = ticket.sla_deadlines
        if d is None or ticket.status in (Status.CLOSED, Status.INVALID):
            return []
        paused_since = ticket.waiting_since if ticket.status is Status.WAITING_CUSTOMER else None
        stops = {"response": ticket.first_response_at, "resolution": ticket.sla_resolved_at}
        marks: list[DueMark] = []
        for clock in SLA_CLOCKS:
            for m in reached_marks(clock, d.due(clock), d.warning_thresholds,
                                   self.warning_instants(ticket, clock), now, paused_since,
                                   stops[clock]):
                kind = "breach" if m.breach else "warning"
                if (kind, clock, m.threshold, m.occurred_at) not in ticket.sla_marks:
                    marks.append(m)
        return sorted(marks)

    def escalation_contacts(self, ticket: Ticket) -> tuple[str, str]:
        """The pre-set manager and expert of the ticket's policy (DOMAIN §2): the version its
        deadlines cite, else the policy it would get now."""
        d = ticket.sla_deadlines
        if d is not None:
            policy = self._policy_at(d.policy, d.policy_version)
        else:
            policy = self._policy_at(self.policy_for(ticket), None)
        e = policy.definition.escalation
        return e.manager, e.expert
