"""The library's PostgreSQL infrastructure, made to fail fast while the database is away
(ADR 0024).

Out of the box a call into the store while PostgreSQL is down takes very long to fail: each
recorder method is retried 10 times, and each try waits the pool's whole time-out for a
connection that cannot be made (10 x 5 s here). A request should instead be answered 503 in
about a second, and recover by itself when the database is back. So:

* the recorders retry a failed call twice (a connection that went stale between the
  pool's pre-ping and its use is still retried once), not ten times;
* a connection is pinged before it is handed out only when it sat idle for a second (ADR
  0038; a ping per checkout cost a round trip per query);
* the connection pool gets a breaker (``projections.sql.add_breaker``, which the read models'
  pools have too): when getting a connection timed out, further requests for the next second
  fail at once instead of queueing for the time-out too; the first request after that tries
  the pool again (the pool keeps reconnecting in the background meanwhile).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import retry

from projections.sql import add_breaker, check_when_idle

ATTEMPTS = 2


def _fewer_retries(method: Any) -> Any:
    return retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.05)(method.__wrapped__)


class FastFailRecorder(PostgresApplicationRecorder):
    insert_events = _fewer_retries(PostgresApplicationRecorder.insert_events)
    select_events = _fewer_retries(PostgresApplicationRecorder.select_events)
    select_notifications = _fewer_retries(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _fewer_retries(PostgresApplicationRecorder.max_notification_id)


class PostgresStoreFactory(PostgresFactory):
    application_recorder_class = FastFailRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        add_breaker(self.datastore.pool)
        if self.datastore.pool._check is not None:  # POSTGRES_PRE_PING: only idle ones (ADR 0038)
            self.datastore.pool._check = check_when_idle()
