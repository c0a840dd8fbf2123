"""Reference records read by every command, cached and checked against the store (ADR 0038).

Every ticket command's answer shows the ticket's project, found through its customer's
contracts, and the SLA clocks look up policies and calendars; each of those was a repository
load, which is a query (the library's cache fast-forwards by asking the store for newer
events, and a customer that was never registered is a query that finds nothing) through the
library's per-query machinery. Here the record is kept with its version, and a lookup first
asks the store for the record's current version -- one primary-key lookup, much cheaper --
and loads again only when that changed. The check is against the store, not a time, so a
change made by another process (a second server, the projections worker) is seen at once.

Where that lookup is a round trip to a database server (PostgreSQL), a command reads the
cached record without it and its save checks instead (``checked_at_save``, ADR 0075): the
records the command read and their versions go with the save, which the store refuses, like a
conflict, when one of them has moved on; the command is then run again with lookups. An
answer that saves nothing is checked against the store before it is given (``moved_on``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from application.desk import ServiceDesk, private_copy
from application.ports import VersionIndex

MAX_RECORDS = 10_000  # customers, policies, calendars: far fewer; a bound all the same


class CurrentRecords:
    """``get(record_id)``: the record as it stands now (a private copy), or ``None`` when it
    has no events -- what ``desk.load`` answers, without the load when nothing changed."""

    def __init__(self, desk: ServiceDesk, versions: VersionIndex, *,
                 checked_at_save: bool = False) -> None:
        self.desk = desk
        self.versions = versions
        # The store checks, in the command's save, that every record the command read here is
        # still at the version read (ADR 0075): a command then reads a cached record without
        # the lookup. Only where the lookup is a round trip to a server (PostgreSQL).
        self.checked_at_save = checked_at_save
        self._records: dict[UUID, Any] = {}
        self._absent: set[UUID] = set()  # found without events by a command (checked_at_save)
        self._lock = threading.Lock()
        self._scope = threading.local()

    @contextmanager
    def one_command(self) -> Iterator[None]:
        """Within one command (one attempt), a record read twice is looked up once: the SLA
        clocks ask for the customer and the policy more than once, and one answer for the
        whole command is also the more consistent one. With ``checked_at_save``, what the
        command read is kept (``reads``) for its save to check."""
        scope = self._scope
        outer = getattr(scope, "seen", None), getattr(scope, "reads", None), \
            getattr(scope, "trusting", False)
        if outer[0] is None:
            scope.seen = {}
            scope.reads = {} if self.checked_at_save else None
            scope.trusting = self.checked_at_save
        try:
            yield
        finally:
            scope.seen, scope.reads, scope.trusting = outer

    def forget_command(self) -> None:
        """After a save (it checked what was read) or before an attempt again: what the
        command reads next is read anew."""
        seen = getattr(self._scope, "seen", None)
        if seen is not None:
            seen.clear()
        reads = getattr(self._scope, "reads", None)
        if reads is not None:
            reads.clear()

    def saved(self, records: Iterable[Any]) -> None:
        """After a save of ``records``. Without ``checked_at_save``, as ``forget_command``.
        With it, what the command read was current when its save was accepted: it stays for
        the rest of the scope (the command's answer reads it without a lookup), except what
        the save changed, and later reads look up; the saved records cached here become the
        cached versions (so this process's own change is not a conflict for its next command)."""
        reads = getattr(self._scope, "reads", None)
        seen = getattr(self._scope, "seen", None)
        if reads is None:
            self.forget_command()
            return
        changed = {record.id: record for record in records}
        with self._lock:
            self._absent.difference_update(changed)
            for record_id, record in changed.items():
                known = self._records.get(record_id)
                if known is not None and known.version < record.version:
                    self._records[record_id] = private_copy(record)
        if seen is not None:
            for record_id in [i for i in seen if i in changed or i not in reads]:
                del seen[record_id]
        reads.clear()
        self._scope.trusting = False

    def reads(self) -> dict[UUID, int]:
        """The records this command read (id -> version), for its save to check; empty unless
        ``checked_at_save``."""
        return getattr(self._scope, "reads", None) or {}

    def distrust(self) -> bool:
        """For the rest of this command, every record is looked up in the store before it is
        used (after a save that found one moved on, or an answer about to be given without a
        save). Whether records had been read without a lookup until now."""
        trusting = getattr(self._scope, "trusting", False)
        self._scope.trusting = False
        return bool(trusting)

    def moved_on(self) -> bool:
        """Whether any record this command read is no longer at the version it read: checked
        before an answer that saves nothing (nothing else checks it then)."""
        return any(self.versions.latest_version(record_id) != version
                   for record_id, version in self.reads().items())

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
        reads: dict[UUID, int] | None = getattr(self._scope, "reads", None)
        if reads is not None and self._scope.trusting:
            cached = self._records.get(record_id)
            if cached is not None:
                reads[record_id] = cached.version
                return private_copy(cached)
            if record_id in self._absent:  # a customer never registered, say: checked too
                reads[record_id] = 0
                return None
        version = self.versions.latest_version(record_id)
        if version == 0:
            if reads is not None:
                reads[record_id] = 0
                with self._lock:
                    if len(self._absent) >= MAX_RECORDS:
                        self._absent.clear()
                    self._absent.add(record_id)
            return None
        cached = self._records.get(record_id)
        if cached is not None and cached.version == version:
            if reads is not None:
                reads[record_id] = version
            return private_copy(cached)
        record = self.desk.load(record_id)
        if record is None:
            return None
        if reads is not None:
            reads[record_id] = record.version
        with self._lock:
            self._absent.discard(record_id)
            if len(self._records) >= MAX_RECORDS:
                self._records.clear()
            known = self._records.get(record_id)
            if known is None or known.version < record.version:
                self._records[record_id] = private_copy(record)
        return record
