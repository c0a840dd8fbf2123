"""The notice rules file (``OPSLEDGER_NOTICE_RULES``, ADR 0059): TOML (``.toml``) or JSON."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from application.notices import Rules, RulesError


def load_rules(path: str) -> Rules:
    """The built-in defaults without a path; else the file's rules over them. A missing or
    malformed file raises ``RulesError`` (``serve`` refuses to start with it)."""
    if not path:
        return Rules()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        data = tomllib.loads(text) if file.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as e:
        raise RulesError(f"OPSLEDGER_NOTICE_RULES {path}: {type(e).__name__}: {e}") from None
    if not isinstance(data, dict):
        raise RulesError(f"OPSLEDGER_NOTICE_RULES {path}: not a table of rules")
    return Rules.of(data)
