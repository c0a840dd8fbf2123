"""OPSLEDGER_IMAP_URL and its companions (ADR 0058): what the poller connects to."""

from __future__ import annotations

import pytest

from adapters.settings import ImapMailbox, Settings, SettingsError, parse_imap_url


def test_imaps_url_with_defaults():
    box = parse_imap_url("imaps://fault%40example.com:p%40ss@imap.example.com")
    assert box == ImapMailbox(host="imap.example.com", port=993, user="fault@example.com",
                              password="p@ss", folder="INBOX", security="tls",
                              processed_folder="Processed")


def test_imap_url_is_starttls_unless_tls_is_off():
    box = parse_imap_url("imap://poller:pw@127.0.0.1:1143/%E6%8A%A5%E9%9A%9C")
    assert (box.port, box.security, box.folder) == (1143, "starttls", "报障")
    assert parse_imap_url("imap://poller:pw@127.0.0.1/INBOX?tls=off").security == "none"
    assert parse_imap_url("imap://poller:pw@127.0.0.1/INBOX?tls=off").port == 143


def test_password_setting_wins_and_processed_none_only_flags():
    box = parse_imap_url("imaps://poller:old@h/INBOX", password="new", processed_folder="none")
    assert (box.password, box.processed_folder) == ("new", "")


@pytest.mark.parametrize("url", [
    "pop3://u:p@h/INBOX", "imaps://u:p@h/INBOX?tls=off", "imap://u:p@h/INBOX?tls=maybe",
    "imaps://h/INBOX", "imaps://u:p@/INBOX", "imaps://u:p@h:99999/INBOX",
])
def test_bad_urls_are_refused_with_the_setting_named(url):
    with pytest.raises(SettingsError, match="OPSLEDGER_IMAP_URL"):
        parse_imap_url(url)


def test_from_env():
    settings = Settings.from_env({
        "OPSLEDGER_IMAP_URL": "imaps://fault@imap.example.com/Faults",
        "OPSLEDGER_IMAP_PASSWORD": "pw", "OPSLEDGER_IMAP_PROCESSED_FOLDER": "Faults.done",
        "OPSLEDGER_IMAP_POLL_SECONDS": "2.5", "OPSLEDGER_IMAP_CA_FILE": "/etc/ca.pem"})
    assert settings.imap == ImapMailbox(
        host="imap.example.com", port=993, user="fault", password="pw", folder="Faults",
        security="tls", processed_folder="Faults.done", ca_file="/etc/ca.pem")
    assert settings.imap_poll_seconds == 2.5
    assert Settings.from_env({}).imap is None


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf", "100000"])
def test_poll_seconds_must_be_positive(value):
    with pytest.raises(SettingsError, match="OPSLEDGER_IMAP_POLL_SECONDS"):
        Settings.from_env({"OPSLEDGER_IMAP_POLL_SECONDS": value})
