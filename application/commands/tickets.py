"""Ticket commands (DOMAIN §1, API.md "Tickets"): each names the ``Ticket`` method it calls and
the event it records; fields are named as the bodies of ``POST /api/v1/tickets`` and
``POST /api/v1/tickets/{ref}/<verb>`` (``adapters/http/schemas``).

After every ticket command the handler lets the SLA clocks record new deadlines on the
ticket in the same save (``desk.sla.update``, ADR 0015). Escalations notify the policy's
manager and expert after the save (``after``, ADR 0016).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application import feedback
from application import milestones  # milestone clocks (ADR 0062)
from application.attachments import attachment_uuid, claim
from application.cis import affected_cis  # ADR 0063
from application.commands.base import NOTHING, Command, RecordCommand, command
from application.commands.problems import link_both
from application.errors import RecordNotFound
from application.identities import require_known_user
from application.ports import Notice
from application.sealing import ROUTINE_SIGNER
from application.service_catalogue import register_request
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.numbering import RecordKind, record_id_for
from domain.priority import Impact, Importance, Priority, Urgency
from domain.problem import Problem
from domain.project import Project, Verdict
from domain.ticket import (
    Author,
    Channel,
    Contact,
    Improvement,
    ProposedClassification,
    Status,
    Ticket,
    TicketType,
    Visibility,
)

if TYPE_CHECKING:
    from application.desk import CommandResult, Context, ServiceDesk


def ticket_id_for(number: str) -> UUID:
    """Ticket ids derive from their SR number, so a number resolves without a read model."""
    return record_id_for(number)


@command
class TicketCommand(RecordCommand):
    record_class = Ticket
    record_label = "ticket"


# ------------------------------------------------------------------- register


@command
class RegisterTicket(Command):
    """``Ticket.register`` → ``Ticket.Registered`` (``SR-YYYYMMDD-NNN``); with all five
    classification fields also ``Ticket.classify`` → ``Ticket.Classified`` (the priority, if
    given, overrides the matrix's); with a priority but not all five, ``Ticket.PriorityGiven``
    (its SLA clocks start at ``reported_at``, issue 16 item 4). HTTP: ``RegisterTicket``."""

    record_class = Ticket
    record_label = "ticket"
    verb = "register"

    customer: str
    contact: Contact
    channel: Channel | str
    title: str
    description: str = ""
    affected_system: str = ""
    reported_at: datetime | None = None
    attachments: Sequence[str] = ()
    type: TicketType | str | None = None
    category: str | None = None
    urgency: Urgency | str | None = None
    impact: Impact | str | None = None
    importance: Importance | str | None = None
    priority: Priority | str | None = None
    override_reason: str = ""
    sla_policy: str | None = None
    # CI ids or CI- numbers (ADR 0063); a requester's registration (``own_cis``): only their
    # organisation's CIs, staff may name any (a provider's shared switch, say)
    affected_cis: Sequence[str] = ()
    own_cis: bool = False
    # ``attachments`` are ids of uploaded files, linked in the same save (``claim``; the mail
    # intake, ADR 0057), not the text references of the JSON API's registration.
    claim_attachments: bool = False
    # A request through the service catalogue (ADR 0061): the service and its form, validated
    # against the service's JSON Schema (``Ticket.ServiceRequested``, maybe awaiting approval).
    service_id: str | None = None
    form: Any = None

    def decide(self, record: None, ctx: Context) -> Ticket | tuple[Any, ...]:
        if self.service_id is not None or self.form is not None:
            return register_request(self, ctx)  # through the service catalogue (ADR 0061)
        desk = ctx.desk
        if self.sla_policy is not None and desk.sla is not None:
            desk.sla.check_policy(self.sla_policy)  # unknown: 422 naming sla_policy
        # Stored as the customers and projects keep it, so that the customer's list filter,
        # its contract's report and its SLA lookups all meet on one spelling.
        customer = normalise_customer_id(self.customer)
        category = self.category.strip() if self.category and self.category.strip() else None
        proposed = ProposedClassification(
            type=TicketType(self.type) if self.type else None,
            category=category,
            urgency=Urgency(self.urgency) if self.urgency else None,
            impact=Impact(self.impact) if self.impact else None,
            importance=Importance(self.importance) if self.importance else None,
        )
        complete = proposed.complete()
        priority = Priority(self.priority) if self.priority else None
        number = ctx.issue(RecordKind.SERVICE_REQUEST)
        at, actor = ctx.at, ctx.actor
        ticket = Ticket.register(
            id=ticket_id_for(number), number=number, customer=customer, contact=self.contact,
            channel=Channel(self.channel), title=self.title, description=self.description,
            affected_system=self.affected_system, reported_at=self.reported_at or at,
            attachments=tuple(self.attachments), proposed=proposed,
            sla_policy=self.sla_policy, actor=actor, at=at,
            priority=None if complete else priority, override_reason=self.override_reason,
        )
        if complete:
            assert proposed.type and proposed.category and proposed.urgency
            assert proposed.impact and proposed.importance
            ticket.classify(
                type=proposed.type, category=proposed.category, urgency=proposed.urgency,
                impact=proposed.impact, importance=proposed.importance, priority=priority,
                override_reason=self.override_reason, matrix=desk.matrix, actor=actor, at=at)
        if self.affected_cis:  # Ticket.CisAffected, saved with the registration (ADR 0063)
            cis = affected_cis(desk, self.affected_cis, customer if self.own_cis else None)
            ticket.name_cis(cis=tuple((str(c.id), c.number) for c in cis), actor=actor, at=at)
        if self.attachments:
            # The JSON API's may also be text references (a file name, a link): only those
            # that are ids must be uploaded files, and are linked (ADR 0056).
            files = claim(ctx, self.attachments, kind="ticket", record_id=ticket.id,
                          number=number, text_refs=not self.claim_attachments)
            return (ticket, *files)
        return ticket


# --------------------------------------------------------------- the lifecycle


@command
class Invalidate(TicketCommand):
    """``Ticket.invalidate`` → ``Ticket.Invalidated``. HTTP: ``Reason``."""

    verb = "invalidate"
    reason: str


@command
class Classify(TicketCommand):
    """``Ticket.classify`` → ``Ticket.Classified`` (priority from the desk's matrix unless
    ``priority`` overrides it with an ``override_reason``). HTTP: ``Classify``."""

    verb = "classify"
    type: TicketType | str
    category: str
    urgency: Urgency | str
    impact: Impact | str
    importance: Importance | str
    priority: Priority | str | None = None
    override_reason: str = ""

    def decide(self, t: Ticket, ctx: Context) -> None:
        t.classify(
            type=TicketType(self.type), category=self.category, urgency=Urgency(self.urgency),
            impact=Impact(self.impact), importance=Importance(self.importance),
            priority=Priority(self.priority) if self.priority else None,
            override_reason=self.override_reason, matrix=ctx.desk.matrix, actor=ctx.actor,
            at=ctx.at)


@command
class Assign(TicketCommand):
    """``Ticket.assign`` → ``Ticket.Assigned``. Once the store has users, the assignee must be
    one of them (a 422 naming ``assignee``, issue 16), checked after the ticket took the
    command, so a state that forbids it is answered first. ``known_assignee=False`` skips
    that check: the demo's cast of engineers are not users of the store (ADR 0045). HTTP:
    ``Assign``."""

    verb = "assign"
    assignee: str | None = None
    group: str | None = None
    interface_person: str | None = None
    known_assignee: bool = True

    def decide(self, t: Ticket, ctx: Context) -> None:
        t.assign(assignee=self.assignee, group=self.group,
                 interface_person=self.interface_person, actor=ctx.actor, at=ctx.at)
        if self.known_assignee and t.assignee is not None:
            require_known_user(ctx.desk, t.assignee)


@command
class Start(TicketCommand):
    """``Ticket.start`` → ``Ticket.Started``. HTTP: ``Empty``."""

    verb = "start"


@command
class LogWork(TicketCommand):
    """``Ticket.log_work`` → ``Ticket.WorkLogged``; ``attachments``: uploaded files (a
    service record, a screenshot) linked to the ticket in the same save (``claim``, ADR
    0056; shown to whoever reads the work log). HTTP: ``LogWork``."""

    verb = "log_work"
    action: str
    hours: float
    performed_at: datetime | None = None
    workaround: str = ""
    attachments: Sequence[str] = ()

    def decide(self, t: Ticket, ctx: Context) -> tuple[Any, ...] | None:
        files = claim(ctx, self.attachments, kind="ticket", record_id=t.id, number=t.number)
        t.log_work(action=self.action, hours=self.hours, performed_at=self.performed_at,
                   workaround=self.workaround,
                   attachments=tuple(dict.fromkeys(str(attachment_uuid(a)) for a in self.attachments)),
                   actor=ctx.actor, at=ctx.at)
        return files or None


@command
class AwaitCustomer(TicketCommand):
    """``Ticket.await_customer`` → ``Ticket.CustomerAwaited`` (the SLA clocks pause).
    HTTP: ``Reason``."""

    verb = "await_customer"
    reason: str


@command
class Resume(TicketCommand):
    """``Ticket.resume`` → ``Ticket.Resumed``. HTTP: ``Empty``."""

    verb = "resume"


@command
class Resolve(TicketCommand):
    """``Ticket.resolve`` → ``Ticket.Resolved``. HTTP: ``Resolve``."""

    verb = "resolve"
    resolution: str
    root_cause: str
    first_contact: bool = False


@command
class Confirm(TicketCommand):
    """``Ticket.confirm`` → ``Ticket.AcceptanceConfirmed`` or, not ``passed``,
    ``Ticket.AcceptanceRejected`` (an ``SD-…`` acceptance record). HTTP: ``Confirm``."""

    verb = "confirm"
    signer: str
    items: Sequence[str]
    criteria: Sequence[str]
    passed: bool
    unmet_items: Sequence[str] = ()
    note: str = ""

    def decide(self, t: Ticket, ctx: Context) -> None:
        # A refused command saves nothing, so the number issued here is never used.
        t.confirm(number=ctx.issue(RecordKind.DELIVERY_ACCEPTANCE), signer=self.signer,
                  items=tuple(self.items), criteria=tuple(self.criteria), passed=self.passed,
                  unmet_items=tuple(self.unmet_items), note=self.note, actor=ctx.actor,
                  at=ctx.at)


@command
class CloseTicket(TicketCommand):
    """``Ticket.close`` → ``Ticket.AcceptanceConfirmed`` (closing with the customer's
    agreement, an ``SD-…`` record). HTTP: ``CloseTicket``."""

    verb = "close"
    signer: str
    reason: str

    def decide(self, t: Ticket, ctx: Context) -> None:
        t.close(number=ctx.issue(RecordKind.DELIVERY_ACCEPTANCE), signer=self.signer,
                reason=self.reason, actor=ctx.actor, at=ctx.at)


@command
class Reopen(TicketCommand):
    """``Ticket.reopen`` → ``Ticket.Reopened``. HTTP: ``Reason``."""

    verb = "reopen"
    reason: str


@command
class AddInformation(TicketCommand):
    """``Ticket.add_information`` → ``Ticket.InformationAdded`` (ADR 0052): what the
    customer adds to an open ticket. HTTP: ``AddInformation``."""

    verb = "add_information"
    information: str


@command
class Comment(TicketCommand):
    """``Ticket.comment`` → ``Ticket.CommentAdded`` (ADR 0055): a note, public or internal,
    with uploaded files (``application.attachments.claim`` links them in the same save).
    HTTP: ``CommentIn``."""

    verb = "comment"
    body: str
    visibility: Visibility | str = Visibility.PUBLIC
    author: Author | str = Author.STAFF
    via: str = "api"
    attachments: Sequence[str] = ()
    message_id: str = ""
    sender: str = ""

    def decide(self, t: Ticket, ctx: Context) -> tuple[Any, ...] | None:
        visibility = str(self.visibility)
        files = claim(ctx, self.attachments, kind="ticket", record_id=t.id, number=t.number,
                      visibility=visibility if visibility in ("public", "internal") else "public")
        t.comment(body=self.body, visibility=self.visibility, author=self.author, via=self.via,
                  attachments=tuple(self.attachments), message_id=self.message_id,
                  sender=self.sender, actor=ctx.actor, at=ctx.at)
        return files or None


@command
class CustomerReply(TicketCommand):
    """The customer's message on their ticket (a reply by mail, a message from the portal):
    ``Ticket.comment`` as a public note by the customer → ``Ticket.CommentAdded``; and when
    the ticket waits for the customer, ``Ticket.resume`` → ``Ticket.Resumed`` in the same save
    (issue 19: "a reply to a ticket waiting for the customer resumes it"; ADR 0055)."""

    verb = "comment"
    body: str
    via: str = "email"
    attachments: Sequence[str] = ()
    message_id: str = ""
    sender: str = ""

    def decide(self, t: Ticket, ctx: Context) -> tuple[Any, ...] | None:
        files = claim(ctx, self.attachments, kind="ticket", record_id=t.id, number=t.number)
        t.comment(body=self.body, visibility=Visibility.PUBLIC, author=Author.CUSTOMER,
                  via=self.via, attachments=tuple(self.attachments),
                  message_id=self.message_id, sender=self.sender, actor=ctx.actor, at=ctx.at)
        if t.status is Status.WAITING_CUSTOMER:
            t.resume(actor=ctx.actor, at=ctx.at)
        return files or None


@command
class GiveFeedback(TicketCommand):
    """``Ticket.give_feedback`` → ``Ticket.FeedbackGiven`` (an ``FB-…`` record). A score ≤ 2
    needs an improvement: the one given, else an automatic one; a project ticket's project
    records it too (``Project.ImprovementRaised``) in the same save (ADR 0028).
    HTTP: ``FeedbackIn`` (``improvement`` converted to ``domain.ticket.Improvement``)."""

    verb = "feedback"
    timeliness: int
    effectiveness: int
    attitude: int
    comment: str = ""
    improvement: Improvement | None = None

    def decide(self, t: Ticket, ctx: Context) -> Any:
        desk, at, actor = ctx.desk, ctx.at, ctx.actor
        number = ctx.issue(RecordKind.FEEDBACK)
        scores = (self.timeliness, self.effectiveness, self.attitude)
        improvement, projects = feedback.follow_up(desk, t, scores, self.improvement, number,
                                                   actor, at)
        t.give_feedback(number=number, timeliness=self.timeliness,
                        effectiveness=self.effectiveness, attitude=self.attitude,
                        comment=self.comment, improvement=improvement, actor=actor, at=at,
                        window_end=feedback.window_end(desk, t))
        return projects or None


@command
class LinkProblem(TicketCommand):
    """The ticket's side of a problem link (API.md ``link_problem``, ADR 0019):
    ``Ticket.link_problem`` → ``Ticket.ProblemLinked`` and ``Problem.link_ticket`` →
    ``Problem.TicketLinked``, saved together; answered with the ticket.
    HTTP: ``LinkProblem``."""

    verb = "link_problem"
    problem_id: str

    def decide(self, t: Ticket, ctx: Context) -> Problem:
        try:
            problem: Problem = ctx.desk.get_record(self.problem_id, Problem, "problem")
        except RecordNotFound:
            raise InvalidCommand.field("problem_id", f"no problem {self.problem_id!r}") from None
        link_both(problem, [t], ctx.actor, ctx.at)
        return problem


# ------------------------------------------------------- escalation (ADR 0016)


def escalation_contacts(desk: ServiceDesk, t: Ticket) -> tuple[str, str]:
    return desk.sla.escalation_contacts(t) if desk.sla is not None else ("", "")


def notify_escalations(desk: ServiceDesk, result: CommandResult) -> None:
    """Tells the manager and expert of every escalation the command recorded."""
    if desk.notifier is None:
        return
    ticket = result.aggregate
    for e in result.events:
        if type(e) is not Ticket.Escalated or e.originator_id != ticket.id:
            continue
        for role, who in (("manager", e.manager), ("expert", e.expert)):
            if who:
                desk.notifier.notify(Notice(
                    kind="escalation", recipient=who, role=role, ticket_id=str(ticket.id),
                    number=ticket.number, level=e.level, reason=e.reason,
                    priority_from=str(e.priority_from) if e.priority_from else None,
                    priority_to=str(e.priority_to) if e.priority_to else None,
                    occurred_at=e.occurred_at, by=e.by))


@command
class Escalate(TicketCommand):
    """Manual escalation (API.md ``escalate``): ``Ticket.escalate`` → ``Ticket.Escalated``
    (one level up, the priority raised: ``Ticket.Classified`` / ``PriorityGiven``); the
    policy's manager and expert are notified after the save. HTTP: ``Escalate``."""

    verb = "escalate"
    reason: str

    def decide(self, t: Ticket, ctx: Context) -> None:
        manager, expert = escalation_contacts(ctx.desk, t)
        t.escalate(reason=self.reason, manager=manager, expert=expert, actor=ctx.actor,
                   at=ctx.at)

    def after(self, result: CommandResult, desk: ServiceDesk) -> None:
        notify_escalations(desk, result)


SLA_MARKS = (Ticket.SlaWarningRaised, Ticket.SlaBreached, Ticket.Escalated)


@command
class RecordSlaEvents(TicketCommand):
    """The SLA watcher's command for one ticket: ``Ticket.raise_sla_warning`` →
    ``Ticket.SlaWarningRaised`` and ``Ticket.record_sla_breach`` → ``Ticket.SlaBreached`` for
    every mark of its running clocks reached by ``now`` (default: the attempt's time) and not
    yet recorded, oldest first, and ``Ticket.escalate`` → ``Ticket.Escalated`` on the first
    breach of each clock; then ``Ticket.raise_milestone_warning`` →
    ``Ticket.MilestoneWarningRaised`` and ``Ticket.record_milestone_breach`` →
    ``Ticket.MilestoneBreached`` for the milestone clocks' marks (ADR 0062); ``NOTHING`` when
    none is due. Notices go out after the save.
    The marks recorded are the result's events of ``SLA_MARKS``."""

    verb = "record_sla_events"
    now: datetime | None = None

    def decide(self, t: Ticket, ctx: Context) -> Any:
        sla, at, actor = ctx.desk.sla, ctx.at, ctx.actor
        if sla is None:
            return NOTHING
        marks = sla.reached(t, min(self.now or at, at))
        # the milestone clocks' marks too (ADR 0062), recorded after the clocks' own
        steps = milestones.reached(sla, t, min(self.now or at, at))  # type: ignore[arg-type]
        if not marks and not steps:
            return NOTHING
        for m in marks:
            if m.breach:
                t.record_sla_breach(clock=m.clock, due=m.due, actor=actor, at=at)
                if m.clock not in t.escalated_clocks:
                    manager, expert = escalation_contacts(ctx.desk, t)
                    t.escalate(reason=f"{m.clock} SLA breached", manager=manager,
                               expert=expert, actor=actor, at=at, occurred_at=m.due,
                               clock=m.clock, due=m.due)
            else:
                t.raise_sla_warning(clock=m.clock, threshold=m.threshold, due=m.due,
                                    occurred_at=m.occurred_at, actor=actor, at=at)
        milestones.record(t, steps, actor=actor, at=at)
        return None

    def after(self, result: CommandResult, desk: ServiceDesk) -> None:
        notify_escalations(desk, result)


@command
class RefreshSlaDeadlines(TicketCommand):
    """``Ticket.set_sla_deadlines`` → ``Ticket.SlaDeadlinesSet`` (reason ``policy_changed`` /
    ``calendar_changed``, ADR 0018) on a ticket whose running clocks cite an older version
    of their policy or calendar; ``NOTHING`` when nothing had to change."""

    verb = "refresh_sla_deadlines"

    def decide(self, t: Ticket, ctx: Context) -> Any:
        sla = ctx.desk.sla
        if sla is None or not sla.refresh(t, ctx.at):
            return NOTHING
        return None


# ----------------------------------------------- routine runs (ADR 0028)


def source_of(project_id: str, routine_id: str, run_at: datetime) -> str:
    """What opened the ticket of an abnormal run (the ticket's ``source``)."""
    return f"routine:{project_id}:{routine_id}:{run_at.astimezone(UTC).isoformat()}"


@command
class OpenRoutineTicket(Command):
    """The ticket of an abnormal routine run (DOMAIN §5): ``Ticket.register`` →
    ``Ticket.Registered`` (``source`` naming the run) and ``Project.link_routine_ticket`` →
    ``Project.RoutineTicketOpened``, in one save; ``NOTHING`` when the run is not abnormal
    or already has its ticket. Run by ``application.routine_tickets`` with the run's
    idempotency key (``run_key``), so it opens one ticket per run, once."""

    record_class = Ticket
    record_label = "ticket"
    verb = "open_routine_ticket"

    project_id: str | UUID
    routine_id: str
    run_at: datetime

    def decide(self, record: None, ctx: Context) -> Any:
        at = ctx.at
        p: Project = ctx.desk.get_record(self.project_id, Project, "project")
        r = p.run(self.routine_id, self.run_at)
        routine = p.routine(self.routine_id)
        if r is None or routine is None or r.verdict != Verdict.ABNORMAL \
                or r.ticket_id is not None:
            return NOTHING
        number = ctx.issue(RecordKind.SERVICE_REQUEST)
        local = self.run_at.astimezone(UTC).isoformat()
        ticket = Ticket.register(
            id=ticket_id_for(number), number=number, customer=p.customer,
            contact=Contact(name=r.signer), channel=Channel.ONSITE,
            title=f"{routine.name}: abnormal result ({p.number})",
            # The signer is the contact (sealed with the customer's key); the description is
            # plain text, so it does not name them (ADR 0043).
            description=f"Routine {routine.kind} '{routine.name}' of project {p.number} run at "
                        f"{local}, performed {r.performed_at.isoformat()}, signed by "
                        f"{ROUTINE_SIGNER}, found: {r.findings}",
            affected_system=p.name, reported_at=min(r.performed_at, at),
            source=source_of(str(p.id), self.routine_id, self.run_at), actor=ctx.actor, at=at)
        p.link_routine_ticket(routine_id=self.routine_id, run_at=self.run_at,
                              ticket_id=str(ticket.id), ticket_number=number,
                              actor=ctx.actor, at=at)
        return (ticket, p)
