"""Notifier adapters (ADR 0016): a structlog sender, a webhook sender, and the background
dispatcher that queues notices, retries with backoff and counts what failed.

``Dispatcher.notify`` only puts the notice on a queue: the command that escalated has already
been saved and is never held up by a slow or broken receiver. The queue is in memory: a
notice not yet delivered when the process stops is lost (logged as pending at shutdown); the
``Escalated`` event stays in the ticket's history either way.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from application.ports import Notice

log = structlog.get_logger("opsledger.notify")


class Sender(Protocol):
    name: str

    def send(self, notice: Notice) -> None:
        """Delivers one notice or raises."""
        ...


class LogSender:
    name = "log"

    def send(self, notice: Notice) -> None:
        log.info("notify.escalation", **notice.as_json())


class WebhookSender:
    """POSTs each notice as JSON to ``url`` (``OPSLEDGER_NOTIFY_WEBHOOK_URL``); any answer
    other than 2xx, or no answer within ``timeout`` seconds, is a failure."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, notice: Notice) -> None:
        body = json.dumps(notice.as_json(), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "opsledger"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise OSError(f"webhook answered {response.status}")


class Dispatcher:
    """The ``Notifier`` the desk sees: queues notices, delivers them in a thread."""

    def __init__(
        self,
        senders: list[Sender],
        *,
        attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.senders = senders
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self._queue: queue.Queue[Notice | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.sent = 0
        self.retries = 0
        self.failed = 0
        self.last_error: str | None = None
        self.elsewhere: dict[str, Any] | None = None  # see ``status``

    def notify(self, notice: Notice) -> None:
        self._queue.put(notice)

    def deliver(self, notice: Notice) -> bool:
        """Delivers to every sender, retrying each with exponential backoff."""
        ok = True
        for sender in self.senders:
            for attempt in range(self.attempts):
                try:
                    sender.send(notice)
                except Exception as e:  # noqa: BLE001 - any failure is retried, then counted
                    error = f"{sender.name}: {type(e).__name__}: {e}"
                    if attempt + 1 < self.attempts:
                        with self._lock:
                            self.retries += 1
                        self.sleep(min(self.max_backoff, self.backoff * 2**attempt))
                        continue
                    with self._lock:
                        self.failed += 1
                        self.last_error = error
                    log.error("notify.failed", sender=sender.name, recipient=notice.recipient,
                              ticket=notice.number, attempts=self.attempts, error=error)
                    ok = False
                else:
                    with self._lock:
                        self.sent += 1
                    break
        return ok

    def drain(self) -> int:
        """Delivers what is queued, in the caller's thread (tests, ``sla-watch --once``)."""
        n = 0
        while True:
            try:
                notice = self._queue.get_nowait()
            except queue.Empty:
                return n
            if notice is not None:
                self.deliver(notice)
                n += 1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="notify", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        pending = self._queue.qsize()
        if pending:
            log.warning("notify.pending_at_shutdown", pending=pending)

    def _loop(self) -> None:
        while True:
            notice = self._queue.get()
            if notice is None:
                return
            self.deliver(notice)

    def status(self) -> dict[str, Any]:
        """This dispatcher's counts, plus those of ``serve``'s projections worker process,
        which sends the SLA watcher's notices (``elsewhere``, its last report, ADR 0038)."""
        other = self.elsewhere or {}
        return {
            "senders": [s.name for s in self.senders],
            "queued": self._queue.qsize() + int(other.get("queued", 0)),
            "sent": self.sent + int(other.get("sent", 0)),
            "retries": self.retries + int(other.get("retries", 0)),
            "failed": self.failed + int(other.get("failed", 0)),
            "last_error": self.last_error or other.get("last_error"),
        }
