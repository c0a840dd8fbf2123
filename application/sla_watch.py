"""The SLA watcher (issue 3 item 4, ADR 0016): records, on each ticket, the warnings and
breaches its running clocks have reached, and escalates on a breach.

``tick(now)`` asks the ``sla_due`` index for the clocks whose next check is at or before
``now`` (earliest first) and runs ``RecordSlaEvents`` once per ticket: one short
transaction per ticket, with the desk's optimistic-concurrency retries, so a tick never holds
a lock that commands wait for. The ticket decides what is really due (from its recorded
deadlines, pauses and marks); the index is only how candidates are found fast. An escalation
raises the priority, which recomputes the deadlines; if the new ones are already reached they
are recorded in the same tick (up to ``MAX_ROUNDS`` commands per ticket).
Before that, when a calendar or policy has a new version since the last tick (and on the first
tick of a process, which cannot know what changed while it was down), every ticket with a
running clock is offered ``RefreshSlaDeadlines``: those whose deadlines cite an
older version get new ones (reason ``policy_changed`` / ``calendar_changed``, ADR 0018).
Events carry the true instant (``occurred_at``, from the deadline arithmetic); their
timestamp is when they were recorded, so a watcher that was down catches up truthfully.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from application.catalog import current_versions
from application.commands.tickets import RecordSlaEvents, RefreshSlaDeadlines
from application.complaint_watch import watch_complaints
from application.desk import ServiceDesk
from application.errors import ApplicationError, TicketNotFound
from application.ports import Clock, Notifier
from application.sla_clocks import SLA_ACTOR
from application.record_watch import watch_records  # ADR 0067
from application.repair_watch import watch_repairs  # ADR 0065
from domain.errors import DomainError
from domain.ticket import Ticket

MAX_ROUNDS = 4


class DueIndex(Protocol):
    def due(self, now: datetime, limit: int = ...) -> list[Any]: ...


MAX_ERRORS = 100


@dataclass
class TickCounts:
    checked: int = 0  # tickets looked at
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    failed: int = 0
    recomputed: int = 0  # tickets given new deadlines after a policy/calendar change
    milestones: int = 0  # milestone clocks' warnings and breaches recorded (ADR 0062)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if k != "errors"}

    def fail(self, error: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS:  # the count is exact; the texts are a sample
            self.errors.append(error)


class SlaWatcher:
    def __init__(
        self,
        desk: ServiceDesk,
        notifier: Notifier | None,
        clock: Clock,
        index: DueIndex,
        *,
        catch_up: Callable[[], Any] | None = None,
        batch: int = 10_000,
        log: Any = None,
    ) -> None:
        self.desk = desk
        self.clock = clock
        self.index = index
        # Brings the index up to the log before a tick (the runner's catch_up), if given.
        self.catch_up = catch_up
        self.batch = batch
        self.log = log
        if notifier is not None:
            desk.notifier = notifier
        self.last: TickCounts | None = None
        self.ticks = 0
        # The calendar and policy versions the last complete recompute sweep saw (ADR 0018);
        # ``None`` until the first sweep of this process.
        self.versions: dict[tuple[str, str], int] | None = None
        self._sweep: dict[str, Any] | None = None  # a sweep in progress: versions, cursor
        self.sweep_budget = 2000  # tickets offered a recompute per tick

    def tick(self, now: datetime | None = None) -> TickCounts:
        now = now or self.clock.now()
        if self.catch_up is not None:
            self.catch_up()
        counts = TickCounts()
        if self._recompute_changed(counts) and self.catch_up is not None:
            self.catch_up()  # the index learns the new deadlines before the due query
        seen: set[str] = set()
        for row in self.index.due(now, self.batch):
            if row.ticket_id in seen:
                continue
            seen.add(row.ticket_id)
            counts.checked += 1
            try:
                for _ in range(MAX_ROUNDS):
                    result = self.desk.handle(RecordSlaEvents(ref=row.ticket_id, now=now),
                                              actor=SLA_ACTOR)
                    if not result.changed:
                        break
                    for e in result.events:
                        if isinstance(e, Ticket.SlaWarningRaised):
                            counts.warnings += 1
                        elif isinstance(e, Ticket.SlaBreached):
                            counts.breaches += 1
                        elif isinstance(e, Ticket.Escalated):
                            counts.escalations += 1
                        elif isinstance(e, Ticket.MilestoneWarningRaised | Ticket.MilestoneBreached):
                            counts.milestones += 1  # the milestone clocks (ADR 0062)
            except (ApplicationError, DomainError) as e:  # one ticket never stops the tick
                counts.fail(f"{row.ticket_id}: {type(e).__name__}: {e}")
                if self.log is not None:
                    self.log.error("sla.watch_failed", ticket_id=row.ticket_id,
                                   error=f"{type(e).__name__}: {e}")
        watch_complaints(self.desk, now, SLA_ACTOR, self.log)  # complaints, agreements: 0066
        watch_records(self.desk, now, counts, self.log)  # risks, major incidents (ADR 0067)
        watch_repairs(self.desk, now, SLA_ACTOR, self.log)  # repair progress (ADR 0065)
        self.last = counts
        self.ticks += 1
        if self.log is not None and (counts.warnings or counts.breaches or counts.failed):
            self.log.info("sla.tick", **counts.as_dict())
        return counts


    def _recompute_changed(self, counts: TickCounts) -> int:
        """Offers the tickets with a running clock a recompute when a calendar or policy
        version changed since the last complete sweep (and once per process, for changes made
        while it was down). A sweep is spread over ticks, at most ``sweep_budget`` tickets a
        tick, so one tick stays short however many tickets are open; a ticket that fails
        leaves the sweep incomplete, so it is offered again by the next sweep."""
        running = getattr(self.index, "running_tickets", None)
        if running is None:
            return 0
        versions = current_versions(self.desk)
        if self._sweep is None:
            if versions == self.versions:
                return 0
            self._sweep = {"versions": versions, "after": "", "complete": True}
        sweep = self._sweep
        if sweep["versions"] != versions:  # changed again mid-sweep: start over
            sweep.update(versions=versions, after="", complete=True)
        budget = self.sweep_budget
        while budget > 0:
            want = min(self.batch, budget)
            ids = running(sweep["after"], want)
            for tid in ids:
                try:
                    result = self.desk.handle(RefreshSlaDeadlines(ref=tid), actor=SLA_ACTOR)
                    if result.changed:
                        counts.recomputed += 1
                except TicketNotFound:
                    continue  # an index row without a ticket: nothing to recompute
                except (ApplicationError, DomainError) as e:
                    sweep["complete"] = False
                    counts.fail(f"{tid}: {type(e).__name__}: {e}")
                    if self.log is not None:
                        self.log.error("sla.recompute_failed", ticket_id=tid,
                                       error=f"{type(e).__name__}: {e}")
            budget -= len(ids)
            if len(ids) < want:  # the end of the running tickets: the sweep is done
                if sweep["complete"]:
                    self.versions = sweep["versions"]
                self._sweep = None
                break
            sweep["after"] = ids[-1]
        if self.log is not None and counts.recomputed:
            self.log.info("sla.recomputed", tickets=counts.recomputed)
        return counts.recomputed


class WatcherThread:
    """Runs ``watcher.tick()`` every ``seconds`` in a daemon thread (inside ``serve``)."""

    def __init__(self, watcher: SlaWatcher, seconds: float, log: Any = None) -> None:
        self.watcher = watcher
        self.seconds = seconds
        self.log = log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.last_error: str | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="sla-watch", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.watcher.tick()
                self.last_error = None
            except Exception as e:  # the store is away: try again next time
                self.failures += 1
                self.last_error = f"{type(e).__name__}: {e}"
                if self.log is not None:
                    self.log.error("sla.tick_failed", error=self.last_error)
            self._stop.wait(self.seconds)

    def status(self) -> dict[str, Any]:
        last = self.watcher.last
        return {
            "running": self._thread is not None,
            "interval_seconds": self.seconds,
            "ticks": self.watcher.ticks,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_tick": last.as_dict() if last else None,
        }
