"""``opsledger mail-quarantine list|show|release`` (ADR 0057) on a real SQLite store."""

from __future__ import annotations

from pathlib import Path

from adapters.mail.intake import MailIntake
from adapters.settings import Settings
from tests.adapters.mail.messages import message
from tests.support.serve import run_cli
from tests.support.services import built


def test_list_show_and_release_from_the_command_line(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/q.sqlite3"
    raw = message("自动回复: 其实是报障", "真的坏了", Auto_Submitted="auto-replied").as_bytes()
    with built(Settings.from_env({}, database_url=url, sla_watch_seconds=0)) as services:
        kept = MailIntake(services).receive(raw, source="smtp:192.0.2.9")

    listed = run_cli(url, "mail-quarantine", "list")
    assert listed.returncode == 0, listed.stderr
    assert kept.quarantine_id in listed.stdout
    assert "smtp:192.0.2.9" in listed.stdout and "自动回复: 其实是报障" in listed.stdout
    assert "[auto-reply: Auto-Submitted: auto-replied]" in listed.stdout

    shown = run_cli(url, "mail-quarantine", "show", kept.quarantine_id)
    assert shown.returncode == 0 and shown.stdout == raw.decode()

    released = run_cli(url, "mail-quarantine", "release", kept.quarantine_id)
    assert released.returncode == 0, released.stderr
    assert released.stdout.startswith("registered SR-")
    assert kept.quarantine_id not in run_cli(url, "mail-quarantine", "list").stdout
    assert kept.quarantine_id in run_cli(url, "mail-quarantine", "list", "--all").stdout

    missing = run_cli(url, "mail-quarantine", "show", "no-such-id")
    assert missing.returncode == 2 and "no quarantined mail" in missing.stderr
    assert run_cli(url, "mail-quarantine", "release").returncode == 2  # argparse: needs the id
