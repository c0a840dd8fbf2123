"""Mail intake (issue 19 item 1, ADR 0057): one received message → a registered ticket, a
customer's reply on a ticket, or the quarantine; called by the SMTP/LMTP gateway inside
``opsledger serve`` (``adapters/mail/smtp.py``) and by the IMAP poller
(``opsledger mail-poll``, ``adapters/mail/imap.py``).

``MailIntake(services).receive(raw, source=...)`` never raises. Its ``Receipt.outcome``:

* ``registered``: a new ticket (``RegisterTicket``: channel ``email``, title = the subject,
  contact = the sender, description = the text body, the files uploaded and attached);
* ``appended``: a reply (``In-Reply-To``/``References`` naming ``SR-…``, else ``[SR-…]`` in
  the subject) recorded as the customer's public note (``CustomerReply``: resumes a ticket
  waiting for the customer). A reply naming a ticket we do not have registers a new ticket,
  as Request Tracker does;
* ``duplicate``: this Message-ID (else the sha256 of the bytes) was received before; nothing
  new is recorded (the idempotency key ``mail:<Message-ID>`` is saved with the command);
* ``quarantined``: kept whole in the quarantine with a reason -- an auto-reply or a bounce, a
  mail loop, too large, not a mail, no sender, a reply from another customer's domain, or any
  error of the command;
* ``deferred``: the store could not be reached (nothing recorded, not even the quarantine):
  the SMTP gateway answers 451 and the sender's MTA tries again later; the IMAP poller leaves
  the message unread.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError

from adapters.mail.parse import (MalformedMail, ParsedMail, fallback_id, new_text, one_line,
                                 parse)
from adapters.stores.quarantine import Quarantine
from application.attachments import upload
from application.commands.tickets import CustomerReply, RegisterTicket, ticket_id_for
from application.errors import ConcurrencyConflict, RecordNotFound, StoreUnavailable
from application.idempotency import IdempotencyKey, IdempotencyRecord
from application.identities import get_user
from domain.errors import DomainError
from domain.ticket import MAX_COMMENT, Channel, Contact, Ticket
from projections.ticket_search.view import TicketSearchQuery

if TYPE_CHECKING:
    from adapters.container import Services

log = structlog.get_logger("opsledger.mail")

#: The actor of everything the intake records.
ACTOR = "system:mail"
#: What our own mails carry in ``X-Loop`` (adapters/channels/senders.py).
LOOP_MARKER = "opsledger"
#: More ``Received`` headers than this: the message is going round in circles.
MAX_HOPS = 30
#: ``Precedence`` values of mail nobody typed (RFC 3834 §2, and what list servers send).
BULK = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
NO_SUBJECT = "(无主题)"

try:  # the PostgreSQL driver's connection errors, when it is installed
    import psycopg
    import psycopg_pool

    _PG_TRANSIENT: tuple[type[BaseException], ...] = (
        psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)
except ImportError:  # pragma: no cover - psycopg is a dependency
    _PG_TRANSIENT = ()

#: Errors that say "the store is not there right now": the message is deferred, not kept.
TRANSIENT: tuple[type[BaseException], ...] = (
    StoreUnavailable, ConcurrencyConflict, StoreOperationalError, StoreInterfaceError,
    sqlite3.OperationalError, TimeoutError, *_PG_TRANSIENT)


@dataclass(frozen=True)
class Receipt:
    """What became of one message (contract 2 of issue 19)."""

    outcome: str  # registered | appended | duplicate | quarantined | deferred
    ticket: str | None = None  # the SR number registered or replied to
    reason: str = ""  # why quarantined (or deferred); "" otherwise
    quarantine_id: str | None = None  # the quarantine row, when quarantined


class Refused(Exception):
    """The message goes to the quarantine with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MailIntake:
    def __init__(self, services: Services, *, now: Any = None) -> None:
        self.services = services
        self.desk = services.desk
        self.settings = services.settings
        self.quarantine: Quarantine = services.quarantine
        self.customers = self.settings.mail_customer_map
        # OPSLEDGER_MAIL_FROM, the address our notices come from (ADR 0059)
        self.own_address = _address_of(self.settings.mail_from)
        self.now = now or (lambda: datetime.now(UTC))

    # ----------------------------------------------------------------- entry point

    def receive(self, raw: bytes, *, source: str, checks: bool = True,
                keep: bool = True) -> Receipt:
        """Records ``raw`` once (see the module's docstring); never raises. ``checks=False``
        (a release from the quarantine) skips the auto-reply and loop checks; ``keep=False``
        answers a refusal without adding it to the quarantine (it is there already)."""
        raw = bytes(raw)
        parsed: ParsedMail | None = None
        key = "mail:" + fallback_id(raw)
        try:
            if len(raw) > self.settings.mail_max_bytes:
                raise Refused(f"oversized: {len(raw)} bytes, more than OPSLEDGER_MAIL_MAX_BYTES "
                              f"({self.settings.mail_max_bytes})")
            try:
                parsed = parse(raw)
            except MalformedMail as e:
                raise Refused(f"malformed: {e}") from None
            if parsed.message_id:
                key = "mail:" + parsed.message_id
            if checks:
                self._check(parsed)
            receipt = self._record(raw, parsed, key)
        except Refused as refused:
            return self._quarantine(raw, key, refused.reason, source, parsed, keep)
        except TRANSIENT as e:
            log.warning("mail.deferred", source=source, key=key, error=_describe(e))
            return Receipt("deferred", None, f"store unavailable: {_describe(e)}")
        except (DomainError, RecordNotFound) as e:
            return self._quarantine(raw, key, f"refused by the desk: {_describe(e)}", source,
                                    parsed, keep)
        except Exception as e:  # noqa: BLE001 - never lose a message to a bug: keep it
            log.exception("mail.intake_failed", source=source, key=key)
            return self._quarantine(raw, key, f"error: {_describe(e)}", source, parsed, keep)
        log.info("mail.received", source=source, outcome=receipt.outcome, ticket=receipt.ticket)
        return receipt

    def release(self, quarantine_id: str) -> Receipt | None:
        """Runs the intake again on a quarantined message without the auto-reply and loop
        checks (an administrator read it and let it in); ``None``: no such row."""
        row = self.quarantine.get(quarantine_id)
        if row is None or row.raw is None:
            return None
        receipt = self.receive(row.raw, source=f"release:{row.source}", checks=False,
                               keep=False)
        if receipt.outcome in ("registered", "appended", "duplicate"):
            self.quarantine.released(quarantine_id, outcome=receipt.outcome,
                                     ticket=receipt.ticket or "", at=self.now())
        elif receipt.outcome == "quarantined":  # still refused: it stays where it is
            return Receipt("quarantined", None, receipt.reason, quarantine_id)
        return receipt

    # ---------------------------------------------------------------------- checks

    def _check(self, m: ParsedMail) -> None:
        if m.bounce:
            raise Refused("auto-reply: a delivery status report (bounce)")
        if m.auto_submitted and m.auto_submitted != "no":
            raise Refused(f"auto-reply: Auto-Submitted: {m.auto_submitted}")
        if m.precedence in BULK:
            raise Refused(f"auto-reply: Precedence: {m.precedence}")
        if m.autoreply_headers:
            raise Refused(f"auto-reply: {', '.join(m.autoreply_headers)}")
        if self.own_address and m.sender_address == self.own_address:
            raise Refused(f"loop: from our own address {self.own_address}")
        if any(LOOP_MARKER in value for value in m.x_loop):
            raise Refused(f"loop: X-Loop: {', '.join(m.x_loop)}")
        if m.received_count > MAX_HOPS:
            raise Refused(f"loop: {m.received_count} Received headers (more than {MAX_HOPS})")

    # ------------------------------------------------------------------- recording

    def _record(self, raw: bytes, m: ParsedMail, key: str) -> Receipt:
        if not m.sender_address:
            raise Refused("malformed: no sender address (From)")
        idem = IdempotencyKey(key, fingerprint=hashlib.sha256(key.encode()).hexdigest())
        earlier = self._earlier(idem)
        if earlier is not None:
            return Receipt("duplicate", earlier, "")
        ticket = self._ticket_answered(m)
        if ticket is not None:
            mapped = self._mapped_customer(m.sender_address)
            if mapped is not None and mapped != ticket.customer:
                raise Refused(f"a reply to {ticket.number} from {m.sender_address}, whose domain "
                              f"belongs to customer {mapped}, not {ticket.customer}")
            files = self._upload(m, owner=ticket.customer)
            body = _limit(new_text(m.text), MAX_COMMENT)
            result = self.desk.handle(
                CustomerReply(ref=ticket.number, body=body, via="email", attachments=files,
                              message_id=m.message_id, sender=m.sender_address),
                actor=ACTOR, idempotency=idem)
            number = result.aggregate.number
            return Receipt("duplicate" if result.replayed else "appended", number, "")
        customer = self.customer_of(m.sender_address)
        files = self._upload(m, owner=customer)
        contact = Contact(name=m.sender_name or m.sender_address.split("@")[0], phone="",
                          email=m.sender_address)
        result = self.desk.handle(
            RegisterTicket(customer=customer, contact=contact, channel=Channel.EMAIL,
                           title=m.subject or NO_SUBJECT, description=_limit(m.text, MAX_COMMENT),
                           attachments=files, claim_attachments=True),
            actor=ACTOR, idempotency=idem)
        number = result.aggregate.number
        return Receipt("duplicate" if result.replayed else "registered", number, "")

    def _earlier(self, idem: IdempotencyKey) -> str | None:
        """The ticket number this key was recorded against, if it was."""
        record = self.desk.load(idem.record_id)
        if not isinstance(record, IdempotencyRecord):
            return None
        target = self.desk.load(record.target_id)
        return str(getattr(target, "number", "")) or None

    def _ticket_answered(self, m: ParsedMail) -> Ticket | None:
        for number in m.ticket_numbers():
            found = self.desk.load(ticket_id_for(number))
            if isinstance(found, Ticket):
                return found
        return None  # none, or not ours: a new ticket (as Request Tracker does)

    def _upload(self, m: ParsedMail, *, owner: str) -> tuple[str, ...]:
        ids = []
        for file in m.attachments:
            attachment = upload(self.desk, self.services.blobs, data=file.data,
                                filename=file.filename, content_type=file.content_type,
                                owner=owner, actor=ACTOR)
            ids.append(str(attachment.id))
        return tuple(ids)

    # -------------------------------------------------------------------- customer

    def _mapped_customer(self, address: str) -> str | None:
        """The customer of the address's domain (or a parent domain) in
        ``OPSLEDGER_MAIL_CUSTOMERS``."""
        domain = address.rpartition("@")[2]
        while domain:
            if domain in self.customers:
                return self.customers[domain]
            domain = domain.partition(".")[2]
        return None

    def customer_of(self, address: str) -> str:
        """The sender's customer: the domain map, else a registered user of that address
        (their organisation), else the customer of the newest ticket whose contact has that
        address, else ``OPSLEDGER_MAIL_DEFAULT_CUSTOMER``, else the sender's domain."""
        mapped = self._mapped_customer(address)
        if mapped is not None:
            return mapped
        try:
            user = get_user(self.desk, address)
        except (RecordNotFound, DomainError, ValueError):
            user = None
        if user is not None and getattr(user, "customer", None) and user.active:
            return str(user.customer)
        known = self._known_contact(address)
        if known is not None:
            return known
        return self.settings.mail_default_customer or address.rpartition("@")[2]

    def _known_contact(self, address: str) -> str | None:
        page = self.services.ticket_search.search(
            TicketSearchQuery(q=address, contacts=True, limit=5))
        for hit in page.hits:
            ticket = self.desk.load(ticket_id_for(hit.row["number"]))
            email = getattr(getattr(ticket, "contact", None), "email", None) or ""
            if isinstance(ticket, Ticket) and email.strip().lower() == address:
                return ticket.customer
        return None

    # ------------------------------------------------------------------ quarantine

    def _quarantine(self, raw: bytes, key: str, reason: str, source: str,
                    m: ParsedMail | None, keep: bool = True) -> Receipt:
        reason = one_line(reason, 2000)  # an error's text may quote the mail's bytes
        if not keep:
            return Receipt("quarantined", None, reason)
        sender = m.sender_address if m is not None else ""
        subject = m.subject if m is not None else ""
        try:
            row, created = self.quarantine.add(raw, key=key, reason=reason, source=source,
                                               sender=sender, subject=subject, at=self.now())
        except Exception as e:  # noqa: BLE001 - not even kept: the sender must try again
            log.error("mail.quarantine_failed", source=source, key=key, reason=reason,
                      error=_describe(e))
            return Receipt("deferred", None, f"{reason}; the quarantine failed: {_describe(e)}")
        log.warning("mail.quarantined", source=source, key=key, reason=reason, id=row.id,
                    repeat=not created)
        if not created:
            return Receipt("duplicate", None, f"quarantined before ({row.id}): {row.reason}",
                           row.id)
        return Receipt("quarantined", None, reason, row.id)


def _address_of(text: str) -> str:
    from email.utils import parseaddr

    return parseaddr(text or "")[1].strip().lower()


def _limit(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 20].rstrip() + "\n[……内容过长，已截断]"


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:500]
