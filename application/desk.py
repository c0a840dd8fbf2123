"""The service desk use cases: every ticket command, reads by id, number, time and history.

``ServiceDesk`` is an eventsourcing ``Application``. Each command loads the ticket, checks an
optional expected version (``If-Match``), runs the domain method with the clock's time and the
acting user, and saves the ticket's new events together with any numbers it issued and the
idempotency record, in one transaction. A conflicting concurrent save (the store's unique
originator id + version) is retried from a fresh load, so no update is ever lost.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Mapper, Notification, Recording

from application.encoding import MsgspecMapper
from application.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    RecordNotFound,
    TicketNotFound,
    VersionMismatch,
)
from application.idempotency import IdempotencyKey, IdempotencyRecord
from application.ports import Clock, Notice, Notifier, PositionIndex, SystemClock, TicketClocks
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand
from domain.numbering import NUMBERED_RECORDS, DailySequence, RecordKind, record_id_for
from domain.priority import DEFAULT_MATRIX, Impact, Importance, Priority, PriorityMatrix, Urgency
from domain.ticket import (
    Channel,
    Contact,
    Improvement,
    ProposedClassification,
    Ticket,
    TicketType,
)

MAX_ATTEMPTS = 30  # with RETRY_* below: about 2.6 s of waiting at most before a 409
RETRY_DELAY = 0.002  # seconds: the first conflict waits up to this long, doubling each time
RETRY_MAX_DELAY = 0.1
NUMBER_PREFIXES = tuple(f"{prefix}-" for prefix in NUMBERED_RECORDS)
SLA_ACTOR = "system:sla"


class _NothingDue(Exception):
    """Raised inside the watcher's command when nothing is due: nothing is saved."""


def ticket_id_for(number: str) -> UUID:
    """Ticket ids derive from their SR number, so a number resolves without a read model."""
    return record_id_for(number)


@dataclass
class CommandResult:
    aggregate: Any  # the record the command was addressed to, as saved
    created: bool = False
    position: int | None = None  # notification id of the last event saved (None: replayed)
    replayed: bool = False  # an Idempotency-Key repeat: nothing new was recorded

    @property
    def ticket(self) -> Ticket:
        return self.aggregate  # type: ignore[no-any-return]


@dataclass
class _NumberIssuer:
    """Issues record numbers inside one command; the sequences are saved with the command."""

    desk: ServiceDesk
    at: datetime
    sequences: dict[UUID, DailySequence] = field(default_factory=dict)
    holds_lock: bool = False

    def issue(self, kind: RecordKind) -> str:
        if not self.holds_lock:
            # One issuer at a time in this process, from reading the sequence until the
            # command is saved (``release``): creators in one process never collide on a
            # number, only those of other processes can (and are retried).
            self.desk._issuing.acquire()
            self.holds_lock = True
        day = self.at.astimezone(self.desk.timezone).date()
        seq_id = DailySequence.id_for(kind, day)
        seq = self.sequences.get(seq_id)
        if seq is None:
            seq = self.desk._load_sequence(kind, day, self.at)
            self.sequences[seq_id] = seq
        return seq.issue(self.at)

    def remember(self) -> None:
        """After the save (still under the lock): these sequences are now the latest."""
        self.desk._sequences.update(self.sequences)

    def forget(self) -> None:
        """After a conflict: another process moved a sequence on; reload them next time."""
        for seq_id in self.sequences:
            self.desk._sequences.pop(seq_id, None)

    def release(self) -> None:
        if self.holds_lock:
            self.holds_lock = False
            self.desk._issuing.release()


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    position: int | None
    type: str
    topic: str
    recorded_at: datetime
    actor: str | None
    data: dict[str, Any]


EVENT_BASE_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def event_data(event: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(event).items() if k not in EVENT_BASE_FIELDS}


def event_type(event: Any) -> str:
    return type(event).__name__


class ServiceDesk(Application):
    """The ticket use cases over an eventsourcing event store."""

    name = "opsledger"
    env = {
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        # Our aggregates never change nested state in place (events reassign attributes), so a
        # shallow copy with its own pending-event list isolates a command; see ``_own``.
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        timezone: str = "Asia/Shanghai",
        matrix: PriorityMatrix = DEFAULT_MATRIX,
        positions: PositionIndex | None = None,
    ) -> None:
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        self.timezone = ZoneInfo(timezone)
        self.matrix = matrix
        self.positions = positions
        self.saved_position = 0  # the highest notification id this process has written
        self._issuing: Any = threading.Lock()  # see _NumberIssuer
        self._sequences: dict[UUID, DailySequence] = {}  # last saved, guarded by _issuing
        # Shared with same-process writers of the same SQLite file (the read models), so they
        # queue on a lock instead of SQLite's sleeping busy handler (ADR 0012). Set it with
        # ``serialise_writes``.
        self.write_lock: Any | None = None
        self.after_save: list[Callable[[int], None]] = []  # e.g. wake the projection runner
        # The SLA clocks (``application.sla_clocks.SlaClocks``), attached by the composition
        # root: after each command they record new deadlines on the ticket in the same save.
        self.sla: TicketClocks | None = None
        # Where escalation notices go (ADR 0016): called after the save, must not block.
        self.notifier: Notifier | None = None
        # Reference records checked against the store's version (``application.current``,
        # ADR 0038), wired by the composition root; ``_get_current`` uses it.
        self.current: Any = None

    # --------------------------------------------------------------- plumbing

    def construct_mapper(self) -> Mapper[Any]:
        return MsgspecMapper(
            compressor=self.factory.compressor(), cipher=self.factory.cipher()
        )

    def serialise_writes(self, lock: Any | None = None, *, optimistic_numbers: bool = False) -> Any:
        """One lock for every write of this process (for SQLite, which has one writer anyway).

        Number issuing then uses the same lock: a creator holds it from reading the sequence
        to the commit, and no creator ever waits for the writer lock while holding the number
        lock (two nested locks made a convoy under load, ADR 0012). ``lock``: a re-entrant
        lock to use instead of a new ``threading.RLock`` (one that also queues the writers of
        other processes, ADR 0038).

        ``optimistic_numbers``: creators of this process take a lock of its own instead, and
        the writers' lock only for their insert (ADR 0041). For a process that runs one command
        at a time (commands on the event loop, ADR 0039), where the convoy above cannot form.
        A creator of another process that issued the same number meanwhile loses the insert
        (the sequence's version is taken) and tries the command again.
        """
        lock = lock if lock is not None else threading.RLock()
        self.write_lock = lock
        self._issuing = threading.RLock() if optimistic_numbers else lock
        return lock

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """``Application.save``, taking our aggregates' events directly: the library tells
        aggregates from events by ``isinstance`` against runtime ``typing.Protocol`` classes,
        about 10 µs per object and several objects per command (ADR 0040). Anything that is
        not an ``Aggregate`` (an event, ``None``) goes the library's way."""
        processing = ProcessingEvent[UUID]()
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing.events.extend(obj.collect_events())
                processing.aggregates[obj.id] = obj
            else:
                processing.collect_events(obj)
        processing.saved_kwargs.update(kwargs)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        self.notify(processing.events)  # the library's deprecated hook, called as it does
        return recordings

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """The library's ``_record`` (with ``AGGREGATE_CACHE_FASTFORWARD`` nothing goes into the
        cache here), with the events encoded *before* the writers' lock is taken: the lock,
        which every writer of a SQLite file waits for (ADR 0038), then covers the insert alone
        and is held about half as long per save (ADR 0041)."""
        if self.write_lock is None:
            return super()._record(processing_event)
        events = processing_event.events
        stored = [self.mapper.to_stored_event(e) for e in events]
        with self.write_lock:
            ids = self.recorder.insert_events(stored, tracking=processing_event.tracking,
                                              **processing_event.saved_kwargs)
        if self.repository.cache and not self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        if not ids:
            return []
        return [Recording(d, Notification(originator_id=s.originator_id,
                                          originator_version=s.originator_version,
                                          topic=s.topic, state=s.state, id=n))
                for d, s, n in zip(events, stored, ids, strict=True)]

    def _save(self, *aggregates: Aggregate | None) -> int | None:
        recordings = self.save(*aggregates)
        if self.current is not None:
            self.current.forget_command()  # what this command reads next includes this save
        if not recordings:
            return None
        position = max(r.notification.id for r in recordings)
        if position > self.saved_position:
            self.saved_position = position
        for listener in self.after_save:
            listener(position)
        return position

    def _get(self, aggregate_id: UUID) -> Any:
        """A private copy of the (cached) aggregate, safe to run a command on."""
        return _own(self.repository.get(aggregate_id, projector_func=_project))

    def _get_current(self, aggregate_id: UUID) -> Any:
        """``_get`` for the reference records read by every command (customers, SLA policies,
        calendars): cached against the store's current version when ``current`` is wired."""
        if self.current is None:
            return self._get(aggregate_id)
        found = self.current.get(aggregate_id)
        if found is None:
            raise AggregateNotFoundError(aggregate_id)
        return found

    def _load_sequence(self, kind: RecordKind, day: date, at: datetime) -> DailySequence:
        # Under the number lock, the sequence this process saved last is the latest unless
        # another process issued since; then the save conflicts and ``forget`` drops it.
        # Where another process may issue too (several servers, ADR 0039), the store's version
        # of the sequence is checked first -- one primary-key lookup -- instead of finding out
        # by a conflict and trying the whole command again. Under the number lock across
        # processes (PostgreSQL; SQLite with commands in threads) the answer holds until the
        # save; where creators issue optimistically (ADR 0041) it makes a conflict rare.
        seq_id = DailySequence.id_for(kind, day)
        known = self._sequences.get(seq_id)
        if known is not None and (
            self.current is None or self.current.versions.latest_version(seq_id) == known.version
        ):
            return _own(known)  # type: ignore[no-any-return]
        try:
            return self._get(seq_id)
        except AggregateNotFoundError:
            return DailySequence.open(kind, day, at)

    def resolve_ref(self, ref: str | UUID, kind: str = "ticket") -> UUID:
        """An id, or a human number of any numbered record (``SR-…``, ``PRB-…``, ``CHG-…``)."""
        if isinstance(ref, UUID):
            return ref
        ref = ref.strip()
        if ref.upper().startswith(NUMBER_PREFIXES):
            return record_id_for(ref.upper())
        try:
            return UUID(ref)
        except ValueError:
            raise _not_found(ref, kind) from None

    def _find_idempotent(
        self, idempotency: IdempotencyKey | None
    ) -> IdempotencyRecord | None:
        if idempotency is None:
            return None
        try:
            record: IdempotencyRecord = self._get(idempotency.record_id)
        except AggregateNotFoundError:
            return None
        if record.fingerprint != idempotency.fingerprint:
            raise IdempotencyKeyReused(idempotency.key)
        return record

    def _replay(self, record: IdempotencyRecord) -> CommandResult:
        aggregate = self.repository.get(record.target_id, version=record.target_version)
        return CommandResult(aggregate=aggregate, created=record.created, replayed=True)

    def _run(self, record_id: UUID | None, mutate: Callable[[Any, datetime, _NumberIssuer], Any],
             **options: Any) -> CommandResult:
        """Load the record ``record_id`` (of class ``kind``; ``None``: a create), run
        ``mutate`` on it and save what it returns: the changed record, or a tuple whose first
        item is the record and whose others change with it in the same transaction (e.g. a
        problem and the ticket linked to it). Options: ``actor``, ``expected_version``,
        ``idempotency``, ``kind``, ``label``. Reference records are read once per command."""
        if self.current is None:
            return self._run_attempts(record_id, mutate, **options)
        with self.current.one_command():
            return self._run_attempts(record_id, mutate, **options)

    def _run_attempts(
        self,
        record_id: UUID | None,
        mutate: Callable[[Any, datetime, _NumberIssuer], Any],
        *,
        actor: str,
        expected_version: int | None,
        idempotency: IdempotencyKey | None,
        kind: type[Aggregate] = Ticket,
        label: str = "ticket",
    ) -> CommandResult:
        for attempt in range(MAX_ATTEMPTS):
            record = self._find_idempotent(idempotency)
            if record is not None:
                return self._replay(record)
            target = self.get_record(record_id, kind, label) if record_id is not None else None
            if target is not None and expected_version is not None:
                if target.version != expected_version:
                    raise VersionMismatch(expected_version, target.version)
            at = self.clock.now()
            numbers = _NumberIssuer(self, at)
            try:
                outcome = mutate(target, at, numbers)
                changed, *others = outcome if isinstance(outcome, tuple) else (outcome,)
                if self.sla is not None:
                    for aggregate in (changed, *others):
                        if isinstance(aggregate, Ticket):
                            self.sla.update(aggregate, at)
                idem = (
                    IdempotencyRecord.record(
                        idempotency,
                        target_id=changed.id,
                        target_version=changed.version,
                        created=target is None,
                        actor=actor,
                        at=at,
                    )
                    if idempotency is not None
                    else None
                )
                position = self._save(changed, *others, *numbers.sequences.values(), idem)
                numbers.remember()
            except IntegrityError:
                numbers.forget()
                if self.current is not None:
                    self.current.forget_command()
                # Someone saved first; the cache fast-forwards on the next load. Wait a
                # random, growing while first, so that contenders (e.g. creators racing for
                # the day's number sequence) spread out instead of colliding again.
                numbers.release()
                time.sleep(random.uniform(0, min(RETRY_MAX_DELAY, RETRY_DELAY * 2**attempt)))
                continue
            finally:
                numbers.release()
            return CommandResult(aggregate=changed, created=target is None, position=position)
        raise ConcurrencyConflict(MAX_ATTEMPTS)

    def _change(
        self,
        ref: str | UUID,
        command: Callable[[Any, datetime, _NumberIssuer], Any],
        *,
        actor: str,
        expected_version: int | None = None,
        idempotency: IdempotencyKey | None = None,
        kind: type[Aggregate] = Ticket,
        label: str = "ticket",
    ) -> CommandResult:
        """Run ``command`` on the existing record ``ref``. The command may return other
        aggregates it changed (one or a tuple): they are saved in the same transaction."""
        record_id = self.resolve_ref(ref, label)

        def mutate(record: Any, at: datetime, numbers: _NumberIssuer) -> Any:
            assert record is not None
            others = command(record, at, numbers)
            if others is None:
                return record
            return (record, *(others if isinstance(others, tuple) else (others,)))

        return self._run(
            record_id,
            mutate,
            actor=actor,
            expected_version=expected_version,
            idempotency=idempotency,
            kind=kind,
            label=label,
        )

    # ---------------------------------------------------------------- commands

    def register_ticket(
        self,
        *,
        actor: str,
        customer: str,
        contact: Contact,
        channel: Channel | str,
        title: str,
        description: str = "",
        affected_system: str = "",
        reported_at: datetime | None = None,
        attachments: Sequence[str] = (),
        type: TicketType | str | None = None,
        category: str | None = None,
        urgency: Urgency | str | None = None,
        impact: Impact | str | None = None,
        importance: Importance | str | None = None,
        priority: Priority | str | None = None,
        override_reason: str = "",
        sla_policy: str | None = None,
        idempotency: IdempotencyKey | None = None,
    ) -> CommandResult:
        if sla_policy is not None and self.sla is not None:
            self.sla.check_policy(sla_policy)  # unknown: 422 naming sla_policy
        # Stored as the customers and projects keep it, so that the customer's list filter,
        # its contract's report and its SLA lookups all meet on one spelling.
        customer = normalise_customer_id(customer)
        proposed = ProposedClassification(
            type=TicketType(type) if type else None,
            category=category.strip() if category and category.strip() else None,
            urgency=Urgency(urgency) if urgency else None,
            impact=Impact(impact) if impact else None,
            importance=Importance(importance) if importance else None,
        )

        # With all five classification fields the ticket is classified at once (the priority,
        # if given, overrides the matrix's); without them a priority given is kept as it is,
        # and its SLA clocks start at ``reported_at`` (issue 16 item 4).
        given = None if proposed.complete() or not priority else Priority(priority)

        def mutate(_: Ticket | None, at: datetime, numbers: _NumberIssuer) -> Ticket:
            number = numbers.issue(RecordKind.SERVICE_REQUEST)
            ticket = Ticket.register(
                id=ticket_id_for(number),
                number=number,
                customer=customer,
                contact=contact,
                channel=Channel(channel),
                title=title,
                description=description,
                affected_system=affected_system,
                reported_at=reported_at or at,
                attachments=tuple(attachments),
                proposed=proposed,
                sla_policy=sla_policy,
                actor=actor,
                at=at,
                priority=given,
                override_reason=override_reason,
            )
            if proposed.complete():
                assert proposed.type and proposed.category and proposed.urgency
                assert proposed.impact and proposed.importance
                ticket.classify(
                    type=proposed.type,
                    category=proposed.category,
                    urgency=proposed.urgency,
                    impact=proposed.impact,
                    importance=proposed.importance,
                    priority=Priority(priority) if priority else None,
                    override_reason=override_reason,
                    matrix=self.matrix,
                    actor=actor,
                    at=at,
                )
            return ticket

        return self._run(
            None, mutate, actor=actor, expected_version=None, idempotency=idempotency
        )

    def invalidate(self, ref: str | UUID, *, reason: str, actor: str, **opts: Any) -> CommandResult:
        return self._change(
            ref, lambda t, at, _: t.invalidate(reason=reason, actor=actor, at=at), actor=actor, **opts
        )

    def classify(
        self,
        ref: str | UUID,
        *,
        type: TicketType | str,
        category: str,
        urgency: Urgency | str,
        impact: Impact | str,
        importance: Importance | str,
        actor: str,
        priority: Priority | str | None = None,
        override_reason: str = "",
        **opts: Any,
    ) -> CommandResult:
        def command(t: Ticket, at: datetime, _: _NumberIssuer) -> None:
            t.classify(
                type=TicketType(type),
                category=category,
                urgency=Urgency(urgency),
                impact=Impact(impact),
                importance=Importance(importance),
                priority=Priority(priority) if priority else None,
                override_reason=override_reason,
                matrix=self.matrix,
                actor=actor,
                at=at,
            )

        return self._change(ref, command, actor=actor, **opts)

    def assign(
        self,
        ref: str | UUID,
        *,
        actor: str,
        assignee: str | None = None,
        group: str | None = None,
        interface_person: str | None = None,
        **opts: Any,
    ) -> CommandResult:
        return self._change(
            ref,
            lambda t, at, _: t.assign(
                assignee=assignee,
                group=group,
                interface_person=interface_person,
                actor=actor,
                at=at,
            ),
            actor=actor,
            **opts,
        )

    def start(self, ref: str | UUID, *, actor: str, **opts: Any) -> CommandResult:
        return self._change(ref, lambda t, at, _: t.start(actor=actor, at=at), actor=actor, **opts)

    def log_work(
        self,
        ref: str | UUID,
        *,
        action: str,
        hours: float,
        actor: str,
        performed_at: datetime | None = None,
        workaround: str = "",
        **opts: Any,
    ) -> CommandResult:
        return self._change(
            ref,
            lambda t, at, _: t.log_work(
                action=action,
                hours=hours,
                performed_at=performed_at,
                workaround=workaround,
                actor=actor,
                at=at,
            ),
            actor=actor,
            **opts,
        )

    def await_customer(
        self, ref: str | UUID, *, reason: str, actor: str, **opts: Any
    ) -> CommandResult:
        return self._change(
            ref, lambda t, at, _: t.await_customer(reason=reason, actor=actor, at=at), actor=actor, **opts
        )

    def resume(self, ref: str | UUID, *, actor: str, **opts: Any) -> CommandResult:
        return self._change(ref, lambda t, at, _: t.resume(actor=actor, at=at), actor=actor, **opts)

    def resolve(
        self,
        ref: str | UUID,
        *,
        resolution: str,
        root_cause: str,
        actor: str,
        first_contact: bool = False,
        **opts: Any,
    ) -> CommandResult:
        return self._change(
            ref,
            lambda t, at, _: t.resolve(
                resolution=resolution,
                root_cause=root_cause,
                first_contact=first_contact,
                actor=actor,
                at=at,
            ),
            actor=actor,
            **opts,
        )

    def confirm(
        self,
        ref: str | UUID,
        *,
        signer: str,
        items: Sequence[str],
        criteria: Sequence[str],
        passed: bool,
        actor: str,
        unmet_items: Sequence[str] = (),
        note: str = "",
        **opts: Any,
    ) -> CommandResult:
        def command(t: Ticket, at: datetime, numbers: _NumberIssuer) -> None:
            # A refused command saves nothing, so the number issued here is never used.
            t.confirm(
                number=numbers.issue(RecordKind.DELIVERY_ACCEPTANCE),
                signer=signer,
                items=tuple(items),
                criteria=tuple(criteria),
                passed=passed,
                unmet_items=tuple(unmet_items),
                note=note,
                actor=actor,
                at=at,
            )

        return self._change(ref, command, actor=actor, **opts)

    def close_ticket(
        self, ref: str | UUID, *, signer: str, reason: str, actor: str, **opts: Any
    ) -> CommandResult:
        def command(t: Ticket, at: datetime, numbers: _NumberIssuer) -> None:
            t.close(
                number=numbers.issue(RecordKind.DELIVERY_ACCEPTANCE),
                signer=signer,
                reason=reason,
                actor=actor,
                at=at,
            )

        return self._change(ref, command, actor=actor, **opts)

    def reopen(self, ref: str | UUID, *, reason: str, actor: str, **opts: Any) -> CommandResult:
        return self._change(
            ref, lambda t, at, _: t.reopen(reason=reason, actor=actor, at=at), actor=actor, **opts
        )

    def give_feedback(
        self,
        ref: str | UUID,
        *,
        timeliness: int,
        effectiveness: int,
        attitude: int,
        actor: str,
        comment: str = "",
        improvement: Improvement | None = None,
        **opts: Any,
    ) -> CommandResult:
        # The window's end, the low-score improvement and its project (ADR 0028).
        from application import feedback

        def command(t: Ticket, at: datetime, numbers: _NumberIssuer) -> Any:
            number = numbers.issue(RecordKind.FEEDBACK)
            scores = (timeliness, effectiveness, attitude)
            imp, projects = feedback.follow_up(self, t, scores, improvement, number, actor, at)
            t.give_feedback(number=number, timeliness=timeliness, effectiveness=effectiveness,
                            attitude=attitude, comment=comment, improvement=imp, actor=actor,
                            at=at, window_end=feedback.window_end(self, t))
            return projects or None

        return self._change(ref, command, actor=actor, **opts)

    # ------------------------------------------------------ escalation (ADR 0016)

    def escalate(self, ref: str | UUID, *, reason: str, actor: str, **opts: Any) -> CommandResult:
        """Manual escalation (API.md ``escalate``): one level up, priority raised, the
        policy's manager and expert notified after the save."""
        escalated: list[Ticket.Escalated] = []

        def command(t: Ticket, at: datetime, _: _NumberIssuer) -> None:
            manager, expert = self._contacts(t)
            t.escalate(reason=reason, manager=manager, expert=expert, actor=actor, at=at)
            escalated[:] = [e for e in t.pending_events if isinstance(e, Ticket.Escalated)]

        result = self._change(ref, command, actor=actor, **opts)
        if not result.replayed:
            self._send_notices(result.ticket, escalated)
        return result

    def record_sla_events(
        self, ref: str | UUID, now: datetime | None = None, *, actor: str = SLA_ACTOR
    ) -> tuple[CommandResult | None, list[Any]]:
        """The watcher's command for one ticket: records every warning and breach of its
        running clocks reached by ``now`` and not yet recorded, oldest first, and escalates
        on the first breach of each clock. Returns the result (``None``: nothing to record)
        and the new SLA events; escalation notices go out after the save."""
        if self.sla is None:
            return None, []
        recorded: list[Any] = []

        def command(t: Ticket, at: datetime, _: _NumberIssuer) -> None:
            recorded.clear()
            assert self.sla is not None
            limit = min(now or at, at)
            marks = self.sla.reached(t, limit)
            if not marks:
                raise _NothingDue()
            for m in marks:
                if m.breach:
                    t.record_sla_breach(clock=m.clock, due=m.due, actor=actor, at=at)
                    if m.clock not in t.escalated_clocks:
                        manager, expert = self._contacts(t)
                        t.escalate(
                            reason=f"{m.clock} SLA breached", manager=manager, expert=expert,
                            actor=actor, at=at, occurred_at=m.due, clock=m.clock, due=m.due)
                else:
                    t.raise_sla_warning(clock=m.clock, threshold=m.threshold, due=m.due,
                                        occurred_at=m.occurred_at, actor=actor, at=at)
            recorded[:] = [
                e for e in t.pending_events
                if isinstance(e, (Ticket.SlaWarningRaised, Ticket.SlaBreached, Ticket.Escalated))
            ]

        try:
            result = self._change(ref, command, actor=actor)
        except _NothingDue:
            return None, []
        self._send_notices(result.ticket, [e for e in recorded if isinstance(e, Ticket.Escalated)])
        return result, recorded

    def refresh_sla_deadlines(
        self, ref: str | UUID, *, actor: str = SLA_ACTOR
    ) -> CommandResult | None:
        """Records new deadlines on a ticket whose running clocks cite an older version of
        their policy or calendar (reason ``policy_changed`` / ``calendar_changed``, ADR 0018);
        ``None`` when nothing had to change."""
        if self.sla is None:
            return None

        def command(t: Ticket, at: datetime, _: _NumberIssuer) -> None:
            assert self.sla is not None
            if not self.sla.refresh(t, at):
                raise _NothingDue()

        try:
            return self._change(ref, command, actor=actor)
        except _NothingDue:
            return None

    def _contacts(self, t: Ticket) -> tuple[str, str]:
        return self.sla.escalation_contacts(t) if self.sla is not None else ("", "")

    def _send_notices(self, ticket: Ticket, escalated: Sequence[Ticket.Escalated]) -> None:
        if self.notifier is None:
            return
        for e in escalated:
            for role, who in (("manager", e.manager), ("expert", e.expert)):
                if who:
                    self.notifier.notify(Notice(
                        kind="escalation", recipient=who, role=role, ticket_id=str(ticket.id),
                        number=ticket.number, level=e.level, reason=e.reason,
                        priority_from=str(e.priority_from) if e.priority_from else None,
                        priority_to=str(e.priority_to) if e.priority_to else None,
                        occurred_at=e.occurred_at, by=e.by))

    # ------------------------------------------------------------------- reads

    def get_ticket(self, ref: str | UUID, as_of: datetime | None = None) -> Ticket:
        return self.get_record(ref, Ticket, "ticket", as_of)  # type: ignore[return-value]

    def get_record(
        self, ref: str | UUID, kind: type[Aggregate], label: str, as_of: datetime | None = None
    ) -> Any:
        """The record ``ref`` (an id or number) of class ``kind``, now or as it stood at
        ``as_of`` (by recorded time, ADR 0008); ``RecordNotFound`` names ``label``."""
        record_id = self.resolve_ref(ref, label)
        if as_of is None:
            try:
                record = self._get(record_id)
            except AggregateNotFoundError:
                raise _not_found(str(ref), label) from None
            if not isinstance(record, kind):
                raise _not_found(str(ref), label)
            return record
        if as_of.tzinfo is None:
            raise InvalidCommand.field("as_of", "needs a UTC offset")
        aggregate: Any = None
        for event in self.events.get(record_id):
            if event.timestamp > as_of:
                break
            aggregate = event.mutate(aggregate)
        if not isinstance(aggregate, kind):
            raise _not_found(str(ref), label)
        return aggregate

    def ticket_history(self, ref: str | UUID) -> list[HistoryEntry]:
        return self.history(ref, Ticket, "ticket")

    def history(self, ref: str | UUID, kind: type[Aggregate], label: str) -> list[HistoryEntry]:
        """Every event of the record ``ref`` of class ``kind``, oldest first."""
        record_id = self.resolve_ref(ref, label)
        events = list(self.events.get(record_id))
        if not events or not isinstance(events[0].mutate(None), kind):
            raise _not_found(str(ref), label)
        positions = self.positions.positions(record_id) if self.positions else {}
        return [
            HistoryEntry(
                version=e.originator_version,
                position=positions.get(e.originator_version),
                type=event_type(e),
                topic=type(e).TOPIC,
                recorded_at=e.timestamp,
                actor=getattr(e, "actor", None),
                data=event_data(e),
            )
            for e in events
        ]

    def read_log(self, after: int, limit: int) -> list[tuple[Notification, Any]]:
        """The global event log after ``after``, oldest first, decoded."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        return [(n, self.mapper.to_domain_event(n)) for n in notifications]

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0


def _not_found(ref: str, label: str) -> RecordNotFound:
    return TicketNotFound(ref) if label == "ticket" else RecordNotFound(ref, label)


def _own(aggregate: Any) -> Any:
    """A shallow copy with its own pending events: enough because every event's ``apply``
    assigns new values (tuples, frozen dataclasses) instead of changing shared ones in place
    (``tests/application/test_desk_cache.py`` keeps it so). Much cheaper than ``deepcopy``.
    """
    copy = object.__new__(type(aggregate))
    copy.__dict__.update(aggregate.__dict__)
    copy._pending_events = []
    return copy


def _project(aggregate: Any, events: Any) -> Any:
    """The library's projector without its per-event runtime-Protocol ``isinstance`` assert
    (a measurable share of each command's CPU); every stored event here is one of ours."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
