"""Whole numbers that come from outside: HTTP headers and query values, command-line
arguments, environment variables (issue 16, ADR 0045).

One parser for all of them, because Python's own are too lenient for text a stranger wrote:
``str.isdigit()`` accepts ``"²"``, which ``int()`` then refuses (a 500 where it was trusted);
``int()`` accepts ``"٣"`` (an Arabic-Indic three), ``" 3 "``, ``"+3"`` and ``"3_000"``, and
refuses more than 4,300 digits with an error nobody expected; a number beyond 64 bits passes
both and breaks at the database (SQLite: ``OverflowError``). ``whole_number`` takes ASCII
digits only, at most ``MAX_DIGITS`` of them, between ``low`` and ``high`` (by default a
64-bit position, the largest integer either store keeps), and says what is wrong with
``NotAWholeNumber`` (a ``ValueError``): the HTTP edge turns it into a 400 or 422 naming the
field, ``argparse`` into its usage error, settings into a ``SettingsError``.
"""

from __future__ import annotations

import re

#: The largest integer both stores keep (SQLite INTEGER and PostgreSQL bigint: 64 bits).
MAX_WHOLE = 2**63 - 1
#: Longer text is refused before it is converted (more than any 64-bit number needs, leading
#: zeros included).
MAX_DIGITS = 30
_ASCII_DIGITS = re.compile(r"[0-9]+")


class NotAWholeNumber(ValueError):
    """``text`` is not a whole number from ``low`` to ``high``; ``reason`` says why."""

    def __init__(self, text: str, reason: str, low: int, high: int) -> None:
        super().__init__(reason)
        self.text, self.reason, self.low, self.high = text, reason, low, high


def whole_number(text: str | bytes, *, low: int = 0, high: int = MAX_WHOLE) -> int:
    """``text`` as an integer: ASCII digits only (no sign, space, underscore or other
    script's digits), at most ``MAX_DIGITS`` of them, from ``low`` to ``high``.
    ``bytes`` (a raw header) are read as Latin-1, as HTTP header values are."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if len(text) > MAX_DIGITS or not _ASCII_DIGITS.fullmatch(text):
        raise NotAWholeNumber(text, "not a whole number (ASCII digits 0-9 only)", low, high)
    value = int(text)
    if not low <= value <= high:
        raise NotAWholeNumber(text, f"must be from {low} to {high}", low, high)
    return value


def whole_argument(low: int = 0, high: int = MAX_WHOLE):  # type: ignore[no-untyped-def]
    """An ``argparse`` ``type=`` that parses with ``whole_number`` (a usage error, exit 2,
    naming the option, for anything else)."""
    import argparse

    def parse(text: str) -> int:
        try:
            return whole_number(text.strip(), low=low, high=high)
        except NotAWholeNumber as e:
            raise argparse.ArgumentTypeError(f"{e.reason}: {text[:40]!r}") from None

    parse.__name__ = "whole number"
    return parse
