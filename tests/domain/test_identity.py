"""The User aggregate and the user directory (ADR 0035), given/when/then over their events."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import InvalidCommand, TransitionNotAllowed
from domain.identity import Profile, Role, User, UserDirectory, user_id

AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
DIGEST = hashlib.sha256(b"a token").hexdigest()


def profile(**overrides: Any) -> Profile:
    data: dict[str, Any] = {"name": "王工", "roles": ["engineer"], "customer": None,
                            "skills": ["oracle"], "groups": ["dba"]}
    data.update(overrides)
    return Profile.of(**data)


def wang() -> User:
    u = User.register("eng-wang", profile(), actor="admin", at=AT)
    u.collect_events()
    return u


def fields(call: Any) -> set[str]:
    with pytest.raises(InvalidCommand) as e:
        call()
    return {f.field for f in e.value.errors}


def test_given_nothing_when_registered_then_one_event_with_the_profile():
    u = User.register(" eng-wang ", profile(roles=["engineer", "dispatcher", "engineer"]),
                      actor="admin", at=AT)
    assert u.id == user_id("eng-wang") == User.id_for("eng-wang")
    [e] = u.collect_events()
    assert e.TOPIC == "opsledger.identity:User.Registered"
    assert (e.user, e.name, e.roles, e.customer, e.skills, e.groups, e.actor) == (
        "eng-wang", "王工", ("dispatcher", "engineer"), None, ("oracle",), ("dba",), "admin")
    assert u.active and u.tokens == () and u.registered_by == "admin"


def test_a_requester_belongs_to_a_customer_and_holds_no_staff_role():
    p = profile(roles=["requester"], customer=" 客户A ", skills=[], groups=[])
    assert (p.roles, p.customer) == (("requester",), "客户A")
    assert fields(lambda: profile(roles=["requester"])) == {"customer"}
    assert fields(lambda: profile(customer="客户A")) == {"customer"}
    assert "roles" in fields(lambda: profile(roles=["requester", "engineer"], customer="客户A"))


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": "  "}, "name"), ({"name": "x" * 201}, "name"),
    ({"roles": []}, "roles"), ({"roles": ["engineer", "boss"]}, "roles"),
    ({"skills": [""]}, "skills"), ({"groups": ["a\x01"]}, "groups"),
    ({"groups": [f"g{i}" for i in range(51)]}, "groups"),
])
def test_a_profile_names_each_bad_field(overrides: dict[str, Any], field: str):
    assert field in fields(lambda: profile(**overrides))


def test_every_field_wrong_at_once_is_named_at_once():
    assert fields(lambda: Profile.of("", ["boss"], "acme", [""], [])) == {
        "name", "roles", "customer", "skills"}


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "x" * 201, "tab\there"])
def test_a_user_id_must_be_printable_and_short(bad: str):
    assert fields(lambda: User.register(bad, profile(), actor="a", at=AT)) == {"id"}


def test_roles_are_the_seven_of_the_brief():
    assert [r.value for r in Role] == [
        "requester", "agent", "dispatcher", "engineer", "manager", "auditor", "admin"]


def test_given_a_user_when_updated_then_the_whole_profile_is_recorded_once():
    u = wang()
    assert u.same_as(profile()) and not u.same_as(profile(name="王工程师"))
    assert u.update(profile(roles=["engineer", "manager"]), actor="boss", at=AT) is True
    [e] = u.collect_events()
    assert e.TOPIC == "opsledger.identity:User.Updated"
    assert (e.roles, e.name, e.skills, e.actor) == (("engineer", "manager"), "王工", ("oracle",),
                                                    "boss")
    assert u.roles == ("engineer", "manager") and u.version == 2
    assert u.update(profile(roles=["manager", "engineer"]), actor="boss", at=AT) is False
    assert u.collect_events() == []


def test_given_a_user_when_deactivated_then_commands_name_the_state():
    u = wang()
    u.deactivate(reason="left the company", actor="admin", at=AT)
    [e] = u.collect_events()
    assert (e.TOPIC, e.reason, u.active) == ("opsledger.identity:User.Deactivated",
                                             "left the company", False)
    with pytest.raises(TransitionNotAllowed) as refused:
        u.deactivate(actor="admin", at=AT)
    assert (refused.value.state, refused.value.allowed) == ("inactive", ("reactivate", "update"))
    with pytest.raises(TransitionNotAllowed):
        u.issue_token("t1", DIGEST, None, actor="admin", at=AT)
    u.reactivate(actor="admin", at=AT)
    assert u.active and [e.TOPIC for e in u.collect_events()] == [
        "opsledger.identity:User.Reactivated"]
    with pytest.raises(TransitionNotAllowed) as again:
        u.reactivate(actor="admin", at=AT)
    assert again.value.state == "active"


def test_a_token_is_recorded_by_its_digest_with_a_90_day_default_expiry():
    u = wang()
    t = u.issue_token("t1", DIGEST, None, label=" ci  deploy ", actor="admin", at=AT)
    [e] = u.collect_events()
    assert e.TOPIC == "opsledger.identity:User.TokenIssued"
    assert (e.token_id, e.digest, e.expires_at, e.label) == ("t1", DIGEST, AT + timedelta(days=90),
                                                            "ci deploy")
    assert (t.issued_at, t.issued_by, t.revoked) == (AT, "admin", False)
    assert t.valid_at(AT + timedelta(days=89)) and not t.valid_at(AT + timedelta(days=90))


@pytest.mark.parametrize(("expires_at", "field"), [
    (AT, "expires_at"), (AT - timedelta(seconds=1), "expires_at"),
    (AT + timedelta(days=731), "expires_at"), (datetime(2027, 1, 1), "expires_at"),
])
def test_a_given_expiry_lies_after_now_and_at_most_two_years_ahead(expires_at: datetime,
                                                                   field: str):
    assert fields(lambda: wang().issue_token("t1", DIGEST, expires_at, actor="a", at=AT)) == {
        field}


def test_an_expiry_two_years_ahead_and_a_digest_that_is_a_sha256_are_the_limits():
    u = wang()
    assert u.issue_token("t1", DIGEST, AT + timedelta(days=730), actor="a", at=AT).expires_at == (
        AT + timedelta(days=730))
    assert fields(lambda: u.issue_token("t1", DIGEST, None, actor="a", at=AT)) == {"token_id"}
    assert fields(lambda: u.issue_token("t2", "secret", None, actor="a", at=AT)) == {"digest"}


def test_given_a_token_when_revoked_then_invalid_and_a_second_revoke_is_refused():
    u = wang()
    u.issue_token("t1", DIGEST, None, actor="admin", at=AT)
    u.issue_token("t2", DIGEST.replace("a", "b"), None, actor="admin", at=AT)
    u.collect_events()
    later = AT + timedelta(hours=1)
    u.revoke_token("t1", actor="sec", at=later)
    [e] = u.collect_events()
    assert (e.TOPIC, e.token_id, e.actor) == ("opsledger.identity:User.TokenRevoked", "t1", "sec")
    t1, t2 = u.tokens
    assert (t1.revoked_at, t1.revoked_by, t1.valid_at(later)) == (later, "sec", False)
    assert t2.valid_at(later)
    with pytest.raises(TransitionNotAllowed) as again:
        u.revoke_token("t1", actor="sec", at=later)
    assert (again.value.state, again.value.record) == ("revoked", "token")
    assert fields(lambda: u.revoke_token("nope", actor="sec", at=later)) == {"token_id"}


def test_the_directory_lists_each_user_once():
    d = UserDirectory.open(AT)
    d.add("eng-wang", AT)
    d.add("li", AT)
    d.add("eng-wang", AT)
    assert d.users == ("eng-wang", "li") and d.id == UserDirectory.ID
    assert [type(e).__name__ for e in d.collect_events()] == ["Opened", "Listed", "Listed"]
