"""Projection plug-ins: read models from other packages, found by entry point (ADR 0033).

A package declares, in its ``pyproject.toml``::

    [project.entry-points."opsledger.projections"]
    weekly_load = "opsledger_weekly_load:create"

and ``create(context: PluginContext) -> View`` builds its view (``projections/base.py``) on
the store the service runs on: ``context.store()`` gives it a SQL connection to the same
database (its own tables beside ours, its position in ``projection_tracking``). Every
process that builds the services (``opsledger serve``, ``projections status|rebuild``,
``sla-watch``) runs the plug-ins like the built-in views.

A plug-in must never take the service down. Each one sits behind a ``PluginView`` that loads
it lazily: a factory that cannot be imported or raises is logged, reported as a failed
projection (``projections status``, ``/healthz``) and loaded again whenever the runner
retries it, with the runner's backoff; a view that fails later is isolated by the runner like
any other. Guide: ``docs/write-a-projection.md``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import structlog

from adapters.settings import Database, Settings
from adapters.stores.persistence import sql_store
from projections.base import Positioned, View
from projections.sql import SQLiteStore, SqlStore

GROUP = "opsledger.projections"

log = structlog.get_logger("opsledger.plugins")


@dataclass
class PluginContext:
    """What a plug-in factory is given: where the service keeps its data, and how to write there.

    ``database.kind`` is "sqlite", "postgres" or "memory": where the read models are kept (a
    SQLite store's views file, ADR 0073); ``write_lock`` is the lock every SQLite writer of
    that file in this process shares (``None`` on PostgreSQL); ``settings`` are the service's
    settings, read-only.
    """

    name: str
    database: Database
    write_lock: Any | None
    settings: Settings
    _scratch: list[str] = field(default_factory=list)

    def store(self) -> SqlStore:
        """A SQL store on the read models' database (``projections.sql``): SQLite shares the
        views file and its write lock (ADR 0073), PostgreSQL the database and schema. With the
        in-memory event store (tests, demos) the plug-in gets a throwaway SQLite file."""
        if self.database.kind != "memory":
            return sql_store(self.database, self.write_lock)
        scratch = tempfile.mkdtemp(prefix=f"opsledger-{self.name}-")
        self._scratch.append(scratch)
        return SQLiteStore(str(Path(scratch) / "plugin.sqlite3"))


class PluginNotLoaded(RuntimeError):
    """The plug-in's factory could not be loaded or raised; the message says why."""


class PluginView:
    """A plug-in's view behind a guard: loaded on first use and again on each retry after a
    failure, so a broken plug-in is a failing projection and not a failing service."""

    def __init__(self, name: str, factory: Callable[[], Any]) -> None:
        self.name = name
        self.plugin = True
        self._factory = factory
        self._view: View | None = None
        self.load_error: str | None = None
        self._try_load()

    def _try_load(self) -> View | None:
        try:
            view = self._factory()
            missing = [a for a in ("topics", "position", "apply", "reset", "close")
                       if not hasattr(view, a)]
            if missing:
                raise TypeError(f"the factory returned {type(view).__name__}, which has no "
                                f"{', '.join(missing)} (see projections/base.py:View)")
        except Exception as e:
            self.load_error = f"{type(e).__name__}: {e}"
            log.error("projection.plugin_failed_to_load", projection=self.name, error=self.load_error)
            return None
        self._view, self.load_error = view, None
        return view

    def view(self) -> View:
        """The loaded view (loading it now if it is not yet); ``PluginNotLoaded`` otherwise."""
        view = self._view or self._try_load()
        if view is None:
            raise PluginNotLoaded(f"plug-in {self.name!r} did not load: {self.load_error}")
        return view

    @property
    def topics(self) -> frozenset[str]:
        return self.view().topics

    @property
    def fields(self) -> dict[str, frozenset[str]]:
        return getattr(self.view(), "fields", {})

    def position(self) -> int:
        return self.view().position()

    def apply(self, events: Sequence[Positioned], *, start: int, end: int) -> None:
        self.view().apply(events, start=start, end=end)

    def reset(self) -> None:
        self.view().reset()

    def close(self) -> None:
        if self._view is not None:
            self._view.close()

    def __getattr__(self, attr: str) -> Any:
        """A plug-in's own queries (e.g. ``rows()``) go to its view."""
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.view(), attr)


def discover() -> list[EntryPoint]:
    """The installed plug-ins' entry points, by name (a name given twice: the first wins)."""
    found: dict[str, EntryPoint] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        found.setdefault(ep.name, ep)
    return list(found.values())


def plugin_views(settings: Settings, write_lock: Any | None, reserved: Sequence[str] = (),
                 database: Database | None = None) -> list[PluginView]:
    """One guarded view per installed plug-in; one named like a built-in view (``reserved``)
    is left out and logged: it must not replace ours (their tracking rows would clash).
    ``database``: where the read models are kept (on SQLite their own file, ADR 0073;
    default the service's database) and ``write_lock`` its writers' lock."""
    views = []
    for ep in discover():
        if ep.name in reserved:
            log.error("projection.plugin_name_taken", projection=ep.name, value=ep.value)
            continue

        def factory(ep: EntryPoint = ep) -> Any:
            context = PluginContext(ep.name, database or settings.database, write_lock, settings)
            return ep.load()(context)
        views.append(PluginView(ep.name, factory))
    return views
