"""``opsledger mail-poll``: the IMAP poller of the fault mailbox (ADR 0058).

``--once`` makes one pass and exits (cron); without it the poller keeps going (IDLE where the
server has it) until SIGTERM or Ctrl-C. Each pass that received something prints
``received 12: 10 registered, 1 appended, 1 quarantined`` on standard error; the run ends with
the summary of all passes on standard output. Exit codes: 0 done, 1 the mailbox could not be
read or the store was away (``--once``; unread mail stays unread), 2 no mailbox configured or a
bad setting.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from adapters.settings import Settings, SettingsError


def cmd_mail_poll(args: argparse.Namespace) -> int:
    from adapters.cli.logging import configure_logging
    from adapters.container import build
    from adapters.mail.imap import CONNECTION_ERRORS, Deferred, ImapPoller, Tally

    settings = Settings.from_env(database_url=args.database, imap_url=args.url,
                                 imap_poll_seconds=args.seconds)
    mailbox = settings.imap
    if mailbox is None:
        raise SettingsError("no mailbox to poll: set OPSLEDGER_IMAP_URL (imaps://user@host/INBOX)")
    from adapters.mail.intake import MailIntake

    configure_logging(settings.log_level, settings.log_json)
    services = build(settings)
    stop = threading.Event()

    def progress(tally: Tally) -> None:
        print(f"opsledger mail-poll: {tally.line()}", file=sys.stderr, flush=True)

    poller = ImapPoller(mailbox, MailIntake(services).receive, poll_seconds=settings.imap_poll_seconds,
                        stop=stop, on_pass=None if args.once else progress)
    where = f"{mailbox.user}@{mailbox.host}:{mailbox.port}/{mailbox.folder}"
    try:
        if args.once:
            try:
                total = poller.once()
            except CONNECTION_ERRORS as e:
                print(f"opsledger mail-poll: cannot read {where}: {type(e).__name__}: {e}",
                      file=sys.stderr)
                return 1
            except Deferred as e:
                print(f"opsledger mail-poll: {poller.total.line()}", flush=True)
                print(f"opsledger mail-poll: stopped, the rest waits for the next pass: {e.reason}",
                      file=sys.stderr)
                return 1
        else:
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            print(f"opsledger mail-poll: watching {where} (store: {settings.database.kind})",
                  file=sys.stderr, flush=True)
            try:
                total = poller.run()
            except KeyboardInterrupt:
                stop.set()
                total = poller.total
        print(f"opsledger mail-poll: {total.line()}", flush=True)
        return 0
    finally:
        services.close()


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        raise argparse.ArgumentTypeError(f"a number of seconds from 0 to 86400, not {text!r}")
    return seconds


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Registers ``opsledger mail-poll`` on the main parser's subcommands."""
    poll = sub.add_parser("mail-poll", help="turn the fault mailbox's new mail into tickets (IMAP)")
    poll.add_argument("--once", action="store_true", help="one pass, then exit")
    poll.add_argument("--url", help="the mailbox (default: $OPSLEDGER_IMAP_URL), e.g. "
                                    "imaps://user@imap.example.com/INBOX")
    poll.add_argument("--seconds", type=_seconds, help="how often to look without IDLE "
                                                    "(default: $OPSLEDGER_IMAP_POLL_SECONDS or 60)")
    db_arg(poll)
    poll.set_defaults(func=cmd_mail_poll)
