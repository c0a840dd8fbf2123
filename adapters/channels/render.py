"""What a notice says (ADR 0059): Jinja2 templates in ``templates/<language>/<rule>.txt`` --
the first line the subject, the rest the text -- rendered when the notice is sent, from the
event at the notice's position and its record as it is then."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).parent / "templates"
_LINK = re.compile(r"(https?://[^\s<>\"'，。）]+)")
CLOCKS = {"zh-CN": {"response": "响应", "resolution": "解决"},
          "en": {"response": "response", "resolution": "resolution"}}


@dataclass(frozen=True)
class Rendered:
    subject: str  # with the record's number in brackets: ``[SR-…] …``
    text: str
    title: str  # the subject without the number (a robot's title)


class Renderer:
    def __init__(self, timezone: str = "Asia/Shanghai", public_url: str = "") -> None:
        self.zone = ZoneInfo(timezone)
        self.public_url = public_url.rstrip("/")
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False,
                               undefined=StrictUndefined, keep_trailing_newline=True)

    @staticmethod
    def html(text: str, language: str) -> str:
        """The text as a small HTML page (the optional alternative, rules ``html = true``):
        escaped, its links made links, its lines kept."""
        lines = []
        for line in escape(text).split("\n"):
            lines.append(_LINK.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', line))
        body = Markup("<br>\n").join(Markup(line) for line in lines)
        return (f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
                f'</head><body style="font-family:sans-serif;line-height:1.5">{body}</body></html>\n')

    def portal(self, number: str) -> str:
        return f"{self.public_url}/portal/tickets/{number}"

    def when(self, value: Any) -> str:
        if isinstance(value, datetime):
            return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        return str(value or "-")

    def render(self, rule: str, language: str, number: str, context: dict[str, Any]) -> Rendered:
        language = language if language in CLOCKS else "zh-CN"
        template = self.env.get_template(f"{language}/{rule}.txt")
        clock = getattr(context.get("e"), "clock", None) or ""
        text = template.render(number=number, portal=self.portal(number), when=self.when,
                               clock=CLOCKS[language].get(clock, clock), **context)
        title, _, body = text.partition("\n")
        title = " ".join(title.split())
        return Rendered(subject=f"[{number}] {title}" if number else title,
                        text=body.lstrip("\n"), title=title)
