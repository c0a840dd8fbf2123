"""Wire types of the problem endpoints (API.md "Problems"): strict request bodies, the
problem view and the list page. Times in responses are UTC (``Z``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from domain.problem import Problem, Status

# An id or a number (``SR-…``, ``PRB-…``, ``CHG-…``).
Ref = s.Ref
Refs = s.Refs


class RecordProblem(s.Input):
    title: s.Name
    description: s.Text
    tickets: Refs = []
    category: s.Short | None = None
    affected_system: s.Short | None = None  # default: the first ticket's
    affected_cis: list[s.Short] | None = None  # CI ids/numbers; default: its tickets' (ADR 0063)


class ClassifyProblem(s.Input):
    category: s.Short | None = None
    priority: s.Short | None = None  # P1 | P2 | P3


class LinkTicket(s.Input):
    ticket_id: Ref


class LinkTickets(s.Input):
    ticket_ids: Annotated[list[Ref], Meta(min_length=1, max_length=100)]


class LinkProblem(s.Input):
    problem_id: Ref


class RootCause(s.Input):
    root_cause: s.Text


class Workaround(s.Input):
    workaround: s.Text


class ResolveProblem(s.Input):
    resolution: s.Text
    change_id: Ref | None = None


class ProblemView(Struct):
    id: UUID
    number: str
    status: Status
    title: str
    description: str
    category: str | None
    priority: str | None
    affected_system: str
    tickets: list[s.LinkedRecord]
    root_cause: str | None
    workaround: str | None
    resolution: str | None
    change_id: str | None
    known_error: bool
    known_error_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    recorded_at: datetime
    created_by: str
    updated_at: datetime
    version: int
    allowed_commands: list[str]
    affected_cis: list[s.LinkedRecord] = []  # the configuration items it concerns (ADR 0063)


class ProblemListItem(Struct):
    id: str
    number: str
    status: str
    title: str
    category: str | None
    priority: str | None
    affected_system: str
    known_error: bool
    change_id: str | None
    tickets: list[str]
    ticket_count: int
    created_by: str
    recorded_at: str
    updated_at: str
    version: int


class ProblemPage(Struct):
    items: list[ProblemListItem]
    next_cursor: str | None
    count: int


def _utc(value: datetime | None) -> datetime | None:
    return s.utc(value) if value is not None else None


def problem_view(p: Problem) -> ProblemView:
    return s.copied(
        ProblemView, p,
        tickets=[s.LinkedRecord(id=i, number=n) for i, n in p.linked()],
        known_error_at=_utc(p.known_error_at),
        resolved_at=_utc(p.resolved_at), closed_at=_utc(p.closed_at),
        recorded_at=s.utc(p.created_on),
        updated_at=s.utc(p.modified_on),
        allowed_commands=list(p.allowed_commands()),
        affected_cis=[s.LinkedRecord(id=i, number=n) for i, n in zip(
            p.affected_cis, p.affected_ci_numbers, strict=True)],  # ADR 0063
    )


def problem_item(row: Any) -> ProblemListItem:
    """A row of the problem list read model on the wire."""
    return msgspec.convert({**row, "known_error": bool(row["known_error"]),
                            "tickets": msgspec.json.decode(row["tickets"])}, ProblemListItem)
