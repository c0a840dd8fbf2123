"""Settings: the only place that reads environment variables (see README, "Configuration")."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from adapters.inputs.numbers import MAX_WHOLE, NotAWholeNumber, whole_number
from domain.ci import DEFAULT_CLASSES  # ADR 0063
from domain.priority import DEFAULT_MATRIX, Priority, PriorityMatrix

DEFAULT_DATABASE_URL = "sqlite:///./var/opsledger.sqlite3"
RATE_UNITS = ("second", "minute", "hour", "day")
PASSWORD_COSTS = ("owasp", "test")  # ADR 0078, application.passwords.COSTS


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" | "postgres" | "memory"
    path: str = ""  # sqlite
    dbname: str = ""
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    schema: str = ""

    @property
    def conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            dbname=self.dbname,
            host=self.host or None,
            port=self.port,
            user=self.user or None,
            password=self.password or None,
        )


def parse_database_url(url: str) -> Database:
    """``sqlite:///relative/path.sqlite3`` or ``sqlite:////absolute/path.sqlite3`` (the
    SQLAlchemy convention: what follows the third slash is the path),
    ``postgresql://u:p@h:port/db?schema=s``, or ``memory://`` (nothing kept; tests, demos)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        return Database(kind="memory")
    if scheme == "sqlite":
        if not url.lower().startswith("sqlite:///"):
            raise SettingsError(f"use sqlite:///relative/path or sqlite:////absolute/path, not {url!r}")
        path = unquote(url[len("sqlite:///") :].split("?", 1)[0])
        if not path or path.endswith("/"):
            raise SettingsError(f"no file in database URL {url!r}")
        return Database(kind="sqlite", path=path)
    if scheme in ("postgresql", "postgres"):
        query = parse_qs(parts.query)
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname:
            raise SettingsError(f"no database name in {url!r}")
        return Database(
            kind="postgres",
            dbname=dbname,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            schema=(query.get("schema") or [""])[0],
        )
    raise SettingsError(
        f"unsupported database URL {url!r}: use sqlite:///path, postgresql://… or memory://"
    )


@dataclass(frozen=True)
class ImapMailbox:
    """The fault mailbox ``opsledger mail-poll`` reads (ADR 0058)."""

    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    security: str = "starttls"  # "tls" (imaps://) | "starttls" (imap://) | "none" (?tls=off)
    processed_folder: str = "Processed"  # "" : only flag \Seen, leave the message in place
    ca_file: str = ""  # a private CA's certificates (PEM) to trust besides the system's


def parse_imap_url(url: str, *, password: str = "", processed_folder: str = "Processed",
                   ca_file: str = "") -> ImapMailbox:
    """``imaps://user:pass@host[:993]/FOLDER`` (TLS), ``imap://user:pass@host[:143]/FOLDER``
    (STARTTLS, required), ``imap://…/FOLDER?tls=off`` (no TLS: a server on this machine).
    The user and password are percent-encoded; ``password`` (OPSLEDGER_IMAP_PASSWORD) wins
    over one in the URL; the folder defaults to INBOX."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps"):
        raise SettingsError(f"OPSLEDGER_IMAP_URL must be imaps://… or imap://…, not {url!r}")
    tls = (parse_qs(parts.query).get("tls") or ["on"])[0].lower()
    if tls not in ("on", "off"):
        raise SettingsError(f"OPSLEDGER_IMAP_URL: tls must be on or off, not {tls!r}")
    if scheme == "imaps" and tls == "off":
        raise SettingsError("OPSLEDGER_IMAP_URL: imaps:// is TLS; use imap://…?tls=off for none")
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"OPSLEDGER_IMAP_URL: bad port in {url!r}") from None
    user = unquote(parts.username or "")
    if not parts.hostname or not user:
        raise SettingsError(f"OPSLEDGER_IMAP_URL needs a user and a host: {url!r}")
    return ImapMailbox(
        host=parts.hostname, port=port or (993 if scheme == "imaps" else 143), user=user,
        password=password or unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        security="tls" if scheme == "imaps" else "starttls" if tls == "on" else "none",
        processed_folder="" if processed_folder.strip().lower() == "none" else processed_folder,
        ca_file=ca_file)


def load_matrix(path: str | None) -> PriorityMatrix:
    """A JSON file: {"p1_from": 5, "p2_from": 3, "cells": [["very_urgent","all","not_important","P1"], ...]}."""
    if not path:
        return DEFAULT_MATRIX
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = {(u, m, i): Priority(p) for u, m, i, p in data.get("cells", [])}
    return PriorityMatrix(
        p1_from=int(data.get("p1_from", DEFAULT_MATRIX.p1_from)),
        p2_from=int(data.get("p2_from", DEFAULT_MATRIX.p2_from)),
        cells=cells,
    )


def _whole(value: str | None, name: str, *, default: int, low: int = 0,
           high: int = MAX_WHOLE) -> int:
    """A whole number from the environment (``adapters.inputs.numbers``: ASCII digits, bounded)."""
    if value is None or not value.strip():
        return default
    try:
        return whole_number(value.strip(), low=low, high=high)
    except NotAWholeNumber as e:
        raise SettingsError(f"{name} must be a whole number ({e.reason}), not {value!r}") from None


def _seconds(value: str | None, name: str, *, default: float) -> float:
    """A positive number of seconds (``0.5``, ``60``) from the environment."""
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        raise SettingsError(f"{name} must be a number of seconds from 0 to 86400, not {value!r}")
    return seconds


def listen_address(text: str, name: str) -> tuple[str, int] | None:
    """``host:port`` (``[::1]:2525`` for IPv6) as (host, port); None for "" (off)."""
    text = text.strip()
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        number = whole_number(port, low=0, high=65535) if sep and host else -1
    except NotAWholeNumber:
        number = -1
    if number < 0:
        raise SettingsError(f"{name} must be host:port (e.g. 127.0.0.1:2525), not {text!r}")
    return host, number


def _auto_flag(value: str | None, name: str) -> bool | None:
    """``1``/``0`` (yes/no, true/false, on/off) or ``auto`` (or unset): ``None``."""
    text = (value or "auto").strip().lower()
    if text in ("1", "true", "yes", "y", "on"):
        return True
    if text in ("0", "false", "no", "n", "off"):
        return False
    if text == "auto":
        return None
    raise SettingsError(f"{name} must be 1, 0 or auto, not {value!r}")


def _hours(value: str | None, name: str, *, default: float) -> float:
    """A number of hours from 0 to 8760 (a year); unset or empty: ``default``."""
    if value is None or not value.strip():
        return default
    try:
        hours = float(value)
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= 8760:
        raise SettingsError(f"{name} must be a number of hours from 0 to 8760, not {value!r}")
    return hours


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: str | None = None
    timezone: str = "Asia/Shanghai"
    log_level: str = "info"
    log_json: bool | None = None  # None: JSON when stdout is not a terminal
    priority_matrix: PriorityMatrix = field(default=DEFAULT_MATRIX)
    projection_batch_size: int = 5000
    projection_poll_seconds: float = 0.5
    read_your_writes_seconds: float = 5.0
    max_body_bytes: int = 1024 * 1024
    sqlite_synchronous: str = "NORMAL"  # ADR 0012
    gil_switch_seconds: float = 0.0005  # ADR 0012 (Python's default is 0.005)
    # ADR 0015: on a priority change, "same_start" (from reported_at, pauses kept) or
    # "restart" (from the time of the change).
    sla_recompute: str = "same_start"
    # ADR 0016: the SLA watcher inside ``serve`` (0 turns it off) and the webhook for notices.
    sla_watch_seconds: float = 15.0
    notify_webhook_url: str | None = None
    notify_timeout_seconds: float = 2.0
    # ADR 0037: requests per token ("100/second", "/minute", "/hour", "/day"), or "off".
    rate_limit: str = "100/second"
    # ADR 0057: the SMTP (and LMTP) listener of the fault mailbox inside ``serve`` ("host:port";
    # "": off), the sender's domain → customer map ("acme.com=ACME,example.cn=EXAMPLE"), the
    # customer of an unknown sender ("": the sender's domain) and the largest message taken.
    smtp_listen: str = ""
    lmtp_listen: str = ""
    mail_customers: str = ""
    mail_default_customer: str = ""
    mail_max_bytes: int = 25 * 1024 * 1024
    # ADR 0030: the Ed25519 key that signs published chain heads and bundles (a PEM file path
    # or base64 of 32 raw bytes); "" when heads go unsigned.
    audit_signing_key: str = ""
    # ADR 0038: ``serve`` keeps its read models, the SLA watcher and the routine follower in a
    # supervised child process (True) or a thread (False); None ("auto"): a child process on
    # PostgreSQL, where it measured faster, a thread on SQLite, where it did not.
    projections_process: bool | None = None
    # ADR 0039: ``serve`` as this many HTTP worker processes on one port (1: one process).
    workers: int = 1
    # ADR 0039: run ticket commands on the event loop instead of a worker thread; None: auto.
    inline_commands: bool | None = None
    # ADR 0049: the console's cookies carry ``Secure`` (set it behind HTTPS), and the secret
    # that signs its CSRF tokens (unset: one kept in the store's key table, shared by workers).
    secure_cookies: bool = False
    console_secret: str = ""
    # ADR 0059: the notice outbox: who gets what (a TOML or JSON file; "" = built-in rules),
    # the SMTP relay (host:port; "" = no mail), the From address, the public base URL of the
    # portal's links, and the sender's attempts and first retry delay (doubling).
    notice_rules: str = ""
    smtp_relay: str = ""
    mail_from: str = "opsledger@opsledger.localhost"
    public_url: str = ""
    notice_attempts: int = 8
    notice_retry_seconds: float = 30.0
    # ADR 0060: the least notice of planned maintenance (the source documents' 48 hours).
    announcement_lead_hours: float = 48.0
    # ADR 0063: the classes a configuration item may have (``OPSLEDGER_CI_CLASSES``, comma-
    # separated; unset: ``domain.ci.DEFAULT_CLASSES``) and the repeat-fault rule: the same CI
    # in ``ci_repeat_tickets`` tickets within ``ci_repeat_days`` days suggests a problem.
    ci_classes: tuple[str, ...] = DEFAULT_CLASSES
    ci_repeat_tickets: int = 3
    ci_repeat_days: int = 30
    # ADR 0056: the largest uploaded file, and where a SQLite deployment keeps the files
    # ("": a directory beside the database file, ``<database>.blobs``).
    attachment_max_bytes: int = 20 * 1024 * 1024
    blob_dir: str = ""
    # ADR 0058: the mailbox ``opsledger mail-poll`` reads (unset: none), the password (instead
    # of one in the URL), where processed messages go ("none": only flagged \Seen), how often
    # to look when the server has no IDLE (and at the latest with it), a private CA file.
    imap_url: str = ""
    imap_password: str = ""
    imap_processed_folder: str = "Processed"
    imap_poll_seconds: float = 60.0
    imap_ca_file: str = ""
    # ADR 0070: a PostgreSQL hot standby of the store's database that serves the read models'
    # queries (lists, queues, search, reports); "": everything on the primary.
    read_replica_url: str = ""
    # ADR 0078: the argon2id cost of new console password hashes: "owasp" (19 MiB, 2 passes) or
    # "test" (1 MiB, 1 pass: test deployments and the test suite only). Hashes made at one
    # cost still verify at the other (argon2 keeps the parameters in the hash).
    password_cost: str = "owasp"

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= 64:
            raise SettingsError(f"OPSLEDGER_WORKERS must be a whole number from 1 to 64, not {self.workers!r}")
        if self.sla_recompute not in ("same_start", "restart"):
            raise SettingsError(
                f"OPSLEDGER_SLA_RECOMPUTE must be same_start or restart, not {self.sla_recompute!r}")
        _ = self.rate_limit_rule  # a bad OPSLEDGER_RATE_LIMIT fails at start, not later
        _ = (self.smtp_address, self.lmtp_address, self.mail_customer_map)  # ADR 0057: likewise
        _ = self.read_replica  # ADR 0070: likewise
        if self.password_cost not in PASSWORD_COSTS:
            raise SettingsError(f"OPSLEDGER_PASSWORD_COST must be {' or '.join(PASSWORD_COSTS)}, "
                                f"not {self.password_cost!r}")

    @property
    def rate_limit_rule(self) -> tuple[str, int] | None:
        """``rate_limit`` as (unit, requests), or None when "off"."""
        text = self.rate_limit.strip().lower()
        if text == "off":
            return None
        count, _, unit = text.partition("/")
        try:
            requests = whole_number(count, low=1)
        except NotAWholeNumber:
            requests = 0
        if requests < 1 or unit not in RATE_UNITS:
            raise SettingsError(
                f"OPSLEDGER_RATE_LIMIT must be like 100/second (per {', '.join(RATE_UNITS)}) "
                f"or off, not {self.rate_limit!r}")
        return unit, requests

    @functools.cached_property
    def commands_inline(self) -> bool:
        """Whether commands run on the event loop (ADR 0039). Auto: yes, on every store (ADR
        0042: on PostgreSQL too, where a command in a thread held the number lock through
        the interpreter lock's hand-overs)."""
        if self.inline_commands is not None:
            return self.inline_commands
        return True

    @property
    def smtp_address(self) -> tuple[str, int] | None:
        """``smtp_listen`` as (host, port); None when off (ADR 0057)."""
        return listen_address(self.smtp_listen, "OPSLEDGER_SMTP_LISTEN")

    @property
    def lmtp_address(self) -> tuple[str, int] | None:
        return listen_address(self.lmtp_listen, "OPSLEDGER_LMTP_LISTEN")

    @property
    def mail_customer_map(self) -> dict[str, str]:
        """``mail_customers`` as {domain: customer} (domains in lower case)."""
        found: dict[str, str] = {}
        for item in self.mail_customers.split(","):
            if not item.strip():
                continue
            domain, sep, customer = item.partition("=")
            domain, customer = domain.strip().lower().lstrip("@"), customer.strip()
            if not sep or not domain or not customer:
                raise SettingsError("OPSLEDGER_MAIL_CUSTOMERS must be like "
                                    f"acme.com=ACME,example.cn=EXAMPLE, not {item.strip()!r}")
            found[domain] = customer
        return found

    @property
    def database(self) -> Database:
        return parse_database_url(self.database_url)

    @property
    def read_replica(self) -> Database | None:
        """The hot standby the read models are read from (ADR 0070), None when not set. Only
        beside a PostgreSQL store: the standby replicates the primary's tables."""
        if not self.read_replica_url:
            return None
        replica = parse_database_url(self.read_replica_url)
        if replica.kind != "postgres" or self.database.kind != "postgres":
            raise SettingsError("OPSLEDGER_READ_REPLICA_URL must be a postgresql:// URL of a hot "
                                "standby of the PostgreSQL store (OPSLEDGER_DATABASE_URL)")
        return replica

    @property
    def imap(self) -> ImapMailbox | None:
        """The fault mailbox of ``opsledger mail-poll`` (ADR 0058), None when not configured."""
        if not self.imap_url:
            return None
        return parse_imap_url(self.imap_url, password=self.imap_password,
                              processed_folder=self.imap_processed_folder,
                              ca_file=self.imap_ca_file)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        log_json = env.get("OPSLEDGER_LOG_JSON")
        settings = cls(
            database_url=env.get("OPSLEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=env.get("OPSLEDGER_HOST") or "127.0.0.1",
            port=_whole(env.get("OPSLEDGER_PORT"), "OPSLEDGER_PORT", default=8000, low=1,
                        high=65535),
            admin_token=env.get("OPSLEDGER_ADMIN_TOKEN") or None,
            timezone=env.get("OPSLEDGER_TIMEZONE") or "Asia/Shanghai",
            smtp_listen=env.get("OPSLEDGER_SMTP_LISTEN") or "",
            lmtp_listen=env.get("OPSLEDGER_LMTP_LISTEN") or "",
            mail_customers=env.get("OPSLEDGER_MAIL_CUSTOMERS") or "",
            mail_default_customer=env.get("OPSLEDGER_MAIL_DEFAULT_CUSTOMER") or "",
            mail_max_bytes=_whole(env.get("OPSLEDGER_MAIL_MAX_BYTES"), "OPSLEDGER_MAIL_MAX_BYTES",
                                  default=25 * 1024 * 1024, low=1024),
            log_level=(env.get("OPSLEDGER_LOG_LEVEL") or "info").lower(),
            log_json=None if log_json is None else log_json.lower() in ("1", "true", "yes", "y"),
            priority_matrix=load_matrix(env.get("OPSLEDGER_PRIORITY_MATRIX")),
            sqlite_synchronous=(env.get("OPSLEDGER_SQLITE_SYNCHRONOUS") or "NORMAL").upper(),
            gil_switch_seconds=float(env.get("OPSLEDGER_GIL_SWITCH_SECONDS") or 0.0005),
            sla_recompute=(env.get("OPSLEDGER_SLA_RECOMPUTE") or "same_start").strip().lower(),
            sla_watch_seconds=float(env.get("OPSLEDGER_SLA_WATCH_SECONDS") or 15),
            notify_webhook_url=env.get("OPSLEDGER_NOTIFY_WEBHOOK_URL") or None,
            rate_limit=env.get("OPSLEDGER_RATE_LIMIT") or "100/second",
            audit_signing_key=env.get("OPSLEDGER_AUDIT_SIGNING_KEY") or "",
            projections_process=_auto_flag(env.get("OPSLEDGER_PROJECTIONS_PROCESS"),
                                           "OPSLEDGER_PROJECTIONS_PROCESS"),
            workers=_whole(env.get("OPSLEDGER_WORKERS"), "OPSLEDGER_WORKERS", default=1),
            inline_commands=_auto_flag(env.get("OPSLEDGER_INLINE_COMMANDS"), "OPSLEDGER_INLINE_COMMANDS"),
            secure_cookies=bool(_auto_flag(env.get("OPSLEDGER_SECURE_COOKIES"),
                                           "OPSLEDGER_SECURE_COOKIES")),
            console_secret=env.get("OPSLEDGER_CONSOLE_SECRET") or "",
            notice_rules=env.get("OPSLEDGER_NOTICE_RULES") or "",
            smtp_relay=env.get("OPSLEDGER_SMTP_RELAY") or "",
            mail_from=env.get("OPSLEDGER_MAIL_FROM") or "opsledger@opsledger.localhost",
            public_url=env.get("OPSLEDGER_PUBLIC_URL") or "",
            notice_attempts=_whole(env.get("OPSLEDGER_NOTICE_ATTEMPTS"),
                                   "OPSLEDGER_NOTICE_ATTEMPTS", default=8, low=1, high=100),
            notice_retry_seconds=float(env.get("OPSLEDGER_NOTICE_RETRY_SECONDS") or 30),
            announcement_lead_hours=_hours(env.get("OPSLEDGER_ANNOUNCEMENT_LEAD_HOURS"),
                                           "OPSLEDGER_ANNOUNCEMENT_LEAD_HOURS", default=48.0),
            ci_classes=tuple(c.strip().lower() for c in (
                env.get("OPSLEDGER_CI_CLASSES") or "").split(",") if c.strip()) or DEFAULT_CLASSES,
            ci_repeat_tickets=_whole(env.get("OPSLEDGER_CI_REPEAT_TICKETS"),
                                     "OPSLEDGER_CI_REPEAT_TICKETS", default=3, low=2, high=1000),
            ci_repeat_days=_whole(env.get("OPSLEDGER_CI_REPEAT_DAYS"), "OPSLEDGER_CI_REPEAT_DAYS",
                                  default=30, low=1, high=3660),
            attachment_max_bytes=_whole(env.get("OPSLEDGER_ATTACHMENT_MAX_BYTES"),
                                        "OPSLEDGER_ATTACHMENT_MAX_BYTES",
                                        default=20 * 1024 * 1024, low=1),
            blob_dir=env.get("OPSLEDGER_BLOB_DIR") or "",
            imap_url=env.get("OPSLEDGER_IMAP_URL") or "",
            imap_password=env.get("OPSLEDGER_IMAP_PASSWORD") or "",
            imap_processed_folder=env.get("OPSLEDGER_IMAP_PROCESSED_FOLDER") or "Processed",
            imap_poll_seconds=_seconds(env.get("OPSLEDGER_IMAP_POLL_SECONDS"),
                                       "OPSLEDGER_IMAP_POLL_SECONDS", default=60.0),
            imap_ca_file=env.get("OPSLEDGER_IMAP_CA_FILE") or "",
            read_replica_url=env.get("OPSLEDGER_READ_REPLICA_URL") or "",
            password_cost=(env.get("OPSLEDGER_PASSWORD_COST") or "owasp").strip().lower(),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings  # type: ignore[arg-type]
