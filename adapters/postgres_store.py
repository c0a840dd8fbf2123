"""The library's PostgreSQL infrastructure, made to fail fast while the database is away
(ADR 0024).

Out of the box a call into the store while PostgreSQL is down takes very long to fail: each
recorder method is retried 10 times, and each try waits the pool's whole time-out for a
connection that cannot be made (10 x 5 s here). A request should instead be answered 503 in
about a second, and recover by itself when the database is back. So:

* the recorders retry a failed call twice (a connection that went stale between the
  pool's pre-ping and its use is still retried once), not ten times;
* the connection pool gets a breaker: when getting a connection timed out, further requests
  for the next ``BREAKER_SECONDS`` fail at once instead of queueing for the time-out too; the
  first request after that tries the pool again (the pool keeps reconnecting in the
  background meanwhile).
"""

from __future__ import annotations

import time
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import retry
from psycopg_pool import ConnectionPool, PoolTimeout

BREAKER_SECONDS = 1.0
ATTEMPTS = 2


def _fewer_retries(method: Any) -> Any:
    return retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.05)(method.__wrapped__)


class FastFailRecorder(PostgresApplicationRecorder):
    insert_events = _fewer_retries(PostgresApplicationRecorder.insert_events)
    select_events = _fewer_retries(PostgresApplicationRecorder.select_events)
    select_notifications = _fewer_retries(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _fewer_retries(PostgresApplicationRecorder.max_notification_id)


def add_breaker(pool: ConnectionPool, seconds: float = BREAKER_SECONDS) -> None:
    """Make ``pool.getconn`` fail at once for ``seconds`` after it timed out (see above)."""
    original = pool.getconn
    open_until = [0.0]

    def getconn(timeout: float | None = None) -> Any:
        if time.monotonic() < open_until[0]:
            raise PoolTimeout("the database is unavailable (no connection could be made just now)")
        try:
            return original(timeout)
        except PoolTimeout:
            open_until[0] = time.monotonic() + seconds
            raise

    pool.getconn = getconn  # type: ignore[method-assign]


class PostgresStoreFactory(PostgresFactory):
    application_recorder_class = FastFailRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        add_breaker(self.datastore.pool)
