"""``search.pairs`` (projections/ticket_search/search.py) makes its windows in C (ADR 0068); it
must give exactly the windows of each line, without white space, in order of first appearance,
one word each: SQLite's index of the windows (``sql.PAIR_WORDS``, ADR 0077) takes each window
as one word, and finds each by its own phrase."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import sqlite3

from projections.knowledge.search import fts_query
from projections.ticket_search.search import MARK, pair_term, pairs
from projections.ticket_search.sql import PAIR_WORDS


def window_by_window(text: str) -> str:
    found: dict[str, None] = {}
    for line in text.split("\n"):
        for a, b in zip(line, line[1:], strict=False):
            if not (a.isspace() or b.isspace() or "\x00" in (a, b)):
                found[a + b + MARK] = None
    return " ".join(found)


# White space of every kind str.isspace knows (line and paragraph separators, the ideographic
# space, the information separators), and the text a ticket holds.
TRICKY = "\x00 \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u2029\u3000ab网络，；A1"
text = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(), max_size=60)


@settings(max_examples=800, deadline=None)
@given(text)
def test_pairs_are_the_windows_of_each_line(value: str) -> None:
    assert pairs(value) == window_by_window(value)


def test_every_white_space_and_the_first_characters_beside_letters() -> None:
    spaces = [code for code in range(0x110000) if chr(code).isspace()]
    for code in [*range(0x3100), *spaces]:
        if 0xD800 <= code < 0xE000:
            continue
        value = f"a{chr(code)}b\n{chr(code)}c"
        assert pairs(value) == window_by_window(value), hex(code)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(TRICKY) | st.characters(exclude_categories=("Cs",)),
               max_size=60))
def test_the_index_of_the_windows_takes_each_window_as_one_word(value: str) -> None:
    windows = [w for w in window_by_window(value).split(" ") if w]
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE f USING fts5(x, tokenize=\"{PAIR_WORDS}\")")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, 'instance')")
    db.execute("INSERT INTO f (rowid, x) VALUES (1, ?)", (pairs(value),))
    db.execute("INSERT INTO f (rowid, x) VALUES (2, ?)", ("other" + MARK,))
    assert db.execute("SELECT COUNT(*) FROM v WHERE doc = 1").fetchone()[0] == len(windows)
    for window in windows:
        found = db.execute("SELECT rowid FROM f WHERE f MATCH ?", (fts_query([window]),))
        assert [r[0] for r in found] == [1], window
    term = value.strip()[:2]
    if len(term) == 2 and not any(ch.isspace() or ch == "\x00" for ch in term):
        found = db.execute("SELECT rowid FROM f WHERE f MATCH ?", (fts_query([pair_term(term)]),))
        assert [r[0] for r in found] == [1], term
