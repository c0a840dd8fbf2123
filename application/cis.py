"""Configuration items (配置项, issue 20 item 1, ADR 0063): the reads, and the lookups commands
make (the CIs a ticket, problem or change names).

The commands are values in ``application.commands.cis``. Lists, relations, impact, the CI
page's records and the monthly-update flag are answered by the CI index
(``projections.ci_index``), an in-memory read model fed by the projection engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from application.commands.base import resolve_ref
from application.desk import HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from domain.change import Change
from domain.ci import ConfigurationItem, library_stale
from domain.errors import FieldError, InvalidCommand
from domain.problem import Problem
from domain.ticket import Ticket
from projections.ci_index.view import CiIndex

LABEL = "configuration item"


def load_ci(desk: ServiceDesk, ref: str | UUID) -> ConfigurationItem | None:
    """The CI ``ref`` (an id or ``CI-`` number) as it stands now, or ``None``."""
    try:
        record_id = resolve_ref(ref.strip() if isinstance(ref, str) else ref, LABEL)
    except RecordNotFound:
        return None
    found = desk.load(record_id)
    return found if isinstance(found, ConfigurationItem) else None


def get_ci(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None
           ) -> ConfigurationItem:
    return desk.get_record(ref, ConfigurationItem, LABEL, as_of)  # type: ignore[no-any-return]


def readable(ci: ConfigurationItem, customer: str | None) -> ConfigurationItem:
    """``ci`` for a requester of ``customer`` (``None``: staff): another organisation's CI is
    not found, exactly like an unknown number."""
    if customer is not None and not ci.belongs_to(customer):
        raise RecordNotFound(ci.number, LABEL)
    return ci


def ci_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, ConfigurationItem, LABEL)


def affected_cis(desk: ServiceDesk, refs: Sequence[str], customer: str | None,
                 field: str = "affected_cis") -> tuple[ConfigurationItem, ...]:
    """The CIs a ticket, problem or change names (ids or ``CI-`` numbers, first occurrence
    kept): one 422 naming ``affected_cis.<i>`` for each unknown CI and, with ``customer``
    (a requester's organisation), each CI of another customer, alike."""
    errors: list[FieldError] = []
    found: dict[UUID, ConfigurationItem] = {}
    for i, ref in enumerate(refs):
        ci = load_ci(desk, ref) if isinstance(ref, str) and ref.strip() else None
        if ci is None or (customer is not None and not ci.belongs_to(customer)):
            # another organisation's CI reads as unknown: nothing of it is told
            errors.append(FieldError(f"{field}.{i}", f"no configuration item {ref!r}"))
        else:
            found.setdefault(ci.id, ci)
    if errors:
        raise InvalidCommand(errors)
    return tuple(found.values())


# ----------------------------------------------------------- the CI page's records


@dataclass(frozen=True)
class NamingRecord:
    """A ticket, problem or change that names a CI, as the CI page lists it."""

    kind: str  # ticket | problem | change
    id: str
    number: str
    title: str
    status: str
    named_at: datetime


@dataclass(frozen=True)
class RepeatFault:
    """"The same CI in N tickets in M days": the suggestion to open a problem."""

    tickets: tuple[str, ...]  # their numbers, the latest first
    days: int
    threshold: int


KINDS: dict[str, type] = {"ticket": Ticket, "problem": Problem, "change": Change}


def naming_records(desk: ServiceDesk, index: CiIndex, ci_id: str, limit: int = 200
                   ) -> list[NamingRecord]:
    """The tickets, problems and changes naming the CI, the latest named first."""
    out: list[NamingRecord] = []
    for n in index.named_by(ci_id)[:limit]:
        record = desk.load(UUID(n.id))
        if not isinstance(record, KINDS[n.kind]):
            continue
        status = getattr(record, "status", "")
        out.append(NamingRecord(n.kind, n.id, record.number, getattr(record, "title", ""),
                                getattr(status, "value", str(status)), n.at))
    return out


def repeat_fault(records: Sequence[NamingRecord], now: datetime, tickets: int, days: int
                 ) -> RepeatFault | None:
    """The suggestion to open a problem when ``tickets`` or more of the tickets in
    ``records`` named the CI in the ``days`` before ``now`` (none otherwise)."""
    since = now - timedelta(days=days)
    recent = [r.number for r in records if r.kind == "ticket" and r.named_at >= since]
    return RepeatFault(tuple(recent), days, tickets) if len(recent) >= tickets else None


def stale_libraries(index: CiIndex, today: date) -> list[tuple[str, int, datetime | None, bool]]:
    """Each customer's configuration library: ``(customer, CIs, last change, flagged)`` --
    flagged when a whole calendar month went by without a change ("配置库 每月补充")."""
    return [(lib.customer, lib.count, lib.updated_at,
             library_stale(lib.updated_at.date() if lib.updated_at else None, today))
            for lib in index.libraries()]


def named_cis(desk: ServiceDesk, refs: Sequence[str] | None, sources: Sequence[object]
              ) -> tuple[tuple[str, str], ...]:
    """The ``(id, number)`` of the CIs a problem or change names: ``refs`` (ids or numbers;
    a 422 naming ``affected_cis.N`` for an unknown one), or when ``None`` the CIs its
    ``sources`` (the tickets a problem is recorded from, a change's origin) name, first
    occurrence kept."""
    if refs is not None:
        return tuple((str(c.id), c.number) for c in affected_cis(desk, refs, None))
    pairs: dict[str, str] = {}
    for source in sources:
        ids = getattr(source, "affected_cis", ()) or ()
        numbers = getattr(source, "affected_ci_numbers", ()) or ()
        for i, n in zip(ids, numbers, strict=False):
            pairs.setdefault(i, n)
    return tuple(pairs.items())
