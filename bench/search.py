"""The desk's search (ADR 0050): ``GET /api/v1/search`` at ``--tickets`` tickets (100,000 by
default) on SQLite and PostgreSQL, beside baselines measured in the same run (issue 18).

    PYTHONPATH=. .venv/bin/python -m bench.search [--tickets 100000] [--stores sqlite,postgres]
        [--pg-url URL] [--samples 200] [--workers 2] [--json PATH]

1. Fill, fast: ``--tickets`` tickets built with the domain (``Ticket.register``, classify,
   assign, a work log for 3 in 5, a resolution for 2 in 5) from a vocabulary of places,
   devices and symptoms in Chinese and English, each with a unique asset tag (``ZC-000123``),
   an error code shared by about 100 tickets, a unique phone and e-mail; encoded by the
   application's mapper (contacts sealed) in ``--workers`` processes and written straight into
   the event table (``bench.scale``'s writers). Then every read model is caught up (timed), and
   the ticket search is rebuilt once more on its own (events/s: it reads the sealed contacts).
2. Measure against a real ``opsledger serve`` on that store, from one keep-alive
   ``http.client`` connection over loopback: the time from sending a request to having read
   the whole answer, so a figure is the server's time plus a loopback round trip
   (``GET /healthz``, measured beside them, is that floor). Requests are interleaved, every
   route once a round, ``--samples`` timed rounds after 30 untimed ones. The callers are a
   dispatcher (contacts searched: both indexes), an auditor (no contacts) and a requester
   (one customer's tickets). Query shapes, ``?kinds=ticket&limit=10`` unless named:

   * a ticket number (the one ticket first); an asset tag (one ticket);
   * a common Chinese word (打印机, about one ticket in ten) and two words (打印机 卡纸);
   * two-character words (卡纸, and 无果, which matches nothing: both through the index by
     their pairs), and two Latin letters that match nothing (qz: no index, the whole table is
     read -- the worst case);
   * an English word (timeout); an error code (ERR-0421, about 100 tickets);
   * a phone (the dispatcher; the auditor's same query, which does not search contacts);
   * the requester's 打印机; and every kind at once (``GET /api/v1/search?q=打印机``).

   Baselines in the same run, interleaved with them: ``GET /api/v1/tickets?limit=10`` (the JSON
   API's ticket list, newest first: a read with no search at all), and per query shape the
   same search done without the index in this process through the raw driver: a scan of the
   folded text (``instr``/``strpos`` of every term, ``ORDER BY seq DESC LIMIT 11``) -- what the
   trigram indexes save. Also in this process: the use case itself (``application.search``),
   the server's time without HTTP.

   Target (issue 18): search p99 ≤ 100 ms at 100k tickets.

It is a benchmark, not a test (``tests/test_bench_smoke.py`` runs it at a tiny size).
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import sys
import time
import unicodedata
import urllib.parse
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from adapters.container import Services, build
from adapters.settings import Settings
from adapters.stores.views_file import SUFFIX
from application.commands.users import IssueToken, RegisterUser
from application.search import Scope, search
from bench.common import (FilledStore, add_output_options, clean_up, each_store, print_header,
                          stores_parser, write_json)
from bench.console import Route, fetch, measure
from bench.http_commands import Client, Dist, Server, timed
from bench.rebuild import Store, open_store
from bench.scale import CHUNK, PostgresWriter, SQLiteWriter, disk_bytes
from domain.priority import Impact, Importance, Urgency
from domain.ticket import Channel, Contact, ProposedClassification, Ticket, TicketType
from projections.ticket_search.projection import contact_token
from projections.ticket_search.search import parse

TARGET_P99_MS = 100.0
WARMUP = 30
BASE = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
CUSTOMERS = ("华东电网调度中心", "上海市第六人民医院信息科", "浙江省农村信用社联合社", "苏州工业园区管委会",
             "南京地铁运营公司", "杭州市公安局指挥中心", "宁波港集团", "合肥高新区管委会")
PLACES = ("三楼门诊", "调度大厅", "财务室", "机房 A 区", "二楼会议室", "收费窗口", "档案室", "值班室",
          "营业厅", "指挥中心")
DEVICES = ("打印机", "交换机", "服务器", "防火墙", "ERP 系统", "邮件客户端", "VPN 客户端", "考勤机",
           "投影仪", "扫描仪")
SYMPTOMS = ("卡纸", "无法登录", "频繁闪断", "响应缓慢", "报错 500", "无法启动", "蓝屏", "断网",
            "无法打印", "时间不同步")
ENGLISH = ("Printer paper jam on tray 2", "VPN timeout after login", "Outlook cannot send mail",
           "Database connection timeout", "Switch port flapping", "Disk usage above 90%")
SYSTEMS = ("HP LaserJet 4250", "核心交换机 S7706", "HIS 门诊收费系统", "核心账务系统 (AS/400)",
           "政务外网出口防火墙", "Exchange 2019", "深信服 VPN", "用友 U8 ERP", "中控考勤", "Windows 域控")
PARTS = ("搓纸轮", "光模块", "电源模块", "硬盘", "内存条", "网线", "定影器", "主板电池")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("建国", "海燕", "志强", "秀英", "明", "静", "伟", "芳", "磊", "娜")
STAFF = ("bench.disp", "bench.aud", "bench.req")

_mapper: Any = None
_services: Services | None = None


# -------------------------------------------------------------------------- fill


def number(i: int) -> str:
    return f"SR-{BASE + timedelta(seconds=31 * i):%Y%m%d}-{i + 1:06d}"


def phone(i: int) -> str:
    return f"139{i:08d}"


def asset(i: int) -> str:
    return f"ZC-{i:06d}"


def ticket(i: int) -> Ticket:
    """Ticket ``i`` (fixed id and times): words of the vocabulary by a seeded draw."""
    rng = random.Random(i)
    at = BASE + timedelta(seconds=31 * i)
    device, symptom = rng.choice(DEVICES), rng.choice(SYMPTOMS)
    title = rng.choice(ENGLISH) if i % 4 == 3 else f"{rng.choice(PLACES)}{device}{symptom}"
    code = f"ERR-{i % 1000:04d}"
    description = (f"{rng.choice(PLACES)}的{device}自今天上午起{symptom}，影响{rng.randint(2, 40)}名用户办公。"
                   f"资产编号 {asset(i)}，错误代码 {code}。Users report: {rng.choice(ENGLISH).lower()}.")
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    t = Ticket.register(
        id=uuid5(NAMESPACE_URL, f"opsledger:bench-search:{i}"), number=number(i),
        customer=CUSTOMERS[i % len(CUSTOMERS)],
        contact=Contact(name=name, phone=phone(i), email=f"user{i}@example.cn"),
        channel=tuple(Channel)[i % len(Channel)], title=title, description=description,
        affected_system=rng.choice(SYSTEMS), reported_at=at - timedelta(minutes=10),
        actor="desk.liu", at=at, proposed=ProposedClassification(type=TicketType.FAULT))
    step = iter(range(1, 20))

    def later() -> datetime:
        return at + timedelta(minutes=5 * next(step))

    t.classify(type=TicketType.FAULT, category="硬件", urgency=Urgency.URGENT, impact=Impact.SOME,
               importance=Importance.IMPORTANT, actor="desk.liu", at=later())
    if i % 5 < 3:
        t.assign(assignee="zhang.wei", group="网络组", actor="desk.liu", at=later())
        part = rng.choice(PARTS)
        t.log_work(action=f"现场检查{device}，{part}老化，已更换{part}并测试正常。", hours=0.5,
                   actor="zhang.wei", at=later())
        if i % 5 < 2:
            t.resolve(resolution=f"更换{part}后{device}恢复正常，用户确认可以使用。",
                      root_cause=f"{part}老化", first_contact=False, actor="zhang.wei", at=later())
    return t


def _start_worker(url: str) -> None:
    global _mapper, _services
    _services = build(Settings(database_url=url, sla_watch_seconds=0))
    _mapper = _services.desk.mapper


def encode(bounds: tuple[int, int]) -> list[tuple[str, int, str, bytes]]:
    rows = []
    for i in range(*bounds):
        for event in ticket(i).collect_events():
            s = _mapper.to_stored_event(event)
            rows.append((s.originator_id.hex, s.originator_version, s.topic, s.state))
    return rows


def fill(services: Services, store: Store, tickets: int, workers: int) -> tuple[int, float]:
    """Writes ``tickets`` tickets' events; (rows, seconds)."""
    global _mapper
    _mapper = services.desk.mapper
    bounds = [(a, min(a + CHUNK, tickets)) for a in range(0, tickets, CHUNK)]
    writer = (SQLiteWriter if store.kind == "sqlite" else PostgresWriter)(services, store.url)
    began = time.perf_counter()
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers, _start_worker, (store.url,)) as pool:
            n = writer.write(pool.imap(encode, bounds), 200_000)
    else:
        n = writer.write(map(encode, bounds), 200_000)
    return n, time.perf_counter() - began


def people(services: Services) -> dict[str, str]:
    """A dispatcher, an auditor and a requester of the first customer; their API tokens."""
    tokens = {}
    for user, role, extra in ((STAFF[0], "dispatcher", {}), (STAFF[1], "auditor", {}),
                              (STAFF[2], "requester", {"customer": CUSTOMERS[0]})):
        services.desk.handle(RegisterUser(id=user, name=user, roles=[role], **extra),
                             actor="bench")
        token = IssueToken(user=user, label="bench.search")
        services.desk.handle(token, actor="bench")
        tokens[user] = token.token
    return tokens


# ------------------------------------------------------------------------ shapes


@dataclass
class Shape:
    name: str
    q: str
    caller: str  # a STAFF user
    kinds: str = "ticket"

    @property
    def path(self) -> str:
        query = {"q": self.q, "limit": "10"} | ({"kinds": self.kinds} if self.kinds else {})
        return "/api/v1/search?" + urllib.parse.urlencode(query)

    @property
    def scope(self) -> Scope:
        if self.caller == STAFF[2]:
            return Scope(customer=CUSTOMERS[0])
        return Scope(contacts=self.caller == STAFF[0])


def shapes(tickets: int) -> list[Shape]:
    k = tickets // 2
    disp, aud, req = STAFF
    return [
        Shape("ticket number", number(k), disp),
        Shape("asset tag (1 ticket)", asset(k), disp),
        Shape("打印机 (common)", "打印机", disp),
        Shape("打印机 卡纸 (two words)", "打印机 卡纸", disp),
        Shape("卡纸 (2 characters)", "卡纸", disp),
        Shape("无果 (2 characters, no match)", "无果", disp),
        Shape("qz (2 Latin letters, no match)", "qz", disp),
        Shape("timeout (English)", "timeout", disp),
        Shape("ERR-0421 (~100 tickets)", "ERR-0421", disp),
        Shape("phone, dispatcher", phone(k), disp),
        Shape("phone, auditor (no contacts)", phone(k), aud),
        Shape("打印机, requester", "打印机", req),
        Shape("打印机, every kind", "打印机", disp, kinds=""),
    ]


# --------------------------------------------------------------------- baselines


class RawScan:
    """The same search without an index, through the raw driver: every term a substring of the
    folded text (and of the contact for a caller who searches it), newest first."""

    def __init__(self, store: Store) -> None:
        self.sqlite = store.kind == "sqlite"
        if self.sqlite:
            self.conn: Any = sqlite3.connect(f"{store.path}{SUFFIX}")  # type: ignore[attr-defined]  # the views' file (ADR 0073)
            self.find, self.ph = "instr", "?"
        else:
            import psycopg

            self.conn = psycopg.connect(store.url, autocommit=True)
            self.find, self.ph = "strpos", "%s"

    def run(self, shape: Shape) -> int:
        terms = parse(shape.q).all
        contacts = shape.scope.contacts
        where, params = [], []
        for t in terms:
            if contacts:  # the contact holds its tokens (digests), a term is looked up as one
                where.append(f"({self.find}(lc_text, {self.ph}) > 0 OR "
                             f"{self.find}(lc_contact, {self.ph}) > 0)")
                params += [t, contact_token(t)]
            else:
                where.append(f"{self.find}(lc_text, {self.ph}) > 0")
                params.append(t)
        if shape.scope.customer:
            where.append(f"customer = {self.ph}")
            params.append(shape.scope.customer)
        sql = (f"SELECT seq, number, title FROM ticket_search WHERE {' AND '.join(where)} "  # noqa: S608
               "ORDER BY seq DESC LIMIT 11")
        return len(self.conn.execute(sql, params).fetchall())

    def close(self) -> None:
        self.conn.close()


# -------------------------------------------------------------------------- runs


@dataclass
class Line:
    shape: str
    path: str
    hits: int = 0
    http: Dist | None = None
    in_process: Dist | None = None
    raw: Dist | None = None

    @property
    def met(self) -> bool:
        return self.http is not None and self.http.p99 <= TARGET_P99_MS


@dataclass
class StoreResult(FilledStore):
    rebuild_events: int
    rebuild_s: float
    store_bytes: int | None
    samples: int
    floor: Dist | None = None
    ticket_list: Dist | None = None
    lines: list[Line] = field(default_factory=list)


def run_store(kind: str, args: Any, tmp: Path) -> StoreResult | None:
    store = open_store(kind, tmp, args.pg_url)
    if store is None:
        return None
    services: Services | None = None
    server: Server | None = None
    raw: RawScan | None = None
    try:
        services = build(Settings(database_url=store.url, sla_watch_seconds=0))
        events, fill_s = fill(services, store, args.tickets, args.workers)
        t0 = time.perf_counter()
        services.runner.catch_up_all()
        catch_up_s = time.perf_counter() - t0
        rebuilt, rebuild_s = services.runner.rebuild("ticket_search")
        tokens = people(services)
        services.runner.catch_up_all()
        result = StoreResult(kind, args.tickets, events, fill_s, catch_up_s, rebuilt, rebuild_s,
                             disk_bytes(store), args.samples)
        lines = [Line(s.name, s.path) for s in shapes(args.tickets)]
        # the use case in this process (no HTTP), and the raw scan, each shape in turn
        raw = RawScan(store)
        for shape, line in zip(shapes(args.tickets), lines, strict=True):
            kinds = shape.kinds.split(",") if shape.kinds else ()
            found = search(services, shape.q, kinds=kinds, limit=10, scope=shape.scope)
            line.hits = found.count
            line.in_process = timed(args.samples, lambda _k, s=shape, kd=kinds: search(
                services, s.q, kinds=kd, limit=10, scope=s.scope), WARMUP)
            line.raw = timed(args.samples, lambda _k, s=shape: raw.run(s), WARMUP)  # type: ignore[union-attr]
        raw.close()
        raw = None
        services.close()
        services = None
        server = Server(store.url, tmp, "bench-search-admin",
                        settings={"OPSLEDGER_RATE_LIMIT": "off"})
        server.wait_healthy(timeout=600)
        clients = {user: Client(server.base_url, token) for user, token in tokens.items()}
        try:
            routes = [Route("GET /healthz", lambda k: ["/healthz"], STAFF[0]),
                      Route("GET /api/v1/tickets?limit=10", lambda k: ["/api/v1/tickets?limit=10"],
                            STAFF[0])]
            for shape, line in zip(shapes(args.tickets), lines, strict=True):
                fetch(clients[shape.caller], shape.path)  # answers 200, or stops the run here
                routes.append(Route(line.shape, lambda k, p=line.path: [p], shape.caller))
            dists = measure(clients, routes, args.samples, WARMUP)
        finally:
            for c in clients.values():
                c.__exit__()
        result.floor, result.ticket_list = dists["GET /healthz"], dists["GET /api/v1/tickets?limit=10"]
        for line in lines:
            line.http = dists[line.shape]
        result.lines = lines
        return result
    finally:
        if raw is not None:
            raw.close()
        if server is not None:
            server.stop()
        clean_up(tmp, services, store)


def pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` columns of a terminal (a CJK character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def report(r: StoreResult) -> None:
    print(f"Search ({r.store}): {r.tickets:,} tickets, {r.events:,} events (filled in {r.fill_s:.1f} s; "
          f"every read model caught up in {r.catch_up_s:.1f} s; ticket_search rebuilt alone in "
          f"{r.rebuild_s:.1f} s, {r.rebuild_events / r.rebuild_s:,.0f} events/s; the store "
          f"{(r.store_bytes or 0) / 1e6:,.0f} MB)")
    print(f"opsledger serve, one keep-alive client over loopback, {r.samples} interleaved rounds "
          f"after {WARMUP} untimed; ms from sending the request to the last byte read")
    print_header(f"{'':32} {'hits':>4} | {'HTTP p50':>8} {'p95':>6} {'p99':>6} | {'use case':>8} "
                 f"{'p99':>6} | {'raw scan':>8} {'p99':>6} | {'p99 raw/HTTP':>12} | p99 ≤ "
                 f"{TARGET_P99_MS:.0f} ms")
    for name, d in (("GET /healthz (the floor)", r.floor), ("GET /api/v1/tickets?limit=10", r.ticket_list)):
        if d is not None:
            print(f"{pad(name, 32)} {'':4} | {d.p50:8.2f} {d.p95:6.2f} {d.p99:6.2f} |")
    for ln in r.lines:
        h, u, w = ln.http, ln.in_process, ln.raw
        assert h is not None and u is not None and w is not None
        print(f"{pad(ln.shape, 32)} {ln.hits:4} | {h.p50:8.2f} {h.p95:6.2f} {h.p99:6.2f} | {u.p50:8.2f} "
              f"{u.p99:6.2f} | {w.p50:8.2f} {w.p99:6.2f} | {w.p99 / h.p99:11.1f}x | "
              f"{'MET' if ln.met else 'NOT MET'}")
    print("(use case: application.search in this process, no HTTP; raw scan: the same terms "
          "without the index through the raw driver)")
    print()


def main(argv: Sequence[str] | None = None) -> int:
    parser = stores_parser("bench.search", __doc__, samples=200)
    add_output_options(parser)
    args = parser.parse_args(argv)
    results = each_store("search", args, run_store, report)
    write_json(args.json, {"target_p99_ms": TARGET_P99_MS, "stores": [asdict(r) for r in results]})
    return 0 if results else 1

if __name__ == "__main__":
    sys.exit(main())
