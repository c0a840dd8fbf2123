"""The knowledge-article use cases (DOMAIN §3, ADR 0020): write, revise, retire, read.

Articles are one aggregate each in the desk's one store (``KB-YYYYMMDD-NNN``), written through
the desk's generic command path, so ``If-Match`` (``expected_version``) and
``Idempotency-Key`` (``idempotency``) work as for every record. Tickets and the problem an
article names are checked to exist here (a 422 naming ``tickets`` / ``problem_id``), and the
tickets' numbers are recorded with their ids so the knowledge view can show them.

Searching is the ``knowledge`` read model's job (``projections/knowledge``); this module only
records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.desk import CommandResult, HistoryEntry, ServiceDesk
from application.errors import RecordNotFound
from application.idempotency import IdempotencyKey
from application.problems import _tickets as find_tickets
from domain.article import Article, ArticleText
from domain.errors import InvalidCommand
from domain.numbering import RecordKind, record_id_for
from domain.problem import Problem

LABEL = "article"
ENTRY = "knowledge entry"


def _text(desk: ServiceDesk, text: ArticleText) -> ArticleText:
    """``text`` with its ticket refs (ids or numbers) turned into ids and numbers."""
    found = find_tickets(desk, list(text.tickets), "tickets")
    return ArticleText(text.title, text.symptoms, text.cause, text.workaround, text.solution,
                       text.tags, tuple(str(t.id) for t in found), tuple(t.number for t in found))


def _problem_id(desk: ServiceDesk, ref: str | None) -> str | None:
    if ref is None or not ref.strip():
        return None
    try:
        return str(desk.get_record(ref, Problem, "problem").id)
    except RecordNotFound:
        raise InvalidCommand.field("problem_id", f"no problem {ref!r}") from None


def write_article(
    desk: ServiceDesk,
    text: ArticleText,
    *,
    actor: str,
    problem: str | None = None,
    idempotency: IdempotencyKey | None = None,
) -> CommandResult:
    """Writes a new article (numbered ``KB-…``), optionally about the problem ``problem``."""

    def mutate(_: None, at: datetime, numbers: Any) -> Article:
        checked = _text(desk, text)
        problem_id = _problem_id(desk, problem)
        number = numbers.issue(RecordKind.ARTICLE)
        return Article.write(id=record_id_for(number), number=number, text=checked,
                             problem_id=problem_id, actor=actor, at=at)

    return desk._run(None, mutate, actor=actor, expected_version=None, kind=Article,
                     label=LABEL, idempotency=idempotency)


def revise_article(desk: ServiceDesk, ref: str | UUID, text: ArticleText, *, note: str,
                   actor: str, **opts: Any) -> CommandResult:
    """Records a revision with the full new text (``opts``: ``expected_version``,
    ``idempotency``)."""

    def command(a: Article, at: datetime, _: Any) -> None:
        a.revise(_text(desk, text), note=note, actor=actor, at=at)

    return desk._change(ref, command, actor=actor, kind=Article, label=LABEL, **opts)


def retire_article(desk: ServiceDesk, ref: str | UUID, *, reason: str, actor: str,
                   **opts: Any) -> CommandResult:
    return desk._change(ref, lambda a, at, _: a.retire(reason=reason, actor=actor, at=at),
                        actor=actor, kind=Article, label=LABEL, **opts)


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
