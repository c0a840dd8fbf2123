"""Our projection engine (ADR 0005): batches from the notification log into the views.

For each view: read the notifications after the view's position (a page of
``batch_size``), decode the events of the topics it wants, and hand them to ``view.apply``
which writes rows and the new position in one transaction. A crash anywhere leaves the old
position with the old rows; a batch applied twice is refused by the position's
compare-and-set. The library's ``ProjectionRunner`` does one event per transaction and
cannot follow SQLite, hence this.

The runner thread wakes when this process saves events (``wake()``) and polls otherwise,
so it also follows writes of other processes. A failing view is isolated: it is retried
with exponential backoff while the others keep going, and its error shows in ``status()``.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import structlog

from adapters.stores.persistence import LogReader, originator_uuid
from application.desk import ServiceDesk
from projections.base import Positioned, TrackingConflict, View
from projections.follower import FollowerThread, SqlPosition
from projections.sql import SqlStore, SqlView, Tracking

log = structlog.get_logger("opsledger.projections")

Progress = Callable[[int, int], None]  # (position reached, target position)
Batch = tuple[list[Positioned], int, int, int]  # (events, start, end, notifications covered)
# A member of a group of views applied in one transaction: (name, view, its batch, the store
# of its tracking row, the tracking row).
Member = tuple[str, View, Batch, SqlStore, Tracking]
RECHECK_SECONDS = 1.0
# The longest a busy runner waits between passes (``_loop``, ADR 0071): a list read that waits
# for its own write (read-your-writes) waits at most about this much longer under load.
BUSY_COALESCE_SECONDS = 0.04


def _committed(view: View) -> None:
    """Tells a view that the shared transaction with its batch has committed, if it wants to
    know (``committed()``: the ticket search purges what an erasure left in the database files
    then, ADR 0050; its own ``apply`` calls it after its own transaction)."""
    committed = getattr(view, "committed", None)
    if committed is None:
        return
    try:
        committed()
    except Exception as e:  # noqa: BLE001 - the batch is in: say so, the runner goes on
        log.warning("projection.after_commit_failed", projection=view.name,
                    error=f"{type(e).__name__}: {e}")


def _sql_tracking(view: View) -> tuple[SqlStore, Tracking] | None:
    """Where ``view`` keeps its position, if in a SQL database: a SQL view, or a follower of
    the log with a ``SqlPosition`` (``projections/follower.py``)."""
    if isinstance(view, SqlView):
        return view.store, view.tracking
    position = getattr(view, "tracking", None)
    if isinstance(position, SqlPosition):
        return position.store, position.tracking
    return None


@dataclass
class ViewState:
    failures: int = 0
    last_error: str | None = None
    retry_at: float = 0.0
    events_applied: int = 0


class ProjectionRunner(FollowerThread):
    thread_name = "projections"

    def __init__(
        self,
        desk: ServiceDesk,
        views: Sequence[View],
        *,
        batch_size: int = 5000,
        poll_seconds: float = 0.5,
        coalesce_seconds: float = 0.01,
    ) -> None:
        self.desk = desk
        self.reader = LogReader(desk.recorder)
        self.views = {v.name: v for v in views}
        self._local_lock = threading.Lock()  # feed_local: one feeder at a time
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.coalesce_seconds = coalesce_seconds
        self.states = {name: ViewState() for name in self.views}
        self._moved_to: dict[str, int] = {}  # where ``step`` last left each view (see there)
        self._checked: dict[str, float] = {}  # when the thread last re-read an idle view's position
        self._thread_init()
        self._moved = threading.Condition()
        # A runner on connections of its own, for a bulk rebuild's second process (ADR 0077);
        # given by the composition root (``adapters.container``), None: one process.
        self.fresh: Callable[[], AbstractContextManager[ProjectionRunner]] | None = None
        self.rebuilt_by: dict[str, int] = {}  # the process of each view's last bulk rebuild

    # ------------------------------------------------------------------ steps

    def step(self, view: View, pages: dict[int, list[Any]] | None = None,
             now: float | None = None) -> int:
        """Apply one batch to ``view``; returns how many notifications it covered."""
        batch = self._prepare(view, pages, now)
        if batch is None:
            return 0
        events, start, end, covered = batch
        view.apply(events, start=start, end=end)
        self._applied(view, events, end)
        return covered

    def _prepare(self, view: View, pages: dict[int, list[Any]] | None,
                 now: float | None = None) -> Batch | None:
        """The next batch of ``view``: (its events, start, end, notifications covered), or
        ``None`` when it is up to date.

        ``pages``: log pages already read in this pass, by start position -- the views of one
        runner are mostly at the same position, so one read serves them all (ADR 0038). The
        start is the position this runner last moved the view to, if it did (no query): a
        stale one (another runner moved it on) fails the move's compare-and-set, which
        forgets it, and the next step reads the stored one; finding nothing after it, the
        stored one is read too (a rebuild elsewhere may have reset it) -- by the runner's
        thread (``now`` given) at most once a ``RECHECK_SECONDS`` per view, not after every
        save (ADR 0041)."""
        remembered = self._moved_to.pop(view.name, None)
        start = view.position() if remembered is None else remembered
        rows = self._page(start, pages)
        if not rows and remembered is not None:
            # Nothing after where this runner left it: is it still there (a rebuild elsewhere
            # may have reset it, and no new event would make the move fail)?
            if now is not None and now - self._checked.get(view.name, -RECHECK_SECONDS) < RECHECK_SECONDS:
                self._moved_to[view.name] = remembered
                return None
            if now is not None:
                self._checked[view.name] = now
            start = view.position()
            rows = self._page(start, pages)
        if not rows:
            self._moved_to[view.name] = start  # up to date at ``start``: no read next time
            return None
        topics = view.topics
        fields: dict[str, frozenset[str]] = getattr(view, "fields", {})
        to_event = self.desk.mapper.event_from_row  # type: ignore[attr-defined]
        ids: dict[Any, Any] = {}
        events = [
            Positioned(
                position,
                to_event(topic, originator_uuid(oid, ids), version, state, fields.get(topic)),
            )
            for position, oid, version, topic, state in rows
            if topic in topics
        ]
        return events, start, rows[-1][0], len(rows)

    def _applied(self, view: View, events: list[Positioned], end: int) -> None:
        self._moved_to[view.name] = end
        self.states[view.name].events_applied += len(events)

    def _page(self, start: int, pages: dict[int, list[Any]] | None) -> list[Any]:
        if pages is not None and start in pages:
            return pages[start]
        rows = self.reader.read(start, self.batch_size)
        if pages is not None:
            pages[start] = rows
        return rows

    def catch_up(self, view: View, progress: Progress | None = None) -> int:
        target = self.desk.max_position()
        done = 0
        while True:
            n = self.step(view)
            if n == 0:
                break
            done += n
            if progress:
                progress(view.position(), max(target, view.position()))
        return done

    def rebuild(self, name: str, progress: Progress | None = None) -> tuple[int, float]:
        """Rebuild view ``name`` from the whole log; (notifications covered, seconds). A SQL
        view with a fold is built beside the live one and swapped in (``bulk.BulkRebuild``,
        ADR 0068), the others by ``rebuild_in_place``."""
        return self.rebuild_many([name], progress)[name]

    def rebuild_many(self, names: Sequence[str], progress: Progress | None = None, *,
                     processes: int | None = None) -> dict[str, tuple[int, float]]:
        """Rebuild the views ``names``: those that can fold in bulk, in one pass over the log
        for all of them, or in two groups at once on a large log (``bulk.rebuild``, ADR 0077:
        ``processes`` 1 keeps it to this process); each view's figure is then the whole
        rebuild's seconds. The others one after the other in place; (notifications covered,
        seconds) by name."""
        from adapters.runners import bulk as bulk_rebuild

        views = [self.views[n] for n in names]
        bulk = [v for v in views if bulk_rebuild.bulk_capable(v)]
        out: dict[str, tuple[int, float]] = {}
        if bulk:
            # A second process is forked only from a process whose runner thread is not
            # running (the command line, replay): a fork copies the locks other threads hold
            # at that instant (a log line being written) and a child could wait on them forever.
            fresh = self.fresh if self._thread is None else None
            outcome = bulk_rebuild.rebuild(self.desk, bulk, progress,  # type: ignore[arg-type]
                                           fresh=fresh, processes=processes)
            self.rebuilt_by.update(outcome.pids)
            for view in bulk:
                self._moved_to.pop(view.name, None)
                self._checked.pop(view.name, None)
                out[view.name] = (outcome.position, outcome.seconds)
        for view in views:
            if view.name not in out:
                out[view.name] = self.rebuild_in_place(view.name, progress)
        return out

    def rebuild_in_place(self, name: str, progress: Progress | None = None) -> tuple[int, float]:
        """Drop the view's rows and position and replay the whole log through the incremental
        path (the view is empty until it has caught up); (notifications covered, seconds)."""
        view = self.views[name]
        began = time.perf_counter()
        view.reset()
        self._moved_to.pop(name, None)
        # A rebuild allocates many short-lived objects and no cycles; the cyclic collector
        # only costs time here (it runs again as usual afterwards).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            count = self.catch_up(view, progress)
        finally:
            if gc_was_enabled:
                gc.enable()
        return count, time.perf_counter() - began

    # ----------------------------------------------------------------- thread

    def wake(self) -> None:
        # Every save calls this; ``Event.set`` takes a lock and notifies each time. A flag
        # that is still set means a pass is already due (``_loop`` clears it before it reads
        # the log), and that pass reads what was saved before this call (ADR 0040).
        if not self._wake.is_set():
            self._wake.set()

    def _loop(self) -> None:
        window = self.coalesce_seconds
        while not self._stop.is_set():
            self._wake.clear()
            began = time.monotonic()
            busy = self.run_once(lazy=True)
            if busy:
                # A steady stream of commands: the next pass starts no sooner than ``window``
                # after this one began, and the window doubles while passes keep finding work,
                # up to ``BUSY_COALESCE_SECONDS``. A pass costs ~0.4 ms on SQLite whatever it
                # carries (a commit of every view's pages), so back-to-back passes of one or two
                # commands each cost the worker 0.73 ms a command, passes 40 ms apart 0.42 ms
                # (ADR 0071). A pass that took longer (a backlog) is followed at once.
                self._stop.wait(window - (time.monotonic() - began))
                window = min(window * 2, BUSY_COALESCE_SECONDS)
            else:
                window = self.coalesce_seconds
                if self._wake.wait(self.poll_seconds) and not self._stop.is_set():
                    # Woken by a save: let a few more commands land, then apply them as one
                    # batch (one read-model transaction per batch, not per command).
                    time.sleep(self.coalesce_seconds)

    def run_once(self, *, lazy: bool = False) -> bool:
        """One pass over every view that is not backing off; True if any made progress.

        The SQL views of one database are applied in one transaction (ADR 0041): one
        BEGIN/COMMIT and, on SQLite, one turn at the writers' lock per pass instead of one
        per view. If that transaction fails, it is rolled back and each view is applied in
        its own, so a failing view is still isolated. ``lazy``: the runner's thread (see
        ``_prepare``)."""
        busy = False
        now = time.monotonic()
        pages: dict[int, list[Any]] = {}
        shared: dict[tuple[str, ...], list[Member]] = {}
        for name, view in self.views.items():
            if self.states[name].retry_at > now:
                continue
            try:
                sql = _sql_tracking(view)
                batch = None if sql is None else self._prepare(view, pages, now if lazy else None)
                moved = 0
                if sql is None:
                    moved = self.step(view, pages, now if lazy else None)
                elif batch is not None and (isinstance(view, SqlView) or not batch[0]
                                            or hasattr(view, "apply_in")):
                    # A SQL view, a follower (a process manager) that only moves on, or one
                    # that writes its rows in the same database (the notice outbox, ADR 0059).
                    shared.setdefault(sql[0].database, []).append((name, view, batch, *sql))
                elif batch is not None:  # a follower with events: its own transaction(s)
                    events, start, end, moved = batch
                    view.apply(events, start=start, end=end)
                    self._applied(view, events, end)
            except TrackingConflict:
                moved = 1  # another runner got there first: just read the position again
            except Exception as e:  # isolate: this view backs off, the others go on
                self.failed(name, f"{type(e).__name__}: {e}", now)
                continue
            self._healthy(name)
            busy = busy or moved > 0
        for group in shared.values():
            busy = self._apply_group(group, now) or busy
        if busy:
            with self._moved:
                self._moved.notify_all()
        return busy

    def _apply_group(self, group: list[Member], now: float) -> bool:
        if len(group) > 1:
            try:
                with group[0][3].transaction() as cur:
                    self._apply_in(cur, group)
            except Exception:  # noqa: BLE001 - rolled back: each view once more on its own
                log.debug("projection.group_fallback", views=[m[0] for m in group])
            else:
                for name, view, (events, _, end, _), _, _ in group:
                    self._applied(view, events, end)
                    self._healthy(name)
                    _committed(view)
                return True
        for name, view, (events, start, end, _), _, _ in group:
            try:
                view.apply(events, start=start, end=end)
                self._applied(view, events, end)
            except TrackingConflict:
                pass  # another runner got there first: the position is read again next time
            except Exception as e:  # isolate: this view backs off, the others go on
                self.failed(name, f"{type(e).__name__}: {e}", now)
                continue
            self._healthy(name)
        return True

    @staticmethod
    def _apply_in(cur: Any, group: list[Member]) -> None:
        """The group's batches in the transaction of ``cur``. Views without events in their
        batch only move their position: one UPDATE for each run of them. The tracking rows
        are locked in the order of their names, as another runner's would be (PostgreSQL:
        no deadlock between two runners' transactions)."""
        param = group[0][3].param
        idle: list[str] = []
        idle_span = (0, 0)
        for _, view, (events, start, end, _), _, tracking in sorted(group, key=lambda m: m[4].name):
            if idle and (events or (start, end) != idle_span):
                Tracking.move_many(cur, param, idle, *idle_span)
                idle = []
            if events:
                view.apply_in(cur, events, start=start, end=end)  # type: ignore[attr-defined]
            else:
                idle.append(tracking.name)
                idle_span = (start, end)
        if idle:
            Tracking.move_many(cur, param, idle, *idle_span)

    def _healthy(self, name: str) -> None:
        state = self.states[name]
        if state.failures:
            log.info("projection.recovered", projection=name)
            state.failures, state.last_error, state.retry_at = 0, None, 0.0

    def failed(self, name: str, error: str, now: float | None = None) -> None:
        """Records a failure of view ``name``: it is retried after an exponential backoff
        (at most a minute) and shows as unhealthy until a step succeeds."""
        state = self.states[name]
        state.failures += 1
        state.last_error = error
        delay = min(60.0, 0.2 * 2 ** min(state.failures, 9))
        state.retry_at = (time.monotonic() if now is None else now) + delay
        log.error("projection.failed", projection=name, error=error,
                  retry_in_seconds=round(delay, 1))

    def catch_up_all(self) -> None:
        """Every view up to the log's head, failing views isolated (``serve`` before taking
        traffic): passes until none moves; a view that fails is left to its backoff."""
        while self.run_once():
            pass

    def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until every healthy view has reached ``position`` (read your own writes)."""
        deadline = time.monotonic() + timeout
        if self._thread is None:
            return self._poll_for(position, deadline)
        with self._moved:
            while True:
                if all(
                    v.position() >= position
                    for n, v in self.views.items()
                    if self.states[n].failures == 0
                ):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.set()
                self._moved.wait(min(remaining, 0.05))

    def _poll_for(self, position: int, deadline: float) -> bool:
        """``wait_for`` when another process keeps the views (``serve``'s worker process, ADR
        0038, or ``projections run``, ADR 0025): read their stored positions again after short
        sleeps (1 ms, doubling to 10 ms), only of the views not there yet (positions only grow)."""
        self.feed_local()
        pending = [v for n, v in self.views.items() if self.states[n].failures == 0]
        delay = 0.001
        while True:
            pending = [v for v in pending if v.position() < position]
            if not pending:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.01)

    def feed_local(self) -> None:
        """Views kept in this process's memory (``process_local``, e.g. the CI index) up to
        the log's head, when no runner thread of this process feeds them (another process
        keeps the stored views): one feeder at a time."""
        if self._thread is not None:
            return
        with self._local_lock:
            for name, view in self.views.items():
                if self.states[name].failures == 0 and _process_local(view):
                    try:
                        self.catch_up(view)
                        self.states[name].last_error = None
                    except Exception as e:  # the store is away: shown by status, retried
                        self.states[name].last_error = f"{type(e).__name__}: {e}"

    def status(self) -> list[dict[str, Any]]:
        self.feed_local()
        head = self.desk.max_position()
        out = []
        for name, view in self.views.items():
            state = self.states[name]
            try:
                position: int | None = view.position()
            except Exception as e:  # the view's store is away: say so, do not fail
                position, state.last_error = None, f"{type(e).__name__}: {e}"
            out.append(
                {
                    "name": name,
                    "position": position,
                    "head": head,
                    "lag": None if position is None else max(0, head - position),
                    "healthy": state.failures == 0 and position is not None,
                    "failures": state.failures,
                    "last_error": state.last_error,
                    "plugin": bool(getattr(view, "plugin", False)),
                }
            )
        return out


def _process_local(view: object) -> bool:
    """Whether ``view`` lives in this process's memory; a plug-in view that did not load
    (its attribute access raises) is not."""
    try:
        return bool(getattr(view, "process_local", False))
    except Exception:
        return False
