"""The service desk: the one command handler, reads by id, number, time and history.

``ServiceDesk`` is an eventsourcing ``Application``. ``handle(command)`` runs every command
(a frozen value from ``application.commands``, ADR 0046): it loads the record the command
names, checks an optional expected version (``If-Match``) and ``Idempotency-Key``, calls the
command's ``decide`` with the clock's time and the acting user, and saves the record's new
events together with any other records the command changed, the numbers it issued and the
idempotency record, in one transaction. A conflicting concurrent save (the store's unique
originator id + version) is retried from a fresh load, so no update is ever lost.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Mapper, Notification, Recording

from application.encoding import MsgspecMapper
from application.commands.base import NOTHING, Command, resolve_ref
from application.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    VersionMismatch,
    record_not_found,
)
from application.idempotency import IdempotencyKey, IdempotencyRecord
from application.passwords import Passwords
from application.ports import Clock, Notifier, PositionIndex, SystemClock, TicketClocks
from domain.customer import customer_id
from domain.errors import InvalidCommand
from domain.numbering import DailySequence, RecordKind
from domain.priority import DEFAULT_MATRIX, PriorityMatrix
from domain.ticket import Ticket

MAX_ATTEMPTS = 30  # with RETRY_* below: about 2.6 s of waiting at most before a 409
RETRY_DELAY = 0.002  # seconds: the first conflict waits up to this long, doubling each time
RETRY_MAX_DELAY = 0.1


@dataclass(slots=True)
class CommandResult:
    """What ``ServiceDesk.handle`` answers."""

    aggregate: Any  # the record the command was addressed to (or created), as saved
    created: bool = False
    position: int | None = None  # notification id of the last event saved (None: none)
    replayed: bool = False  # an Idempotency-Key repeat: nothing new was recorded
    changed: bool = False  # the command recorded events (not ``NOTHING``, not a replay)
    events: tuple[Any, ...] = ()  # every event saved, in order (numbers, idempotency too)
    # when the command was decided (a repeat: the first one's time), so that an answer's
    # clocks read the same on every repeat of one Idempotency-Key
    at: datetime | None = None

    @property
    def ticket(self) -> Ticket:
        return self.aggregate  # type: ignore[no-any-return]


class Context:
    """What a command's ``decide`` gets besides its record, for one attempt: ``desk`` (for
    reads: ``get_record``, ``load``, ``load_current``, ``matrix``, ``sla``), ``at`` (the
    clock's time), ``actor``, and ``issue(kind)``: the next number of a numbered record,
    saved with the command (a refused command saves nothing, so its number is never used)."""

    __slots__ = ("desk", "at", "actor", "sequences", "holds_lock")

    def __init__(self, desk: ServiceDesk, at: datetime, actor: str) -> None:
        self.desk = desk
        self.at = at
        self.actor = actor
        self.sequences: dict[UUID, DailySequence] = {}
        self.holds_lock = False

    def issue(self, kind: RecordKind) -> str:
        if not self.holds_lock:
            # One issuer at a time in this process, from reading the sequence until the
            # command is saved (``release``): creators in one process never collide on a
            # number, only those of other processes can (and are retried).
            self.desk.number_lock.acquire()
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
            self.desk.number_lock.release()


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


#: What history and audit reads show instead of a field an event class lists in its
#: ``SECRET_FIELDS`` (a password's hash, ADR 0049): the stored event keeps it for the chain.
HIDDEN = "[hidden]"


def event_data(event: Any) -> dict[str, Any]:
    secret = getattr(type(event), "SECRET_FIELDS", ())
    return {k: (HIDDEN if k in secret else v) for k, v in vars(event).items()
            if k not in EVENT_BASE_FIELDS}


def event_type(event: Any) -> str:
    return type(event).__name__


class ServiceDesk(Application):
    """The ticket use cases over an eventsourcing event store."""

    name = "opsledger"
    env = {
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        # Our aggregates never change nested state in place (events reassign attributes), so a
        # shallow copy with its own pending-event list isolates a command; see ``private_copy``.
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
        passwords: Passwords | None = None,
    ) -> None:
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        self.timezone = ZoneInfo(timezone)
        self.matrix = matrix
        # Console password hashes at the configured cost (ADR 0049, 0077; OWASP's by default).
        self.passwords = passwords or Passwords()
        self.positions = positions
        self.saved_position = 0  # the highest notification id this process has written
        # Held by a creator from its first number to its save (``Context.issue``); replaced by
        # ``serialise_writes`` or, across processes, by the composition root (ADR 0042).
        self.number_lock: Any = threading.Lock()
        self._sequences: dict[UUID, DailySequence] = {}  # last saved, guarded by number_lock
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
        # ADR 0038), wired by the composition root; ``load_current`` uses it.
        self.current: Any = None
        # Commands run first on the cached record without reading the store (ADR 0074).
        self.trust_cache = bool(self.repository.cache)
        self._cache_lock = threading.Lock()
        self._reopened: set[UUID] = set()  # opened again after their customer's erasure

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
        self.number_lock = threading.RLock() if optimistic_numbers else lock
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

    def _save(self, *aggregates: Aggregate | None) -> tuple[int | None, list[Recording[UUID]]]:
        reads = self.current.reads() if self.current is not None else None
        # The reference records this command read, for the store to check in the save
        # (ADR 0075): one that moved on makes the save fail like a conflict.
        recordings = self.save(*aggregates, **({"expected_versions": reads} if reads else {}))
        if self.current is not None:
            # what this command reads next includes this save
            self.current.saved(a for a in aggregates if a is not None)
        if not recordings:
            return None, recordings
        position = max(r.notification.id for r in recordings)
        if position > self.saved_position:
            self.saved_position = position
        for listener in self.after_save:
            listener(position)
        return position, recordings

    def _get(self, aggregate_id: UUID) -> Any:
        """A private copy of the (cached) aggregate, safe to run a command on."""
        return private_copy(self._unless_erased(
            self.repository.get(aggregate_id, projector_func=_project)))

    def _unless_erased(self, aggregate: Any) -> Any:
        """``aggregate`` as cached, unless its customer's personal data was erased (ADR 0034)
        after it was cached, perhaps by another process: then once more from the store, where
        its sealed values open as erased, and cached so. Records with erasure events of their
        own (tickets, projects, changes, users) get there by the fast-forward anyway; this
        covers the others (complaints, repairs, ...)."""
        sealer = getattr(self.mapper, "sealer", None)
        customer = getattr(aggregate, "customer", None)
        if sealer is None or not isinstance(customer, str) or not customer \
                or aggregate.id in self._reopened:
            return aggregate
        try:
            erased = sealer.erased(str(customer_id(customer)))
        except ValueError:
            return aggregate
        if not erased:
            return aggregate
        fresh = self.repository.get(aggregate.id, version=aggregate.version, projector_func=_project)
        with self._cache_lock:
            self._reopened.add(aggregate.id)
            if self.repository.cache is not None:
                self.repository.cache.put(aggregate.id, fresh)
        return fresh

    def _cached(self, record_id: UUID) -> Any | None:
        """A private copy of the record as this process's cache holds it, without reading the
        store; ``None`` when it is not cached."""
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            return private_copy(self._unless_erased(cache.get(record_id)))
        except KeyError:
            return None

    def _stale(self, record_id: UUID, version: int) -> bool:
        """Whether the store has moved ``record_id`` past ``version`` (the cache is brought up
        to date on the way)."""
        fresh = self.load(record_id)
        return fresh is not None and fresh.version != version

    def _behind(self, cached: bool, target: Any) -> bool:
        """Before an answer that saves nothing (an error, nothing to do), which no save then
        checks: whether it was decided on something the store has moved past -- the command's
        record as cached (ADR 0074), a reference record read without a lookup (ADR 0075).
        Then the command runs again on what the store holds."""
        if cached and self._stale(target.id, target.version):
            return True
        if self.current is not None and self.current.distrust() and self.current.moved_on():
            self.current.forget_command()
            return True
        return False

    def _cache_saved(self, record: Any) -> None:
        """After a save: the record as saved becomes the cached one, so the next command on
        it needs no read of the store (unless another writer saved meanwhile: then its save
        conflicts and it reads)."""
        cache = self.repository.cache
        if cache is None:
            return
        with self._cache_lock:
            try:
                if cache.get(record.id).version >= record.version:
                    return
            except KeyError:
                pass
            cache.put(record.id, private_copy(record))

    def answering(self) -> AbstractContextManager[None]:
        """A command and the reads of its answer as one scope: on PostgreSQL the answer reads
        the reference records the command read, which its save found current (ADR 0075),
        without looking them up again."""
        return self.current.one_command() if self.current is not None else nullcontext()

    def load(self, record_id: UUID) -> Any | None:
        """The record ``record_id`` as it stands now (a private copy: a command may change
        it), or ``None`` when it has no events."""
        try:
            return self._get(record_id)
        except AggregateNotFoundError:
            return None

    def load_current(self, record_id: UUID) -> Any | None:
        """``load`` for the reference records read by every command (customers, SLA policies,
        calendars): cached against the store's current version when ``current`` is wired."""
        if self.current is None:
            return self.load(record_id)
        return self.current.get(record_id)

    def _load_sequence(self, kind: RecordKind, day: date, at: datetime) -> DailySequence:
        # Under the number lock, the sequence this process saved last is the latest unless
        # another process issued since; then the save conflicts and ``forget`` drops it.
        # Where another process may issue too (several servers, ADR 0039), the store's version
        # of the sequence is checked first -- one primary-key lookup -- instead of finding out
        # by a conflict and trying the whole command again. Under the number lock across
        # processes (PostgreSQL; SQLite with commands in threads) the answer holds until the
        # save; where creators issue optimistically (ADR 0041) it makes a conflict rare.
        # Where that lookup is a round trip (PostgreSQL, ADR 0075), the cached sequence is
        # brought up to date by one read of its newer events instead: as many round trips when
        # nothing changed, one fewer when another process issued.
        seq_id = DailySequence.id_for(kind, day)
        known = self._sequences.get(seq_id)
        if known is not None and (self.current is None or (
                not self.current.checked_at_save
                and self.current.versions.latest_version(seq_id) == known.version)):
            return private_copy(known)  # type: ignore[no-any-return]
        try:
            return self._get(seq_id)
        except AggregateNotFoundError:
            return DailySequence.open(kind, day, at)

    def resolve_ref(self, ref: str | UUID, kind: str = "ticket") -> UUID:
        """An id, or a human number of any numbered record (``SR-…``, ``PRB-…``, ``CHG-…``)."""
        return resolve_ref(ref, kind)

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
        return CommandResult(aggregate=aggregate, created=record.created, replayed=True,
                             at=record.created_on)

    # ------------------------------------------------------------- the handler

    def handle(self, command: Command, *, actor: str, expected_version: int | None = None,
               idempotency: IdempotencyKey | None = None) -> CommandResult:
        """Runs ``command`` (``application.commands``) as ``actor``: loads the record it names
        (``command.target()``; none for a command that creates its record), checks
        ``expected_version`` (``If-Match``: ``VersionMismatch``, a 412) and ``idempotency``
        (a repeat answers the first result, ``replayed``), lets the command ``decide`` and
        saves what it changed in one transaction, trying again from a fresh load when
        another writer saved first (``ConcurrencyConflict`` after ``MAX_ATTEMPTS``).
        Reference records are read once per attempt (``current``)."""
        record_id = command.target()
        command.prepare(self)
        if self.current is None:
            result = self._attempts(command, record_id, actor, expected_version, idempotency)
        else:
            with self.current.one_command():
                result = self._attempts(command, record_id, actor, expected_version,
                                        idempotency)
                # What is read after it (the answer, ``after``) is looked up unless its save
                # found it current (a repeat, say, saved nothing).
                self.current.distrust()
        if not result.replayed:
            command.after(result, self)
        return result

    def _attempts(self, command: Command, record_id: UUID | None, actor: str,
                  expected_version: int | None,
                  idempotency: IdempotencyKey | None) -> CommandResult:
        # The first attempt runs on the cached record as this process last saw it, without
        # reading the store (ADR 0074): a save proves it was current (another writer's event at
        # the next version makes the save conflict); an answer that saves nothing -- an error,
        # a 412, nothing to do -- is checked against the store before it is given.
        trusted = self.trust_cache
        attempt = 0
        while attempt < MAX_ATTEMPTS:
            if idempotency is not None:
                done = self._find_idempotent(idempotency)
                if done is not None:
                    return self._replay(done)
            target = None
            cached = False
            if record_id is not None:
                target = self._cached(record_id) if trusted else None
                cached = target is not None
                if target is None:
                    target = self.load(record_id)
                if target is not None and not isinstance(target, command.record_class):
                    target = None
                cached = cached and target is not None
                if target is None and not command.missing_ok:
                    raise command.missing(record_id)
                if expected_version is not None:
                    actual = 0 if target is None else target.version
                    if actual != expected_version:
                        if cached and self._stale(record_id, actual):
                            trusted = False
                            continue
                        raise VersionMismatch(expected_version, actual, command.record_label)
            ctx = Context(self, self.clock.now(), actor)
            try:
                try:
                    outcome = command.decide(target, ctx)
                    changed = outcome is not NOTHING
                    # ``None``: the record changed; aggregates: saved with it (the first one
                    # *is* the record when there was none); ``NOTHING``: nothing to save.
                    if not changed or outcome is None:
                        record, others = target, ()
                    elif type(outcome) is tuple:
                        record, others = ((outcome[0], outcome[1:]) if target is None
                                          else (target, outcome))
                    else:
                        record, others = ((outcome, ()) if target is None
                                          else (target, (outcome,)))
                    if changed and self.sla is not None:
                        for aggregate in (record, *others):
                            if isinstance(aggregate, Ticket):
                                self.sla.update(aggregate, ctx.at)
                except Exception:  # a refusal, the clocks' policy not found, ...
                    if self._behind(cached, target):
                        trusted = False
                        continue
                    raise
                if not changed and self._behind(cached, target):
                    trusted = False
                    continue
                idem = None
                if idempotency is not None and record is not None:
                    idem = IdempotencyRecord.record(
                        idempotency, target_id=record.id, target_version=record.version,
                        created=changed and target is None, actor=actor, at=ctx.at)
                if changed:
                    position, recordings = self._save(record, *others,
                                                      *ctx.sequences.values(), idem)
                elif idem is not None:
                    position, recordings = self._save(idem)
                else:
                    position, recordings = None, []
                ctx.remember()
                if changed and self.trust_cache:
                    # A record just created too: its customer's erasure, in any process, is
                    # seen by ``_unless_erased`` on the next load from the cache (ADR 0034).
                    self._cache_saved(record)
            except IntegrityError:
                ctx.forget()
                read_unchecked = False
                if self.current is not None:
                    self.current.forget_command()
                    read_unchecked = self.current.distrust()
                ctx.release()
                attempt += 1
                if cached or read_unchecked:
                    # most likely what we read from our cache was behind: at once, from the store
                    trusted = False
                    continue
                # Someone saved first; the cache fast-forwards on the next load. Wait a
                # random, growing while first, so that contenders (e.g. creators racing for
                # the day's number sequence) spread out instead of colliding again.
                time.sleep(random.uniform(0, min(RETRY_MAX_DELAY, RETRY_DELAY * 2**(attempt - 1))))
                continue
            finally:
                ctx.release()
            return CommandResult(aggregate=record, created=changed and target is None,
                                 position=position, changed=changed,
                                 events=tuple(r.domain_event for r in recordings), at=ctx.at)
        raise ConcurrencyConflict(MAX_ATTEMPTS)

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
            record = self.load(record_id)
            if not isinstance(record, kind):
                raise record_not_found(str(ref), label)
            return record
        if as_of.tzinfo is None:
            raise InvalidCommand.field("as_of", "needs a UTC offset")
        aggregate: Any = None
        for event in self.events.get(record_id):
            if event.timestamp > as_of:
                break
            aggregate = event.mutate(aggregate)
        if not isinstance(aggregate, kind):
            raise record_not_found(str(ref), label)
        return aggregate

    def ticket_history(self, ref: str | UUID) -> list[HistoryEntry]:
        return self.history(ref, Ticket, "ticket")

    def history(self, ref: str | UUID, kind: type[Aggregate], label: str) -> list[HistoryEntry]:
        """Every event of the record ``ref`` of class ``kind``, oldest first."""
        record_id = self.resolve_ref(ref, label)
        events = list(self.events.get(record_id))
        if not events or not isinstance(events[0].mutate(None), kind):
            raise record_not_found(str(ref), label)
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


def private_copy(aggregate: Any) -> Any:
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
