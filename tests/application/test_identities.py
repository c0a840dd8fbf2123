"""Users and API tokens over real stores (ADR 0035): registration, only a digest stored,
authentication, expiry, revocation and deactivation taking effect, and the per-process cache
(its TTL across two processes, simulated by two desks on one SQLite file)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from adapters.container import Services, build
from adapters.settings import Settings
from application import identities as uc
from application.commands.users import (
    DeactivateUser,
    IssueToken,
    ReactivateUser,
    RegisterUser,
    RevokeToken,
    UpdateUser,
)
from application.customers import list_customers
from application.desk import ServiceDesk
from application.errors import RecordNotFound
from application.idempotency import IdempotencyKey
from application.identities import (
    CACHE_TTL,
    IssuedToken,
    Principal,
    TokenCache,
    UserExists,
    issued_token,
)
from application.ports import FixedClock
from domain.errors import InvalidCommand, TransitionNotAllowed
from tests.support.threads import released_together

START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock the test moves (the token cache's TTL clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def open_services(clock: FixedClock) -> Iterator[Callable[[str], Services]]:
    opened: list[Services] = []

    def open_(url: str) -> Services:
        opened.append(build(Settings(database_url=url, sla_watch_seconds=0), clock=clock))
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def desk(store_url: str, open_services: Callable[[str], Services]) -> ServiceDesk:
    return open_services(store_url).desk


def wang(desk: ServiceDesk, **overrides: object) -> None:
    data: dict[str, object] = {"skills": ["oracle"], "groups": ["dba"]}
    data.update(overrides)
    desk.handle(RegisterUser(id="eng-wang", name="王工", roles=["engineer"], **data),  # type: ignore[arg-type]
                actor="admin")


def issue(desk: ServiceDesk, user: str, expires_at: datetime | None = None, *, actor: str,
          label: str = "", idempotency: IdempotencyKey | None = None) -> IssuedToken:
    command = IssueToken(user=user, expires_at=expires_at, label=label)
    return issued_token(command, desk.handle(command, actor=actor, idempotency=idempotency))


def test_registered_users_are_read_listed_and_repeats_are_idempotent(desk: ServiceDesk):
    assert not uc.has_identities(desk) and uc.list_users(desk) == []
    wang(desk)
    first = desk.handle(RegisterUser(id="li", name="李四", roles=["requester"], customer="客户A"),
                        actor="admin")
    assert first.created and uc.has_identities(desk)
    again = desk.handle(RegisterUser(id="li", name=" 李四 ", roles=["requester"], customer="客户A"),
                        actor="x")
    assert not again.created and again.aggregate.version == first.aggregate.version
    with pytest.raises(UserExists):
        desk.handle(RegisterUser(id="li", name="李四", roles=["requester"], customer="客户B"),
                    actor="admin")
    assert [u.user for u in uc.list_users(desk)] == ["eng-wang", "li"]
    assert [u.user for u in uc.list_users(desk, role="requester")] == ["li"]
    assert [u.user for u in uc.list_users(desk, customer="客户A")] == ["li"]
    u = uc.get_user(desk, "eng-wang")
    assert (u.name, u.roles, u.skills, u.groups, u.active) == (
        "王工", ("engineer",), ("oracle",), ("dba",), True)
    with pytest.raises(RecordNotFound, match="no user 'nobody'"):
        uc.get_user(desk, "nobody")
    assert [h.type for h in uc.user_history(desk, "li")] == ["Registered"]


def test_a_requesters_unknown_customer_is_registered_on_first_use_once(desk: ServiceDesk):
    desk.handle(RegisterUser(id="li", name="李四", roles=["requester"], customer="客户A"),
                actor="admin")
    desk.handle(RegisterUser(id="zhao", name="赵六", roles=["requester"], customer="客户A"),
                actor="admin")
    [customer] = list_customers(desk)
    assert (customer.customer, customer.name, customer.registered_by) == ("客户A", "客户A", "admin")


def test_a_refused_registration_records_nothing(desk: ServiceDesk):
    before = desk.max_position()
    with pytest.raises(InvalidCommand) as e:
        desk.handle(RegisterUser(id="li", name="李四", roles=["requester", "admin"]), actor="admin")
    assert {f.field for f in e.value.errors} == {"roles", "customer"}
    assert desk.max_position() == before and not uc.has_identities(desk)


def test_a_token_authenticates_as_its_user_until_it_expires(desk: ServiceDesk,
                                                            clock: FixedClock):
    desk.handle(RegisterUser(id="li", name="李四", roles=["requester"], customer="客户A"),
                actor="admin")
    issued = issue(desk, "li", actor="admin")
    assert issued.token is not None and issued.token.startswith("olt_")
    assert issued.issued.expires_at == START + timedelta(days=90)
    p = uc.authenticate(desk, issued.token)
    assert p == Principal(user_id="li", name="李四", roles=frozenset({"requester"}),
                          customer="客户A", groups=frozenset(), skills=(),
                          token_id=issued.issued.token_id)
    clock.advance(days=89, hours=23)
    assert uc.authenticate(desk, issued.token) == p  # from the cache, still valid
    clock.advance(hours=1)
    assert uc.authenticate(desk, issued.token) is None  # expired, cached or not
    token_cache_of = uc.token_cache(desk)
    assert len(token_cache_of) == 0


def test_only_the_digest_is_stored(desk: ServiceDesk, store_kind: str, store_url: str):
    wang(desk)
    issued = issue(desk, "eng-wang", actor="admin", label="ci")
    assert issued.token is not None
    secret = issued.token.split("_", 3)[3]
    stored = b"".join(bytes(n.state) for n in desk.recorder.select_notifications(
        start=1, limit=1000))
    assert uc.token_digest(issued.token).encode() in stored
    assert secret.encode() not in stored and issued.token.encode() not in stored
    if store_kind == "sqlite":
        raw = b"".join(p.read_bytes() for p in Path(store_url.removeprefix("sqlite:///")).parent
                       .iterdir() if p.is_file())
        assert secret.encode() not in raw
    assert [(t.token_id, t.label) for t in uc.list_tokens(desk, "eng-wang")] == [
        (issued.issued.token_id, "ci")]


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # another secret
    lambda t: t.replace("olt_", "olx_", 1),
    lambda t: "olt_" + uuid4().hex + t[36:],  # another (unknown) user
    lambda t: "_".join(t.split("_", 3)[:3]) + "_",  # no secret
    lambda t: t + "x" * 200,  # too long
    lambda t: "",
    lambda t: "Bearer " + t,
    lambda t: t.split("_")[0] + "_" + "z" * 32 + "_0123456789abcdef_secret",
])
def test_a_bad_token_authenticates_as_nobody(desk: ServiceDesk,
                                             mangle: Callable[[str], str]):
    wang(desk)
    issued = issue(desk, "eng-wang", actor="admin")
    assert issued.token is not None
    assert uc.authenticate(desk, mangle(issued.token)) is None
    assert uc.authenticate(desk, issued.token) is not None


def test_a_token_of_another_users_stream_is_refused(desk: ServiceDesk):
    """The token id names a token of one user; the same id under another user is unknown."""
    wang(desk)
    desk.handle(RegisterUser(id="zhao", name="赵六", roles=["agent"]), actor="admin")
    w = issue(desk, "eng-wang", actor="admin")
    z = issue(desk, "zhao", actor="admin")
    assert w.token is not None and z.token is not None
    swapped = "_".join([*z.token.split("_", 2)[:2], w.token.split("_", 2)[2]])
    assert uc.authenticate(desk, swapped) is None


def test_a_revoked_token_is_refused_at_once_in_this_process(desk: ServiceDesk):
    wang(desk)
    keep = issue(desk, "eng-wang", actor="admin")
    drop = issue(desk, "eng-wang", actor="admin")
    assert keep.token and drop.token
    assert uc.authenticate(desk, drop.token) is not None  # now cached
    result = desk.handle(RevokeToken(user="eng-wang", token_id=drop.issued.token_id), actor="admin")
    assert result.aggregate.token(drop.issued.token_id).revoked_by == "admin"
    assert uc.authenticate(desk, drop.token) is None
    assert uc.authenticate(desk, keep.token) is not None
    with pytest.raises(TransitionNotAllowed):
        desk.handle(RevokeToken(user="eng-wang", token_id=drop.issued.token_id), actor="admin")
    with pytest.raises(RecordNotFound):
        desk.handle(RevokeToken(user="eng-wang", token_id="0123456789abcdef"), actor="admin")


def test_deactivation_stops_every_token_and_reactivation_restores_them(desk: ServiceDesk):
    wang(desk)
    issued = issue(desk, "eng-wang", actor="admin")
    assert issued.token and uc.authenticate(desk, issued.token) is not None
    desk.handle(DeactivateUser(user="eng-wang", reason="left"), actor="admin")
    assert uc.authenticate(desk, issued.token) is None
    with pytest.raises(TransitionNotAllowed):
        issue(desk, "eng-wang", actor="admin")
    desk.handle(ReactivateUser(user="eng-wang"), actor="admin")
    assert uc.authenticate(desk, issued.token) is not None


def test_an_update_is_seen_by_the_next_request_in_this_process(desk: ServiceDesk):
    desk.handle(RegisterUser(id="li", name="李四", roles=["requester"], customer="客户A"),
                actor="admin")
    issued = issue(desk, "li", actor="admin")
    assert issued.token and uc.authenticate(desk, issued.token).customer == "客户A"
    desk.handle(UpdateUser(user="li", customer="客户B"), actor="admin")
    assert uc.authenticate(desk, issued.token).customer == "客户B"
    desk.handle(UpdateUser(user="li", roles=["agent"]), actor="admin")  # no longer a requester
    p = uc.authenticate(desk, issued.token)
    assert (p.roles, p.customer) == (frozenset({"agent"}), None)
    assert {c.customer for c in list_customers(desk)} == {"客户A", "客户B"}
    with pytest.raises(InvalidCommand) as e:
        desk.handle(UpdateUser(user="li", roles=["requester"]), actor="admin")
    assert [f.field for f in e.value.errors] == ["customer"]


@pytest.mark.parametrize(("expires_at", "ok"), [
    (START + timedelta(days=1), True), (START + timedelta(days=730), True),
    (START, False), (START + timedelta(days=731), False),
])
def test_a_given_expiry_is_checked_against_the_desks_clock(desk: ServiceDesk,
                                                           expires_at: datetime, ok: bool):
    wang(desk)
    if ok:
        assert issue(desk, "eng-wang", expires_at, actor="a").issued.expires_at == (
            expires_at)
    else:
        with pytest.raises(InvalidCommand) as e:
            issue(desk, "eng-wang", expires_at, actor="a")
        assert [f.field for f in e.value.errors] == ["expires_at"]


def test_an_idempotent_repeat_of_an_issue_answers_the_token_without_its_secret(
        desk: ServiceDesk):
    wang(desk)
    key = IdempotencyKey(key="k1", fingerprint="f1")
    first = issue(desk, "eng-wang", actor="admin", idempotency=key)
    again = issue(desk, "eng-wang", actor="admin", idempotency=key)
    assert first.token is not None and again.token is None and again.result.replayed
    assert again.issued.token_id == first.issued.token_id
    assert len(uc.list_tokens(desk, "eng-wang")) == 1


def test_two_processes_see_a_revocation_within_the_cache_ttl(
        tmp_path: Path, open_services: Callable[[str], Services]):
    url = f"sqlite:///{tmp_path}/shared.sqlite3"
    one, two = open_services(url).desk, open_services(url).desk
    ticks = Ticks()
    uc.token_cache(two).ticks = ticks
    assert not uc.has_identities(two)
    wang(one)
    assert uc.has_identities(two)  # registered by the other process
    issued = issue(one, "eng-wang", actor="admin")
    assert issued.token and uc.authenticate(two, issued.token) is not None  # cached in two
    one.handle(RevokeToken(user="eng-wang", token_id=issued.issued.token_id), actor="admin")
    assert uc.authenticate(one, issued.token) is None
    ticks.now += CACHE_TTL - 0.01
    assert uc.authenticate(two, issued.token) is not None  # the trade-off: stale for < TTL
    ticks.now += 0.02
    assert uc.authenticate(two, issued.token) is None


def test_a_check_that_raced_a_revocation_cannot_cache_the_old_user():
    cache = TokenCache(ticks=Ticks())
    p = Principal("li", "李四", frozenset({"agent"}), None, frozenset(), (), "t")
    later = START + timedelta(days=1)
    cache.put("d1", p, later, version=3)
    cache.invalidate("li", 4)
    assert cache.get("d1", START) is None
    cache.put("d1", p, later, version=3)  # read before the revocation, put after it
    assert cache.get("d1", START) is None
    cache.put("d1", p, later, version=4)
    assert cache.get("d1", START) == p


def test_concurrent_registrations_of_one_user_record_it_once(desk: ServiceDesk):
    results = released_together(4, lambda _: desk.handle(RegisterUser(
        id="li", name="李四", roles=["requester"], customer="客户A"), actor="admin").created,
        what="a registration")
    assert sorted(results) == [False, False, False, True]  # type: ignore[type-var]
    assert [u.user for u in uc.list_users(desk)] == ["li"]
    assert len(list_customers(desk)) == 1
