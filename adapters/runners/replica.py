"""Read models read from a PostgreSQL hot standby (ADR 0070, issue 22).

The projections worker writes the read models on the primary, in the transaction that moves
each view's tracking position (compare-and-set); streaming replication carries the rows and
the position to the standby together, in commit order. A view on the standby is therefore the
primary's view as of some earlier position, and the tracking row on the standby says which.

``on_replica(view, store)`` is the same view object -- the same class, the same prepared
queries, so the same isolation and masking -- reading through ``store`` (a pool on the
standby); it never creates a table there (a standby refuses every write: a view applied on it
fails loudly). ``ReadReplica`` knows the views read there: their position (the least of
their tracking rows on the standby), a bounded wait for a position (read your writes through
the replica) and its status for ``/healthz``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from projections.sql import PostgresStore, SqlView, Tracking

POLL_FIRST, POLL_MAX = 0.001, 0.02  # seconds between looks at the standby's positions


class StandbyStore(PostgresStore):
    """A pool on the standby whose reads of a table it does not have yet (a standby started
    before the primary's first ``serve`` created the read models) fail as a database that is
    away does (``psycopg.OperationalError``: 503 with ``Retry-After``), not as a bug (500)."""

    @contextmanager
    def read(self) -> Iterator[Any]:
        import psycopg

        try:
            with super().read() as cur:
                yield cur
        except psycopg.errors.UndefinedTable as e:
            raise psycopg.OperationalError(
                f"the read replica does not have the read models' tables yet: {e}") from e


def on_replica(view: SqlView, store: PostgresStore) -> Any:
    """``view`` reading through ``store`` (the standby): a shallow copy with the store (and
    the tracking row's store) replaced; the primary's ``view`` is left as it was."""
    twin = copy.copy(view)
    twin.store = store
    twin.tracking = copy.copy(view.tracking)
    twin.tracking.store = store
    return twin


class ReadReplica:
    """The views served from a hot standby, and how far the standby has got."""

    def __init__(self, store: PostgresStore, names: Iterable[str], host: str = "") -> None:
        self.store = store
        self.names = sorted(names)
        self.host = host
        self._positions = (f"SELECT name, position FROM {Tracking.TABLE} "
                           "WHERE name = ANY(%s)")

    def position(self) -> int:
        """The least tracking position of the views on the standby (0 while a view's row has
        not arrived there yet)."""
        with self.store.read() as cur:
            cur.execute(self._positions, (self.names,))
            found = dict(cur.fetchall())
        return min(int(found.get(n, 0)) for n in self.names)

    def wait_for(self, position: int, timeout: float) -> int:
        """Look again (1 ms, doubling to 20 ms) until every view on the standby has reached
        ``position`` or ``timeout`` seconds have passed; the position last seen."""
        deadline = time.monotonic() + timeout
        delay = POLL_FIRST
        while True:
            seen = self.position()
            remaining = deadline - time.monotonic()
            if seen >= position or remaining <= 0:
                return seen
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, POLL_MAX)

    def status(self, head: int) -> dict[str, Any]:
        """For ``/healthz`` (staff): the standby's view position, its lag behind the primary's
        ``head`` in positions, and in seconds since the last transaction it replayed."""
        try:
            position = self.position()
            with self.store.read() as cur:
                cur.execute("SELECT pg_is_in_recovery(), EXTRACT(EPOCH FROM "
                            "clock_timestamp() - pg_last_xact_replay_timestamp())")
                standby, seconds = cur.fetchone()
        except Exception as e:  # noqa: BLE001 - a health report says what is wrong, never fails
            return {"host": self.host, "healthy": False, "error": f"{type(e).__name__}: {e}"}
        return {"host": self.host, "healthy": True, "standby": bool(standby),
                "position": position, "lag": max(head - position, 0),
                "replay_age_seconds": None if seconds is None else round(float(seconds), 3)}

    def close(self) -> None:
        self.store.close()
