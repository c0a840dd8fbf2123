"""Service reports of a delivery project for a period, as of a recorded time (ADR 0029;
DOMAIN §5 reports, §6 statistics; field list in docs/reports.md).

As-of correctness: the report as of ``T`` is the report that would have been produced at
recorded time ``T``. The read models only *propose* candidates (the customer's tickets, the
changes); every record counted is replayed from its own events with ``timestamp <= T``, and
one that did not exist at ``T`` drops out. Times that people claim (``reported_at``,
``run_at``) decide the period; recorded times decide what is known. Every clock is read at
``T`` with the SLA engine (``SlaClocks.status``), never at the wall clock.

What belongs to the project (ADR 0029): the customer's tickets reported during the contract
(and, for the report, during the period); the problems linked to those tickets; the changes
requested in the period whose origin is the project, one of its tickets or those problems,
or (follow-ups) one of those changes; the project's own routine runs and surveys.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from application.major_incidents import incident_figures  # ADR 0067
from application.risks import risk_figures  # ADR 0067
from application.complaints import complaint_section  # ADR 0066
from application.field_work import field_work  # ADR 0064
from application.milestone_report import in_report as with_milestones  # ADR 0062
from application.catalog import get_calendar
from application.desk import ServiceDesk
from application.errors import ApplicationError, RecordNotFound
from application.recurrence import grace_end, occurrences
from application.report_model import (
    PRIORITIES,
    REPORT_VERSION,
    ChangeItem,
    Changes,
    Compliance,
    LowScore,
    MajorIncident,
    MajorIncidents,
    PeriodInfo,
    ProblemItem,
    Problems,
    ProjectInfo,
    Reopens,
    ResolutionTimes,
    RoutineRun,
    Routines,
    Satisfaction,
    Scores,
    ServiceReport,
    SlaFigures,
    TicketVolumes,
    Workload,
)
from application.report_period import Period, parse_period
from application.sla_clocks import SlaStatus
from application.sla_compliance import percent
from domain.calendar import BusinessCalendar
from domain.change import PRE_START, Change
from domain.change import Status as ChangeStatus
from domain.errors import InvalidCommand
from domain.problem import Problem
from domain.problem import Status as ProblemStatus
from domain.project import Project, Survey, Verdict
from domain.sla_clock import BREACHED, MET
from domain.ticket import Feedback, Status, Ticket
from projections.change_list.view import ChangeListView, ChangeQuery
from projections.ticket_list.view import TicketListView, TicketQuery

DEFAULT_TIMEZONE = "Asia/Shanghai"
PAGE = 500
LOW_SCORE = 2  # a dimension at or below this is a low score (issue 5 item 3)


# ------------------------------------------------------------------ helpers


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def p90(values: list[int]) -> int | None:
    """The 90th percentile by nearest rank: the ⌈0.9·n⌉-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def _parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _load(desk: ServiceDesk, ref: Any, kind: type, label: str, at: datetime) -> Any:
    """The record as it stood at ``at`` (``None`` when it did not exist yet): the cached
    current record when nothing was recorded on it after ``at``, else a replay to ``at``."""
    try:
        record = desk.get_record(str(ref), kind, label)
        if record.modified_on > at:
            record = desk.get_record(str(ref), kind, label, at)
        return record
    except RecordNotFound:
        return None


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))


# ------------------------------------------------------------------ the report


@dataclass(frozen=True)
class _Ticket:
    ticket: Ticket
    sla: SlaStatus | None
    resolution_seconds: int | None  # working time reported -> resolved, pauses excluded


class ReportBuilder:
    """Builds :class:`ServiceReport`; ``tickets`` and ``changes`` are the read models that
    propose candidates (the composition root's views)."""

    def __init__(self, desk: ServiceDesk, tickets: TicketListView, changes: ChangeListView) -> None:
        if desk.sla is None:
            raise ApplicationError("reports need the SLA clocks (desk.sla)")
        self.desk = desk
        self.tickets = tickets
        self.changes = changes

    def build(self, project: str, period: str, as_of: datetime | None = None) -> ServiceReport:
        now = self.desk.clock.now()
        if as_of is not None:
            if as_of.tzinfo is None:
                raise InvalidCommand.field("as_of", "needs a UTC offset")
            if as_of > now:
                raise InvalidCommand.field("as_of", "may not be in the future")
        at = as_of or now
        facts: Project = self.desk.get_record(project, Project, "project", at)
        calendar = self._calendar(facts.calendar, at)
        timezone = calendar.timezone if calendar else DEFAULT_TIMEZONE
        p = parse_period(period, timezone)
        tz = ZoneInfo(timezone)
        contract = (_day_start(facts.contract_start, tz),
                    _day_start(facts.contract_end + timedelta(days=1), tz))
        window = (max(p.start, contract[0]), min(p.end, contract[1]))
        contract_ids, rows = self._ticket_rows(facts.customer, contract, window)
        tickets = [self._ticket(t, at) for t in (
            _load(self.desk, r["id"], Ticket, "ticket", at) for r in rows) if t is not None]
        problems = self._problems(tickets, at)
        return ServiceReport(
            report="service-report",
            version=REPORT_VERSION,
            project=ProjectInfo(
                id=str(facts.id), number=facts.number, name=facts.name, customer=facts.customer,
                contract_number=facts.contract_number, contract_start=facts.contract_start,
                contract_end=facts.contract_end, calendar=facts.calendar,
                sla_policy=facts.sla_policy),
            period=PeriodInfo(label=p.label, kind=p.kind, start=p.start, end=p.end,
                              timezone=timezone, summary_due=p.summary_due),
            as_of=at.astimezone(tz),
            generated_at=at.astimezone(tz),
            tickets=volumes(tickets),
            sla=with_milestones(sla_figures(tickets), self.desk.sla, tickets, at),
            resolution_time=resolution_times(tickets),
            first_contact_resolved=_first_contact(tickets),
            first_contact_resolution_pct=percent(_first_contact(tickets), _resolved_count(tickets)),
            reopens=reopens(tickets),
            satisfaction=satisfaction(tickets, facts.surveys, p),
            major_incidents=major_incidents(tickets, tz),
            problems=problems_block(problems, tickets),
            changes=self._changes(facts, contract_ids, problems, p, at),
            routines=routines(facts, calendar, window, at, tz),
            workload=workload(tickets),
            risks=risk_figures(self.desk, facts.customer, p.start, p.end, at),  # ADR 0067
            incident_records=incident_figures(self.desk, facts.customer, p.start, p.end, at),
            complaints=complaint_section(self.desk, facts.customer, p.start, p.end, at),
            field_work=field_work(self.desk, facts.customer, p.start, p.end, at),  # 0064
        )

    # ------------------------------------------------------------- candidates

    def _calendar(self, slug: str, at: datetime) -> BusinessCalendar | None:
        """The project's calendar as defined at ``at`` (``None`` when it is unknown)."""
        assert self.desk.sla is not None
        try:
            version = get_calendar(self.desk, slug, at).version
        except (ApplicationError, InvalidCommand):
            return None
        return self.desk.sla.calendar(slug, version)[0]

    def _ticket_rows(
        self, customer: str, contract: tuple[datetime, datetime],
        window: tuple[datetime, datetime],
    ) -> tuple[set[str], list[Any]]:
        """The ids of the customer's tickets reported during the contract, and the rows of
        those reported in ``window`` (oldest registration first)."""
        contract_ids: set[str] = set()
        rows: list[Any] = []
        after: int | None = None
        while True:
            page = self.tickets.query(TicketQuery(customer=customer, limit=PAGE, after=after))
            for row in page.rows:
                reported = _parse_stamp(row["reported_at"])
                if contract[0] <= reported < contract[1]:
                    contract_ids.add(str(row["id"]))
                    if window[0] <= reported < window[1]:
                        rows.append(row)
            if page.next_cursor is None:
                break
            after = int(page.next_cursor)
        rows.sort(key=lambda r: r["seq"])
        return contract_ids, rows

    def _ticket(self, t: Ticket, at: datetime) -> _Ticket:
        assert self.desk.sla is not None
        return _Ticket(t, self.desk.sla.status(t, at), self._resolution_seconds(t))

    def _resolution_seconds(self, t: Ticket) -> int | None:
        """Working seconds from ``reported_at`` to the standing resolution on the calendar
        the ticket's deadlines cite, minus the working time of its clock pauses (waiting
        for the customer; a resolution later rejected or reopened) — the time the SLA
        resolution clock ran."""
        d = t.sla_deadlines
        resolved = t.sla_resolved_at if t.status is not Status.INVALID else None
        if d is None or resolved is None or self.desk.sla is None:
            return None
        calendar, _ = self.desk.sla.calendar(d.calendar, d.calendar_version)
        start = t.reported_at
        total = calendar.working_seconds(start, resolved) if resolved > start else 0
        paused = 0
        for pause in t.clock_pauses:
            a, b = max(pause.start, start), min(pause.end, resolved)
            if b > a:
                paused += calendar.working_seconds(a, b)
        return max(total - paused, 0)

    def _problems(self, tickets: list[_Ticket], at: datetime) -> list[Problem]:
        ids: dict[str, None] = {}
        for x in tickets:
            ids.update(dict.fromkeys(x.ticket.problems))
        found = (_load(self.desk, pid, Problem, "problem", at) for pid in ids)
        return sorted((p for p in found if p is not None), key=lambda p: p.number)

    def _change_rows(self) -> Iterator[Any]:
        after: int | None = None
        while True:
            page = self.changes.query(ChangeQuery(limit=PAGE, after=after))
            yield from page.rows
            if page.next_cursor is None:
                return
            after = int(page.next_cursor)

    def _changes(
        self, facts: Project, contract_ids: set[str], problems: list[Problem],
        p: Period, at: datetime,
    ) -> Changes:
        rows = list(self._change_rows())
        origins = {str(facts.id), facts.number, *contract_ids, *(str(x.id) for x in problems)}
        members: set[str] = set()
        grew = True
        while grew:  # follow-ups of follow-ups: until nothing is added
            grew = False
            for r in rows:
                if r["id"] not in members and (r["origin_id"] in origins
                                               or r["origin_number"] in origins):
                    members.add(r["id"])
                    origins.update((r["id"], r["number"]))
                    grew = True
        chosen = [r for r in rows if r["id"] in members
                  and p.start <= _parse_stamp(r["requested_at"]) < p.end]
        loaded = (_load(self.desk, r["id"], Change, "change", at) for r in chosen)
        return changes_block(sorted((c for c in loaded if c is not None), key=lambda c: c.number))


# ------------------------------------------------------------------ figures


def _valid(tickets: Iterable[_Ticket]) -> list[_Ticket]:
    return [x for x in tickets if x.ticket.status is not Status.INVALID]


def _resolved(tickets: Iterable[_Ticket]) -> list[_Ticket]:
    """Tickets whose resolution stands at ``T`` (resolved, or closed after acceptance)."""
    return [x for x in tickets
            if x.ticket.status in (Status.RESOLVED, Status.CLOSED) and x.ticket.resolution]


def _resolved_count(tickets: list[_Ticket]) -> int:
    return len(_resolved(tickets))


def _first_contact(tickets: list[_Ticket]) -> int:
    return sum(1 for x in _resolved(tickets) if x.ticket.resolution.first_contact)  # type: ignore[union-attr]


def volumes(tickets: list[_Ticket]) -> TicketVolumes:
    valid = _valid(tickets)
    status = Counter(str(x.ticket.status) for x in tickets)
    classified = [x.ticket.classification for x in valid if x.ticket.classification]
    # By current priority: a classification's, or one given before it (issue 16 item 4).
    prioritised = [str(x.ticket.priority) for x in valid if x.ticket.priority is not None]
    by_priority = Counter({p: 0 for p in PRIORITIES})
    by_priority.update(prioritised)
    return TicketVolumes(
        total=len(tickets),
        valid=len(valid),
        invalid=len(tickets) - len(valid),
        open=sum(n for s, n in status.items() if s not in ("resolved", "closed", "invalid")),
        resolved=status["resolved"],
        closed=status["closed"],
        unclassified=len(valid) - len(prioritised),  # without a priority (docs/reports.md)
        by_priority=dict(sorted(by_priority.items())),
        by_type=_sorted(Counter(str(c.type) for c in classified)),
        by_category=_sorted(Counter(c.category for c in classified)),
        by_channel=_sorted(Counter(str(x.ticket.channel) for x in valid)),
        by_status=_sorted(status),
    )


def _compliance(tickets: list[_Ticket]) -> Compliance:
    """The SLA engine's clock states at ``T``: met = stopped in time, missed = stopped late
    or still running past its due, pending = still running within it (left out of the %)."""
    states = [x.sla for x in tickets if x.sla is not None]
    counts = {}
    for clock in ("response", "resolution"):
        s = [getattr(st, f"{clock}_state") for st in states]
        met, missed = s.count(MET), s.count(BREACHED)
        counts[clock] = (met, missed, len(s) - met - missed, percent(met, met + missed))
    r, z = counts["response"], counts["resolution"]
    return Compliance(
        tickets=len(states), response_met=r[0], response_missed=r[1], response_pending=r[2],
        response_met_pct=r[3], resolution_met=z[0], resolution_missed=z[1],
        resolution_pending=z[2], resolution_met_pct=z[3])


def sla_figures(tickets: list[_Ticket]) -> SlaFigures:
    valid = _valid(tickets)
    total = _compliance(valid)
    by_priority = {p: _compliance([x for x in valid if str(x.ticket.priority) == p])
                   for p in PRIORITIES}
    return SlaFigures(**{f: getattr(total, f) for f in total.__struct_fields__},
                      by_priority=by_priority)


def resolution_times(tickets: list[_Ticket]) -> ResolutionTimes:
    seconds = [x.resolution_seconds for x in _resolved(tickets) if x.resolution_seconds is not None]
    return ResolutionTimes(
        resolved=len(seconds),
        mean_working_hours=hours(sum(seconds) / len(seconds)) if seconds else None,
        p90_working_hours=hours(p90(seconds)),
        max_working_hours=hours(max(seconds)) if seconds else None,
    )


def reopens(tickets: list[_Ticket]) -> Reopens:
    once = [x.ticket for x in _valid(tickets) if x.ticket.resolution is not None]
    reopened = sum(1 for t in once if t.reopen_count > 0)
    return Reopens(resolved_once=len(once), reopened=reopened,
                   reopen_pct=percent(reopened, len(once)),
                   acceptance_rejected=sum(1 for t in once
                                           if any(not a.passed for a in t.acceptances)))


def _scores(rows: list[tuple[int, int, int]]) -> Scores:
    n = len(rows)

    def mean(values: Iterable[int], count: int) -> float | None:
        return round(sum(values) / count, 2) if count else None

    return Scores(
        responses=n,
        timeliness=mean((r[0] for r in rows), n),
        effectiveness=mean((r[1] for r in rows), n),
        attitude=mean((r[2] for r in rows), n),
        mean=mean((s for r in rows for s in r), 3 * n),
    )


def satisfaction(tickets: list[_Ticket], surveys: Iterable[Survey], p: Period) -> Satisfaction:
    """Feedback (FB) given by ``T`` on the period's tickets, and the project surveys recorded
    in the period; means per dimension and overall (all scores / 3n)."""
    feedback: list[Feedback] = [f for x in tickets for f in x.ticket.feedbacks]
    in_period = [s for s in surveys if p.start <= s.recorded_at < p.end]
    fb_rows = [(f.timeliness, f.effectiveness, f.attitude) for f in feedback]
    sv_rows = [(s.timeliness, s.effectiveness, s.attitude) for s in in_period]
    late = [f.number for f in feedback if f.late]  # FeedbackGiven carries the flag
    low = [LowScore(source="ticket", reference=f.number, mean=f.mean, late=f.late)
           for f in feedback if min(f.timeliness, f.effectiveness, f.attitude) <= LOW_SCORE]
    low += [LowScore(source="survey", reference=f"survey {s.recorded_at.isoformat()}",
                     mean=round((s.timeliness + s.effectiveness + s.attitude) / 3, 2), late=False)
            for s in in_period if min(s.timeliness, s.effectiveness, s.attitude) <= LOW_SCORE]
    both = _scores(fb_rows + sv_rows)
    return Satisfaction(
        **{f: getattr(both, f) for f in both.__struct_fields__},
        ticket_feedback=_scores(fb_rows), surveys=_scores(sv_rows),
        late_feedback=len(late), late_items=sorted(late), low_scores=low)


def major_incidents(tickets: list[_Ticket], tz: ZoneInfo) -> MajorIncidents:
    """Major incidents (重大维护): the period's valid tickets at P1 at ``T`` (registered so,
    or raised there) or escalated at least once."""
    items = [
        MajorIncident(
            number=t.number, title=t.title, priority=str(t.priority) if t.priority else None,
            status=str(t.status), escalation_level=t.escalation_level,
            reported_at=t.reported_at.astimezone(tz),
            resolved_at=t.sla_resolved_at.astimezone(tz) if t.sla_resolved_at else None,
            resolution_working_hours=hours(x.resolution_seconds),
            resolution_state=x.sla.resolution_state if x.sla else None)
        for x in _valid(tickets)
        for t in (x.ticket,)
        if str(t.priority) == "P1" or t.escalation_level > 0
    ]
    return MajorIncidents(count=len(items), items=items)


def problems_block(problems: list[Problem], tickets: list[_Ticket]) -> Problems:
    period_numbers = {str(x.ticket.id): x.ticket.number for x in tickets}
    status = Counter(p.status for p in problems)
    return Problems(
        total=len(problems),
        open=status[ProblemStatus.RECORDED] + status[ProblemStatus.KNOWN_ERROR],
        known_errors=sum(1 for p in problems if p.known_error),
        resolved=status[ProblemStatus.RESOLVED],
        closed=status[ProblemStatus.CLOSED],
        items=[ProblemItem(number=p.number, title=p.title, status=str(p.status),
                           known_error=p.known_error,
                           tickets=sorted(period_numbers[str(t)] for t in p.tickets
                                          if str(t) in period_numbers))
               for p in problems],
    )


def without_titles(report: ServiceReport, *, problems: bool, changes: bool) -> ServiceReport:
    """``report`` for a reader who may not open problems (``problems``) or changes
    (``changes``) through their own routes (a requester): those records stay counted and
    listed by number, status, outcome and the reader's own ticket numbers, but their
    ``title`` is ``None``. A problem linked to this customer's tickets may have been recorded
    from another customer's ticket and a change raised from it: their titles are other
    customers' words. What a role cannot read through its own route it does not read through a
    report (issue 16, docs/authorization.md)."""
    if problems:
        report = msgspec.structs.replace(report, problems=msgspec.structs.replace(
            report.problems, items=[msgspec.structs.replace(p, title=None)
                                    for p in report.problems.items]))
    if changes:
        report = msgspec.structs.replace(report, changes=msgspec.structs.replace(
            report.changes, items=[msgspec.structs.replace(c, title=None)
                                   for c in report.changes.items]))
    return report


def change_outcome(c: Change) -> str:
    """successful (completed, in trial, evaluated with the goal met, or closed so), rolled_back
    (its last implementation was rolled back), goal_missed (evaluated: goal not met), else
    in_progress / pending (not started) / cancelled."""
    if c.status is ChangeStatus.CANCELLED:
        return "cancelled"
    if c.status in PRE_START:
        return "pending"
    if c.status is ChangeStatus.IN_PROGRESS:
        return "in_progress"
    if c.rollback_reason is not None:
        return "rolled_back"
    if c.evaluation is not None and not c.evaluation.goal_met:
        return "goal_missed"
    return "successful"


def changes_block(changes: list[Change]) -> Changes:
    outcomes = Counter(change_outcome(c) for c in changes)
    decided = outcomes["successful"] + outcomes["rolled_back"] + outcomes["goal_missed"]
    return Changes(
        total=len(changes),
        by_kind=_sorted(Counter(str(c.kind) for c in changes)),
        by_status=_sorted(Counter(str(c.status) for c in changes)),
        successful=outcomes["successful"],
        rolled_back=outcomes["rolled_back"],
        goal_missed=outcomes["goal_missed"],
        success_pct=percent(outcomes["successful"], decided),
        rollback_pct=percent(outcomes["rolled_back"], decided),
        items=[ChangeItem(number=c.number, kind=str(c.kind), title=c.title, status=str(c.status),
                          outcome=change_outcome(c),
                          origin=c.origin.number or c.origin.id)
               for c in changes],
    )


def workload(tickets: list[_Ticket]) -> list[Workload]:
    """Per person: the period's valid tickets assigned to them at ``T``; of those (or, when
    unassigned, resolved by them) the ones resolved; the work-log hours they entered."""
    assigned: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    logged: defaultdict[str, float] = defaultdict(float)
    standing = {id(x) for x in _resolved(tickets)}
    for x in _valid(tickets):
        t = x.ticket
        if t.assignee:
            assigned[t.assignee] += 1
        if id(x) in standing and t.resolution is not None:
            resolved[t.assignee or t.resolution.actor] += 1
        for entry in t.work_log:
            logged[entry.actor] += entry.hours
    people = sorted(set(assigned) | set(resolved) | set(logged))
    return [Workload(person=p, assigned=assigned[p], resolved=resolved[p],
                     hours_logged=round(logged[p], 2)) for p in people]


def routines(project: Project, calendar: BusinessCalendar | None,
             window: tuple[datetime, datetime], at: datetime, tz: ZoneInfo) -> Routines:
    """Runs recorded by ``T`` for occurrences (``run_at``) in ``window`` (the period within
    the contract), and the occurrences in the window up to ``T`` by the routine schedule
    (``application.recurrence``: the rule, the calendar's holidays, as the routine list
    computes them); one without a recorded run is overdue from the end of its working day
    (``grace_end``, ADR 0028). ``done`` counts every recorded run, abnormal ones included."""
    runs = [r for r in project.runs if window[0] <= r.run_at < window[1]]
    done = {(r.routine_id, r.run_at) for r in runs}
    due: list[tuple[str, datetime]] = []
    if calendar is not None:
        for routine in project.routines:
            due += [(routine.routine_id, when) for when in occurrences(
                routine.rrule, starts=routine.starts, until=routine.until,
                on_holiday=routine.on_holiday, calendar=calendar,
                before=min(window[1], at + timedelta(microseconds=1)), after=window[0])]
    abnormal = [r for r in runs if r.verdict == Verdict.ABNORMAL]
    names = {r.routine_id: r.name for r in project.routines}
    return Routines(
        scheduled=len(project.routines),
        due=len(due),
        done=len(runs),
        normal=len(runs) - len(abnormal),
        abnormal=len(abnormal),
        overdue=sum(1 for key in due if key not in done and calendar is not None
                    and at >= grace_end(calendar, key[1])),
        abnormal_runs=[RoutineRun(routine_id=r.routine_id, name=names.get(r.routine_id, ""),
                                  run_at=r.run_at.astimezone(tz), verdict=str(r.verdict),
                                  ticket_number=r.ticket_number)
                       for r in sorted(abnormal, key=lambda r: (r.run_at, r.routine_id))],
    )
