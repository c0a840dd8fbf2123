"""The IMAP poller (ADR 0058): ``opsledger mail-poll`` reads the fault mailbox (报障邮箱) of a
provider whose mail sits in a mailbox, and hands every new message to the mail intake.

One pass: SEARCH UNSEEN in the folder, FETCH the messages by UID with ``BODY.PEEK[]`` (peeking
leaves them unseen; at most 20 messages or 16 MiB a FETCH), ``receive(raw,
source="imap:<folder>")`` each, and only after ``receive`` has returned, MOVE it into the
processed folder (flagged ``\\Seen`` there at the end of the pass), or only flag it. The
folder and its flags are the poller's position: a crash between ``receive`` and the MOVE
leaves the message unseen where it was, the next pass fetches it again, and the intake's
idempotency on the Message-ID records nothing new (outcome ``duplicate``). Exactly once, no
state of our own. A message the intake ``deferred`` (the store is away, nothing recorded)
stays unseen and ends the pass; the loop tries again after its backoff.

Between passes the poller waits in IDLE when the server has it (woken by the server's
``EXISTS`` within moments of a delivery; renewed at the latest every ``poll_seconds``), else it
looks again every ``poll_seconds``. Errors (the server restarting, a network cut, a refused
login) close the connection; it reconnects with a doubling backoff (1 s up to 60 s). ``stop``
(set by SIGTERM) ends it within about a second, between two messages, never inside one.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from adapters.settings import ImapMailbox

#: The outcomes of the intake (adapters/mail/intake.py), in the order the summary names them.
OUTCOMES = ("registered", "appended", "duplicate", "quarantined", "deferred")
#: The intake could not reach the store: the message stays unseen, the pass ends.
DEFERRED = "deferred"
SEEN = b"\\Seen"
#: What one connection's trouble looks like: the server's answers, sockets, TLS.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (IMAPClientError, OSError, ssl.SSLError)


class Deferred(Exception):
    """The intake deferred a message (the store is away): it is left unseen, and the pass
    stops; ``run()`` tries again after its backoff, ``once()`` raises this."""

    def __init__(self, reason: str, tally: Tally) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tally = tally


class Receipt(Protocol):
    outcome: str
    ticket: str | None
    reason: str


class Receive(Protocol):
    def __call__(self, raw: bytes, *, source: str) -> Receipt: ...


@dataclass
class Tally:
    """What the passes received, by outcome: ``received 12: 10 registered, 1 appended, 1
    quarantined``."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def extend(self, other: Tally) -> None:
        self.counts.update(other.counts)

    @property
    def received(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        known = [o for o in OUTCOMES if self.counts[o]]
        other = sorted(o for o in self.counts if o not in OUTCOMES and self.counts[o])
        parts = [f"{self.counts[o]} {o}" for o in (*known, *other)]
        return f"received {self.received}" + (": " + ", ".join(parts) if parts else "")


def batches(sizes: dict[int, int], most: int, most_bytes: int) -> Iterator[list[int]]:
    """UIDs oldest first, in FETCHes of at most ``most`` messages and ``most_bytes`` (a big
    message alone), so that a pass never holds a mailbox's worth of attachments at once."""
    chunk: list[int] = []
    held = 0
    for uid in sorted(sizes):
        if chunk and (len(chunk) >= most or held + sizes[uid] > most_bytes):
            yield chunk
            chunk, held = [], 0
        chunk.append(uid)
        held += sizes[uid]
    if chunk:
        yield chunk


class ImapPoller:
    """Polls one folder of one mailbox; ``once()`` is one pass, ``run()`` the loop."""

    def __init__(self, mailbox: ImapMailbox, receive: Receive, *, poll_seconds: float = 60.0,
                 stop: threading.Event | None = None, batch: int = 20,
                 batch_bytes: int = 16 * 1024 * 1024, timeout: float = 30.0,
                 backoff: tuple[float, float] = (1.0, 60.0),
                 on_pass: Callable[[Tally], None] | None = None, log: Any = None) -> None:
        self.mailbox = mailbox
        self.receive = receive
        self.poll_seconds = poll_seconds
        self.stop = stop or threading.Event()
        self.batch = batch
        self.batch_bytes = batch_bytes
        self.timeout = timeout
        self.backoff = backoff
        self.on_pass = on_pass
        self.log = log or structlog.get_logger("opsledger.mail")
        self.total = Tally()
        self.source = f"imap:{mailbox.folder}"
        self.connections = 0  # successful logins: 2 or more after a reconnect
        self._unswept = False  # messages may lie unread in the processed folder
        self.highest_uid = 0  # the newest message a pass has looked at

    # -------------------------------------------------------------- the connection

    def connect(self) -> IMAPClient:
        box = self.mailbox
        context = ssl.create_default_context(cafile=box.ca_file or None)
        client = IMAPClient(box.host, port=box.port, ssl=box.security == "tls",
                            ssl_context=context, timeout=self.timeout)
        try:
            if box.security == "starttls":
                client.starttls(context)  # refused by a server without STARTTLS: no clear text
            client.login(box.user, box.password)
            if box.processed_folder and not client.folder_exists(box.processed_folder):
                client.create_folder(box.processed_folder)
            client.select_folder(box.folder)
        except BaseException:
            self._close(client)
            raise
        self.connections += 1
        self._unswept = bool(box.processed_folder and box.processed_folder != box.folder)
        self.highest_uid = 0  # UIDs of another UIDVALIDITY may start again from 1
        self.log.info("mail.imap.connected", host=box.host, port=box.port, folder=box.folder,
                      security=box.security, idle=self._has(client, b"IDLE"))
        return client

    @staticmethod
    def _has(client: IMAPClient, capability: bytes) -> bool:
        return bool(client.has_capability(capability.decode()))

    @staticmethod
    def _close(client: IMAPClient) -> None:
        with suppress(*CONNECTION_ERRORS, AttributeError):
            client.logout()
        with suppress(*CONNECTION_ERRORS, AttributeError):
            client.shutdown()

    # -------------------------------------------------------------- one pass

    def drain(self, client: IMAPClient) -> Tally:
        """Every unseen message of the folder, oldest first, handed to the intake and then
        marked processed. Stops between two messages when ``stop`` is set."""
        tally = Tally()
        if self._unswept:
            self._sweep(client)
        uids = client.search(["UNSEEN"])
        self.highest_uid = max([self.highest_uid, *uids])
        sizes = {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in
                 (client.fetch(uids, ["RFC822.SIZE"]) if uids else {}).items()}
        for chunk in batches(sizes, self.batch, self.batch_bytes):
            fetched = client.fetch(chunk, ["BODY.PEEK[]"])
            for uid in chunk:
                if self.stop.is_set():
                    return self._passed(tally)
                data = fetched.get(uid)
                raw = data.get(b"BODY[]") if data else None
                if raw is None:  # expunged by someone else since the search
                    continue
                receipt = self.receive(bytes(raw), source=self.source)
                tally.add(receipt.outcome)
                if receipt.outcome == DEFERRED:  # nothing recorded: leave it for later
                    self.log.warning("mail.imap.deferred", uid=uid, reason=receipt.reason)
                    raise Deferred(receipt.reason, self._passed(tally))
                self._processed(client, uid)
                self.log.info("mail.imap.received", uid=uid, outcome=receipt.outcome,
                              ticket=receipt.ticket, reason=receipt.reason)
        if self._unswept:
            self._sweep(client)
        return self._passed(tally)

    def _passed(self, tally: Tally) -> Tally:
        self.total.extend(tally)
        if self.on_pass is not None and tally.received:
            self.on_pass(tally)
        return tally

    def _processed(self, client: IMAPClient, uid: int) -> None:
        """Into the processed folder in one step (MOVE), flagged ``\\Seen`` there by the
        pass's sweep; or only flagged ``\\Seen`` where it is. Either way a single command
        takes it out of the search, so no crash leaves a message half marked: one read,
        unmoved in the folder, which no pass would fetch and no sweep would move."""
        target = self.mailbox.processed_folder
        if not target or target == self.mailbox.folder:
            client.add_flags([uid], [SEEN])
            return
        self._unswept = True
        if self._has(client, b"MOVE"):
            client.move([uid], target)
            return
        client.copy([uid], target)  # a crash before the expunge: a second copy, no loss
        client.delete_messages([uid])
        if self._has(client, b"UIDPLUS"):
            client.uid_expunge([uid])
        else:
            client.expunge()

    def _sweep(self, client: IMAPClient) -> None:
        """Flags ``\\Seen`` what was moved into the processed folder unread."""
        client.select_folder(self.mailbox.processed_folder)
        unseen = client.search(["UNSEEN"])
        if unseen:
            client.add_flags(unseen, [SEEN])
        client.select_folder(self.mailbox.folder)
        self._unswept = False

    def once(self) -> Tally:
        """One connection, one pass (``mail-poll --once``); connection errors propagate."""
        client = self.connect()
        try:
            return self.drain(client)
        finally:
            self._close(client)

    # -------------------------------------------------------------- the loop

    def run(self) -> Tally:
        """Passes until ``stop``: IDLE between them where the server has it, else a pass
        every ``poll_seconds``; any error closes the connection and reconnects with backoff."""
        first, most = self.backoff
        delay = first
        while not self.stop.is_set():
            client = None
            try:
                client = self.connect()
                delay = first
                self._serve(client)
            except Exception as e:  # noqa: BLE001 - a daemon: log, wait, reconnect
                level = "warning" if isinstance(e, (*CONNECTION_ERRORS, Deferred)) else "error"
                getattr(self.log, level)("mail.imap.failed", error=f"{type(e).__name__}: {e}",
                                         retry_in=delay)
                self.stop.wait(delay)
                delay = min(delay * 2, most)
            finally:
                if client is not None:
                    self._close(client)
        return self.total

    def _serve(self, client: IMAPClient) -> None:
        idle = self._has(client, b"IDLE")
        while not self.stop.is_set():
            self.drain(client)
            if self.stop.is_set():
                return
            # Mail that arrived during the pass was announced (EXISTS) in the answer to one of
            # its commands, not to the IDLE that follows: look once more before waiting. Mail
            # arriving between this look and the IDLE is announced right after the server's
            # "+ idling", in the same packet, where imapclient reads past it into its buffer
            # and idle_check() waits on the socket: that message waits for the IDLE's end
            # (``poll_seconds`` at most), whose DONE brings the announcement out (ADR 0058).
            if any(uid > self.highest_uid for uid in client.search(["UNSEEN"])):
                continue
            if idle:
                self._idle(client, self.poll_seconds)
            else:
                self.stop.wait(self.poll_seconds)

    def _idle(self, client: IMAPClient, seconds: float) -> bool:
        """Waits in IDLE until the server says the folder changed (True), ``seconds`` pass or
        ``stop`` is set (looked at every second)."""
        deadline = time.monotonic() + seconds
        changed = False
        client.idle()
        try:
            while not changed and not self.stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                responses = client.idle_check(timeout=min(1.0, left))
                if any(r and r[0] == b"BYE" for r in responses):
                    raise ConnectionResetError(f"the server said goodbye: {responses!r}")
                changed = _news(responses)
        except BaseException:
            with suppress(*CONNECTION_ERRORS):
                client.idle_done()
            raise
        _, responses = client.idle_done()
        return changed or _news(responses)


def _news(responses: list[Any]) -> bool:
    """Whether IDLE responses say a message came (``* 3 EXISTS``, ``* 1 RECENT``)."""
    return any(isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT")
               for r in responses)
