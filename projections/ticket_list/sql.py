"""The ticket list on SQL (SQLite or PostgreSQL through a ``SqlStore``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from domain.ticket import Status, Ticket
from projections.sql import Filter, RowsFold, SqlRows, SqlStore, newest_page, ordered_page
from projections.ticket_list import projection as p
from projections.ticket_list.projection import COLUMNS, TicketRow
from projections.base import stamp
from projections.ticket_list.view import ComplianceCount, DayCount, OpenCount, Page, TicketQuery

TABLE = "ticket_list"
_QUEUE_KEY = "COALESCE(priority, 'P9')"
_SEQ_DIGITS = 10**13  # breaching cursor: due (epoch microseconds) * 10**13 + seq


class _Sla:
    """The SQL form of ``projection.sla_state_at`` (ADR 0017); every ``now`` is a parameter."""

    def __init__(self, ph: str, now: str) -> None:
        self.ph, self.now, self.params = ph, now, []  # type: list[Any]

    def at(self) -> str:
        self.params.append(self.now)
        return (f"(CASE WHEN status = 'waiting_customer' AND paused_since IS NOT NULL "
                f"THEN paused_since ELSE {self.ph} END)")

    def breached(self, c: str, stop: str) -> str:
        return (f"(({stop} IS NOT NULL AND {stop} > {c}_due) OR "
                f"({stop} IS NULL AND {self.at()} >= {c}_due))")

    def warning(self, c: str, stop: str) -> str:
        return (f"({stop} IS NULL AND {c}_warn_at IS NOT NULL AND {self.at()} < {c}_due "
                f"AND {self.at()} >= {c}_warn_at)")

    @staticmethod
    def met(c: str, stop: str) -> str:
        return f"({stop} IS NOT NULL AND {stop} <= {c}_due)"

    def state(self, name: str) -> str:
        if name == p.MET:
            return f"({self.met('response', 'responded_at')} AND {self.met('resolution', 'resolved_at')})"
        breached = (f"({self.breached('response', 'responded_at')} OR "
                    f"{self.breached('resolution', 'resolved_at')})")
        if name == p.BREACHED:
            return breached
        warning = (f"({self.warning('response', 'responded_at')} OR "
                   f"{self.warning('resolution', 'resolved_at')})")
        if name == p.WARNING:
            return f"(NOT {breached} AND {warning})"
        met = self.state(p.MET)
        return f"(NOT {breached} AND NOT {warning} AND NOT {met})"  # ok

    def where(self, states: Sequence[str]) -> str:
        return ("(response_due IS NOT NULL AND ("
                + " OR ".join(self.state(st) for st in states) + "))")


class TicketRows:
    """How events make ticket rows, the same for the memory and the SQL view: one row per
    ticket (keyed by ``projection.row_key``), formatted by ``projection.finish``."""

    name = p.NAME
    topics = p.TOPICS
    fields = p.FIELDS

    def key(self, event: Any) -> str:
        return p.row_key(event.originator_id)

    def apply_event(self, row: TicketRow | None, event: Any, position: int) -> TicketRow | None:
        return p.apply(row, event, position)

    def finish(self, row: TicketRow) -> TicketRow:
        return p.finish(row)


class SqlTicketListView(TicketRows, SqlRows):
    table = TABLE
    columns = COLUMNS

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store, p.NAME, p.VERSION)
        self._create()

    def _create(self) -> None:
        with self.store.transaction() as cur:
            self._drop_stale(cur)
            self._create_all(cur)

    def fold(self) -> RowsFold:
        return TicketListFold(self)

    def create_tables(self, cur: Any, names: dict[str, str]) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {names[TABLE]} ("
            "id TEXT PRIMARY KEY, seq BIGINT NOT NULL, number TEXT NOT NULL, "
            "status TEXT NOT NULL, priority TEXT, type TEXT, category TEXT, "
            "customer TEXT NOT NULL, title TEXT NOT NULL, channel TEXT NOT NULL, "
            "affected_system TEXT NOT NULL, assignee TEXT, \"group\" TEXT, "
            "reported_at TEXT NOT NULL, recorded_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, version INTEGER NOT NULL, "
            "response_due TEXT, resolution_due TEXT, response_warn_at TEXT, "
            "resolution_warn_at TEXT, responded_at TEXT, resolved_at TEXT, "
            "paused_since TEXT, "
            "escalation_level INTEGER NOT NULL DEFAULT 0, sla_state TEXT, "
            "sla_next_due TEXT)"
        )

    def index_specs(self) -> dict[str, list[tuple[str, str]]]:
        specs = [(name, f"({cols})") for name, cols in (
            ("seq", "seq"),
            ("status", "status, seq"),
            ("assignee", "assignee, status, seq"),
            ("customer", "customer, seq"),
            ("group", '"group", status, seq'),
            ("category", "category, seq"),
            ("number", "number"),
        )]
        specs += [
            # The dashboard's daily flow (issue 18): reported and resolved per day.
            ("reported_at", "(reported_at)"),
            ("resolved_at", "(resolved_at, status)"),
            # Its open tickets counted: partial, a closed or invalid ticket costs no entry.
            ("open", f'(status, priority, assignee, "group") WHERE {_OPEN}'),
        ]
        # Its clocks breached today: partial, only clocks still running or stopped late
        # (``_LATE``), so a clock met in time costs no index entry.
        specs += [(f"{clock}_late", f"({clock}_due) WHERE {_late(clock, stop)}")
                  for clock, stop in _CLOCKS]
        specs += [
            # The queue order (P1 first, then the oldest): a page of it walks this index.
            ("queue", f"({_QUEUE_KEY}, seq)"),
            # The breaching order; partial: rows without deadlines cost no index entry.
            ("sla_next_due", "(sla_next_due, seq) WHERE sla_next_due IS NOT NULL"),
        ]
        return {TABLE: specs}

    # ---------------------------------------------------------------- queries

    def query(self, q: TicketQuery) -> Page:
        ph = self.store.param
        f = Filter(ph)
        f.one_of("status", q.statuses)
        f.one_of("priority", q.priorities)
        f.equal("assignee", q.assignee)
        if q.unassigned:
            f.add('assignee IS NULL AND "group" IS NULL')
        f.equal("customer", q.customer)
        f.equal('"group"', q.group)
        f.one_of('"group"', q.groups)
        f.equal("category", q.category)
        f.equal("affected_system", q.affected_system)
        if q.sla_states:
            sla = _Sla(ph, q.now or "")
            clause = sla.where(q.sla_states)  # collects its parameters
            f.add(clause, *sla.params)
        if q.order == "breaching":
            f.add("sla_next_due IS NOT NULL")  # the partial index's rows, in both stores
            if q.after is not None:
                f.add(f"(sla_next_due, seq) > ({ph}, {ph})", *_breaching_after(q.after))
            order = "sla_next_due, seq"
        elif q.order == "queue":
            if q.after is not None:
                rank, seq = divmod(q.after, 1 << 48)
                f.add(f"({_QUEUE_KEY}, seq) > ({ph}, {ph})", f"P{rank}", seq)
            order = f"{_QUEUE_KEY}, seq"
        else:
            rows, cursor = newest_page(self.store, TABLE, COLUMNS, f.where, f.params, q.after,
                                       q.limit)
            return Page(rows=rows, next_cursor=cursor)  # type: ignore[arg-type]
        found, more = ordered_page(self.store, TABLE, COLUMNS, f.where, f.params, order, q.limit)
        ordered: list[TicketRow] = found  # type: ignore[assignment]
        return Page(rows=ordered, next_cursor=cursor_after(ordered[-1], q.order) if more else None)

    def compliance(self, start: str, end: str, now: str) -> list[ComplianceCount]:
        ph = self.store.param
        out: list[ComplianceCount] = []
        for dimension, column in (("priority", "priority"), ("customer", "customer")):
            sla = _Sla(ph, now)
            sums = ", ".join(
                f"SUM(CASE WHEN {expr} THEN 1 ELSE 0 END)"
                for expr in (
                    sla.met("response", "responded_at"),
                    sla.breached("response", "responded_at"),
                    sla.met("resolution", "resolved_at"),
                    sla.breached("resolution", "resolved_at"),
                )
            )
            sql = (
                f"SELECT {column}, COUNT(*), {sums} FROM {TABLE} "
                f"WHERE response_due IS NOT NULL AND status <> 'invalid' "
                f"AND reported_at >= {ph} AND reported_at < {ph} "
                f"GROUP BY {column} ORDER BY {column}"
            )
            with self.store.read() as cur:
                cur.execute(sql, [*sla.params, start, end])
                fetched = cur.fetchall()
            out += [ComplianceCount(dimension, r[0], *(int(x or 0) for x in r[1:]))
                    for r in fetched]
        return out


    # ------------------------------------------------- the dashboard (issue 18)

    def open_counts(self) -> list[OpenCount]:
        """Counted in the partial index of open tickets alone (``_OPEN``), in its order."""
        sql = (f'SELECT status, priority, assignee, "group", COUNT(*) FROM {TABLE} '
               f'WHERE {_OPEN} GROUP BY status, priority, assignee, "group"')
        with self.store.read() as cur:
            cur.execute(sql)
            fetched = cur.fetchall()
        return sorted((OpenCount(r[0], r[1], r[2], r[3], int(r[4])) for r in fetched),
                      key=open_order)

    def flow(self, bounds: Sequence[datetime]) -> list[DayCount]:
        ph = self.store.param
        spans = list(zip(bounds, bounds[1:]))
        if not spans:
            return []
        parts, params = [], []  # type: list[str], list[Any]
        reported = f"SELECT COUNT(*) FROM {TABLE} WHERE reported_at >= {ph} AND reported_at < {ph}"
        # No equality on ``status`` (the planner would take the status index and read every
        # invalid ticket): the resolved_at index covers both counts.
        done = f"FROM {TABLE} WHERE resolved_at >= {ph} AND resolved_at < {ph}"
        for i, (lo, hi) in enumerate(spans):
            parts.append(f"SELECT {i}, ({reported}), (SELECT COUNT(*) {done}), "
                         f"(SELECT SUM(CASE WHEN status = 'invalid' THEN 1 ELSE 0 END) {done})")
            params += [p.reported_bound(lo), p.reported_bound(hi), *[stamp(lo), stamp(hi)] * 2]
        with self.store.read() as cur:
            cur.execute(" UNION ALL ".join(parts) + " ORDER BY 1", params)
            fetched = cur.fetchall()
        return [DayCount(lo, hi, int(r[1]), int(r[2]) - int(r[3] or 0), int(r[3] or 0))
                for (lo, hi), r in zip(spans, fetched, strict=True)]

    def breached(self, start: datetime, now: datetime,
                 limit: int = 50) -> tuple[int, list[TicketRow]]:
        """The SQL form of ``projection.breached_clocks``: one arm per clock, each on its
        partial index (``_late``)."""
        ph = self.store.param
        arms, params = [], []  # type: list[str], list[Any]
        for clock, stop in _CLOCKS:
            sla = _Sla(ph, stamp(now))
            breached = sla.breached(clock, stop)  # collects its parameters
            arms.append(f"SELECT id FROM {TABLE} WHERE {_late(clock, stop)} "
                        f"AND {clock}_due >= {ph} AND {clock}_due <= {ph} "
                        f"AND status <> 'invalid' AND {breached}")
            params += [stamp(start), stamp(now), *sla.params]
        ids = " UNION ".join(arms)
        cols = ", ".join(f'"{c}"' for c in COLUMNS)
        with self.store.read() as cur:
            cur.execute(f"SELECT COUNT(*) FROM ({ids}) AS breached", params)
            count = int(cur.fetchone()[0])
            cur.execute(f"SELECT {cols} FROM {TABLE} WHERE id IN ({ids}) "
                        f"ORDER BY {_QUEUE_KEY}, seq LIMIT {ph}", [*params, limit])
            rows = [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]
        return count, rows  # type: ignore[return-value]


_CLOCKS = (("response", "responded_at"), ("resolution", "resolved_at"))
#: An open ticket, as literals (a partial index's condition must be the query's, word for word;
#: the values are the domain's own statuses, never input).
_OPEN = "status IN (" + ", ".join(f"'{s.value}'" for s in p.OPEN_STATUSES) + ")"


def _late(clock: str, stop: str) -> str:
    """A clock that may have breached: it has a due, and runs or stopped after it (the
    partial indexes' condition, repeated word for word by the queries that use them)."""
    return f"{clock}_due IS NOT NULL AND ({stop} IS NULL OR {stop} > {clock}_due)"


def open_order(c: OpenCount) -> tuple[str, str, str, str]:
    """Open counts by priority (unclassified last), assignee, group, status."""
    return (c.priority or "P9", c.assignee or "", c.group or "", c.status)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _breaching_after(after: int) -> tuple[str, int]:
    micros, seq = divmod(after, _SEQ_DIGITS)
    return p.stamp(_EPOCH + micros * _MICRO), seq


def cursor_after(row: TicketRow, order: str) -> str:
    if order == "breaching":
        due = datetime.strptime(row["sla_next_due"] or "", "%Y-%m-%dT%H:%M:%S.%fZ")
        micros = (due.replace(tzinfo=UTC) - _EPOCH) // _MICRO
        return str(micros * _SEQ_DIGITS + row["seq"])
    if order == "queue":
        rank = int((row["priority"] or "P9")[1:])
        return str((rank << 48) + row["seq"])
    return str(row["seq"])


# ------------------------------------------------------- the bulk rebuild's fold (ADR 0068)


class _Stamp(msgspec.Struct):
    timestamp: str


class _Proposed(msgspec.Struct):
    type: str | None = None
    category: str | None = None


class _Registered(msgspec.Struct):
    timestamp: str
    number: str
    customer: str
    title: str
    channel: str
    affected_system: str
    reported_at: datetime
    proposed: _Proposed = msgspec.field(default_factory=_Proposed)


class _Classification(msgspec.Struct):
    priority: str
    type: str
    category: str


class _Classified(msgspec.Struct):
    timestamp: str
    classification: _Classification


class _Assigned(msgspec.Struct):
    timestamp: str
    assignee: str | None = None
    group: str | None = None


_T = Ticket
# Topics the fold reads itself, and how: the hot ones of a ticket's life. Any other topic of
# the view goes through the mapper and ``projection.apply`` (the incremental path's code).
_REGISTERED, _CLASSIFIED, _ASSIGNED, _WORKING, _STATUS, _STOP, _PAUSE, _VERSION = range(8)
_FAST: dict[type, tuple[int, Any]] = {
    _T.Registered: (_REGISTERED, _Registered),
    _T.Classified: (_CLASSIFIED, _Classified),
    _T.Assigned: (_ASSIGNED, _Assigned),
    _T.Started: (_WORKING, _Stamp),
    _T.WorkLogged: (_WORKING, _Stamp),
    _T.Resumed: (_STATUS, _Stamp),
    _T.AcceptanceConfirmed: (_STATUS, _Stamp),
    _T.Resolved: (_STOP, _Stamp),
    _T.CustomerAwaited: (_PAUSE, _Stamp),
    _T.FeedbackGiven: (_VERSION, _Stamp),
    _T.ProblemLinked: (_VERSION, _Stamp),
    _T.InformationAdded: (_VERSION, _Stamp),
    _T.CommentAdded: (_VERSION, _Stamp),
}
_STATUS_AFTER = {_T.Resumed: Status.IN_PROGRESS.value, _T.AcceptanceConfirmed: Status.CLOSED.value}


def _stamp_of(text: str) -> str:
    return stamp(datetime.fromisoformat(text))


class TicketListFold(RowsFold):
    """The ticket list folded from raw log rows (ADR 0068): the hot topics of a ticket's life
    are decoded into small msgspec structs of just the fields the row needs, their times kept
    as the stored text (parsed only where a row keeps one: a clock's stop, and ``updated_at``
    once per row when stored); every other topic is decoded by the mapper and applied by
    ``projection.apply``, as on the incremental path. The rows are those of ``projection.apply``
    (``tests/adapters/runners/test_bulk_rebuild.py`` compares them row for row).

    Used when the stored states are plain msgspec JSON (no cipher, no compressor) and the hot
    topics' classes are at ``class_version`` 1; otherwise the generic fold is."""

    def __init__(self, view: SqlTicketListView) -> None:
        super().__init__(view)
        self._kinds: dict[str, tuple[int, Any, type]] = {}
        for cls, (kind, struct) in _FAST.items():
            if getattr(cls, "class_version", 1) == 1:
                self._kinds[cls.TOPIC] = (kind, msgspec.json.Decoder(struct).decode, cls)
        self._by_oid: dict[Any, TicketRow] = {}

    def feed_raw(self, rows: Sequence[tuple[int, Any, int, str, bytes]],
                 event: Any) -> None:
        """``rows``: (position, originator id as stored, version, topic, state) in log order;
        ``event(row)``: the row's domain event by the mapper (for the topics not read here)."""
        kinds, by_oid, touched = self._kinds, self._by_oid, self.touched
        for raw in rows:
            position, oid, version, topic, state = raw
            found = kinds.get(topic)
            row = by_oid.get(oid)
            if found is None or (row is None and found[0] != _REGISTERED):
                # the mapper's event and the projection's code
                e = event(raw)
                key = p.row_key(e.originator_id)
                new = p.apply(row, e, position)
                if new is not None:
                    by_oid[oid] = self.rows[key] = new
                    touched.add(key)
                continue
            kind, decode, cls = found
            e = decode(state)
            if kind == _REGISTERED:
                if row is not None:
                    continue  # a registration again (replayed): the row stands
                key = p.row_key(_uuid(oid))
                row = by_oid[oid] = self.rows[key] = TicketRow(
                    id=key, seq=position, number=e.number, status=_REGISTERED_STATUS,
                    priority=None, type=e.proposed.type or None, category=e.proposed.category,
                    customer=e.customer, title=e.title, channel=e.channel,
                    affected_system=e.affected_system, assignee=None, group=None,
                    reported_at=p._iso(e.reported_at),
                    recorded_at=_iso_text(e.timestamp), updated_at=e.timestamp,
                    version=version, response_due=None, resolution_due=None,
                    response_warn_at=None, resolution_warn_at=None, responded_at=None,
                    resolved_at=None, paused_since=None, escalation_level=0, sla_state=None,
                    sla_next_due=None)
                touched.add(key)
                continue
            if version <= row["version"]:
                continue  # already applied
            if kind == _WORKING or kind == _ASSIGNED:
                if kind == _ASSIGNED:
                    row["assignee"] = e.assignee
                    row["group"] = e.group
                    row["status"] = _ASSIGNED_STATUS
                else:
                    row["status"] = _IN_PROGRESS_STATUS
                if row["responded_at"] is None:
                    row["responded_at"] = _stamp_of(e.timestamp)
                    if row["response_due"] is not None:
                        p._next_due(row)
            elif kind == _CLASSIFIED:
                c = e.classification
                row["priority"] = c.priority
                row["type"] = c.type
                row["category"] = c.category
                if row["status"] == _REGISTERED_STATUS:
                    row["status"] = _CLASSIFIED_STATUS
            elif kind == _STATUS:
                row["status"] = _STATUS_AFTER[cls]
            elif kind == _STOP:
                row["status"] = _RESOLVED_STATUS
                row["resolved_at"] = _stamp_of(e.timestamp)
                if row["resolution_due"] is not None:
                    p._next_due(row)
            elif kind == _PAUSE:
                row["status"] = _WAITING_STATUS
                row["paused_since"] = _stamp_of(e.timestamp)
            row["version"] = version
            row["updated_at"] = e.timestamp  # type: ignore[typeddict-item]
            touched.add(row["id"])

    def stored(self, keys: Any = None) -> dict[str, list[tuple[Any, ...]]]:
        # ``updated_at`` of a row last changed here is still the stored text: as a time, for
        # ``finish``.
        for row in (self.rows.values() if keys is None else
                    [self.rows[k] for k in keys if k in self.rows]):
            if isinstance(row["updated_at"], str):
                row["updated_at"] = datetime.fromisoformat(row["updated_at"])  # type: ignore[typeddict-item]
        return super().stored(keys)


def _uuid(oid: Any) -> UUID:
    return oid if isinstance(oid, UUID) else UUID(oid)


def _iso_text(text: str) -> str:
    """A stored time (msgspec's RFC 3339 text) as ``projection._iso`` writes it."""
    return p._iso(datetime.fromisoformat(text))


_REGISTERED_STATUS, _CLASSIFIED_STATUS = Status.REGISTERED.value, Status.CLASSIFIED.value
_ASSIGNED_STATUS, _IN_PROGRESS_STATUS = Status.ASSIGNED.value, Status.IN_PROGRESS.value
_RESOLVED_STATUS, _WAITING_STATUS = Status.RESOLVED.value, Status.WAITING_CUSTOMER.value
