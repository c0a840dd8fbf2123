"""The knowledge base (知识库, DOMAIN.md §3): one entry per problem and per article.

Entries come from two streams:

* **problems**: every ``Problem`` has a row from ``Recorded`` on (the staging of its state:
  title and description, tickets, root cause, workaround), but it is ``visible`` (searchable)
  only once it is a known error, resolved or closed. Later events keep updating the row, so a
  known error's entry gains the solution when the problem is resolved. Mapping: symptoms =
  title and description, cause = root cause, workaround, solution = resolution, tickets =
  the linked tickets with their numbers.
* **articles** written by agents (``Article``): visible from ``Created``, updated by every
  ``Revised`` (which carries the full text), hidden by ``Retired``. An article's ``audience``
  (ADR 0052) is ``public`` when the customers' requesters may read it; everything else,
  problems included, is ``internal``.

``apply`` is pure: it takes the stored row (or ``None``) and one event and returns the new row;
an event not newer than the row's ``version`` is ignored, so a replay changes nothing.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from domain.article import Article, Audience
from domain.problem import Problem
from projections.knowledge.search import Folded, folded
from projections.sla_due.projection import stamp

NAME = "knowledge"
VERSION = 2  # 2: the audience column (ADR 0052)


class KnowledgeRow(TypedDict):
    id: str  # the problem's or the article's id
    source: str  # problem | article
    number: str  # PRB-… or KB-…
    title: str
    symptoms: str
    cause: str
    workaround: str
    solution: str
    tags: str  # JSON list of text
    tickets: str  # JSON list of [ticket id, ticket number]
    status: str  # the problem's status, or published / retired
    category: str | None
    problem_id: str | None  # an article written about a problem
    change_id: str | None  # the change that resolved the problem
    revision: int  # articles: 1 + revisions; problems: events applied
    visible: int  # 1: found by search and listed
    audience: str  # internal | public (ADR 0052)
    created_at: str
    updated_at: str
    version: int


COLUMNS: tuple[str, ...] = tuple(KnowledgeRow.__annotations__)
TEXT_COLUMNS = ("title", "symptoms", "cause", "workaround", "solution")

P, A = Problem, Article
TOPICS = frozenset(
    cls.TOPIC for cls in (
        P.Recorded, P.Classified, P.TicketLinked, P.RootCauseRecorded, P.WorkaroundRecorded,
        P.KnownErrorMarked, P.Resolved, P.Closed, A.Created, A.Revised, A.Retired,
    )
)
INTERNAL, PUBLIC = Audience.INTERNAL.value, Audience.PUBLIC.value  # who reads an entry
# A problem is knowledge once its cause or way around is known, or once it is solved.
VISIBLE_PROBLEM = frozenset({"known_error", "resolved", "closed"})


def search_text(row: KnowledgeRow) -> Folded:
    return folded(row["title"], json.loads(row["tags"]), row["symptoms"], row["cause"],
                  row["workaround"], row["solution"])


def tickets(row: KnowledgeRow) -> list[tuple[str, str]]:
    return [(i, n) for i, n in json.loads(row["tickets"])]


def _pairs(ids: tuple[str, ...], numbers: tuple[str, ...]) -> str:
    """Ticket ids with their numbers (the ids where an older event has no numbers)."""
    numbers = numbers if len(numbers) == len(ids) else ids
    return json.dumps([[str(i), str(n)] for i, n in zip(ids, numbers, strict=True)],
                      ensure_ascii=False)


def _new(event: Any, source: str, status: str, **values: Any) -> KnowledgeRow:
    at = stamp(event.timestamp)
    base: dict[str, Any] = dict(
        id=str(event.originator_id), source=source, number=event.number, cause="",
        workaround="", solution="", tags="[]", category=None, problem_id=None,
        change_id=None, revision=1, status=status, created_at=at, updated_at=at,
        version=event.originator_version, audience=INTERNAL)
    return KnowledgeRow(**(base | values))  # type: ignore[typeddict-item]


def _text(event: Any) -> dict[str, Any]:
    """An article revision's text as row values."""
    return dict(
        title=event.title, symptoms=event.symptoms, cause=event.cause,
        workaround=event.workaround, solution=event.solution,
        tags=json.dumps(list(event.tags), ensure_ascii=False),
        tickets=_pairs(tuple(event.tickets), tuple(getattr(event, "ticket_numbers", ()))),
        audience=getattr(event, "audience", None) or INTERNAL)


def apply(row: KnowledgeRow | None, event: Any) -> KnowledgeRow | None:
    """The row after ``event`` (``row`` unchanged when the event is old or not for it)."""
    kind = type(event)
    if kind is P.Recorded:
        if row is not None:
            return row
        return _new(event, "problem", "recorded", visible=0, title=event.title,
                    symptoms="\n".join(t for t in (event.title, event.description) if t),
                    category=event.category,
                    tickets=_pairs(tuple(event.tickets),
                                   tuple(getattr(event, "ticket_numbers", ()))))
    if kind is A.Created:
        if row is not None:
            return row
        return _new(event, "article", "published", visible=1, problem_id=event.problem_id,
                    **_text(event))
    if row is None or event.originator_version <= row["version"]:
        return row
    new: dict[str, Any] = dict(row)
    if kind is P.Classified:
        new["category"] = event.category
    elif kind is P.TicketLinked:
        new["tickets"] = json.dumps([*json.loads(row["tickets"]),
                                     [event.ticket_id, event.ticket_number]], ensure_ascii=False)
    elif kind is P.RootCauseRecorded:
        new["cause"] = event.root_cause
    elif kind is P.WorkaroundRecorded:
        new["workaround"] = event.workaround
    elif kind is P.KnownErrorMarked:
        new["status"] = "known_error"
    elif kind is P.Resolved:
        new.update(status="resolved", solution=event.resolution, change_id=event.change_id)
    elif kind is P.Closed:
        new["status"] = "closed"
    elif kind is A.Revised:
        new.update(_text(event))
    elif kind is A.Retired:
        new.update(status="retired", visible=0)
    else:
        return row
    if row["source"] == "problem":
        new["visible"] = int(new["status"] in VISIBLE_PROBLEM)
    new.update(revision=row["revision"] + 1, updated_at=stamp(event.timestamp),
               version=event.originator_version)
    return KnowledgeRow(**new)  # type: ignore[typeddict-item]
