"""Hostile and broken mail never crashes the intake (ADR 0057): every fixture mangled at
random — bytes flipped, cut short, lines doubled, headers repeated, charsets and encodings
swapped for nonsense — is parsed or called malformed, and ``receive`` always answers a
receipt (it never raises) whose outcome says where the message went."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.container import build
from adapters.mail.intake import MailIntake
from adapters.mail.parse import MalformedMail, parse
from adapters.settings import Settings

FIXTURES = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "mail").glob("*.eml"))
SAMPLES = [p.read_bytes() for p in FIXTURES]
NONSENSE = [b"charset=x-no-such", b"charset=\"\"", b"boundary=\"\"", b"base64", b"quoted-printable",
            b"=?utf-8?B?!!!?=", b"=?gb2312?Q?=ZZ?=", b"\x00", b"\r", b"\n\n", b"--", b"filename*=",
            b"multipart/mixed; boundary=x", b"message/rfc822", b"\xff\xfe", b"In-Reply-To: <SR-20261207-001.x@y>"]


@st.composite
def mangled(draw: Any) -> bytes:
    raw = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "double"]))
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[at:]
        elif kind == "insert":
            raw[at:at] = draw(st.sampled_from(NONSENSE))
        elif kind == "double":
            end = raw.find(b"\n", at)
            if end > at:
                raw[at:at] = raw[at:end + 1]
    return bytes(raw)


@given(raw=mangled())
@settings(max_examples=300, deadline=None)
def test_the_parser_reads_or_calls_it_malformed(raw: bytes) -> None:
    try:
        mail = parse(raw)
    except MalformedMail:
        return
    assert "\x00" not in mail.text + mail.subject + mail.sender_name
    assert len(mail.subject) <= 200 and "\n" not in mail.subject
    assert all(a.filename and "/" not in a.filename for a in mail.attachments)


@pytest.fixture(scope="module")
def intake() -> Any:
    services = build(Settings(database_url="memory://", sla_watch_seconds=0))
    yield MailIntake(services)
    services.close()


@given(raw=mangled())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_receive_always_answers_a_receipt(intake: MailIntake, raw: bytes) -> None:
    receipt = intake.receive(raw, source="fuzz")
    assert receipt.outcome in ("registered", "appended", "duplicate", "quarantined")
    assert not receipt.reason.startswith("error:"), receipt.reason  # no bug kept it aside
    if receipt.outcome == "quarantined":
        assert receipt.reason and receipt.quarantine_id
        assert intake.quarantine.get(receipt.quarantine_id).raw == raw
    elif receipt.quarantine_id:  # a duplicate of a message kept before
        assert receipt.outcome == "duplicate" and receipt.reason.startswith("quarantined before")
    else:
        assert receipt.ticket and receipt.ticket.startswith("SR-")
