"""The SMTP/LMTP gateway of the fault mailbox inside ``opsledger serve`` (ADR 0057).

An MTA (Postfix, Exim, a provider's forwarding) delivers the fault mailbox's mail here, as
Request Tracker's ``rt-mailgate`` is used: ``OPSLEDGER_SMTP_LISTEN=host:port`` (or
``serve --smtp``) and ``OPSLEDGER_LMTP_LISTEN`` (``--lmtp``) start an ``aiosmtpd`` server on
its own thread and event loop, once per ``serve`` (the supervisor's process with
``--workers N``, never each HTTP worker). Its answer to DATA says what became of the message:

* ``250`` once the ticket or reply is saved, a duplicate recognised, or the message kept in the
  quarantine (an MTA that got 250 may forget the message: it is stored);
* ``451`` when the store could not be reached (the MTA keeps it and tries again later);
* ``552`` (by aiosmtpd, before DATA ends) for a message larger than
  ``OPSLEDGER_MAIL_MAX_BYTES``: the sender's MTA returns it to the sender.

The intake runs commands, which block; each message is handed to a thread of the default
executor, so one slow save never holds the other connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.mail.intake import MailIntake, Receipt

log = structlog.get_logger("opsledger.mail")

ANSWERS = {
    "registered": "250 2.0.0 OK: registered {ticket}",
    "appended": "250 2.0.0 OK: added to {ticket}",
    "duplicate": "250 2.0.0 OK: received before{on}",
    "quarantined": "250 2.0.0 OK: kept in the quarantine ({reason})",
    "deferred": "451 4.3.0 Try again later: {reason}",
}


def answer(receipt: Receipt) -> str:
    """The SMTP reply line for ``receipt`` (one line, at most 512 octets, ASCII)."""
    template = ANSWERS.get(receipt.outcome, "451 4.3.0 Try again later")
    text = template.format(ticket=receipt.ticket or "", reason=receipt.reason,
                           on=f" ({receipt.ticket})" if receipt.ticket else "")
    text = " ".join(text.encode("ascii", "replace").decode().split())
    return text[:500]


class IntakeHandler:
    """aiosmtpd's handler: every accepted recipient, the message to ``MailIntake.receive``."""

    def __init__(self, intake: MailIntake, protocol: str) -> None:
        self.intake = intake
        self.protocol = protocol

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (
            envelope.content if isinstance(envelope.content, bytes)
            else str(envelope.content or "").encode("utf-8", "surrogateescape"))
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        source = f"{self.protocol}:{peer}"
        loop = asyncio.get_running_loop()
        receipt = await loop.run_in_executor(
            None, lambda: self.intake.receive(bytes(raw), source=source))
        if self.protocol == "lmtp":  # one answer per recipient (RFC 2033 §4.2); one message
            return "\r\n".join([answer(receipt)] * max(1, len(envelope.rcpt_tos)))
        return answer(receipt)


class _Gateway(Controller):
    """One listener: SMTP, or LMTP (``lmtp=True``)."""

    def __init__(self, handler: IntakeHandler, host: str, port: int, *, lmtp: bool,
                 max_bytes: int) -> None:
        super().__init__(handler, hostname=host, port=port, ready_timeout=10,
                         data_size_limit=max_bytes, enable_SMTPUTF8=True,
                         ident="opsledger fault mailbox")
        self.lmtp = lmtp

    def factory(self) -> SMTP:
        kwargs = dict(self.SMTP_kwargs)
        return (LMTP if self.lmtp else SMTP)(self.handler, **kwargs)


class MailGateway:
    """The listeners of one ``serve``: ``start`` and ``stop`` (idempotent)."""

    def __init__(self, services: Any, *, smtp: tuple[str, int] | None,
                 lmtp: tuple[str, int] | None = None) -> None:
        self.intake = MailIntake(services)
        max_bytes = services.settings.mail_max_bytes
        self.servers: list[_Gateway] = []
        for address, is_lmtp in ((smtp, False), (lmtp, True)):
            if address is not None:
                self.servers.append(_Gateway(
                    IntakeHandler(self.intake, "lmtp" if is_lmtp else "smtp"), *address,
                    lmtp=is_lmtp, max_bytes=max_bytes))

    def start(self) -> MailGateway:
        # aiosmtpd logs every connection at INFO through the standard library ("mail.log"),
        # outside structlog's JSON lines; our own ``mail.received`` lines say what counts.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        for server in self.servers:
            server.start()
            log.info("mail.listening", protocol="lmtp" if server.lmtp else "smtp",
                     host=server.hostname, port=server.port)
        return self

    def describe(self) -> str:
        return ", ".join(f"{'LMTP' if s.lmtp else 'SMTP'} on {s.hostname}:{s.port}"
                         for s in self.servers)

    def stop(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):  # not started, or already stopped
                server.stop()


def gateway_for(services: Any) -> MailGateway | None:
    """The gateway ``services.settings`` asks for (``OPSLEDGER_SMTP_LISTEN``,
    ``OPSLEDGER_LMTP_LISTEN``), not started; ``None`` when both are off."""
    settings = services.settings
    smtp, lmtp = settings.smtp_address, settings.lmtp_address
    if smtp is None and lmtp is None:
        return None
    return MailGateway(services, smtp=smtp, lmtp=lmtp)
