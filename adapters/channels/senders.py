"""The channels a notice goes out on (ADR 0059): SMTP, the WeChat Work and DingTalk group
robots, and the generic webhook. Each ``send`` delivers one message or raises."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from datetime import UTC, datetime
from typing import Any

LOOP = "opsledger"  # the X-Loop value: mail intake refuses what carries it (ADR 0057)


def mail_domain(mail_from: str) -> str:
    """The domain of ``OPSLEDGER_MAIL_FROM`` (the right side of Message-IDs, contract 1)."""
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "opsledger.localhost"


def message_id(number: str, notice_id: str, domain: str) -> str:
    """``<SR-YYYYMMDD-NNN.<notice-id>@domain>`` (contract 1 of issue 19)."""
    return f"<{number}.{notice_id}@{domain}>" if number else f"<{notice_id}@{domain}>"


class SmtpChannel:
    """Mails through the relay ``host:port`` (``OPSLEDGER_SMTP_RELAY``), From ``mail_from``."""

    name = "email"

    def __init__(self, relay: str, mail_from: str, timeout: float = 10.0) -> None:
        host, _, port = relay.rpartition(":")
        self.host, self.port = (host or relay), int(port or 25) if host else 25
        self.mail_from = mail_from
        self.domain = mail_domain(mail_from)
        self.timeout = timeout

    def message(self, *, to: str, subject: str, text: str, number: str, notice_id: str,
                thread: str | None, language: str, html: str | None = None) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.mail_from if "<" in self.mail_from else formataddr(
            ("opsledger", self.mail_from))
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = message_id(number, notice_id, self.domain)
        if thread and thread != notice_id:
            root = message_id(number, thread, self.domain)
            msg["In-Reply-To"] = root
            msg["References"] = root
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Loop"] = f"{LOOP}@{self.domain}"
        msg["X-Auto-Response-Suppress"] = "All"
        msg.set_content(text, charset="utf-8")
        if html:
            msg.add_alternative(html, subtype="html", charset="utf-8")
        msg["Content-Language"] = language  # after the content, which resets Content-* headers
        return msg

    def send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)


def post_json(url: str, body: dict[str, Any], timeout: float) -> bytes:
    """POSTs ``body``; any answer but 2xx (or none in ``timeout`` s) raises."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "opsledger"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured
        if not 200 <= response.status < 300:
            raise OSError(f"answered {response.status}")
        return bytes(response.read())


def _robot_answer(raw: bytes) -> None:
    """The robots answer 200 with ``{"errcode": 0, "errmsg": "ok"}``; another code is a failure."""
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        raise OSError(f"errcode {answer.get('errcode')}: {answer.get('errmsg')}")


class WecomChannel:
    """A WeChat Work (企业微信) group robot: ``{"msgtype": "markdown", "markdown": {"content"}}``."""

    name = "wecom"

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    @staticmethod
    def body(title: str, text: str) -> dict[str, Any]:
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n\n{text}"}}

    def send(self, url: str, title: str, text: str) -> None:
        _robot_answer(post_json(url, self.body(title, text), self.timeout))


class DingtalkChannel:
    """A DingTalk (钉钉) group robot: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``;
    with a signing secret, ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256 of
    ``timestamp\\nsecret`` keyed by the secret) go in the query."""

    name = "dingtalk"

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    @staticmethod
    def signed(url: str, secret: str, timestamp_ms: int | None = None) -> str:
        if not secret:
            return url
        ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        digest = hmac.new(secret.encode("utf-8"), f"{ts}\n{secret}".encode("utf-8"),
                          hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"

    @staticmethod
    def body(title: str, text: str) -> dict[str, Any]:
        return {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n\n{text}"}}

    def send(self, url: str, title: str, text: str, secret: str = "") -> None:
        _robot_answer(post_json(self.signed(url, secret), self.body(title, text), self.timeout))


class WebhookChannel:
    """The generic webhook (ADR 0016): the notice as JSON."""

    name = "webhook"

    def __init__(self, timeout: float = 2.0) -> None:
        self.timeout = timeout

    def send(self, url: str, body: dict[str, Any]) -> None:
        post_json(url, body, self.timeout)
