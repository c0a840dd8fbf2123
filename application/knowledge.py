"""Knowledge articles (DOMAIN §3, ADR 0020): reads, and the lookups the article commands make.

The commands are values in ``application.commands.knowledge`` (``WriteArticle``,
``ReviseArticle``, ``RetireArticle``), run by ``ServiceDesk.handle``. Searching is the
``knowledge`` read model's job (``projections/knowledge``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from application.desk import HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from application.problems import find_tickets, record_ref
from domain.article import Article, ArticleText
from domain.problem import Problem

LABEL = "article"
ENTRY = "knowledge entry"


def checked_text(desk: ServiceDesk, text: ArticleText) -> ArticleText:
    """``text`` with its ticket refs (ids or numbers) turned into ids and numbers."""
    found = find_tickets(desk, list(text.tickets), "tickets")
    return replace(text, tickets=tuple(str(t.id) for t in found),
                   ticket_numbers=tuple(t.number for t in found))


def problem_ref(desk: ServiceDesk, ref: str | None) -> str | None:
    """The id of the problem ``ref`` (an id or ``PRB-…``); a 422 naming ``problem_id``."""
    return record_ref(desk, ref, Problem, "problem", "problem_id")


def get_article(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> Article:
    return desk.get_record(ref, Article, LABEL, as_of)  # type: ignore[no-any-return]


def article_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    return desk.history(ref, Article, LABEL)



def entry_events(desk: ServiceDesk, ref: str | UUID, as_of: datetime | None = None) -> list[Any]:
    """The events of the article or problem ``ref`` (an id, ``KB-…`` or ``PRB-…``) up to
    ``as_of`` (by recorded time), for the edge to fold into a knowledge entry with the
    view's own rules; ``RecordNotFound`` when it is neither or did not exist yet."""
    record_id = desk.resolve_ref(ref, ENTRY)
    events = [e for e in desk.events.get(record_id) if as_of is None or e.timestamp <= as_of]
    if not events or not isinstance(events[0], (Article.Created, Problem.Recorded)):
        raise RecordNotFound(str(ref), ENTRY)
    return events


def entry_history(desk: ServiceDesk, ref: str | UUID) -> list[HistoryEntry]:
    """Every event of the article or problem behind a knowledge entry, oldest first."""
    first = entry_events(desk, ref)[0]
    if isinstance(first, Article.Created):
        return article_history(desk, ref)
    return desk.history(ref, Problem, "problem")
