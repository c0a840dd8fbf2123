"""Mail intake through the SMTP listener of a real ``opsledger serve``, beside raw ticket
registrations over HTTP in the same run (issue 19, ADR 0057).

    PYTHONPATH=. .venv/bin/python -m bench.mail_intake [--messages 1000] [--connections 1,4]
        [--attachment-bytes 16384] [--store sqlite|postgres] [--pg-url URL] [--json PATH]

One ``opsledger serve`` on a fresh store with ``OPSLEDGER_SMTP_LISTEN`` (its SMTP gateway
thread beside uvicorn, as in production). For each level of ``--connections`` C:

* **mail**: ``--messages`` new messages, each a Chinese subject and body (UTF-8, base64) and one
  attachment of ``--attachment-bytes`` bytes (different bytes each time), sent by C clients,
  each on one SMTP connection kept open as an MTA keeps it (MAIL, RCPT, DATA per message). A
  message's time runs from MAIL to the ``250`` after DATA, which the gateway answers once the
  file is stored and the ticket is saved. Every answer must be ``registered``.
* **HTTP** (the baseline): as many ``POST /api/v1/tickets`` with the same titles and
  descriptions (no file: the JSON API's registration takes none), by C clients on keep-alive
  connections.

The two alternate in halves (mail, HTTP, mail, HTTP) so that both see the same machine. The
ratio printed is mail messages/s over HTTP registrations/s: what a message costs beyond a
registration (parsing, sealing and storing the file, its ``Attachment`` events, the SMTP
conversation). It is a benchmark, not a test (``tests/test_bench_smoke.py`` runs it tiny).
"""

from __future__ import annotations

import hashlib
import smtplib
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from bench.common import (BenchPostgres, bench_parser, clean_up, load_average, postgres_or_skip,
                          print_header, source_state, stop_on_sigterm, write_json)
from bench.http_commands import Dist, Server, free_port

TOKEN = "bench-mail-intake-admin-token"


def message(k: int, size: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"用户{k} <user{k}@bench-customer.example>"
    m["To"] = "helpdesk@ops.example"
    m["Subject"] = f"服务器告警 {k}：磁盘使用率超过 90%"
    m["Message-ID"] = f"<bench-{k}-{time.time_ns()}@bench-customer.example>"
    m.set_content(f"第 {k} 号主机磁盘使用率超过 90%，请尽快处理。\n附件为巡检单。", charset="utf-8",
                  cte="base64")
    seed = hashlib.sha256(str(k).encode()).digest()
    data = (seed * (size // len(seed) + 1))[:size]
    m.add_attachment(data, maintype="application", subtype="pdf", filename=f"巡检单-{k}.pdf")
    raw = m.as_bytes()
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def registration(k: int) -> dict[str, Any]:
    return {"customer": "bench-customer.example",
            "contact": {"name": f"用户{k}", "email": f"user{k}@bench-customer.example"},
            "channel": "email", "title": f"服务器告警 {k}：磁盘使用率超过 90%",
            "description": f"第 {k} 号主机磁盘使用率超过 90%，请尽快处理。\n附件为巡检单。"}


@dataclass
class Side:
    name: str
    count: int = 0
    seconds: float = 0.0
    failures: int = 0
    latency: Dist | None = None

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def run_clients(jobs: Sequence[int], clients: int, work: Any) -> tuple[list[float], int, float]:
    """``work(client_state, k) -> bool`` for every ``k`` of ``jobs``, split over ``clients``
    threads; (latencies in ms, failures, wall seconds)."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    parts = [jobs[i::clients] for i in range(clients)]

    def client(part: Sequence[int]) -> None:
        state: dict[str, Any] = {}
        try:
            for k in part:
                began = time.perf_counter()
                ok = work(state, k)
                ms = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(ms)
                    failures[0] += 0 if ok else 1
        finally:
            for opened in state.values():
                opened.close()

    threads = [threading.Thread(target=client, args=(p,)) for p in parts if p]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures[0], time.perf_counter() - began


class Smtp:
    def __init__(self, port: int) -> None:
        self.client = smtplib.SMTP("127.0.0.1", port, timeout=60)
        self.client.ehlo()

    def send(self, raw: bytes) -> tuple[int, str]:
        self.client.mail("monitor@bench-customer.example")
        self.client.rcpt("helpdesk@ops.example")
        code, text = self.client.data(raw)
        return code, text.decode()

    def close(self) -> None:
        try:
            self.client.quit()
        except smtplib.SMTPException:
            self.client.close()


def level(server: Server, smtp_port: int, clients: int, messages: int, size: int,
          offset: int) -> tuple[Side, Side, list[str]]:
    bodies = {k: message(k, size) for k in range(offset, offset + messages)}
    mail, http = Side("mail"), Side("http")
    refused: list[str] = []
    mail_ms: list[float] = []
    http_ms: list[float] = []

    def by_mail(state: dict[str, Any], k: int) -> bool:
        smtp = state.get("smtp") or state.setdefault("smtp", Smtp(smtp_port))
        code, text = smtp.send(bodies[k])
        if code != 250 or "registered" not in text:
            refused.append(f"{code} {text}")
            return False
        return True

    def by_http(state: dict[str, Any], k: int) -> bool:
        client = state.get("http") or state.setdefault("http", httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60))
        r = client.post("/api/v1/tickets", json=registration(k))
        return r.status_code == 201

    keys = list(bodies)
    halves = [keys[: len(keys) // 2], keys[len(keys) // 2:]]
    for half in halves:
        for side, work, sink in ((mail, by_mail, mail_ms), (http, by_http, http_ms)):
            ms, failed, seconds = run_clients(half, clients, work)
            sink += ms
            side.count += len(half) - failed
            side.failures += failed
            side.seconds += seconds
    mail.latency, http.latency = Dist.of(mail_ms), Dist.of(http_ms)
    return mail, http, refused


def run(kind: str, args: Any, tmp: Path) -> dict[str, Any] | None:
    pg = None
    if kind == "postgres":
        pg = postgres_or_skip(lambda: BenchPostgres(args.pg_url))
        if pg is None:
            return None
        url = pg.database("bench_mail")
    else:
        url = f"sqlite:///{tmp}/mail.sqlite3"
    smtp_port = free_port()
    server = Server(url, tmp, TOKEN, settings={
        "OPSLEDGER_SMTP_LISTEN": f"127.0.0.1:{smtp_port}", "OPSLEDGER_RATE_LIMIT": "off",
        "OPSLEDGER_SLA_WATCH_SECONDS": "0",
        "OPSLEDGER_MAIL_MAX_BYTES": str(max(25 * 1024 * 1024, 4 * args.attachment_bytes))})
    levels = []
    try:
        server.wait_healthy()
        # one untimed message and registration each: the first of each pays imports and caches
        level(server, smtp_port, 1, 2, args.attachment_bytes, offset=10_000_000)
        offset = 0
        for clients in args.connections:
            mail, http, refused = level(server, smtp_port, clients, args.messages,
                                        args.attachment_bytes, offset)
            offset += args.messages
            levels.append({"connections": clients, "mail": asdict(mail) | {
                "per_second": mail.per_second}, "http": asdict(http) | {
                "per_second": http.per_second}, "ratio": (
                mail.per_second / http.per_second if http.per_second else None),
                "refused": refused[:5]})
    finally:
        server.stop()
        if pg is not None:
            pg.close()
    return {"store": kind, "levels": levels}


def report(result: dict[str, Any], args: Any) -> None:
    print(f"\n{result['store']}: {args.messages} messages per level, one {args.attachment_bytes:,}-byte "
          "attachment each, beside as many POST /api/v1/tickets")
    print_header(f"{'conns':>5}  {'side':<6} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
                 f"{'failed':>6}")
    for lv in result["levels"]:
        for side in ("mail", "http"):
            s, d = lv[side], lv[side]["latency"]
            print(f"{lv['connections']:>5}  {side:<6} {s['per_second']:>8.1f} {d['p50']:>8.2f} "
                  f"{d['p95']:>8.2f} {d['p99']:>8.2f} {s['failures']:>6}")
        ratio = lv["ratio"]
        print(f"{'':>5}  ratio mail / HTTP registrations: "
              f"{ratio:.2f}" if ratio is not None else "n/a")
        for line in lv["refused"]:
            print(f"{'':>5}  refused: {line}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("bench.mail_intake", __doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--connections", default="1,4",
                        help="SMTP connections (and HTTP clients) at once, comma-separated levels")
    parser.add_argument("--attachment-bytes", type=int, default=16 * 1024)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.connections = [int(c) for c in str(args.connections).split(",") if c.strip()]
    stop_on_sigterm()
    print(f"bench.mail_intake  code: {source_state()}  load average: {load_average():.2f}")
    tmp = Path(tempfile.mkdtemp(prefix="opsledger-bench-mail-"))
    try:
        result = run(args.store, args, tmp)
    finally:
        clean_up(tmp)
    if result is None:
        return 0
    report(result, args)
    print(f"load average after: {load_average():.2f}")
    write_json(args.json, {"messages": args.messages, "attachment_bytes": args.attachment_bytes,
                           "code": source_state(), **result})
    failed = sum(lv["mail"]["failures"] + lv["http"]["failures"] for lv in result["levels"])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
