"""Bodies of the notices' answers (ADR 0059)."""

from __future__ import annotations

from msgspec import Struct


class NoticeView(Struct, frozen=True):
    id: str
    rule: str  # registered, assigned, waiting_customer, resolved, public_note, sla_warning, …
    recipient: str  # contact | user:<id> | group:<name> | cab | webhook | address
    email: str | None  # the address of an ``address`` recipient (masked as contacts are)
    channel: str  # email | wecom | dingtalk | webhook
    number: str
    language: str
    status: str  # pending | sent | failed | dropped
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    created_at: str
    sent_at: str | None
    message_id: str | None  # the mail's Message-ID (e-mail only)


class NoticeList(Struct, frozen=True):
    items: list[NoticeView]
    count: int
