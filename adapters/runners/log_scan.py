"""A scan of the event log with the raw driver, for bulk readers (ADR 0068).

``LogScan.pages`` reads the stored events between two positions in log order, only those of
the given topics (``topic IN (…)`` in SQL, so rows no reader wants never leave the database),
in large pages by keyset (``position > last``): plain tuples ``(position, originator id as the
store has it, version, topic, state bytes)``, no ``Notification`` objects, no ``UUID`` per row.
The bulk rebuild of the read models reads the log with it; so may any other reader of the whole
log (the audit's replay). Other recorders (the in-memory one) go through the library's
``select_notifications``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from eventsourcing.persistence import ApplicationRecorder

from adapters.stores.persistence import recorder_kind

Row = tuple[int, Any, int, str, bytes]
PAGE = 20_000


class LogScan:
    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder
        self.kind = recorder_kind(recorder)

    def pages(self, after: int, upto: int, topics: Iterable[str] | None = None,
              page: int = PAGE) -> Iterator[list[Row]]:
        """Pages of the events with ``after < position <= upto`` (of ``topics`` if given), in
        log order; the last page may be short, and a page is never empty."""
        wanted = None if topics is None else sorted(set(topics))
        if wanted is not None and not wanted:
            return
        last = after
        while last < upto:
            rows = self._read(last, upto, wanted, page)
            if not rows:
                return
            yield rows
            last = rows[-1][0]
            if len(rows) < page:
                return

    def _read(self, after: int, upto: int, topics: list[str] | None, limit: int) -> list[Row]:
        r: Any = self.recorder
        if self.kind == "sqlite":
            where = "" if topics is None else f" AND topic IN ({', '.join('?' * len(topics))})"
            query = (f"SELECT rowid, originator_id, originator_version, topic, state "
                     f"FROM {r.events_table_name} WHERE rowid > ? AND rowid <= ?{where} "
                     f"ORDER BY rowid LIMIT ?")
            with r.datastore.transaction(commit=False) as c:
                raw = c.sqlite_cursor  # plain tuples, not the library's ``sqlite3.Row``s
                raw.row_factory = None
                raw.execute(query, (after, upto, *(topics or ()), limit))
                return raw.fetchall()  # type: ignore[no-any-return]
        if self.kind == "postgres":
            from psycopg import sql

            where = sql.SQL("") if topics is None else sql.SQL(" AND topic = ANY(%s)")
            query = sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {}.{} WHERE notification_id > %s AND notification_id <= %s{} "
                "ORDER BY notification_id LIMIT %s"
            ).format(sql.Identifier(r.datastore.schema or "public"),
                     sql.Identifier(r.events_table_name), where)
            params: tuple[Any, ...] = (after, upto, *(() if topics is None else (topics,)), limit)
            with r.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(query, params)
                return [(row["notification_id"], row["originator_id"], row["originator_version"],
                         row["topic"], bytes(row["state"])) for row in curs.fetchall()]
        found: list[Row] = []
        for n in r.select_notifications(start=after, limit=limit, stop=upto,
                                        inclusive_of_start=False, topics=topics or ()):
            found.append((n.id, n.originator_id, n.originator_version, n.topic, n.state))
        return found
