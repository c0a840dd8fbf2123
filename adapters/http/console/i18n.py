"""The console's words: message catalogues, the language of a request, and how times read
(ADR 0048).

Every label of a page is a key of the catalogue (``messages/<language>/<area>.toml``, one file
per area of the console, merged; a key defined twice is an error at start). Templates call
``t("queue.unassigned")``; no label is written in a template. Chinese (``zh-CN``) first:
a request reads Chinese unless its ``lang`` cookie (the switch in the page header) or its
``Accept-Language`` prefers English. A key missing from English reads as the Chinese one;
``tests/adapters/console/test_console_messages.py`` keeps both catalogues complete.

Times read in the calendar's zone (``OPSLEDGER_TIMEZONE``, Asia/Shanghai by default) as
``2026-12-07 09:30``; SLA countdowns as ``剩余 1小时20分`` / ``已超时 20分``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

ZH, EN = "zh-CN", "en"
LANGUAGES = (ZH, EN)
LANG_COOKIE = "lang"
_ROOT = Path(__file__).parent / "messages"


class CatalogueError(Exception):
    pass


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every key of ``language``'s catalogue (its files merged; a repeated key is an error)."""
    merged: dict[str, str] = {}
    for path in sorted((_ROOT / language).glob("*.toml")):
        for key, text in _flatten(tomllib.loads(path.read_text("utf-8"))).items():
            if key in merged:
                raise CatalogueError(f"{language}: {key!r} defined twice ({path.name})")
            merged[key] = text
    return merged


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The request's language: the ``lang`` cookie, else the first of ``Accept-Language``
    that the console speaks (by its primary tag: ``en-GB`` reads English), else Chinese."""
    if cookie in LANGUAGES:
        return cookie  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return ZH
        if tag.startswith("en"):
            return EN
    return ZH


@dataclass(frozen=True)
class Words:
    """The words and formats of one request: ``t``, ``when``, ``day``, ``countdown``."""

    language: str
    zone: ZoneInfo

    def t(self, key: str, **values: object) -> str:
        text = catalogue(self.language).get(key) or catalogue(ZH).get(key)
        if text is None:
            raise CatalogueError(f"no message {key!r}")
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in catalogue(ZH)

    def when(self, value: datetime | str | None) -> str:
        """``2026-12-07 09:30`` in the calendar's zone (``–`` for nothing)."""
        if value is None or value == "":
            return "–"
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if value.tzinfo is not None:
            value = value.astimezone(self.zone)
        return value.strftime("%Y-%m-%d %H:%M")

    def day(self, value: date | datetime | str | None) -> str:
        if value is None or value == "":
            return "–"
        if isinstance(value, str):
            if len(value) <= 10:
                return value  # a date already
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(self.zone)
        return value.strftime("%Y-%m-%d")

    def countdown(self, seconds: float | None) -> str:
        """``剩余 1小时20分`` for time left, ``已超时 20分`` for time past (English alike)."""
        if seconds is None:
            return "–"
        left = seconds >= 0
        text = self.duration(abs(seconds))
        return self.t("time.left" if left else "time.over", span=text)

    def duration(self, seconds: float) -> str:
        """``2天3小时``, ``1小时20分``, ``5分`` (days and hours, or hours and minutes)."""
        minutes = int(seconds // 60)
        d, rest = divmod(minutes, 24 * 60)
        h, m = divmod(rest, 60)
        if d:
            return self.t("time.days_hours", d=d, h=h)
        if h:
            return self.t("time.hours_minutes", h=h, m=m)
        return self.t("time.minutes", m=m)
