"""The test messages of the mail intake's tests (ADR 0057): a plain mail from a customer."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid


def message(subject: str = "服务器宕机", body: str = "机房 3 号机柜的服务器宕机", *,
            sender: str = "王喆 <wangzhe@acme.com>", msgid: str | None = None,
            **headers: str) -> EmailMessage:
    """``headers``: more header fields, ``_`` for ``-`` (``In_Reply_To=...``)."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "helpdesk@ops.example"
    m["Subject"] = subject
    m["Message-ID"] = msgid or make_msgid(domain="acme.com")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m
