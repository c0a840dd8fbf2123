"""The sender of the outbox (ADR 0059): a thread in the process that keeps the projections
(``serve``'s runner thread, its projections worker process, or ``projections run``; with
``serve --workers N`` the one projections worker), so there is one sender per deployment.

Each pass takes the due notices, claims each (a lease: a second sender, or this one after a
crash mid-send, takes it again only after ``LEASE``), finds the address when it is sent (the
ticket's contact from the record -- an erased contact drops the notice, never sends it -- a
user's profile e-mail, the rules' robots and addresses), renders the text in the notice's
language, sends it and marks it sent at once. A failure is retried with exponential backoff
(``next_attempt_at``, ``attempts``, ``last_error``) and marked ``failed`` after the last
attempt. At-least-once: a crash between the relay's answer and the mark sends that one mail
again, with the same ``Message-ID`` (derived from the notice id), so a receiver can dedupe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from adapters.channels.outbox import Row, backoff
from adapters.channels.render import Renderer
from adapters.channels.senders import (DingtalkChannel, SmtpChannel, WebhookChannel,
                                       WecomChannel)
from application.notices import Rules
from domain.change import Change
from domain.identity import User, user_id
from domain.privacy import ERASED_TEXT
from domain.ticket import Ticket
from projections.follower import FollowerThread

log = structlog.get_logger("opsledger.notices")

LEASE = timedelta(seconds=60)


class Drop(Exception):
    """Nobody to send this notice to (an erased contact, no address, a robot not configured)."""


class OutboxSender(FollowerThread):
    thread_name = "notices"

    def __init__(
        self,
        outbox: Any,
        desk: Any,
        rules: Callable[[], Rules],
        renderer: Renderer,
        *,
        smtp: SmtpChannel | None = None,
        webhook_url: str | None = None,
        attempts: int = 8,
        retry_seconds: float = 30.0,
        max_retry_seconds: float = 3600.0,
        poll_seconds: float = 1.0,
        timeout: float = 5.0,
        catch_up: Callable[[], Any] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.outbox = outbox
        self.desk = desk
        self.rules = rules
        self.renderer = renderer
        self.smtp = smtp
        self.webhook_url = webhook_url
        self.wecom = WecomChannel(timeout)
        self.dingtalk = DingtalkChannel(timeout)
        self.webhook = WebhookChannel(timeout)
        self.attempts = attempts
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.poll_seconds = poll_seconds
        self.catch_up = catch_up  # brings the decider up to the log (``drain``)
        self.now = now
        self.elsewhere: dict[str, Any] | None = None  # kept for ``apply_report`` (ADR 0038)
        self.passes = 0
        self.last_error: str | None = None
        self._thread_init()
        self._cached: tuple[float, dict[str, Any]] | None = None

    # --------------------------------------------------------------- the thread

    def wake(self) -> None:
        self._wake.set()

    def notify(self, notice: Any) -> None:
        """The old ``Notifier`` port: notices now come from the outbox (nothing to do)."""

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                busy = self.run_once()
                self.last_error = None
            except Exception as e:  # noqa: BLE001 - the store is away: try again later
                busy = False
                self.last_error = f"{type(e).__name__}: {e}"
                log.error("notices.pass_failed", error=self.last_error)
            if not busy:
                self._wake.wait(self.poll_seconds)

    def drain(self) -> int:
        """Decides what the log holds and sends what is due, in the caller's thread
        (``sla-watch --once``, tests); returns how many notices it handled."""
        if self.catch_up is not None:
            self.catch_up()
        done = 0
        while True:
            n = self.run_once()
            done += n
            if n == 0:
                return done

    # ---------------------------------------------------------------- one pass

    def run_once(self) -> int:
        """Sends the due notices; returns how many it handled."""
        self.passes += 1
        now = self.now()
        handled = 0
        for row in self.outbox.due(now):
            if self._stop.is_set() and self._thread is not None:
                break
            if not self.outbox.claim(row, now + LEASE):
                continue  # another sender has it
            handled += 1
            self.deliver(row)
        return handled

    def deliver(self, row: Row) -> None:
        n = row.notice
        attempts = row.attempts + 1
        try:
            self._send(row)
        except Drop as e:
            self.outbox.finish(n.id, status="dropped", attempts=row.attempts, error=str(e))
            log.info("notices.dropped", notice=n.id, rule=n.rule, number=n.number, reason=str(e))
            return
        except Exception as e:  # noqa: BLE001 - any failure is retried, then counted
            error = f"{type(e).__name__}: {e}"[:500]
            if attempts >= self.attempts:
                self.outbox.finish(n.id, status="failed", attempts=attempts, error=error)
                log.error("notices.failed", notice=n.id, rule=n.rule, number=n.number,
                          channel=n.channel, attempts=attempts, error=error)
            else:
                wait = backoff(attempts, self.retry_seconds, self.max_retry_seconds)
                self.outbox.finish(n.id, status="pending", attempts=attempts, error=error,
                                   next_at=self.now() + wait)
                log.warning("notices.retry", notice=n.id, rule=n.rule, number=n.number,
                            channel=n.channel, attempts=attempts, error=error,
                            retry_in_seconds=wait.total_seconds())
            return
        self.outbox.finish(n.id, status="sent", attempts=attempts, error=None, sent_at=self.now())
        log.info("notices.sent", notice=n.id, rule=n.rule, number=n.number, channel=n.channel)

    # ----------------------------------------------------------- send one notice

    def _event(self, position: int) -> Any:
        found = self.desk.read_log(position - 1, 1)
        if not found or found[0][0].id != position:
            raise Drop(f"no event at position {position}")
        return found[0][1]

    def _context(self, row: Row) -> dict[str, Any]:
        n = row.notice
        e = self._event(n.position)
        record = self.desk.load(UUID(n.record_id)) if n.rule != "announcement" else None
        if n.rule == "announcement_withdrawn":  # the announcement as it was called off
            return {"e": e, "title": getattr(record, "title", "") or n.number,
                    "announcement": record}
        if isinstance(record, Ticket):
            return {"e": e, "title": record.title, "customer": record.customer,
                    "group": record.group, "ticket": record}
        if isinstance(record, Change):
            plan = record.plan
            return {"e": e, "title": record.title, "system": record.affected_system,
                    "start": plan.schedule_start if plan else None,
                    "end": plan.schedule_end if plan else None}
        return {"e": e, "title": str(getattr(e, "title", "") or n.number)}

    def _address(self, recipient: str, context: dict[str, Any]) -> str:
        if recipient == "contact":
            ticket = context.get("ticket")
            contact = getattr(ticket, "contact", None)
            if contact is None or contact.erased:
                raise Drop("recipient erased")
            if not contact.email:
                raise Drop("no address")
            return str(contact.email)
        if recipient.startswith("user:"):
            user = self.desk.load(user_id(recipient[5:]))
            if not isinstance(user, User):
                raise Drop("no such user")
            if user.name == ERASED_TEXT:
                raise Drop("recipient erased")
            email = getattr(user, "email", "") or ""
            if not email:
                raise Drop("no address")
            return str(email)
        if recipient.startswith("address:"):
            return recipient[8:]
        raise Drop(f"no address for {recipient}")

    def _target(self, recipient: str) -> Any:
        rules = self.rules()
        target = rules.cab if recipient == "cab" else (
            rules.group(recipient[6:]) if recipient.startswith("group:") else None)
        if target is None:
            raise Drop("not configured")
        return target

    def _send(self, row: Row) -> None:
        n = row.notice
        context = self._context(row)
        if n.channel == "email":
            if self.smtp is None:
                raise Drop("no SMTP relay configured")
            to = self._address(n.recipient, context)
            text = self.renderer.render(n.rule, n.language, n.number, context)
            html = self.renderer.html(text.text, n.language) if self.rules().html else None
            msg = self.smtp.message(to=to, subject=text.subject, text=text.text, number=n.number,
                                    notice_id=n.id, thread=self.outbox.first_mail(n.record_id),
                                    language=n.language, html=html)
            self.smtp.send(msg)
            return
        text = self.renderer.render(n.rule, n.language, n.number, context)
        if n.channel == "webhook" and (n.recipient.startswith("user:") or n.recipient == "webhook"):
            if not self.webhook_url:
                raise Drop("no webhook configured")
            self.webhook.send(self.webhook_url, self._webhook_body(row, context, text))
            return
        target = self._target(n.recipient)
        url = getattr(target, n.channel, "")
        if not url:
            raise Drop("not configured")
        if n.channel == "wecom":
            self.wecom.send(url, text.subject, text.text)
        elif n.channel == "dingtalk":
            self.dingtalk.send(url, text.subject, text.text, target.dingtalk_secret)
        else:
            self.webhook.send(url, self._webhook_body(row, context, text))

    @staticmethod
    def _webhook_body(row: Row, context: dict[str, Any], text: Any) -> dict[str, Any]:
        n, e = row.notice, context["e"]
        if n.rule == "escalation" and n.recipient.startswith("user:"):
            who = n.recipient[5:]
            occurred = e.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
            return {  # the notice of ADR 0016, as the webhook had it
                "kind": "escalation", "recipient": who,
                "role": "manager" if who == e.manager else "expert",
                "ticket_id": n.record_id, "number": n.number, "level": e.level,
                "reason": e.reason,
                "priority_from": str(e.priority_from) if e.priority_from else None,
                "priority_to": str(e.priority_to) if e.priority_to else None,
                "occurred_at": occurred, "by": e.by, "notice_id": n.id}
        return {"kind": n.rule, "notice_id": n.id, "record_id": n.record_id,
                "number": n.number, "subject": text.subject, "text": text.text}

    # ------------------------------------------------------------------ status

    COUNTS_TTL = 1.0  # seconds: serve's projections worker reports its status 4 times a second

    def _counts(self) -> dict[str, Any]:
        now = time.monotonic()
        cached = self._cached
        if cached is None or now - cached[0] > self.COUNTS_TTL:
            cached = self._cached = (now, self.outbox.counts())
        return dict(cached[1])

    def status(self) -> dict[str, Any]:
        """The outbox's counts (``/healthz`` for staff): pending, sent, failed, dropped, the
        age of the oldest pending notice in seconds."""
        counts = self._counts()
        oldest = counts.pop("oldest_pending", None)
        age = None
        if oldest:
            at = datetime.fromisoformat(oldest.replace("Z", "+00:00"))
            age = round(max(0.0, (self.now() - at).total_seconds()), 1)
        sender = {"running": self._thread is not None,
                  "channels": ["email"] if self.smtp is not None else [],
                  "last_error": self.last_error}
        if self._thread is None and self.elsewhere:  # serve's projections worker sends them
            sender = self.elsewhere.get("sender") or sender
        return {**counts, "oldest_pending_seconds": age, "sender": sender}
