"""The composition root: settings in, a wired service desk and its read models out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from adapters.calendars.holidays import ChinaHolidaySource
from adapters.channels.outbox import outbox_for
from adapters.channels.render import Renderer
from adapters.channels.rules import load_rules
from adapters.channels.sender import OutboxSender
from adapters.channels.senders import SmtpChannel
from adapters.stores.persistence import (
    RecorderPositions,
    PostgresIssuingLock,
    RecorderVersions,
    change_list_view,
    eventsourcing_env,
    follower_position,
    key_store,
    knowledge_view,
    problem_list_view,
    sla_due_view,
    ticket_list_view,
    ticket_search_view,
)
from adapters.runners.plugins import plugin_views
from adapters.stores.blobs import blob_store
from adapters.stores.quarantine import Quarantine, quarantine_store
from adapters.runners.projections import ProjectionRunner
from adapters.runners.replica import ReadReplica, StandbyStore, on_replica
from adapters.settings import Settings, SettingsError
from adapters.stores.sqlite import writer_lock
from adapters.stores.views_file import move_views_out, rewind_ahead, split, views_database, views_lock
from application.current import CurrentRecords
from application.customers import customer_policy
from application.desk import ServiceDesk
from application.notices import NoticeDecider, RulesError, desk_directory
from application.passwords import Passwords
from application.ports import BlobStore, Clock
from application.projects import contract_terms
from application.routine_tickets import NAME as ROUTINE_TICKETS
from application.routine_tickets import RoutineTicketOpener
from application.sealing import ContactSealer, record_owners
from application.sla_clocks import SlaClocks
from application.sla_watch import SlaWatcher, WatcherThread
from projections.base import TrackingConflict
from projections.change_list.view import ChangeListView
from projections.ci_index.view import CiIndex
from projections.knowledge.view import KnowledgeView
from projections.problem_list.view import ProblemListView
from projections.sla_due.view import SlaDueView
from projections.ticket_list.view import TicketListView
from projections.ticket_search.view import TicketSearchView


@dataclass
class Services:
    settings: Settings
    desk: ServiceDesk
    tickets: TicketListView
    runner: ProjectionRunner
    sla_due: SlaDueView
    notifier: OutboxSender  # the notice outbox's sender (ADR 0059; ``.outbox``: its rows)
    watcher: SlaWatcher
    watch_thread: WatcherThread
    problems: ProblemListView
    knowledge: KnowledgeView
    changes: ChangeListView
    ticket_search: TicketSearchView  # the desk's search over tickets' text (ADR 0050)
    blobs: BlobStore  # the bytes of uploaded files (ADR 0056)
    quarantine: Quarantine  # mail the intake kept aside, whole, with its reason (ADR 0057)
    cis: CiIndex = field(default_factory=CiIndex)  # configuration items (ADR 0063)
    # The hot standby the read models above are read from (ADR 0070); None: the primary.
    replica: ReadReplica | None = None
    # The read models' writers' lock: on SQLite their own file's (ADR 0073), else the desk's.
    views_lock: Any = None

    def console_secret(self) -> str:
        """The secret that signs the console's CSRF tokens (ADR 0049): the setting, else a key
        kept in the store's key table, so that every worker process signs alike."""
        if self.settings.console_secret:
            return self.settings.console_secret
        keys = self.desk.mapper.sealer.keys  # type: ignore[attr-defined]
        return str(keys.current("opsledger:console-csrf")[1].hex())

    def close(self) -> None:
        self.watch_thread.stop()
        self.notifier.stop()
        self.runner.stop()
        for view in self.runner.views.values():
            view.close()
        self.desk.close()
        self.blobs.close()
        self.quarantine.close()
        if self.replica is not None:
            self.replica.close()
        self.desk.current.versions.close()
        for lock in {id(lock): lock for lock in (self.views_lock, self.desk.write_lock)}.values():
            if hasattr(lock, "close"):
                lock.close()  # the SQLite writers' lock files (ADR 0038, 0073)
        keys = self.desk.mapper.sealer.keys  # type: ignore[attr-defined]
        if hasattr(keys, "close"):
            keys.close()


def build(settings: Settings, *, clock: Clock | None = None) -> Services:
    db = settings.database
    desk = ServiceDesk(
        eventsourcing_env(db, settings.sqlite_synchronous),
        clock=clock,
        timezone=settings.timezone,
        matrix=settings.priority_matrix,
        passwords=Passwords(settings.password_cost),
    )
    desk.positions = RecorderPositions(desk.recorder)
    versions = RecorderVersions(desk.recorder, db)
    # ADR 0038; on PostgreSQL the save checks what a command read instead of a lookup per
    # record before it (ADR 0075): the lookup is a round trip there, a local read on SQLite.
    desk.current = CurrentRecords(desk, versions, checked_at_save=versions.kind == "postgres")
    if db.kind == "sqlite":
        # One writer at a time, across this process and its projections worker (ADR 0038).
        # Commands on the event loop: creators issue numbers without holding it (ADR 0041).
        desk.serialise_writes(writer_lock(db.path), optimistic_numbers=settings.commands_inline)
    elif db.kind == "postgres" and settings.commands_inline:
        # Commands on the event loop: creators issue numbers under a lock of this process only;
        # one that loses the day's sequence to another process tries again (ADR 0071, as on
        # SQLite since ADR 0041). With one-round-trip saves that costs less than the advisory
        # lock's two round trips per creator: p99 0.71x, tickets/s 1.21x at 8 clients.
        desk.number_lock = threading.RLock()
    elif db.kind == "postgres":
        # Commands in threads: one number issuer at a time across processes (ADR 0039).
        desk.number_lock = PostgresIssuingLock(versions)
    # Personal data is sealed with per-customer keys in their own table (ADR 0034, 0043).
    desk.mapper.sealer = ContactSealer(  # type: ignore[attr-defined]
        key_store(db, desk.write_lock), owners=record_owners(desk))
    # A ticket without its own ``sla_policy`` takes its registered customer's (ADR 0018);
    # an unknown customer takes ``default`` (registration on first use comes with issue 7).
    desk.sla = SlaClocks(desk, ChinaHolidaySource(), rule=settings.sla_recompute,
                         customer_policy=lambda customer: customer_policy(desk, customer),
                         project_terms=lambda customer, at, as_of=None: contract_terms(
                             desk, customer, at, as_of))
    # The read models: on SQLite in a file of their own with its own writers' lock, so the
    # projections worker never holds up a command (ADR 0073); else beside the events.
    move_views_out(db, desk.write_lock)
    vdb, vlock = views_database(db), views_lock(db, desk.write_lock)
    tickets = ticket_list_view(vdb, vlock)
    sla_due = sla_due_view(vdb, vlock)
    problems = problem_list_view(vdb, vlock)
    knowledge = knowledge_view(vdb, vlock)
    changes = change_list_view(vdb, vlock)
    ticket_search = ticket_search_view(vdb, vlock)
    # The notice outbox (ADR 0059): its process manager follows the log with the views.
    try:
        rules = load_rules(settings.notice_rules)
    except RulesError as e:
        raise SettingsError(str(e)) from None
    now = desk.clock.now
    outbox = outbox_for(vdb, vlock, desk.max_position, now)
    channels = (["email"] if settings.smtp_relay else []) + (
        ["webhook"] if settings.notify_webhook_url else [])
    notices = NoticeDecider(outbox, desk_directory(desk), lambda: rules, channels)
    cis = CiIndex()  # configuration items, their relations, who names them (ADR 0063)
    routine_position = follower_position(vdb, ROUTINE_TICKETS, vlock)
    builtin = [tickets, sla_due, problems, knowledge, changes, ticket_search, cis,
               # The process manager of abnormal routine runs (ADR 0028).
               RoutineTicketOpener(desk, routine_position),
               notices]
    # Read models of installed packages (entry points ``opsledger.projections``, ADR 0033).
    plugins = plugin_views(settings, vlock, reserved=[v.name for v in builtin], database=vdb)
    if split(db):  # the two files are synced apart: views ahead of the log (ADR 0073)
        rewind_ahead(desk.max_position, [tickets, sla_due, problems, knowledge, changes, ticket_search],
                     [(ROUTINE_TICKETS, routine_position.position, routine_position.move),
                      (notices.name, outbox.position, lambda start, end: outbox.store([], start, end))])
    runner = ProjectionRunner(
        desk,
        [*builtin, *plugins],
        batch_size=settings.projection_batch_size,
        poll_seconds=settings.projection_poll_seconds,
    )
    for plugin in plugins:
        if plugin.load_error:  # shown as failed, retried with the runner's backoff
            runner.failed(plugin.name, plugin.load_error)
    runner.fresh = lambda: _fresh_runner(settings, desk.clock)  # a rebuild's second process
    desk.after_save.append(lambda _position: runner.wake())
    public_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    notifier = OutboxSender(
        outbox, desk, lambda: rules, Renderer(settings.timezone, public_url),
        smtp=SmtpChannel(settings.smtp_relay, settings.mail_from) if settings.smtp_relay else None,
        webhook_url=settings.notify_webhook_url, attempts=settings.notice_attempts,
        retry_seconds=settings.notice_retry_seconds,
        catch_up=lambda: _caught_up(runner, notices), now=now)
    notices.stored = notifier.wake  # sent at once, not at the sender's next poll
    log = structlog.get_logger("opsledger.sla")

    def index_up_to_date() -> None:
        """Bring the due index to (at least) the log's head as it is now. The runner thread may
        be applying the same batch: then our compare-and-set loses, and we look again once its
        transaction has committed, until the index has everything up to ``head``."""
        head = desk.max_position()
        deadline = time.monotonic() + 10
        while True:
            try:
                runner.catch_up(sla_due)
            except TrackingConflict:
                pass
            if sla_due.position() >= head or time.monotonic() > deadline:
                return
            time.sleep(0.001)

    # Escalation notices come from the outbox (ADR 0059), not from ``desk.notifier``.
    watcher = SlaWatcher(desk, None, desk.clock, sla_due, catch_up=index_up_to_date, log=log)
    services = Services(settings=settings, desk=desk, tickets=tickets, runner=runner,
                        sla_due=sla_due, notifier=notifier, watcher=watcher,
                        watch_thread=WatcherThread(watcher, settings.sla_watch_seconds, log),
                        problems=problems, knowledge=knowledge, changes=changes,
                        ticket_search=ticket_search,
                        blobs=blob_store(db, settings.blob_dir),
                        quarantine=quarantine_store(db, desk.write_lock), cis=cis,
                        views_lock=vlock)
    if (standby := settings.read_replica) is not None:
        # ADR 0070: the lists, queues, search and reports read these views on the standby;
        # the runner (the worker) keeps writing the primary's, the SLA watcher reads its due
        # index there, commands and the log's reads stay on the primary.
        store = StandbyStore(standby.conninfo, db.schema, pool_size=8)
        served = ("tickets", "problems", "knowledge", "changes", "ticket_search")
        for attr in served:
            setattr(services, attr, on_replica(getattr(services, attr), store))
        services.replica = ReadReplica(store, [getattr(services, a).tracking.name for a in served],
                                       host=f"{standby.host}:{standby.port}")
    return services


@contextmanager
def _fresh_runner(settings: Settings, clock: Clock) -> Iterator[ProjectionRunner]:
    """A projection runner on connections of its own (a bulk rebuild's second process, ADR
    0077), closed after. Its views' store is the primary's (never a replica's)."""
    services = build(replace(settings, read_replica_url=""), clock=clock)
    try:
        yield services.runner
    finally:
        services.close()


def _caught_up(runner: ProjectionRunner, view: NoticeDecider) -> None:
    """The notice decider up to the log's head (``sla-watch --once``, tests), unless another
    runner moves it at the same time."""
    try:
        runner.catch_up(view)
    except TrackingConflict:
        pass
