"""A mail's bytes → what intake needs of it (issue 19 item 1, ADR 0057).

Standard library only (``email`` with its ``compat32`` policy for the structure, ``html.parser``
for HTML-only mail). Real mail from Chinese clients is often mislabelled: ``gb2312`` (and
``gbk``, ``cp936``) is decoded as ``gb18030``, its superset, so a character outside GB2312
(镕, 喆, …) is not lost; undeclared 8-bit text is tried as UTF-8, then GB18030. Nothing here
raises for bad input but ``MalformedMail`` (not a mail at all); every decoding falls back to
replacement characters rather than fail.
"""

from __future__ import annotations

import codecs
import email
import email.header
import email.message
import email.utils
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from html.parser import HTMLParser

#: Charsets decoded as another (their superset, or what the label means in practice).
CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "euc-cn": "gb18030", "x-euc-cn": "gb18030", "csgb2312": "gb18030", "gb_2312-80": "gb18030",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8",
    "unknown-8bit": "utf-8", "x-unknown": "utf-8",
}

#: An SR number anywhere (contract 1 of issue 19: ``In-Reply-To``/``References``).
SR_NUMBER = re.compile(r"SR-\d{8}-\d{3,}", re.IGNORECASE)
#: An SR number in a subject: in brackets, as every mail we send has it.
SUBJECT_SR = re.compile(r"\[\s*(SR-\d{8}-\d{3,})\s*\]", re.IGNORECASE)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BLANKS = re.compile(r"\n{3,}")


class MalformedMail(ValueError):
    """The bytes are not a mail (no header at all, nothing readable)."""


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    sender_name: str
    sender_address: str  # lower case; "" when the mail has no readable From
    subject: str  # one line, RFC 2047 decoded
    text: str  # the text body (HTML converted), control characters removed
    attachments: tuple[MailAttachment, ...]
    message_id: str  # without the angle brackets; "" when none
    in_reply_to: str
    references: str
    auto_submitted: str  # lower case, "" when absent
    precedence: str  # lower case, "" when absent
    x_loop: tuple[str, ...]
    received_count: int
    bounce: bool  # a delivery status report (multipart/report) or from MAILER-DAEMON
    autoreply_headers: tuple[str, ...] = field(default=())  # X-Autoreply and the like, present

    def ticket_numbers(self) -> tuple[str, ...]:
        """The SR numbers this mail answers: ``In-Reply-To`` first, then ``References``
        (newest last, so read backwards), then ``[SR-…]`` in the subject (contract 1)."""
        found: list[str] = []
        found += SR_NUMBER.findall(self.in_reply_to)
        found += reversed(SR_NUMBER.findall(self.references))
        found += SUBJECT_SR.findall(self.subject)
        return tuple(dict.fromkeys(n.upper() for n in found))


# ------------------------------------------------------------------ decoding text


def codec_for(charset: str | None) -> str:
    name = (charset or "").strip().strip('"').lower()
    return CHARSET_ALIASES.get(name, name)


#: Python codecs that are not a mail's charset, whatever a message claims (they read escapes
#: and domain names, and may hand back lone surrogates).
NOT_CHARSETS = frozenset({"unicode_escape", "raw_unicode_escape", "idna", "punycode"})


def _text_codec(name: str) -> str | None:
    try:
        found = codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return None
    return None if found in NOT_CHARSETS else found


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """``data`` as text: its declared ``charset`` (aliases applied), else UTF-8, else
    GB18030; never raises (replacement characters as the last resort), never a lone
    surrogate."""
    tried: list[str] = []
    for name in (codec_for(charset), "utf-8", "gb18030"):
        codec = _text_codec(name) if name else None
        if codec is None or codec in tried:
            continue
        tried.append(codec)
        try:
            text = data.decode(codec)
        except (LookupError, UnicodeError, ValueError, TypeError):
            continue
        return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text
    return data.decode("utf-8", errors="replace")


def _raw(text: str) -> bytes:
    """A raw header value back to its bytes (the parser keeps 8-bit bytes as surrogates)."""
    return text.encode("utf-8", errors="surrogateescape")


def decode_header(value: str | None) -> str:
    """An RFC 2047 header value (or raw 8-bit bytes, as many Chinese clients send) as text."""
    if not value:
        return ""
    try:
        chunks = email.header.decode_header(value)
    except Exception:  # noqa: BLE001 - a broken encoded word: read it as it stands
        chunks = [(value, None)]
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(decode_bytes(_raw(chunk)) if _has_surrogates(chunk) else chunk)
        else:
            data = chunk if charset else _from_latin1(chunk)
            out.append(decode_bytes(data, charset))
    return "".join(out)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def _from_latin1(chunk: bytes) -> bytes:
    """``decode_header`` gives unencoded parts beside encoded words as bytes made from the
    string with ``raw-unicode-escape``; surrogates of 8-bit bytes come back as escapes."""
    try:
        text = chunk.decode("raw-unicode-escape")
    except UnicodeDecodeError:
        return chunk
    return _raw(text) if _has_surrogates(text) else text.encode("utf-8", errors="replace")


def one_line(text: str, limit: int = 0) -> str:
    line = " ".join(_LINE_CONTROL.sub(" ", text).split())
    return line[:limit] if limit else line


def clean_text(text: str) -> str:
    """Line ends as ``\\n``, no control characters but tab and newline, at most two blank
    lines in a row, no blank edges."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip()


# ------------------------------------------------------------------------- HTML


class _TextOfHtml(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3",
                        "h4", "h5", "h6", "blockquote", "pre", "hr", "section", "article",
                        "header", "footer", "dt", "dd", "address"})
    SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "pre":
            self.pre += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self.parts.append("\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and href.startswith(("http://", "https://")) and href not in "".join(
                    self.parts[-3:]):
                self.parts.append(f" ({href})")
        if tag in self.BLOCKS and tag not in ("li", "tr", "dt", "dd"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.parts.append(data if self.pre else re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: blocks on their own lines, list items as ``- ``,
    links' addresses after their words, scripts and styles left out."""
    parser = _TextOfHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; keep what was read so far
        pass
    lines = [line.strip() for line in "".join(parser.parts).replace("\xa0", " ").split("\n")]
    return clean_text("\n".join(lines))


# ----------------------------------------------------------------- quoted replies

_QUOTE_HEADS = (
    re.compile(r"^-{2,}\s*(original message|原始邮件|原邮件|回复的原邮件|forwarded message)\s*-{2,}",
               re.IGNORECASE),
    re.compile(r"^on .{3,200} wrote:\s*$", re.IGNORECASE),
    re.compile(r"^在.{3,200}(写道|寫道)[:：]\s*$"),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^(from|发件人|寄件者)\s*[:：].+", re.IGNORECASE),
)


def new_text(text: str) -> str:
    """A reply's new words: the text before the quoted mail it answers (a ``-----Original
    Message-----``/``-----原始邮件-----`` line, ``On … wrote:``/``在…写道：``, an Outlook
    header block, or the first run of ``>`` lines to the end). The whole text when that
    would leave nothing."""
    lines = text.split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if any(p.match(stripped) for p in _QUOTE_HEADS):
            cut = i
            break
        if stripped.startswith(">") and all(
                not rest.strip() or rest.lstrip().startswith(">") for rest in lines[i:]):
            cut = i
            break
    kept = "\n".join(lines[:cut]).strip()
    return kept or text


# ------------------------------------------------------------------------ parsing


def _parts(part: Message) -> list[Message]:
    """The leaves of the MIME tree; an attached mail (``message/rfc822``) is one leaf."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return [part]
    out: list[Message] = []
    payload = part.get_payload()
    for sub in payload if isinstance(payload, list) else []:
        out += _parts(sub)
    return out


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():  # type: ignore[attr-defined]
        if key.lower() == name.lower():
            return str(value)
    return None


def _raw_headers(part: Message, name: str) -> list[str]:
    return [str(v) for k, v in part.raw_items() if k.lower() == name.lower()]  # type: ignore[attr-defined]


def filename_of(part: Message) -> str:
    """The part's file name: RFC 2231 (``filename*=gb2312''…``, continuations) or RFC 2047
    inside the quotes (as Chinese clients write it), from ``Content-Disposition`` or the
    older ``Content-Type; name=``; a base name only, no control characters."""
    old = email.message.Message()  # compat32: parameters as raw as they came
    for header in ("content-disposition", "content-type"):
        raw = _raw_header(part, header)
        if raw is None:
            continue
        old[header] = raw
    value = None
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        try:
            value = old.get_param(param, header=header)
        except Exception:  # noqa: BLE001 - a broken parameter list
            value = None
        if value:
            break
    if isinstance(value, tuple):  # RFC 2231: (charset, language, text as latin-1)
        charset, _, text = value
        name = decode_bytes(_raw(text).decode("utf-8", "surrogateescape").encode(
            "latin-1", errors="replace"), charset or None)
    elif value:
        name = decode_header(email.utils.unquote(str(value)))
    else:
        name = ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return one_line(name, 255).strip(". ") or ""


def _content_of(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            return inner.as_bytes(policy=policy.SMTP)  # type: ignore[call-arg]
        return b""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken base64 and the like: the bytes as sent
        data = None
    if data is None:
        raw = part.get_payload()
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return bytes(data)


def _text_of(part: Message) -> str:
    return decode_bytes(_content_of(part), part.get_content_charset())


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    if part.get_content_maintype() == "text" and part.get_content_type() in ("text/plain",
                                                                             "text/html"):
        return bool(filename_of(part)) and disposition != "inline"
    return True  # an image, a PDF, an attached mail, …: a file


def parse(raw: bytes) -> ParsedMail:
    """The mail ``raw`` as ``ParsedMail``; ``MalformedMail`` when it is not one."""
    if not raw or not raw.strip():
        raise MalformedMail("empty message")
    try:
        # compat32: headers stay raw strings, decoded here (``decode_header``); the modern
        # policy parsed Content-Type again on every look (half the time of a message).
        msg = email.message_from_bytes(raw, policy=policy.compat32)
    except Exception as e:  # noqa: BLE001 - the parser is lenient; this is rare
        raise MalformedMail(f"unreadable message: {type(e).__name__}") from None
    headers = [k.lower() for k, _ in msg.raw_items()]  # type: ignore[attr-defined]
    if not headers or not ({"from", "subject", "message-id", "date"} & set(headers)):
        raise MalformedMail("no mail headers (From, Subject, Message-ID or Date)")

    raw_from = _raw_header(msg, "from") or _raw_header(msg, "sender") or ""
    name, address = email.utils.parseaddr(raw_from.replace("\r", "").replace("\n", " "))
    if _has_surrogates(address):
        address = decode_bytes(_raw(address))
    address = one_line(address, 254).lower()
    if "@" not in address:
        address = ""
    name = one_line(decode_header(name), 200)

    plain: list[Message] = []
    html: list[Message] = []
    files: list[MailAttachment] = []
    for part in _parts(msg):
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html") and not _is_attachment(part):
            (plain if kind == "text/plain" else html).append(part)
            continue
        data = _content_of(part)
        filename = filename_of(part)
        if kind.startswith("multipart/") or (not data and not filename):
            continue
        if not filename:
            ext = ".eml" if kind == "message/rfc822" else (mimetypes.guess_extension(kind) or ".bin")
            filename = f"attachment-{len(files) + 1}{ext}"
        files.append(MailAttachment(filename=filename, content_type=kind, data=data))
    # Every inline text part (a client may split the body around a file), else the HTML.
    text = clean_text("\n\n".join(_text_of(p) for p in plain))
    if not text and html:
        text = clean_text("\n\n".join(html_to_text(_text_of(p)) for p in html))

    def header(name: str) -> str:
        return one_line(decode_header(_raw_header(msg, name)), 2000)

    message_id = header("message-id").strip().strip("<>").strip()
    kind = msg.get_content_type()
    return ParsedMail(
        sender_name=name,
        sender_address=address,
        subject=one_line(decode_header(_raw_header(msg, "subject")), 200),
        text=text,
        attachments=tuple(files),
        message_id=one_line(message_id, 900),
        in_reply_to=header("in-reply-to"),
        references=one_line(" ".join(decode_header(v) for v in _raw_headers(msg, "references")),
                            20000),
        auto_submitted=header("auto-submitted").lower(),
        precedence=header("precedence").lower(),
        x_loop=tuple(one_line(decode_header(v), 500).lower() for v in _raw_headers(msg, "x-loop")),
        received_count=headers.count("received"),
        bounce=(kind == "multipart/report"
                or address.split("@")[0] in ("mailer-daemon", "postmaster")),
        autoreply_headers=tuple(h for h in ("x-autoreply", "x-autorespond", "x-auto-response")
                                if h in headers),
    )


def fallback_id(raw: bytes) -> str:
    """The identity of a mail without a ``Message-ID``: the sha256 of its bytes."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()
