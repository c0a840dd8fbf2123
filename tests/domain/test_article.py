"""The knowledge Article aggregate: given/when/then over its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.article import Article, ArticleStatus, ArticleText
from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.numbering import record_id_for

AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEXT = ArticleText(
    title=" 数据库连接超时 ", symptoms="应用连接超时，页面报 504", cause="连接池耗尽",
    workaround="重启应用", solution="调大连接池并修复连接泄漏", tags=("数据库", " 数据库 ", "db"),
    tickets=("t-1", "t-2", "t-1"), ticket_numbers=("SR-1", "SR-2", "SR-1"))


def written(text: ArticleText = TEXT) -> Article:
    return Article.write(id=record_id_for("KB-20261121-001"), number="KB-20261121-001",
                         text=text, actor="agent-li", at=AT, problem_id="p-1")


def names(a: Article) -> list[str]:
    return [type(e).__name__ for e in a.collect_events()]


def test_given_nothing_when_written_then_created_with_the_cleaned_text():
    a = written()
    [e] = a.collect_events()
    assert e.TOPIC == "opsledger.article:Article.Created" and e.actor == "agent-li"
    assert e.timestamp == AT and e.number == "KB-20261121-001"
    assert (a.title, a.tags, a.tickets) == ("数据库连接超时", ("数据库", "db"), ("t-1", "t-2"))
    assert a.linked() == [("t-1", "SR-1"), ("t-2", "SR-2")]
    assert (a.status, a.revision, a.problem_id) == (ArticleStatus.PUBLISHED, 1, "p-1")
    assert a.id == record_id_for("kb-20261121-001")


@pytest.mark.parametrize(("change", "fields"), [
    ({"title": " "}, {"title"}),
    ({"title": "x" * 201}, {"title"}),
    ({"symptoms": ""}, {"symptoms"}),
    ({"workaround": "", "solution": " "}, {"solution"}),
    ({"cause": "x" * 20_001}, {"cause"}),
    ({"tags": ("",)}, {"tags"}),
    ({"title": "", "symptoms": "", "workaround": "", "solution": ""},
     {"title", "symptoms", "solution"}),
])
def test_when_written_with_bad_text_then_refused_naming_the_fields(change, fields):
    text = ArticleText(**{**vars(TEXT), **change})
    with pytest.raises(InvalidCommand) as e:
        written(text)
    assert {f.field for f in e.value.errors} == fields


def test_a_workaround_alone_is_enough():
    a = written(ArticleText(title="t", symptoms="s", workaround="w"))
    assert (a.solution, a.workaround, a.tickets, a.ticket_numbers) == ("", "w", (), ())


def test_given_an_article_when_revised_then_each_revision_holds_the_full_text():
    a = written()
    a.collect_events()
    new = ArticleText(**{**vars(TEXT), "solution": "升级驱动到 42.7"})
    a.revise(new, note=" 驱动问题 ", actor="agent-wang", at=AT + timedelta(hours=1))
    [e] = a.collect_events()
    assert e.TOPIC == "opsledger.article:Article.Revised"
    assert (e.solution, e.cause, e.note, e.actor) == ("升级驱动到 42.7", "连接池耗尽", "驱动问题",
                                                      "agent-wang")
    assert (a.revision, a.solution, a.revised_by, a.last_note) == (2, "升级驱动到 42.7",
                                                                   "agent-wang", "驱动问题")


def test_a_revision_that_changes_nothing_is_refused_and_records_nothing():
    a = written()
    a.collect_events()
    with pytest.raises(InvalidCommand) as e:
        a.revise(TEXT, note="", actor="x", at=AT)
    assert e.value.errors[0].field == "text"
    assert a.collect_events() == [] and a.revision == 1


def test_given_an_article_when_retired_then_no_more_revisions():
    a = written()
    a.retire(reason="被 KB-20261122-001 取代", actor="mgr", at=AT)
    assert names(a) == ["Created", "Retired"]
    assert (a.status, a.retired_reason, a.retired_at) == (ArticleStatus.RETIRED,
                                                          "被 KB-20261122-001 取代", AT)
    for command in (lambda: a.revise(ArticleText("t", "s", solution="x"), note="", actor="x",
                                     at=AT),
                    lambda: a.retire(reason="again", actor="x", at=AT)):
        with pytest.raises(TransitionNotAllowed) as e:
            command()
        assert e.value.state == "retired" and e.value.record == "article"
        assert e.value.allowed == ()
    assert a.collect_events() == []


def test_retiring_needs_a_reason():
    a = written()
    with pytest.raises(InvalidCommand) as e:
        a.retire(reason=" ", actor="x", at=AT)
    assert e.value.errors[0].field == "reason"


def test_replaying_the_events_rebuilds_an_equal_article():
    a = Article.write(id=uuid4(), number="KB-20261121-002", text=TEXT, actor="a", at=AT)
    a.revise(ArticleText(**{**vars(TEXT), "title": "新标题"}), note="n", actor="b", at=AT)
    a.retire(reason="old", actor="c", at=AT)
    copy = None
    for e in a.collect_events():
        copy = e.mutate(copy)
    assert copy is not None
    assert vars(copy) == vars(a) | {"_pending_events": []}
