"""The mail intake's settings (ADR 0057): the listeners' addresses and the domain map, read
at start so that a bad value stops ``serve`` with its name, not the first mail."""

from __future__ import annotations

import pytest

from adapters.settings import Settings, SettingsError


def test_listeners_are_off_unless_given_and_read_as_host_and_port():
    s = Settings.from_env({})
    assert (s.smtp_address, s.lmtp_address, s.mail_customer_map) == (None, None, {})
    assert s.mail_max_bytes == 25 * 1024 * 1024
    s = Settings.from_env({"OPSLEDGER_SMTP_LISTEN": "127.0.0.1:2525",
                           "OPSLEDGER_LMTP_LISTEN": "[::1]:2526",
                           "OPSLEDGER_MAIL_MAX_BYTES": "1048576"})
    assert (s.smtp_address, s.lmtp_address, s.mail_max_bytes) == (
        ("127.0.0.1", 2525), ("::1", 2526), 1048576)


def test_the_domain_map():
    s = Settings.from_env({"OPSLEDGER_MAIL_CUSTOMERS": " Acme.com=ACME , @example.cn=示例,"})
    assert s.mail_customer_map == {"acme.com": "ACME", "example.cn": "示例"}


@pytest.mark.parametrize(("name", "value", "says"), [
    ("OPSLEDGER_SMTP_LISTEN", "2525", "OPSLEDGER_SMTP_LISTEN must be host:port"),
    ("OPSLEDGER_SMTP_LISTEN", "localhost:smtp", "OPSLEDGER_SMTP_LISTEN must be host:port"),
    ("OPSLEDGER_LMTP_LISTEN", "127.0.0.1:70000", "OPSLEDGER_LMTP_LISTEN must be host:port"),
    ("OPSLEDGER_MAIL_CUSTOMERS", "acme.com", "OPSLEDGER_MAIL_CUSTOMERS must be like"),
    ("OPSLEDGER_MAIL_CUSTOMERS", "acme.com=", "OPSLEDGER_MAIL_CUSTOMERS must be like"),
    ("OPSLEDGER_MAIL_MAX_BYTES", "lots", "OPSLEDGER_MAIL_MAX_BYTES must be a whole number"),
])
def test_a_bad_value_is_refused_at_start_naming_it(name, value, says):
    with pytest.raises(SettingsError, match=says):
        Settings.from_env({name: value})
