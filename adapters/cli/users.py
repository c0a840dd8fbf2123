"""``opsledger user create|set-password|list``: users and console passwords from the command
line, on the configured store (``OPSLEDGER_DATABASE_URL`` or ``--database``) (ADR 0053).

The commands are the API's: the input is decoded into the same body types as
``POST /api/v1/users`` and ``POST /api/v1/users/{id}/password`` (``adapters/http/schemas/
users.py``: the same limits), then run as ``RegisterUser`` / ``SetPassword`` by
``desk.handle`` (the same rules: ``Profile.of`` for roles and customers,
``application.passwords.check_new`` for the password). The actor recorded is
``cli:<the operating-system user>``: whoever can run this command on the server's machine
with the store's URL is its operator, as with ``OPSLEDGER_ADMIN_TOKEN``.

``set-password`` asks twice with ``getpass`` on a terminal (nothing echoed); with
``--password-stdin`` it reads one line from standard input (for scripts:
``printf '%s\\n' "$PW" | opsledger user set-password li.engineer --password-stdin``). The
password never appears in an argument list, a log line or the store (only its argon2id hash).

Exit codes: 0 done (or nothing to do), 1 the user is unknown or already registered with
other data, 2 bad input (the message names the field).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

import msgspec

from adapters.settings import Settings

def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(database_url=getattr(args, "database", None))


def cli_actor() -> str:
    """Who the events name: the operating-system user running the command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "cli"


def _fail(message: str, code: int) -> int:
    print(f"opsledger user: {message}", file=sys.stderr)
    return code


def _invalid(e: Any) -> str:
    """An ``InvalidCommand`` as one line naming its fields."""
    return "; ".join(f"{x.field}: {x.message}" for x in e.errors)


def cmd_create(args: argparse.Namespace) -> int:
    from msgspec.structs import asdict

    from adapters.container import build
    from adapters.http.schemas import users as ids
    from application.commands.users import RegisterUser
    from application.identities import UserExists
    from domain.errors import InvalidCommand

    fields: dict[str, Any] = {"id": args.id, "name": args.name, "roles": args.roles or [],
                              "customer": args.customer, "skills": args.skills or [],
                              "groups": args.groups or [], "email": args.email or ""}
    try:
        body = msgspec.convert(fields, ids.RegisterUser)
    except msgspec.ValidationError as e:
        return _fail(str(e), 2)
    services = build(_settings(args))
    try:
        result = services.desk.handle(RegisterUser(**asdict(body)), actor=cli_actor())
    except InvalidCommand as e:
        return _fail(_invalid(e), 2)
    except UserExists as e:
        return _fail(f"{e.user!r} is already registered with other data", 1)
    finally:
        services.close()
    user = result.aggregate
    what = "registered" if result.created else "already registered with these details:"
    print(f"user {user.user} {what} {', '.join(user.roles)}"
          + (f" of {user.customer}" if user.customer else "")
          + ("" if getattr(user, "password_hash", None) else
             f"; no password yet: opsledger user set-password {user.user}"))
    return 0


def _read_password(args: argparse.Namespace) -> str | int:
    """The new password (from stdin, or asked twice on a terminal), or an exit code."""
    from application import passwords
    from domain.errors import InvalidCommand

    if args.password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")  # one line
    if not sys.stdin.isatty():
        return _fail("standard input is not a terminal: pass the password with "
                     "--password-stdin", 2)
    first = getpass.getpass(f"new password for {args.user} (at least "
                            f"{passwords.MIN_LENGTH} characters): ")
    try:
        passwords.check_new(first)  # before asking again for a password that cannot do
    except InvalidCommand as e:
        return _fail(_invalid(e), 2)
    if getpass.getpass("the same again: ") != first:
        return _fail("the two passwords differ; nothing changed", 2)
    return first


def cmd_set_password(args: argparse.Namespace) -> int:
    from adapters.container import build
    from adapters.http.schemas import users as ids
    from application.commands.users import SetPassword
    from application.errors import RecordNotFound
    from domain.errors import InvalidCommand

    password = _read_password(args)
    if isinstance(password, int):
        return password
    try:
        body = msgspec.convert({"password": password}, ids.SetPassword)
    except msgspec.ValidationError as e:
        return _fail(str(e), 2)
    services = build(_settings(args))
    try:
        services.desk.handle(SetPassword(user=args.user, password=body.password),
                             actor=cli_actor())
    except InvalidCommand as e:
        return _fail(_invalid(e), 2)
    except RecordNotFound:
        return _fail(f"no user {args.user.strip()!r}: register it first with "
                     f"opsledger user create {args.user.strip()} --name NAME --role ROLE", 1)
    finally:
        services.close()
    print(f"password set for {args.user.strip()}; log in at the console's /ui/login")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from adapters.container import build
    from application.identities import list_users

    services = build(_settings(args))
    try:
        users = list_users(services.desk, role=args.role)
    finally:
        services.close()
    table = Table("user", "name", "roles", "customer", "groups", "password", "active")
    for u in users:
        table.add_row(u.user, u.name, ", ".join(u.roles), u.customer or "",
                      ", ".join(u.groups), "set" if getattr(u, "password_hash", None) else "-",
                      "yes" if u.active else "no")
    Console(width=160).print(table)
    return 0


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Registers ``opsledger user ...`` on the main parser's subcommands."""
    from domain.identity import Role

    user = sub.add_parser("user", help="users and console passwords (create, set-password, list)")
    actions = user.add_subparsers(dest="action", required=True)
    roles = ", ".join(r.value for r in Role)

    create = actions.add_parser("create", help="register a user (as POST /api/v1/users)")
    create.add_argument("id", help="the user id they log in with, e.g. li.engineer")
    create.add_argument("--name", required=True, help="the name shown, e.g. 李工")
    create.add_argument("--role", dest="roles", action="append", required=True,
                        metavar="ROLE", help=f"repeat for several: {roles}")
    create.add_argument("--customer", help="a requester's customer organisation (requesters only)")
    create.add_argument("--group", dest="groups", action="append", metavar="GROUP",
                        help="an engineer's group (repeatable)")
    create.add_argument("--skill", dest="skills", action="append", metavar="SKILL",
                        help="repeatable")
    create.add_argument("--email", help="where notices are mailed (ADR 0059)")
    db_arg(create)
    create.set_defaults(func=cmd_create)

    password = actions.add_parser(
        "set-password", help="set a user's console password (asked twice; or --password-stdin)")
    password.add_argument("user")
    password.add_argument("--password-stdin", action="store_true",
                          help="read the password from one line of standard input")
    db_arg(password)
    password.set_defaults(func=cmd_set_password)

    listing = actions.add_parser("list", help="every user, their roles and whether a password "
                                              "is set")
    listing.add_argument("--role", choices=[r.value for r in Role])
    db_arg(listing)
    listing.set_defaults(func=cmd_list)

