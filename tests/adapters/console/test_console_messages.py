"""The console's words live in its catalogues, complete in Chinese and English (ADR 0048)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.http.console import i18n

CONSOLE = Path(i18n.__file__).parent
TEMPLATES = sorted((CONSOLE / "templates").rglob("*.html"))
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_.]+)["']\s*[,)]""")
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_both_languages_have_the_same_keys():
    zh, en = i18n.catalogue(i18n.ZH), i18n.catalogue(i18n.EN)
    assert sorted(set(zh) - set(en)) == [], "missing in English"
    assert sorted(set(en) - set(zh)) == [], "missing in Chinese"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(CONSOLE)))
def test_templates_name_only_keys_that_exist_and_write_no_words_of_their_own(template: Path):
    text = template.read_text("utf-8")
    known = i18n.catalogue(i18n.ZH)
    assert [k for k in LITERAL_KEY.findall(text) if k not in known] == []
    # Chinese words belong in messages/zh-CN (the language switch's own names excepted)
    assert [w for w in HAN.findall(text.replace("中文", ""))] == []


def test_a_key_defined_twice_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in ("a.toml", "b.toml"):
        (tmp_path / "zz").mkdir(exist_ok=True)
        (tmp_path / "zz" / name).write_text('[x]\ny = "1"\n', "utf-8")
    monkeypatch.setattr(i18n, "_ROOT", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        with pytest.raises(i18n.CatalogueError, match="defined twice"):
            i18n.catalogue("zz")
    finally:
        i18n.catalogue.cache_clear()


def test_times_read_in_the_calendar_zone_and_countdowns_in_words():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    zh = i18n.Words(i18n.ZH, ZoneInfo("Asia/Shanghai"))
    en = i18n.Words(i18n.EN, ZoneInfo("Asia/Shanghai"))
    assert zh.when(datetime(2026, 12, 7, 1, 30, tzinfo=UTC)) == "2026-12-07 09:30"
    assert zh.countdown(80 * 60) == "剩余 1小时20分"
    assert zh.countdown(-20 * 60) == "已超时 20分"
    assert zh.countdown(2 * 86400 + 3 * 3600) == "剩余 2天3小时"
    assert en.countdown(80 * 60) == "1 h 20 min left"
    assert zh.day("2026-12-06T17:30:00Z") == "2026-12-07"  # the local date, not UTC's
    assert zh.day("2026-12-06") == "2026-12-06"


@pytest.mark.parametrize(("cookie", "accept", "expected"), [
    (None, None, "zh-CN"), (None, "en-US,en;q=0.9", "en"), (None, "fr, en;q=0.5", "en"),
    (None, "zh-TW", "zh-CN"), ("en", "zh-CN", "en"), ("xx", "en", "en"),
])
def test_the_language_of_a_request(cookie: str | None, accept: str | None, expected: str):
    assert i18n.choose(cookie, accept) == expected
