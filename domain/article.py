"""A knowledge article written by an agent (知识库文章), DOMAIN.md §3.

Most of the knowledge base is derived from problems (a known error or a solved problem becomes
an entry of the ``knowledge`` read model); agents can also write articles directly, e.g. for a
fix that never needed a problem record. An article keeps every revision: ``Created`` and each
``Revised`` carry the *full* text of that revision (not a diff), so any past revision reads
from one event and ``?as_of=`` shows the article as it stood. ``Retired`` takes it out of the
search; the history stays.

Each revision also says who the article is for (``audience``, ADR 0052): ``internal`` (staff
only, the default, and what every article written before the flag reads as) or ``public``
(customers' requesters read it in the portal and through the API, while it is published).

Numbers are ``KB-YYYYMMDD-NNN`` and the id derives from the number (``record_id_for``).
Pure: standard library and ``eventsourcing.domain`` only; time and actor come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, collapsed, given, refuse_fields, stripped
from domain.errors import FieldError, InvalidCommand
from domain.records import RecordEvent

MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_TAGS = 20
MAX_TAG = 50
MAX_TICKETS = 100
MAX_NOTE = 2_000
TEXT_FIELDS = ("symptoms", "cause", "workaround", "solution")


class Audience(StrEnum):
    """Who reads an article (ADR 0052): staff only, or the customers' requesters too."""

    INTERNAL = "internal"
    PUBLIC = "public"


AUDIENCES = frozenset(a.value for a in Audience)


class ArticleStatus(StrEnum):
    PUBLISHED = "published"
    RETIRED = "retired"


ALLOWED: dict[ArticleStatus, tuple[str, ...]] = {
    ArticleStatus.PUBLISHED: ("revise", "retire"),
    ArticleStatus.RETIRED: (),
}


@dataclass(frozen=True)
class ArticleText:
    """The text of one revision. ``tickets`` are the ids of the tickets the article was
    written from and ``ticket_numbers`` their numbers in the same order (the use case looks
    them up), so read models show numbers without loading tickets."""

    title: str
    symptoms: str
    cause: str = ""
    workaround: str = ""
    solution: str = ""
    tags: tuple[str, ...] = ()
    tickets: tuple[str, ...] = ()
    ticket_numbers: tuple[str, ...] = ()
    audience: str = Audience.INTERNAL.value  # who reads it (ADR 0052)

    def checked(self) -> ArticleText:
        """The text as kept (trimmed, tags and tickets without repeats), or ``InvalidCommand``
        naming every field that breaks a rule: a title, the symptoms (what a searcher
        recognises) and a workaround or a solution (what they came for) are required."""
        numbers = self.ticket_numbers if len(self.ticket_numbers) == len(self.tickets) \
            else self.tickets
        # A ticket named twice is linked once.
        linked = {t.strip(): n for t, n in zip(self.tickets, numbers, strict=True)
                  if isinstance(t, str)}
        text = ArticleText(
            title=stripped(self.title),
            symptoms=stripped(self.symptoms),
            cause=stripped(self.cause),
            workaround=stripped(self.workaround),
            solution=stripped(self.solution),
            tags=_unique(collapsed(t) for t in self.tags if isinstance(t, str)),
            tickets=tuple(linked),
            ticket_numbers=tuple(linked.values()),
            audience=self.audience,
        )
        errors: list[FieldError] = []
        if not text.title:
            errors.append(FieldError("title", "must not be empty"))
        elif len(text.title) > MAX_TITLE:
            errors.append(FieldError("title", f"at most {MAX_TITLE} characters"))
        if not text.symptoms:
            errors.append(FieldError("symptoms", "describe what the user sees"))
        for name in TEXT_FIELDS:
            if len(getattr(text, name)) > MAX_TEXT:
                errors.append(FieldError(name, f"at most {MAX_TEXT} characters"))
        if not text.workaround and not text.solution:
            errors.append(FieldError("solution", "give a solution or a workaround"))
        if len(text.tags) > MAX_TAGS or any(not t or len(t) > MAX_TAG for t in text.tags):
            errors.append(FieldError("tags", f"at most {MAX_TAGS} non-empty tags of at most "
                                             f"{MAX_TAG} characters"))
        if len(text.tickets) > MAX_TICKETS or any(not t for t in text.tickets):
            errors.append(FieldError("tickets", f"at most {MAX_TICKETS} ticket ids"))
        if text.audience not in AUDIENCES:
            errors.append(FieldError("audience", "internal or public"))
        refuse_fields(errors)
        return text


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class Article(StatusRules, Aggregate):
    TOPIC = "opsledger.article:Article"
    ALLOWED = ALLOWED
    RECORD = "article"

    class Event(RecordEvent):
        TOPIC = "opsledger.article:Article.Event"

    class Created(Aggregate.Created):
        TOPIC = "opsledger.article:Article.Created"
        number: str
        title: str
        symptoms: str
        cause: str
        workaround: str
        solution: str
        tags: tuple[str, ...]
        tickets: tuple[str, ...]
        problem_id: str | None
        actor: str
        ticket_numbers: tuple[str, ...] = ()  # same order as ``tickets`` (for views)
        audience: str = Audience.INTERNAL.value  # absent before ADR 0052: internal

    class Revised(Event):
        """A new revision: the full text as it reads from now on, and why it changed."""

        TOPIC = "opsledger.article:Article.Revised"
        title: str
        symptoms: str
        cause: str
        workaround: str
        solution: str
        tags: tuple[str, ...]
        tickets: tuple[str, ...]
        note: str
        ticket_numbers: tuple[str, ...] = ()
        audience: str = Audience.INTERNAL.value  # absent before ADR 0052: internal

        def apply(self, a: Article) -> None:
            a._take(self)
            a.revision += 1
            a.revised_by = self.actor
            a.last_note = self.note

    class Retired(Event):
        TOPIC = "opsledger.article:Article.Retired"
        reason: str

        def apply(self, a: Article) -> None:
            a.status = ArticleStatus.RETIRED
            a.retired_reason = self.reason
            a.retired_at = self.timestamp

    def __init__(
        self,
        number: str,
        title: str,
        symptoms: str,
        cause: str,
        workaround: str,
        solution: str,
        tags: tuple[str, ...],
        tickets: tuple[str, ...],
        problem_id: str | None,
        actor: str,
        ticket_numbers: tuple[str, ...] = (),
        audience: str = Audience.INTERNAL.value,
    ) -> None:
        self.number = number
        self.problem_id = problem_id
        self.created_by = actor
        self.revised_by = actor
        self.last_note = ""
        self.revision = 1
        self.status = ArticleStatus.PUBLISHED
        self.retired_reason: str | None = None
        self.retired_at: datetime | None = None
        self._take(ArticleText(title, symptoms, cause, workaround, solution, tuple(tags),
                               tuple(tickets), tuple(ticket_numbers), audience))

    def _take(self, text: Any) -> None:
        self.title: str = text.title
        self.symptoms: str = text.symptoms
        self.cause: str = text.cause
        self.workaround: str = text.workaround
        self.solution: str = text.solution
        self.tags: tuple[str, ...] = tuple(text.tags)
        self.tickets: tuple[str, ...] = tuple(text.tickets)
        # Numbers line up with ``tickets``; a stream without them shows the ids.
        self.ticket_numbers: tuple[str, ...] = tuple(text.ticket_numbers) or self.tickets
        self.audience: str = getattr(text, "audience", None) or Audience.INTERNAL.value

    # ----------------------------------------------------------------- queries

    @property
    def text(self) -> ArticleText:
        return ArticleText(self.title, self.symptoms, self.cause, self.workaround,
                           self.solution, self.tags, self.tickets, self.ticket_numbers,
                           self.audience)

    @property
    def public(self) -> bool:
        """Whether the customers' requesters read it now: published and for the public."""
        return self.status is ArticleStatus.PUBLISHED and self.audience == Audience.PUBLIC

    def linked(self) -> list[tuple[str, str]]:
        """(ticket id, ticket number) of every ticket the article names."""
        return list(zip(self.tickets, self.ticket_numbers, strict=True))

    # ---------------------------------------------------------------- commands

    @classmethod
    def write(
        cls,
        *,
        id: UUID,
        number: str,
        text: ArticleText,
        actor: str,
        at: datetime,
        problem_id: str | None = None,
    ) -> Article:
        t = text.checked()
        return cls._create(
            cls.Created, id=id, timestamp=at, number=number, title=t.title,
            symptoms=t.symptoms, cause=t.cause, workaround=t.workaround, solution=t.solution,
            tags=t.tags, tickets=t.tickets, ticket_numbers=t.ticket_numbers,
            problem_id=problem_id, actor=actor, audience=t.audience)

    def revise(self, text: ArticleText, *, note: str, actor: str, at: datetime) -> None:
        """Records a revision; refused when retired, or when nothing in the text changed
        (a revision that changes nothing would only bump the revision number)."""
        self.require("revise")
        t = text.checked()
        note = stripped(note)
        if len(note) > MAX_NOTE:
            raise InvalidCommand.field("note", f"at most {MAX_NOTE} characters")
        if t == self.text:
            raise InvalidCommand.field("text", "nothing changed: the revision repeats the "
                                               "current text")
        self.trigger_event(
            self.Revised, timestamp=at, actor=actor, title=t.title, symptoms=t.symptoms,
            cause=t.cause, workaround=t.workaround, solution=t.solution, tags=t.tags,
            tickets=t.tickets, ticket_numbers=t.ticket_numbers, note=note,
            audience=t.audience)

    def retire(self, *, reason: str, actor: str, at: datetime) -> None:
        self.require("retire")
        reason = given("reason", reason, "say why the article is retired")
        if len(reason) > MAX_NOTE:
            raise InvalidCommand.field("reason", f"at most {MAX_NOTE} characters")
        self.trigger_event(self.Retired, timestamp=at, actor=actor, reason=reason)
