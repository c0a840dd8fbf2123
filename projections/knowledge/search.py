"""Query handling shared by every knowledge view (ADR 0020): terms, ranking, snippets.

Chinese has no spaces between words, so a query cannot be split into words. Instead the query
is split into *terms* at white space and punctuation, each term into runs of CJK and other
characters, and

* a CJK run of three or more characters into its overlapping trigrams (数据库连接超时 →
  数据库, 据库连, 库连接, 连接超, 接超时): an entry that shares any trigram is a candidate,
  and the more it shares the better it ranks, so "数据库连接超时" finds "应用连接超时";
* any other run of three or more characters stays whole (an English word, an error code)
  and matches as a substring;
* a two-character CJK run (超时, 重启) is a *short* term, matched as a substring without the
  trigram index (which cannot see fewer than three characters);
* one character, or a one- or two-letter Latin run ("db", "on"), is a *weak* term: it is only
  used when the query has nothing else, because "on" in "timeout on db" would match almost
  every English entry.

Terms are only ever used as data (bound parameters, quoted FTS phrases), never as syntax, so
``"``, ``*``, ``NEAR(``, ``OR`` or ``-`` in a query are plain text.

Text and terms are compared *folded* (``fold``: NFKC per character, lower case, length kept),
so full-width ``ＤＢ`` and ``DB`` meet, and a match position in the folded text is the same
position in the original (for the snippet).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

MAX_QUERY = 200  # characters; the edge refuses longer queries
MAX_TERMS = 64
SNIPPET_CHARS = 120
SNIPPET_LEAD = 30  # characters of context before the first match
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"

# Field groups and their weights: a match in the title (or a tag) counts most, then the
# symptoms (what a searcher describes), then cause, workaround and solution.
WEIGHTS = {"head": 4.0, "symptoms": 2.0, "body": 1.0}
_SPLIT = re.compile(r"[\W_]+")


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x3FFFF or 0x3040 <= o <= 0x30FF or 0xAC00 <= o <= 0xD7AF
    )


def fold(text: str) -> str:
    """NFKC and lower case, character by character, keeping the length (so positions in the
    folded text are positions in ``text``).

    Most text is already NFKC (a check in C); then every character is its own NFKC form, and
    ``str.lower`` of the whole text is the same as character by character unless a character
    lowers to more than one (the length grows) or is a capital sigma (lowered by its place in
    a word). That path costs ~2 us for a ticket's text instead of ~300 us (ADR 0071)."""
    if "\u03a3" not in text and unicodedata.is_normalized("NFKC", text):
        lowered = text.lower()
        if len(lowered) == len(text):
            return lowered
    # Character by character, through a table each character enters once (``str.translate``
    # in C): a ticket's text with full-width punctuation ~5 us instead of ~120 us (ADR 0068).
    return text.translate(_FOLDED)


class _Folded(dict[int, str]):
    """``fold`` of one character, by code point, computed when first asked for."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if ch.isascii():
            folded = ch.lower()
        else:
            n = unicodedata.normalize("NFKC", ch).lower()
            folded = n if len(n) == 1 else (ch.lower() if len(ch.lower()) == 1 else ch)
        self[code] = folded
        return folded


_FOLDED = _Folded()


@dataclass(frozen=True)
class Terms:
    """A parsed query: ``grams`` (three or more characters: FTS phrases, trigram-indexed
    substrings) and ``short`` (fewer: plain substring matches). The ticket search's terms
    (``projections.ticket_search.search``) are of the same two kinds."""

    grams: tuple[str, ...] = ()
    short: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.grams + self.short

    def __bool__(self) -> bool:
        return bool(self.grams or self.short)


def parse(query: str) -> Terms:
    grams: list[str] = []
    short: list[str] = []
    weak: list[str] = []
    for token in _SPLIT.split(fold(unicodedata.normalize("NFKC", query))):
        for cjk, chars in groupby(token, is_cjk):
            run = "".join(chars)
            if len(run) >= 3:
                grams.extend(run[i : i + 3] for i in range(len(run) - 2)) if cjk \
                    else grams.append(run)
            elif cjk and len(run) == 2:
                short.append(run)
            elif run:
                weak.append(run)
    if not grams and not short:
        short = weak
    grams_, short_ = _unique(grams), _unique(short)
    return Terms(grams_[:MAX_TERMS], short_[: max(0, MAX_TERMS - len(grams_))])


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def fts_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: every term a quoted phrase, OR'd (never FTS syntax)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def like_pattern(term: str) -> str:
    """A LIKE pattern (escape ``\\``) finding ``term`` anywhere."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Folded:
    """The folded search text of one entry, by field group (what the views store)."""

    head: str  # title and tags
    symptoms: str
    body: str  # cause, workaround, solution

    @property
    def all(self) -> str:
        return f"{self.head}\n{self.symptoms}\n{self.body}"


def folded(title: str, tags: Sequence[str], symptoms: str, cause: str, workaround: str,
           solution: str) -> Folded:
    return Folded(head=fold("\n".join([title, *tags])), symptoms=fold(symptoms),
                  body=fold("\n".join([cause, workaround, solution])))


def coverage(text: Folded, terms: Sequence[str]) -> float:
    """The score of the memory and PostgreSQL views (SQLite adds it to bm25 for short
    terms): for every term, the weights of the field groups that contain it."""
    return sum(w for t in terms for g, w in WEIGHTS.items() if t in getattr(text, g))


def snippet(fields: Sequence[str], terms: Sequence[str]) -> str:
    """An HTML-safe excerpt of the field that matches the most terms (the first field on a
    tie, or the first non-empty one when none matches), about ``SNIPPET_CHARS`` long, with
    every match wrapped in ``<mark>``…``</mark>``. The text is escaped piece by piece, so the
    only markup in the result is ours."""
    best, best_hits = "", 0
    for field in fields:
        if not field:
            continue
        low = fold(field)
        hits = sum(1 for t in terms if t in low)
        if hits > best_hits or not best:
            best, best_hits = field, hits
    if not best:
        return ""
    low = fold(best)
    spans = sorted((m, m + len(t)) for t in terms for m in _positions(low, t))
    first = spans[0][0] if spans else 0
    start = max(0, first - SNIPPET_LEAD) if first > SNIPPET_LEAD else 0
    end = min(len(best), start + SNIPPET_CHARS)
    out = ["…" if start else ""]
    at = start
    for a, b in _merge(spans):
        a, b = max(a, start), min(b, end)
        if a >= b or b <= at:
            continue
        a = max(a, at)
        out += [html.escape(best[at:a]), MARK_OPEN, html.escape(best[a:b]), MARK_CLOSE]
        at = b
    out += [html.escape(best[at:end]), "…" if end < len(best) else ""]
    return "".join(out)


def _positions(text: str, term: str) -> list[int]:
    found, i = [], text.find(term)
    while i >= 0 and term:
        found.append(i)
        i = text.find(term, i + 1)
    return found


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
