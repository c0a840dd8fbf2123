"""``search.pairs`` (projections/ticket_search/search.py) makes its windows in C (ADR 0068); it
must give exactly the windows of each line, without white space, in order of first appearance."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.ticket_search.search import MARK, pairs


def window_by_window(text: str) -> str:
    found: dict[str, None] = {}
    for line in text.split("\n"):
        for a, b in zip(line, line[1:], strict=False):
            if not (a.isspace() or b.isspace()):
                found[a + b + MARK] = None
    return "".join(found)


# White space of every kind str.isspace knows (line and paragraph separators, the ideographic
# space, the information separators), and the text a ticket holds.
TRICKY = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u2029\u3000ab网络，；A1"
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
