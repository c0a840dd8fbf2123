"""The demo's people as users of the store, with console passwords (issue 18, ADR 0053).

The cast the demo's tickets already name (the dispatcher, the service-desk agents, the
engineers of each group, the manager, the expert, the data protection officer) becomes users
with their roles and groups, plus an auditor and one requester per demo customer (its first
contact, who logs in to the portal). Everything goes through the real commands
(``RegisterUser``, ``SetPassword``, ``IssueToken`` by ``desk.handle``), as the API would.

- Registered at the start of the demo's window on a store that has no users and no
  customers yet (the staff existed before the tickets), else at the real time (a record's
  events never go back in time, ADR 0008). A repeat run registers nothing again.
- A user of the store with one of the cast's ids but other roles or another customer was
  not made by the demo: it is left alone (no password set) and the summary says so.
- Every run sets a new generated password for each of the cast (``secrets``, never from the
  demo's seed) and prints them: a demo store served on a network does not open with
  passwords anyone could read in the README, and the table printed is always the one that
  works. The store keeps only their argon2id hashes.
- Once the store has users, every ``/api/v1`` call needs a token: the run issues one to the
  demo's admin (label ``opsledger demo``, 90 days) for the summary's ``curl`` lines.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from application.commands.users import IssueToken, RegisterUser, SetPassword
from application.desk import ServiceDesk
from application.errors import RecordNotFound
from application.identities import UserExists, get_user
from domain.customer import CustomerDirectory
from domain.identity import UserDirectory

ADMIN = "admin-he"  # the desk's administrator and data protection officer (privacy.OFFICER)
AUDITOR = "audit-qian"
ACTOR = "opsledger-demo"
TOKEN_LABEL = "opsledger demo"
ROLE_NAMES = {"admin": "管理员", "dispatcher": "调度", "agent": "服务台", "engineer": "工程师",
              "manager": "经理", "auditor": "审计", "requester": "客户"}
#: The engineers' surnames, by the pinyin in their ids (``eng-zhang`` is 张工).
SURNAMES = {"zhang": "张", "zhao": "赵", "li": "李", "sun": "孙", "wang": "王", "zhou": "周",
            "chen": "陈", "liu": "刘", "wu": "吴", "zheng": "郑"}


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    groups: tuple[str, ...] = ()
    customer: str | None = None

    def command(self) -> RegisterUser:
        return RegisterUser(id=self.id, name=self.name, roles=[self.role],
                            customer=self.customer, groups=list(self.groups))


@dataclass(frozen=True)
class Login:
    """A row of the summary's table: the password, or why there is none."""

    person: Person
    password: str | None
    note: str = ""


def cast(*, dispatcher: str, manager: str, expert: str, agents: Sequence[str],
         desk_group: str, engineers: dict[str, tuple[str, ...]],
         requesters: Iterable[tuple[str, str, str]]) -> list[Person]:
    """The demo's people, by role; ``requesters``: (customer key, customer, contact name)."""
    people = [
        Person(ADMIN, "何静", "admin"),
        Person(dispatcher, "马涛", "dispatcher", (desk_group,)),
        *(Person(a, n, "agent", (desk_group,)) for a, n in zip(agents, ("贺敏", "徐丽", "高翔"))),
        *(Person(e, SURNAMES.get(e.removeprefix("eng-"), "") + "工", "engineer", (group,))
          for group, members in engineers.items() for e in members),
        Person(expert, "林海", "engineer", tuple(engineers)),  # 高级专家: every group
        Person(manager, "杨帆", "manager"),
        Person(AUDITOR, "钱芳", "auditor"),
    ]
    people += [Person(f"req-{key}", contact, "requester", customer=customer)
               for key, customer, contact in requesters]
    return people


def first_users(desk: ServiceDesk) -> bool:
    """Whether the store has neither users nor customers yet: the cast may be registered
    back at the start of the demo's window without putting a directory's events out of
    time order."""
    return desk.load(UserDirectory.ID) is None and desk.load(CustomerDirectory.ID) is None


def register(desk: ServiceDesk, people: Sequence[Person]) -> dict[str, str]:
    """Registers the cast at the desk clock's time; returns ``{id: why it is left alone}``
    for ids the store already has with other roles or another customer."""
    foreign: dict[str, str] = {}
    for person in people:
        try:
            desk.handle(person.command(), actor=ACTOR)
        except UserExists:
            existing = get_user(desk, person.id)
            if existing.roles != (person.role,) or existing.customer != person.customer:
                foreign[person.id] = (f"already a user with role(s) "
                                      f"{', '.join(existing.roles)}: left alone")
            # else the demo's own user, renamed since (or its name erased): still the cast's
    return foreign


def password() -> str:
    """A new password: 12 URL-safe characters (72 random bits)."""
    return secrets.token_urlsafe(9)


def set_passwords(desk: ServiceDesk, people: Sequence[Person],
                  foreign: dict[str, str]) -> list[Login]:
    """A new password for each of the cast the demo may touch."""
    logins = []
    for person in people:
        if person.id in foreign:
            logins.append(Login(person, None, foreign[person.id]))
            continue
        secret = password()
        try:
            desk.handle(SetPassword(user=person.id, password=secret), actor=ACTOR)
        except RecordNotFound:  # not registered (cannot happen unless removed meanwhile)
            logins.append(Login(person, None, "not registered"))
            continue
        logins.append(Login(person, secret))
    return logins


def api_token(desk: ServiceDesk, foreign: dict[str, str]) -> str | None:
    """A 90-day API token of the demo's admin for ``curl`` (``None`` when that id is not the
    demo's)."""
    if ADMIN in foreign:
        return None
    command = IssueToken(user=ADMIN, label=TOKEN_LABEL)
    desk.handle(command, actor=ACTOR)
    return command.token


def table(logins: Sequence[Login]) -> list[str]:
    """The summary's lines: user, role, name, group or customer, password."""
    rows = [("user", "role", "name", "group / customer", "password")]
    for login in logins:
        p = login.person
        rows.append((p.id, f"{p.role} {ROLE_NAMES[p.role]}", p.name,
                     p.customer or ", ".join(p.groups), login.password or f"({login.note})"))
    widths = [max(_width(r[k]) for r in rows) for k in range(4)]
    return ["  " + "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r[:4], widths))
            + "  " + r[4] for r in rows]


def _width(text: str) -> int:
    """Columns on a terminal: a wide (CJK) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
