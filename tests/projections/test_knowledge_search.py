"""Query handling of the knowledge base (ADR 0020): terms, folding, snippets; and no query text
whatsoever breaks the SQLite FTS5 query (property test on a real SQLite view)."""

from __future__ import annotations

import html
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.desk import ServiceDesk
from application.commands.knowledge import WriteArticle
from application.ports import FixedClock
from projections.base import Positioned
from projections.knowledge.search import MAX_TERMS, fold, fts_query, like_pattern, parse, snippet
from projections.knowledge.sqlite import sqlite_knowledge
from projections.knowledge.sql import SqlKnowledgeView
from projections.knowledge.view import KnowledgeQuery


@pytest.mark.parametrize(("query", "grams", "short"), [
    ("数据库连接超时", ("数据库", "据库连", "库连接", "连接超", "接超时"), ()),
    ("超时", (), ("超时",)),
    ("Database  TIMEOUT", ("database", "timeout"), ()),
    ("timeout on db", ("timeout",), ()),  # weak terms only when nothing else
    ("db", (), ("db",)),
    ("ＤＢ连接超时，ORA-12170", ("连接超", "接超时", "ora", "12170"), ()),
    ("重启 超时", (), ("重启", "超时")),
    ('"*NEAR( OR -', ("near",), ()),
    ("超时 超时 超时", (), ("超时",)),
    ("", (), ()),
    ("%_\\\"'", (), ()),
])
def test_parse(query: str, grams: tuple[str, ...], short: tuple[str, ...]):
    terms = parse(query)
    assert (terms.grams, terms.short) == (grams, short)


def test_fold_keeps_length_and_meets_full_width():
    for text in ["ＤＢ连接", "İstanbul ß", "Ａｂｃ①", "a\u0301"]:
        assert len(fold(text)) == len(text)
    assert fold("ＤＢ连接 Timeout") == "db连接 timeout"


def test_terms_are_never_syntax():
    assert fts_query(['a"b', "连接超"]) == '"a""b" OR "连接超"'
    assert like_pattern("5%_\\") == "%5\\%\\_\\\\%"
    assert len(parse("".join(chr(0x4E00 + i) for i in range(200))).all) == MAX_TERMS


def test_snippet_marks_merged_matches_and_escapes_the_rest():
    terms = parse("数据库连接超时").all
    s = snippet(["", "<b>应用连接超时</b> & 更多"], terms)
    assert s == "&lt;b&gt;应用<mark>连接超时</mark>&lt;/b&gt; &amp; 更多"
    long = "x" * 200 + " timeout " + "y" * 200
    s = snippet([long], ["timeout"])
    assert s.startswith("…") and s.endswith("…") and "<mark>timeout</mark>" in s
    assert snippet(["", ""], ["x"]) == ""
    assert snippet(["没有匹配 <i>", "匹配"], ["匹配"]).startswith("没有<mark>匹配</mark> &lt;i&gt;")


@given(text=st.text(max_size=300), query=st.text(max_size=40))
def test_a_snippet_is_an_escaped_excerpt_with_only_our_marks(text: str, query: str):
    s = snippet([text], parse(query).all)
    plain = s.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in plain and ">" not in plain
    assert html.unescape(plain).strip("…") in text


@pytest.fixture(scope="module")
def sqlite_view() -> Iterator[SqlKnowledgeView]:
    with tempfile.TemporaryDirectory() as tmp:
        desk = ServiceDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"},
                           clock=FixedClock(datetime(2026, 11, 23, 2, tzinfo=UTC)))
        for title, symptoms in [("数据库连接超时", "应用报错"), ("Database timeout", "fails over"),
                                ('引号 " 和 * 星号', "NEAR(a b) OR -x")]:
            desk.handle(WriteArticle(title=title, symptoms=symptoms, solution="s"), actor="a")
        view = sqlite_knowledge(str(Path(tmp) / "kb.sqlite3"))
        events = [Positioned(n.id, e) for n, e in desk.read_log(0, 100)]
        view.apply(events, start=0, end=events[-1].position)
        yield view
        view.close()


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=60) | st.lists(
    st.sampled_from(['"', "*", "NEAR(", "OR", "AND", "NOT", "-", "^", ":", "(", ")", "{", "}",
                     "超时", "数据库", "timeout", "'", ";", "%", "_", "\\", " "]),
    max_size=12).map("".join))
def test_no_query_breaks_the_sqlite_search(sqlite_view: SqlKnowledgeView, query: str):
    page = sqlite_view.search(KnowledgeQuery(q=query, limit=10))
    if not query.strip():  # no query: the list of every entry
        assert len(page.hits) == 3
        return
    terms = parse(query).all
    for hit in page.hits:
        text = fold(" ".join([hit.row["title"], hit.row["symptoms"], hit.row["solution"]]))
        assert any(t in text for t in terms)
