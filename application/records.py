"""What the reads of the record kinds listed by a directory share (agreements, announcements,
complaints, major incidents, repair orders, risks, requisitions, the visit register).

Such records are few: a directory aggregate names them (``ComplaintDirectory.complaints``)
and each is read from the aggregate cache; a list is filtered and sorted in memory and
answered a page at a time (``offset``/``limit``, the next page's offset or ``None``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from application.desk import ServiceDesk
from application.errors import RecordNotFound
from domain.numbering import RecordKind, record_id_for

R = TypeVar("R")


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a list: its ``items`` and the offset of the next page (``None``: the
    last)."""

    items: list[R]
    next_offset: int | None


def filter_id(ref: str | None, kind: RecordKind) -> str | None:
    """The record id a list's filter names: an id, or a number of ``kind`` (``SR-…``, ``CHG-…``);
    ``None`` for no filter; any other text as given, which names no record (an empty list)."""
    if ref is None or not ref.strip():
        return None
    text = ref.strip()
    if text.upper().startswith(f"{kind.value}-"):
        return str(record_id_for(text))
    try:
        return str(UUID(text))
    except ValueError:
        return text


def page_of(rows: Sequence[R], offset: int, limit: int) -> Page[R]:
    """The ``limit`` rows of ``rows`` from ``offset``."""
    more = offset + limit < len(rows)
    return Page(list(rows[offset: offset + limit]), offset + limit if more else None)


def loaded(desk: ServiceDesk, ids: Iterable[str], record_class: type[R]) -> list[R]:
    """The records of ``record_class`` among ``ids`` (read from the aggregate cache)."""
    found = (desk.load(UUID(i)) for i in ids)
    return [r for r in found if isinstance(r, record_class)]


def directory_records(desk: ServiceDesk, directory_class: Any, items: str,
                      record_class: type[R]) -> list[R]:
    """Every record of ``record_class`` its directory (``directory_class``) names in its
    ``items``, in the directory's order; none before the directory's first record."""
    directory = desk.load(directory_class.ID)
    if directory is None:
        return []
    return loaded(desk, getattr(directory, items), record_class)


def as_they_stood(desk: ServiceDesk, records: Iterable[Any], record_class: type[R], label: str,
                  at: datetime) -> list[R]:
    """Each of ``records`` as it stood at ``at`` (a report's ``as_of``), in their order; one
    not yet recorded then is left out."""
    found: list[R] = []
    for record in records:
        try:
            found.append(desk.get_record(record.id, record_class, label, at))
        except RecordNotFound:
            continue
    return found
