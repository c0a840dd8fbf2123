"""Offline replay: rebuild the read models and reports from an audit bundle alone (ADR 0031).

The bundle is verified, its rows go into a temporary SQLite store with their positions and
chain rows, the store's own chain check must then give the bundle's head, and the read models
are rebuilt by the same projection code as the server's (``ProjectionRunner.rebuild_many``: the
bulk rebuild of ADR 0068 where a view has one; the process managers are not run: they would
write). The figures come from the same application code (``application/sla_compliance.py``,
``application/reports.py``) -- so an auditor recomputes them without the server or its
database, and a difference means the read side was wrong.

Speed (ADR 0069): the bundle is checked in this process while a worker process loads it
(``bundle.bulk_load``: one transaction, the unique index built after the rows) -- two cores,
each reading the file once; nothing the worker loaded is used unless this process's check
passed. The loaded store is then checked again by the fast check (``scan.py``) in a worker
process while this one rebuilds the views; the figures are only given once that check has
given the bundle's head. Each step reports progress through ``steps``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.audit.bundle import EVENTS_TABLE, bulk_load, verify_bundle
from adapters.audit.chain import AuditError, Progress, verify_store
from adapters.audit.scan import Source, check_source
from adapters.audit.store import CHAIN_TABLE
from adapters.container import build
from adapters.runners.child import Child
from adapters.settings import Settings
from application.reports import ReportBuilder
from application.sla_compliance import ComplianceReport, compliance

#: ``steps(label, total)``: a context giving the step's progress callback (events, position).
Steps = Callable[[str, int], AbstractContextManager[Progress | None]]


@dataclass
class Replayed:
    events: int
    head: str
    position: int
    compliance: ComplianceReport
    report: Any | None  # a ServiceReport when one was asked for
    seconds: dict[str, float] | None = None  # each step's


def _no_steps(label: str, total: int) -> AbstractContextManager[Progress | None]:
    return nullcontext(None)


def read_models(services: Any) -> list[str]:
    """The views replay rebuilds: every read model of the server (not the process managers,
    which would write: the routine opener, the notice decider; not plug-ins)."""
    return [v.name for v in (services.tickets, services.sla_due, services.problems,
                             services.knowledge, services.changes, services.ticket_search,
                             services.cis)]


def load_verified(bundle: Path, database: Path, steps: Steps = _no_steps,
                  processes: int | None = None) -> tuple[Any, int]:
    """Verifies ``bundle`` and loads it into the new SQLite file ``database``; (the bundle's
    verdict, events loaded). With ``processes`` > 1 (default: when there are 2 cores) the load
    runs in a worker process while this one verifies; a bundle that does not verify raises
    ``AuditError`` and its load is thrown away."""
    total = _events_in(bundle)
    parallel = (processes if processes is not None else min(2, os.cpu_count() or 1)) > 1
    worker = Child(bulk_load, bundle, database) if parallel else None
    try:
        with steps("verify bundle" + (" (loading beside)" if worker else ""), total) as p, \
                bundle.open("rb") as lines:
            verdict, _ = verify_bundle(lines, progress=p)
        if not verdict.ok:
            raise AuditError(f"the bundle does not verify: position {verdict.first_bad_position}: "
                             f"{verdict.reason}")
        if worker is None:
            with steps("load", total) as p:
                loaded = bulk_load(bundle, database, _Counter(p))
        else:
            with steps("load (finishing)", total) as p:
                loaded = int(_wait(worker, p))
        worker = None
    finally:
        if worker is not None:
            worker.stop()
    return verdict, loaded


def replay(bundle: Path, settings: Settings, *, project: str | None = None,
           period: str | None = None, as_of: datetime | None = None,
           steps: Steps = _no_steps, processes: int | None = None) -> Replayed:
    """Verifies ``bundle``, loads it into a temporary store and computes the figures there.
    ``settings`` give the rules the server ran with (time zone, priority matrix, SLA rule);
    their database is replaced by the temporary one."""
    import time

    seconds: dict[str, float] = {}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="opsledger-replay-") as tmp:
        database = Path(tmp) / "replay.sqlite3"
        verdict, _ = load_verified(bundle, database, steps, processes)
        seconds["verify and load"] = time.perf_counter() - began
        local = replace(settings, database_url=f"sqlite:///{database}")
        services = build(local)
        try:
            recorder = services.desk.recorder
            if getattr(recorder, "events_table_name", EVENTS_TABLE) != EVENTS_TABLE:
                raise AuditError(f"the replay store's events table is not {EVENTS_TABLE}")
            mark = time.perf_counter()
            parallel = (processes if processes is not None else min(2, os.cpu_count() or 1)) > 1
            checker = (Child(check_source, Source("sqlite", str(database), EVENTS_TABLE,
                                                  CHAIN_TABLE), verdict.position)
                       if parallel else None)
            try:
                if checker is None:
                    with steps("verify replayed store", verdict.events) as p:
                        again = verify_store(recorder, progress=p)
                    seconds["verify store"] = time.perf_counter() - mark
                    _same_head(again, verdict)
                    mark = time.perf_counter()
                label = "rebuild read models" + (" (verifying the store beside)" if checker else "")
                with steps(label, verdict.position) as p:
                    services.runner.rebuild_many(read_models(services), _positions(p))
                seconds["rebuild"] = time.perf_counter() - mark
                if checker is not None:
                    with steps("verify replayed store (finishing)", verdict.events) as p:
                        again = _wait(checker, p)
                    checker = None
                    seconds["verify store (beside the rebuild)"] = time.perf_counter() - mark
                    _same_head(again, verdict)
            finally:
                if checker is not None:
                    checker.stop()
            now = as_of or services.desk.clock.now()
            figures = compliance(services.tickets, datetime(1970, 1, 1, tzinfo=UTC), now, now)
            report = None
            if project is not None and period is not None:
                report = ReportBuilder(services.desk, services.tickets, services.changes).build(
                    project, period, as_of)
            seconds["total"] = time.perf_counter() - began
            return Replayed(again.events, again.head, again.position, figures, report, seconds)
        finally:
            services.close()


def _same_head(again: Any, verdict: Any) -> None:
    if not again.ok or again.head != verdict.head or again.events != verdict.events:
        raise AuditError("the replayed store does not recompute the bundle's head "
                         f"({again.as_dict()})")


def _events_in(bundle: Path) -> int:
    """About how many events ``bundle`` holds (its header), for progress bars; 0 unknown."""
    import json

    try:
        with bundle.open("rb") as lines:
            header = json.loads(lines.readline())
        return max(int(header["last_position"]) - int(header["anchor"]["position"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _wait(worker: Child, progress: Progress | None) -> Any:
    """The worker's result, reporting its progress (``counter``) meanwhile."""
    return worker.result(None if progress is None else lambda value: progress(value, value))


class _Counter:
    """A ``counter`` for ``bulk_load`` in this process: its ``value`` goes to ``progress``."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    @property
    def value(self) -> int:
        return 0

    @value.setter
    def value(self, count: int) -> None:
        if self.progress is not None:
            self.progress(count, count)


def _positions(progress: Progress | None) -> Callable[[int, int], None] | None:
    """The runner's ``(position reached, target)`` as ``(events, position)``."""
    if progress is None:
        return None
    return lambda position, _target: progress(position, position)
