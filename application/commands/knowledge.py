"""Knowledge-article commands (DOMAIN §3, ADR 0020): each names the ``Article`` method it calls
and the event it records; fields are named as the bodies of
``POST /api/v1/knowledge[/{ref}/<verb>]`` (``adapters/http/knowledge``).

The tickets and the problem an article names are checked to exist here (a 422 naming
``tickets`` / ``problem_id``), and the tickets' numbers are recorded with their ids so the
knowledge view can show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from application.commands.base import Command, RecordCommand, command, resolve_ref
from application.knowledge import LABEL, checked_text, problem_ref
from domain.article import Article, ArticleText, Audience
from domain.numbering import RecordKind, record_id_for

if TYPE_CHECKING:
    from application.desk import Context


@command
class _Text(Command):
    """The text of an article (``domain.article.ArticleText``) as the body gives it."""

    title: str
    symptoms: str
    cause: str = ""
    workaround: str = ""
    solution: str = ""
    tags: Sequence[str] = ()
    tickets: Sequence[str] = ()  # ids or SR- numbers
    # ``internal`` or ``public`` (ADR 0052); left out: internal on a new article, unchanged
    # on a revision
    audience: str | None = None

    def text(self, audience: str = Audience.INTERNAL.value) -> ArticleText:
        return ArticleText(self.title, self.symptoms, self.cause, self.workaround, self.solution,
                           tuple(self.tags), tuple(self.tickets),
                           audience=self.audience or audience)


@command
class WriteArticle(_Text):
    """``Article.write`` → ``Article.Created`` (``KB-YYYYMMDD-NNN``), optionally about the
    problem ``problem_id`` (an id or ``PRB-…`` number). HTTP: ``WriteArticle``."""

    record_class = Article
    record_label = LABEL
    verb = "write"

    problem_id: str | None = None

    def decide(self, record: None, ctx: Context) -> Article:
        checked = checked_text(ctx.desk, self.text())
        problem = problem_ref(ctx.desk, self.problem_id)
        number = ctx.issue(RecordKind.ARTICLE)
        return Article.write(id=record_id_for(number), number=number, text=checked,
                             problem_id=problem, actor=ctx.actor, at=ctx.at)


@command
class ReviseArticle(_Text):
    """``Article.revise`` → ``Article.Revised`` with the full new text and why it changed
    (``note``). HTTP: ``ReviseArticle``."""

    record_class = Article
    record_label = LABEL
    verb = "revise"

    ref: str | UUID
    note: str = ""

    def target(self) -> UUID | None:
        return resolve_ref(self.ref, self.record_label)

    def decide(self, a: Article, ctx: Context) -> None:
        a.revise(checked_text(ctx.desk, self.text(a.audience)), note=self.note,
                 actor=ctx.actor, at=ctx.at)


@command
class RetireArticle(RecordCommand):
    """``Article.retire`` → ``Article.Retired``. HTTP: ``RetireArticle``."""

    record_class = Article
    record_label = LABEL
    verb = "retire"

    reason: str
