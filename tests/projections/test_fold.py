"""``fold`` (projections/knowledge/search.py) has a fast path for text that is already NFKC
(ADR 0071); it must give exactly what folding character by character gives."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.knowledge.search import fold


def by_character(text: str) -> str:
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch.lower())
            continue
        n = unicodedata.normalize("NFKC", ch).lower()
        out.append(n if len(n) == 1 else (ch.lower() if len(ch.lower()) == 1 else ch))
    return "".join(out)


# Characters where the fast path could go wrong: capital and final sigma, a capital that
# lowers to two characters, full-width and ligature forms, combining marks, Hangul jamo
# that compose, and plain Chinese.
TRICKY = "ΣσςİıﬁＡＢ①각\u0301\u0308e\u1100\u1161\u11a8数据库 ."
text = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(), max_size=40)


@settings(max_examples=600, deadline=None)
@given(text)
def test_fold_is_the_same_as_folding_each_character(value: str) -> None:
    assert fold(value) == by_character(value)
    assert len(fold(value)) == len(value)


def test_every_character_alone() -> None:
    for code in range(0x20, 0x30000):
        ch = chr(code)
        if 0xD800 <= code < 0xE000:
            continue
        assert fold(ch) == by_character(ch), hex(code)
