"""``opsledger mail-quarantine list|show|release``: the mail the intake kept aside (ADR 0057),
for an operator on the server (the same as ``GET /api/v1/mail/quarantine`` and its
``/{id}`` and ``/{id}/release``, without a token).

``list`` prints one line per message, newest first (``--all``: the released ones too);
``show ID`` writes the message itself, byte for byte, to standard output (``> kept.eml``);
``release ID`` runs the intake on it again without the auto-reply and loop checks and prints
the outcome. Exit codes: 0 done, 1 a release that did not get the message in, 2 no such id.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from adapters.inputs.numbers import whole_argument
from adapters.settings import Settings


def cmd_mail_quarantine(args: argparse.Namespace) -> int:
    from adapters.container import build
    from adapters.mail.intake import MailIntake

    from adapters.cli.logging import configure_logging

    settings = Settings.from_env(database_url=args.database)
    configure_logging(settings.log_level, settings.log_json)  # log lines to stderr
    services = build(settings)
    try:
        quarantine = services.quarantine
        if args.action == "list":
            rows = quarantine.list(limit=args.limit, released=args.all)
            for row in rows:
                released = (f"  released {row.released_at:%Y-%m-%d %H:%M} {row.released_outcome} "
                            f"{row.released_ticket}".rstrip() if row.released_at else "")
                print(f"{row.id}  {row.received_at:%Y-%m-%d %H:%M:%S}  {row.source}  "
                      f"{row.size:>8}  {row.sender or '-'}  {row.subject or '-'}  "
                      f"[{row.reason}]{released}")
            print(f"{len(rows)} message(s)", file=sys.stderr)
            return 0
        if args.action == "show":
            row = quarantine.get(args.id)
            if row is None or row.raw is None:
                print(f"no quarantined mail {args.id!r}", file=sys.stderr)
                return 2
            sys.stdout.buffer.write(row.raw)
            sys.stdout.flush()
            return 0
        receipt = MailIntake(services).release(args.id)
        if receipt is None:
            print(f"no quarantined mail {args.id!r}", file=sys.stderr)
            return 2
        print(f"{receipt.outcome} {receipt.ticket or ''} {receipt.reason}".strip())
        return 0 if receipt.outcome in ("registered", "appended", "duplicate") else 1
    finally:
        services.close()


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Registers ``opsledger mail-quarantine`` on the main parser's subcommands."""
    q = sub.add_parser("mail-quarantine", help="the mail the intake kept aside: list, show, release")
    q.add_argument("action", choices=["list", "show", "release"])
    q.add_argument("id", nargs="?", help="the message's id (show, release)")
    q.add_argument("--all", action="store_true", help="list the released ones too")
    q.add_argument("--limit", type=whole_argument(low=1, high=10_000), default=100,
                   help="list at most this many (default 100)")
    db_arg(q)

    def run(args: argparse.Namespace) -> int:
        if args.action != "list" and not args.id:
            q.error(f"{args.action} needs the message's id (opsledger mail-quarantine list)")
        return cmd_mail_quarantine(args)

    q.set_defaults(func=run)
