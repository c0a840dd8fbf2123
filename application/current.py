"""Reference records read by every command, cached and checked against the store (ADR 0038).

Every ticket command's answer shows the ticket's project, found through its customer's
contracts, and the SLA clocks look up policies and calendars; each of those was a repository
load, which is a query (the library's cache fast-forwards by asking the store for newer
events, and a customer that was never registered is a query that finds nothing) through the
library's per-query machinery. Here the record is kept with its version, and a lookup first
asks the store for the record's current version -- one primary-key lookup, much cheaper --
and loads again only when that changed. The check is against the store, not a time, so a
change made by another process (a second server, the projections worker) is seen at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from application.desk import ServiceDesk, private_copy
from application.ports import VersionIndex

MAX_RECORDS = 10_000  # customers, policies, calendars: far fewer; a bound all the same


class CurrentRecords:
    """``get(record_id)``: the record as it stands now (a private copy), or ``None`` when it
    has no events -- what ``desk.load`` answers, without the load when nothing changed."""

    def __init__(self, desk: ServiceDesk, versions: VersionIndex) -> None:
        self.desk = desk
        self.versions = versions
        self._records: dict[UUID, Any] = {}
        self._lock = threading.Lock()
        self._scope = threading.local()

    @contextmanager
    def one_command(self) -> Iterator[None]:
        """Within one command (one attempt), a record read twice is looked up once: the SLA
        clocks ask for the customer and the policy more than once, and one answer for the
        whole command is also the more consistent one."""
        outer = getattr(self._scope, "seen", None)
        self._scope.seen = {} if outer is None else outer
        try:
            yield
        finally:
            self._scope.seen = outer

    def forget_command(self) -> None:
        """A command that is tried again reads everything again."""
        seen = getattr(self._scope, "seen", None)
        if seen is not None:
            seen.clear()

    def get(self, record_id: UUID) -> Any | None:
        seen: dict[UUID, Any] | None = getattr(self._scope, "seen", None)
        if seen is not None and record_id in seen:
            return private_copy(seen[record_id])
        found = self._get(record_id)
        # A record that does not exist yet is not remembered: another process may create it
        # within this command (two servers recording the default calendars at once).
        if seen is not None and found is not None:
            seen[record_id] = private_copy(found)
        return found

    def _get(self, record_id: UUID) -> Any | None:
        version = self.versions.latest_version(record_id)
        if version == 0:
            return None
        cached = self._records.get(record_id)
        if cached is not None and cached.version == version:
            return private_copy(cached)
        record = self.desk.load(record_id)
        if record is None:
            return None
        with self._lock:
            if len(self._records) >= MAX_RECORDS:
                self._records.clear()
            known = self._records.get(record_id)
            if known is None or known.version < record.version:
                self._records[record_id] = private_copy(record)
        return record
