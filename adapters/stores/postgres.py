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

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import ConnectionPool, PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composable

from projections.sql import add_breaker, check_when_idle

ATTEMPTS = 2


def _fewer_retries(method: Any) -> Any:
    return retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.05)(method.__wrapped__)


class FastFailRecorder(PostgresApplicationRecorder):
    insert_events = _fewer_retries(PostgresApplicationRecorder.insert_events)
    select_notifications = _fewer_retries(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _fewer_retries(PostgresApplicationRecorder.max_notification_id)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._select_events_text: dict[tuple[bool, bool, bool, bool], str] = {}
        # The library keeps its statements composed (``psycopg.sql``): psycopg then renders
        # and quotes them again on every execute. Rendered once here instead.
        self.insert_events_statement = _rendered(self.insert_events_statement)
        self.max_notification_id_statement = _rendered(self.max_notification_id_statement)
        self.lock_table_statements = [_rendered(q) for q in self.lock_table_statements]

    @retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.05)
    def select_events(self, originator_id: UUID | str, *, gt: int | None = None,
                      lte: int | None = None, desc: bool = False,
                      limit: int | None = None) -> Sequence[StoredEvent]:
        """The library's query, whose text is composed once per shape instead of on every
        call (composing and quoting it cost more client CPU than running it)."""
        params: list[Any] = [originator_id]
        params += [v for v in (gt, lte, limit) if v is not None]
        shape = (gt is not None, lte is not None, desc, limit is not None)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            statement = self._select_events_text.get(shape)
            if statement is None:
                statement = self._select_events_text[shape] = _select_text(
                    self.select_events_statement, shape).as_string(conn)
            curs.execute(statement, params, prepare=True)
            return [StoredEvent(originator_id=row["originator_id"],
                                originator_version=row["originator_version"],
                                topic=row["topic"], state=bytes(row["state"]))
                    for row in curs.fetchall()]


def _rendered(query: Any) -> Any:
    return query.as_string(None) if isinstance(query, Composable) else query


class PostgresStoreFactory(PostgresFactory):
    application_recorder_class = FastFailRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        if self.datastore.pre_ping:  # POSTGRES_PRE_PING: only idle ones (ADR 0038)
            self.datastore.pool = _checking_when_idle(self.datastore)
        add_breaker(self.datastore.pool)


# Connections the event store's pool keeps open (ADR 0083): the library opens its whole
# ``POSTGRES_POOL_SIZE`` at start in every process; more are opened as they are needed.
EVENTS_POOL_MIN = 2


def _checking_when_idle(datastore: Any) -> ConnectionPool[Any]:
    """The library's pool (not yet open) made again with the same settings and our ``check``
    (a pool's ``check`` is given when it is made, and the library makes it with a ping on every
    checkout), keeping ``EVENTS_POOL_MIN`` connections open instead of all of them."""
    pool = datastore.pool
    return ConnectionPool(
        pool.conninfo, connection_class=pool.connection_class, kwargs=pool.kwargs,
        min_size=min(pool.min_size, EVENTS_POOL_MIN), max_size=pool.max_size, open=False,
        configure=datastore.after_connect_func(), check=check_when_idle(), name=pool.name,
        timeout=pool.timeout, max_waiting=pool.max_waiting, max_lifetime=pool.max_lifetime,
        max_idle=pool.max_idle, reconnect_timeout=pool.reconnect_timeout,
        get_password_func=pool.get_password_func)


def _select_text(base: Any, shape: tuple[bool, bool, bool, bool]) -> Any:
    has_gt, has_lte, desc, has_limit = shape
    statement = base
    if has_gt:
        statement += SQL(" AND originator_version > %s")
    if has_lte:
        statement += SQL(" AND originator_version <= %s")
    statement += SQL(" ORDER BY originator_version") + SQL(" DESC" if desc else " ASC")
    if has_limit:
        statement += SQL(" LIMIT %s")
    return statement
