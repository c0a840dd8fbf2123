"""The argon2id cost of console passwords (ADR 0049, 0078): OWASP's parameters by default,
a lower but real argon2id cost (``OPSLEDGER_PASSWORD_COST=test``) for test deployments, and
hashes made at one cost still verifying after the cost changes (on one SQLite store)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.container import build
from adapters.settings import Settings, SettingsError
from application.commands.users import OpenSession, RegisterUser, SetPassword
from application.desk import ServiceDesk
from application.passwords import Passwords
from application.ports import FixedClock

START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
OWASP = "$argon2id$v=19$m=19456,t=2,p=1$"
TEST = "$argon2id$v=19$m=1024,t=1,p=1$"
SECRET = "correct horse battery"


def test_new_hashes_take_owasps_parameters_unless_the_test_cost_is_asked_for():
    assert Passwords().hash(SECRET).startswith(OWASP)
    assert Passwords("owasp").hash(SECRET).startswith(OWASP)
    assert Passwords("test").hash(SECRET).startswith(TEST)
    assert ServiceDesk().passwords.hash(SECRET).startswith(OWASP)
    with pytest.raises(ValueError, match="owasp, test"):
        Passwords("none")


def test_a_hash_of_either_cost_verifies_at_the_other_and_asks_to_be_made_again():
    owasp, test = Passwords("owasp"), Passwords("test")
    for made, checks in ((owasp, test), (test, owasp)):
        h = made.hash(SECRET)
        assert checks.verify(h, SECRET) and made.verify(h, SECRET)
        assert not checks.verify(h, SECRET + "!")
        assert checks.needs_rehash(h) and not made.needs_rehash(h)
    assert not test.verify(None, SECRET) and not owasp.verify("not a hash", SECRET)


def test_the_cost_is_a_setting_read_from_the_environment():
    assert Settings().password_cost == "owasp"
    assert Settings.from_env({}).password_cost == "owasp"
    assert Settings.from_env({"OPSLEDGER_PASSWORD_COST": " Test "}).password_cost == "test"
    with pytest.raises(SettingsError, match="OPSLEDGER_PASSWORD_COST must be owasp or test"):
        Settings.from_env({"OPSLEDGER_PASSWORD_COST": "cheap"})


def _login(desk: ServiceDesk, password: str) -> bool:
    command = OpenSession(user="wang", password=password)
    return command.opened(desk.handle(command, actor="wang"))


def test_a_password_set_at_one_cost_still_logs_in_after_the_store_changes_cost(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/o.sqlite3"
    clock = FixedClock(START)
    first = build(Settings(database_url=url, sla_watch_seconds=0), clock=clock)
    try:
        desk = first.desk
        desk.handle(RegisterUser(id="wang", name="王调度", roles=["dispatcher"]), actor="admin")
        hashed = desk.handle(SetPassword(user="wang", password=SECRET), actor="admin")
        assert hashed.aggregate.password_hash.startswith(OWASP)
    finally:
        first.close()
    cheaper = build(Settings(database_url=url, sla_watch_seconds=0, password_cost="test"),
                    clock=clock)
    try:
        assert _login(cheaper.desk, SECRET) and not _login(cheaper.desk, "wrong horse battery")
        hashed = cheaper.desk.handle(SetPassword(user="wang", password=SECRET + "2"),
                                           actor="admin")
        assert hashed.aggregate.password_hash.startswith(TEST)
    finally:
        cheaper.close()
    again = build(Settings(database_url=url, sla_watch_seconds=0), clock=clock)
    try:
        assert again.desk.passwords.cost == "owasp"
        assert _login(again.desk, SECRET + "2") and not _login(again.desk, SECRET)
    finally:
        again.close()
