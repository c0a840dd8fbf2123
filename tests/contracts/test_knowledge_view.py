"""The knowledge view contract (ADR 0020), run against the memory, SQLite and PostgreSQL views.

Events come from a real desk (in memory, FixedClock) in three stages: problems and articles
recorded; one problem marked a known error and an article retired; the problem resolved and an
article revised. Searching finds Chinese by trigrams ("数据库连接超时" finds "应用连接超时"),
English words, two-character Chinese terms; ranks the better match first; marks matches in an
HTML-safe snippet; takes hostile input as text; never shows staged problems or retired
articles; and a problem's later events update its entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from adapters.stores.persistence import knowledge_view
from application.commands.knowledge import ReviseArticle, RetireArticle, WriteArticle
from application.commands.problems import (
    MarkKnownError,
    RecordProblem,
    RecordRootCause,
    RecordWorkaround,
    ResolveProblem,
)
from application.commands.tickets import RegisterTicket
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.article import TEXT_FIELDS
from domain.ticket import Contact
from projections.base import Positioned
from projections.knowledge.search import fold, parse
from projections.knowledge.view import KnowledgeQuery, KnowledgeView
from tests.fixtures_stores import (
    apply_in_batches,
    assert_replays_change_nothing,
    open_view_fixture,
)

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
HOSTILE = ['"', "*", "NEAR(", "OR", "-", '"数据库" OR *', '连接超时" NEAR(x', "%", "_", "\\",
           "'; DROP TABLE knowledge; --", "a:b", "title:数据库", "^超时", "NOT 超时", "()",
           "连接超时*", "{title}: x", "\x00", "超时 AND", "a" * 200]


@dataclass
class Log:
    events: list[Positioned]
    marks: dict[str, int]  # stage -> last position of the stage
    ids: dict[str, str]

    def upto(self, stage: str) -> list[Positioned]:
        return [pe for pe in self.events if pe.position <= self.marks[stage]]


@pytest.fixture(scope="module")
def log() -> Log:
    clock = FixedClock(AT)
    desk = ServiceDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    ids: dict[str, str] = {}
    marks: dict[str, int] = {}

    def article(name: str, **text: str | tuple[str, ...]) -> None:
        clock.advance(minutes=1)
        ids[name] = str(desk.handle(WriteArticle(**text), actor="agent").aggregate.id)  # type: ignore[arg-type]

    ticket = desk.handle(RegisterTicket(customer="客户A", contact=Contact("张三"), channel="phone",
                                        title="支付失败"), actor="agent").ticket
    ids["ticket"], ids["ticket_number"] = str(ticket.id), ticket.number
    ids["p1"] = str(desk.handle(RecordProblem(title="支付网关响应慢",
                                              description="高峰期应用连接超时，用户支付失败",
                                              tickets=[ticket.number]), actor="agent").aggregate.id)
    ids["p2"] = str(desk.handle(RecordProblem(title="邮件系统连接超时", description="数据库连接超时"),
                                actor="agent").aggregate.id)
    article("k1", title="Database connection timeout after failover",
            symptoms="Applications report a connection timeout after the primary fails over",
            solution="Point the pool at the cluster VIP and lower the DNS TTL",
            tags=("database",))
    article("k2", title="数据库连接超时", symptoms="数据库连接超时，应用报错 ORA-12170",
            solution="检查防火墙的会话超时设置")
    article("k3", title="打印机卡纸", symptoms='卡纸后 <script>alert("x")</script> & 乱码',
            workaround="清理搓纸轮")
    article("k4", title="VPN 连接超时", symptoms="VPN 客户端连接超时", solution="更新客户端版本")
    for i in range(4):  # more entries, so bm25's document frequencies mean something
        article(f"filler{i}", title=f"磁盘空间告警 {i}", symptoms="磁盘使用率超过 90%",
                solution="清理日志并扩容")
    marks["recorded"] = desk.max_position()

    clock.advance(minutes=1)
    desk.handle(RecordRootCause(ref=ids["p1"], root_cause="连接池耗尽"), actor="eng")
    desk.handle(RecordWorkaround(ref=ids["p1"], workaround="重启应用服务器"), actor="eng")
    desk.handle(MarkKnownError(ref=ids["p1"]), actor="eng")
    desk.handle(RetireArticle(ref=ids["k4"], reason="VPN 已下线"), actor="mgr")
    marks["known_error"] = desk.max_position()

    clock.advance(minutes=1)
    desk.handle(ResolveProblem(ref=ids["p1"], resolution="扩容连接池并修复连接泄漏"), actor="eng")
    desk.handle(ReviseArticle(
        ref=ids["k1"], title="Database connection timeout after failover",
        symptoms="Applications report a connection timeout after the primary fails over",
        solution="Use the listener's service name; failover is transparent",
        tags=("database",), note="new listener"), actor="agent")
    marks["resolved"] = desk.max_position()
    events = [Positioned(n.id, e) for n, e in desk.read_log(0, 10_000)]
    return Log(events, marks, ids)


open_view = open_view_fixture(knowledge_view)


@pytest.fixture
def view(open_view, log) -> KnowledgeView:
    v = open_view()
    v.apply(log.events, start=0, end=log.events[-1].position)
    return v


def found(view: KnowledgeView, q: str, limit: int = 50) -> list[str]:
    return [h.row["id"] for h in view.search(KnowledgeQuery(q=q, limit=limit)).hits]


def named(log: Log, ids: list[str]) -> list[str]:
    names = {v: k for k, v in log.ids.items()}
    return [names[i] for i in ids]


def test_a_chinese_query_finds_entries_sharing_its_trigrams_best_first(view, log):
    got = named(log, found(view, "数据库连接超时"))
    assert got[0] == "k2"  # title and symptoms hold the whole query
    assert set(got) == {"k2", "p1"}  # p1: "应用连接超时"; p2 is not a known error; k4 retired
    [best, *_] = view.search(KnowledgeQuery(q="数据库连接超时")).hits
    assert "<mark>数据库连接超时</mark>" in best.snippet
    hits = view.search(KnowledgeQuery(q="数据库连接超时")).hits
    assert hits[0].score > hits[1].score > 0
    assert "应用<mark>连接超时</mark>" in hits[1].snippet


def test_an_english_query_finds_words_anywhere_case_folded(view, log):
    [first, *_] = view.search(KnowledgeQuery(q="database timeout")).hits
    assert named(log, [first.row["id"]]) == ["k1"]
    assert "<mark>timeout</mark>" in first.snippet.lower()
    assert named(log, found(view, "DATABASE")) == ["k1"]
    assert named(log, found(view, "ＯＲＡ－１２１７０")) == ["k2"]  # full-width folds (NFKC)


def test_two_character_chinese_terms_match_without_the_trigram_index(view, log):
    assert set(named(log, found(view, "超时"))) == {"k2", "p1"}
    assert set(named(log, found(view, "卡纸"))) == {"k3"}
    assert named(log, found(view, "卡纸 清理搓纸轮"))[0] == "k3"


def test_a_snippet_is_escaped_text_with_only_our_marks(view, log):
    [hit] = view.search(KnowledgeQuery(q="乱码")).hits
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <mark>乱码</mark>" in hit.snippet
    assert "<script" not in hit.snippet
    assert hit.snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_are_plain_text(view, log, query):
    page = view.search(KnowledgeQuery(q=query))
    terms = parse(query).all
    for h in page.hits:  # whatever is found really contains a term of the query
        text = fold(" ".join(str(h.row[c]) for c in ("title", "tags", *TEXT_FIELDS)))
        assert h.row["visible"] == 1 and any(t in text for t in terms)
    assert len(page.hits) < 8  # never "everything"


def test_staged_problems_and_retired_articles_are_never_found(view, log):
    everything = found(view, "")
    assert log.ids["p2"] not in everything and log.ids["k4"] not in everything
    assert found(view, "邮件系统") == [] and found(view, "VPN") == []
    staged = view.get(log.ids["p2"])
    assert staged is not None and staged["visible"] == 0 and staged["status"] == "recorded"
    assert view.get(log.ids["k4"])["status"] == "retired"


def test_a_problem_appears_when_a_known_error_and_is_updated_when_resolved(open_view, log):
    view = open_view()
    stage = log.upto("recorded")
    view.apply(stage, start=0, end=log.marks["recorded"])
    assert log.ids["p1"] not in found(view, "连接超时")
    view.apply(log.upto("known_error")[len(stage):], start=log.marks["recorded"],
               end=log.marks["known_error"])
    row = view.get(log.ids["p1"])
    assert row is not None and (row["status"], row["visible"]) == ("known_error", 1)
    assert (row["cause"], row["workaround"], row["solution"]) == ("连接池耗尽", "重启应用服务器", "")
    assert log.ids["p1"] in found(view, "连接超时")
    assert log.ids["p1"] not in found(view, "连接泄漏")
    assert log.ids["k4"] not in found(view, "VPN 连接超时")  # retired in this stage
    view.apply(log.events[len(log.upto("known_error")):], start=log.marks["known_error"],
               end=log.events[-1].position)
    row = view.get(log.ids["p1"])
    assert (row["status"], row["solution"]) == ("resolved", "扩容连接池并修复连接泄漏")
    assert row["symptoms"] == "支付网关响应慢\n高峰期应用连接超时，用户支付失败"
    assert row["tickets"] == f'[["{log.ids["ticket"]}", "{log.ids["ticket_number"]}"]]'
    assert named(log, found(view, "连接泄漏")) == ["p1"]


def test_a_revised_article_is_found_by_its_new_text_only(view, log):
    assert named(log, found(view, "listener")) == ["k1"]
    assert found(view, "DNS TTL") == []
    assert view.get(log.ids["k1"])["revision"] == 2


def test_an_empty_query_lists_recent_entries_in_pages(view, log):
    first = view.search(KnowledgeQuery(q="", limit=3))
    assert len(first.hits) == 3 and first.next_cursor == "3"
    assert [h.row["id"] for h in first.hits][:2] == [log.ids["k1"], log.ids["p1"]]
    rest = view.search(KnowledgeQuery(q="", limit=50, offset=3))
    assert rest.next_cursor is None
    everything = [h.row["id"] for h in (*first.hits, *rest.hits)]
    assert len(everything) == len(set(everything)) == 8  # k1-k3, 4 fillers and p1
    dates = [h.row["updated_at"] for h in (*first.hits, *rest.hits)]
    assert dates == sorted(dates, reverse=True)


def test_one_batch_or_many_give_the_same_entries(open_view, log):
    one = open_view()
    one.apply(log.events, start=0, end=log.events[-1].position)
    expected = {k: one.get(v) for k, v in log.ids.items()}
    one.reset()
    assert one.position() == 0 and found(one, "") == [] and found(one, "超时") == []
    apply_in_batches(one, log.events, 3)
    assert {k: one.get(v) for k, v in log.ids.items()} == expected
    assert set(named(log, found(one, "数据库连接超时"))) == {"k2", "p1"}


def test_a_batch_twice_is_refused_and_replayed_events_change_nothing(view, log):
    assert_replays_change_nothing(view, log.events,
                                  lambda: {k: view.get(v) for k, v in log.ids.items()})
    assert set(named(log, found(view, "超时"))) == {"k2", "p1"}
