"""The terms of a ticket search (ADR 0050), shared by every ticket search view.

A desk looks for *one* ticket: by its number, a phone number, an error code, a word of the
title, a phrase of the description. So where the knowledge base (ADR 0020) ORs trigrams to find
loosely related entries, a ticket search ANDs substrings: the query is folded like the
knowledge base's (``knowledge.search.fold``: NFKC, lower case), split at white space and
punctuation that never belongs to a word (``，。、`` and ``, ; ! ? " ' ( ) [ ] { } < > |``; not
``- . @ _ / : # +``, which hold numbers, e-mails and error codes together), and every piece is
a *term* that the ticket must contain somewhere:

* three or more characters (打印机, timeout, SR-20261207-001, 13800005678): a substring, found
  through the trigram index (SQLite FTS5 ``trigram`` phrases, PostgreSQL ``pg_trgm``);
* two characters (卡纸, db): a substring too, looked up by its window (below: a trigram index
  cannot look up fewer than three characters);
* one character is no term (``x 打印机`` searches 打印机), nor is a piece without a letter,
  digit or ideograph (``-``, ``%%``).

Terms are only ever data (bound parameters, quoted FTS phrases, escaped LIKE patterns).

**Two characters: their windows as words.** A trigram index cannot look up fewer than three
characters, so the SQL views keep beside the text its distinct two-character windows, each
followed by ``MARK`` and separated by spaces (``pairs``): ``打印机卡纸`` has
``打印⁂ 印机⁂ 机卡⁂ 卡纸⁂`` (⁂ standing for ``MARK``). A two-character term ``卡纸`` is then
looked up as the word ``卡纸⁂`` (``pair_term``): on SQLite in a full-text table of its own
whose tokenizer takes every character but white space as part of a word (``unicode61`` with
``categories``; ADR 0077: a word index of the windows costs a quarter of their trigrams, which
were most of the search's rebuild), on PostgreSQL by ``LIKE`` through ``pg_trgm``. No term
holds ``MARK`` or white space, so a window never makes a term match that the text itself does
not. So every term goes through an index: a query of single characters only (``猫``,
``a b``) finds nothing (the search box asks for two characters at least), since it could
only be answered by reading every ticket.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain
from operator import add

from projections.knowledge.search import MAX_QUERY, Terms, fold

__all__ = ["MAX_QUERY", "MAX_TERMS", "MARK", "Terms", "parse", "is_number", "pairs", "pair_term"]

MAX_TERMS = 16  # every term is one more index lookup (AND): a longer query is cut here
_SPLIT = re.compile(r"[\s,;!?\"'()\[\]{}<>|，。、；：！？“”‘’（）【】《》「」『』]+")
_NUMBER = re.compile(r"^[a-z]{2,4}-\d{8}-\d{3,}$")  # SR-20261207-001, folded
MARK = "\ue000"  # a private-use character: follows each window of ``pairs``
SEPARATOR = MARK + " "  # between two windows of ``pairs``


def parse(query: str) -> Terms:
    pieces = [p for p in _SPLIT.split(fold(unicodedata.normalize("NFKC", query)))
              if any(ch.isalnum() for ch in p)]  # "-", "%%%": no word, no term
    unique = list(dict.fromkeys(pieces))
    long = [p for p in unique if len(p) >= 3][:MAX_TERMS]
    short = [p for p in unique if len(p) == 2][: MAX_TERMS - len(long)]
    return Terms(tuple(long), tuple(short[: MAX_TERMS - len(long)]))


def is_number(terms: Terms) -> str | None:
    """The record number a one-term query names (``SR-20261207-001``, as stored: upper
    case), else ``None``: that ticket comes first."""
    if len(terms.all) == 1 and _NUMBER.match(terms.all[0]):
        return terms.all[0].upper()
    return None


def pairs(text: str) -> str:
    """The distinct two-character windows of ``text``'s lines, each followed by ``MARK``, one
    word each (separated by a space; windows with white space or NUL left out: SQLite's
    tokenizer ends a word at NUL), for the SQL views to index."""
    # The windows of each run of text between white space (``str.split``: what ``isspace``
    # calls white space, line breaks included), distinct in order of first appearance, made
    # in C (``map``, ``dict.fromkeys``): the same as window by window per line, 1.3x faster on
    # a ticket's text (ADR 0068).
    runs = (text.replace("\x00", " ") if "\x00" in text else text).split()
    found = dict.fromkeys(chain.from_iterable(map(add, run, run[1:]) for run in runs))
    return SEPARATOR.join(found) + MARK if found else ""


def pair_term(term: str) -> str:
    """What a two-character ``term`` is looked up as among ``pairs``."""
    return term + MARK
