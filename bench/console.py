"""The console's speed: the queue page and the ticket page beside the JSON API's equivalents,
at ``--tickets`` tickets (100,000 by default) on SQLite and PostgreSQL (issue 18).

    PYTHONPATH=. .venv/bin/python -m bench.console [--tickets 100000] [--stores sqlite,postgres]
        [--pg-url URL] [--samples 300] [--events 200] [--long-tickets 3] [--workers 2]
        [--profile] [--json PATH]

1. Fill, fast: the tickets of ``bench.scale`` (its generator: domain-built lifecycles encoded by
   the application's mapper and written straight into the event table; 1.2% open, so the
   unassigned queue holds 2 in 1000), then every read model caught up. Through the real
   commands (``desk.handle``): a dispatcher and an engineer as users, the dispatcher's console
   password and API token, and ``--long-tickets`` tickets with ``--events`` events each
   (registered classified, assigned, started, then work logged until the history is that long).
2. Measure against a real ``opsledger serve`` on that store (uvicorn, its thread pool, its
   projections worker on PostgreSQL), from one keep-alive ``http.client`` connection over
   loopback: the time from sending a request to having read the whole answer, so a figure is
   the server's time plus a loopback round trip (``GET /healthz`` is measured beside them as
   that floor). The dispatcher is the caller of both sides: the pages with their session
   cookie (logged in through ``POST /ui/login``), the API with their bearer token. Requests
   are interleaved (page, its API equivalent, page, ...), ``--samples`` timed rounds after 30
   untimed ones, so both sides see the same machine.

   ============================  ============================================================
   console page                  the JSON API's equivalent (the baseline)
   ============================  ============================================================
   ``GET /ui/?queue=all``        ``GET /api/v1/tickets?limit=50``
   ``GET /ui/?queue=unassigned``  ``GET /api/v1/queues/unassigned?limit=50``
   ``GET /ui/tickets/{number}``  ``GET /api/v1/tickets/{number}`` + ``GET .../history`` (one
                                 sample: both requests, one after the other)
   ============================  ============================================================

   Target (issue 18): page p99 ≤ 30 ms. The ratio printed is page / API at p50 and p99.
3. ``--profile``: the pages again in this process (``AsyncTestClient``, the worker-thread hop
   replaced by a direct call so that one ``cProfile`` sees the whole request), printing the
   functions where the time goes.

It is a benchmark, not a test (``tests/test_bench_smoke.py`` runs it at a tiny size).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import pstats
import re
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from adapters.container import Services, build
from adapters.settings import Settings
from application.commands.tickets import Assign, LogWork, RegisterTicket, Start
from application.commands.users import IssueToken, RegisterUser, SetPassword
from bench.common import (FilledStore, add_output_options, clean_up, each_store, print_header,
                          stores_parser, write_json)
from bench.http_commands import Client, Dist, Server
from bench.rebuild import open_store
from bench.scale import MIX, generate
from domain.ticket import Contact

TARGET_P99_MS = 30.0
WARMUP = 30
DISPATCHER, ENGINEER, GROUP = "bench.lead", "bench.eng", "网络组"
PASSWORD = "bench console 密码"
NUMBER = re.compile(r"SR-\d{8}-\d{3,6}")


# -------------------------------------------------------------------------- fill


def long_ticket(services: Services, k: int, events: int) -> str:
    """A ticket with ``events`` events in its history, through the desk; its number."""
    desk = services.desk
    t = desk.handle(RegisterTicket(
        customer="华东电力集团", contact=Contact("周敏", "13816624071", "zhoumin@example.com"),
        channel="phone", title=f"核心交换机端口频繁闪断（长历史 {k + 1}）", affected_system="核心网络",
        description="调度大楼 3 层汇聚交换机 Gi1/0/24 端口每小时闪断数次。", type="fault",
        category="网络/交换机", urgency="urgent", impact="some", importance="important"),
        actor=DISPATCHER).aggregate
    number = t.number
    desk.handle(Assign(ref=number, assignee=ENGINEER, group=GROUP), actor=DISPATCHER)
    version = desk.handle(Start(ref=number), actor=ENGINEER).aggregate.version
    for n in range(events - version):
        desk.handle(LogWork(ref=number, action=f"第 {n + 1} 次巡检：收集端口日志，光功率 -7.{n % 10} dBm，"
                                              "观察 30 分钟无闪断。", hours=0.25), actor=ENGINEER)
    return str(number)


def people(services: Services) -> str:
    """The dispatcher (with a console password) and an engineer; the dispatcher's API token."""
    desk = services.desk
    desk.handle(RegisterUser(id=DISPATCHER, name="马涛", roles=["dispatcher"], groups=[GROUP]),
                actor="bench")
    desk.handle(RegisterUser(id=ENGINEER, name="张工", roles=["engineer"], groups=[GROUP]),
                actor="bench")
    desk.handle(SetPassword(user=DISPATCHER, password=PASSWORD), actor="bench")
    token = IssueToken(user=DISPATCHER, label="bench.console")
    desk.handle(token, actor="bench")
    return token.token


# ------------------------------------------------------------------------ timing


@dataclass
class Route:
    name: str
    paths: Callable[[int], list[str]]  # sample k -> the request(s) of one sample
    client: str  # "page" (session cookie) or "api" (bearer token)


@dataclass
class Pair:
    page: str
    api: str
    page_dist: Dist | None = None
    api_dist: Dist | None = None
    page_bytes: int = 0
    api_bytes: int = 0
    rows: int = 0  # ticket numbers on the page (queues) / events in the API history (ticket)
    error: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.page_dist is None else self.page_dist.p99 <= TARGET_P99_MS


@dataclass
class StoreResult(FilledStore):
    long_tickets: list[str]
    samples: int
    floor: Dist | None = None
    pairs: list[Pair] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)


def login(base_url: str) -> str:
    """The dispatcher's session cookie, from the login form as a browser gets it."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as c:
        form = c.get("/ui/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
        if form.status_code != 200 or csrf is None:
            raise RuntimeError(f"GET /ui/login: {form.status_code} {form.text[:300]}")
        r = c.post("/ui/login", data={"user": DISPATCHER, "password": PASSWORD,
                                      "_csrf_token": csrf[1]})
        session = c.cookies.get("opsledger_session")
        if r.status_code != 303 or not session:
            raise RuntimeError(f"POST /ui/login: {r.status_code} {r.text[:300]}")
        return session


def fetch(client: Client, path: str) -> bytes:
    r = client.get(path)
    if r.status_code != 200:
        raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
    return r.content


def measure(clients: dict[str, Client], routes: Sequence[Route], samples: int,
            warmup: int = WARMUP) -> dict[str, Dist]:
    """Every route once per round, interleaved; ``warmup`` untimed rounds first."""
    ms: dict[str, list[float]] = {r.name: [] for r in routes}
    for k in range(warmup + samples):
        for route in routes:
            client = clients[route.client]
            t0 = time.perf_counter()
            for path in route.paths(k):
                fetch(client, path)
            if k >= warmup:
                ms[route.name].append((time.perf_counter() - t0) * 1000)
    return {name: Dist.of(values) for name, values in ms.items()}


def pairs_for(numbers: list[str]) -> list[tuple[Pair, Route, Route]]:
    def one(k: int) -> str:
        return numbers[k % len(numbers)]

    return [
        (Pair("GET /ui/?queue=all", "GET /api/v1/tickets?limit=50"),
         Route("GET /ui/?queue=all", lambda k: ["/ui/?queue=all"], "page"),
         Route("GET /api/v1/tickets?limit=50", lambda k: ["/api/v1/tickets?limit=50"], "api")),
        (Pair("GET /ui/?queue=unassigned", "GET /api/v1/queues/unassigned?limit=50"),
         Route("GET /ui/?queue=unassigned", lambda k: ["/ui/?queue=unassigned"], "page"),
         Route("GET /api/v1/queues/unassigned?limit=50",
               lambda k: ["/api/v1/queues/unassigned?limit=50"], "api")),
        (Pair("GET /ui/tickets/{number}", "GET /api/v1/tickets/{number} + /history"),
         Route("GET /ui/tickets/{number}", lambda k: [f"/ui/tickets/{one(k)}"], "page"),
         Route("GET /api/v1/tickets/{number} + /history",
               lambda k: [f"/api/v1/tickets/{one(k)}", f"/api/v1/tickets/{one(k)}/history"], "api")),
    ]


def run_http(result: StoreResult, server: Server, token: str, samples: int) -> None:
    session = login(server.base_url)
    page, api = Client(server.base_url, token), Client(server.base_url, token)
    page.headers = {"Cookie": f"opsledger_session={session}", "Accept-Language": "zh-CN"}
    clients = {"page": page, "api": api}
    try:
        routes: list[Route] = [Route("GET /healthz", lambda k: ["/healthz"], "api")]
        for pair, page_route, api_route in pairs_for(result.long_tickets):
            try:  # a page not there (yet): said, not measured
                body = fetch(page, page_route.paths(0)[0])
                answers = [fetch(api, p) for p in api_route.paths(0)]
            except RuntimeError as e:
                pair.error = str(e)[:200]
                result.pairs.append(pair)
                continue
            pair.page_bytes, pair.api_bytes = len(body), sum(len(a) for a in answers)
            if "{number}" in pair.page:
                pair.rows = len(json.loads(answers[-1]))  # events in the history
                if result.long_tickets[0].encode() not in body:
                    pair.error = "the ticket's number is not on its page"
            else:
                pair.rows = len(set(NUMBER.findall(body.decode())))
            routes += [page_route, api_route]
            result.pairs.append(pair)
        dists = measure(clients, routes, samples)
        result.floor = dists["GET /healthz"]
        for pair in result.pairs:
            pair.page_dist, pair.api_dist = dists.get(pair.page), dists.get(pair.api)
    finally:
        page.__exit__()
        api.__exit__()


# ----------------------------------------------------------------------- profile


async def _lifespan(app: Any, message: str) -> asyncio.Task[Any] | None:
    """Drives the app's ASGI lifespan by hand (``lifespan.startup`` / ``.shutdown``), so that
    it runs in this thread's event loop."""
    if message == "startup":
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                       inbox.get, outbox.put))
        await inbox.put({"type": "lifespan.startup"})
        answer = await outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan: {answer}")
        task.inbox, task.outbox = inbox, outbox  # type: ignore[attr-defined]
        return task
    return None


def profile_pages(url: str, numbers: list[str], samples: int) -> dict[str, str]:
    """Each page ``samples`` times in this process under cProfile: the top functions by
    cumulative time. The app runs in this thread's event loop (``httpx.ASGITransport``, its
    lifespan driven here) and the worker-thread hops are made direct calls, so one profile
    sees the whole request: middleware, handler, read model, template."""
    from adapters.http import kit
    from adapters.http.app import create_app

    async def inline(call: Callable[..., Any], *args: Any) -> Any:
        return call(*args)

    out: dict[str, str] = {}
    services = build(Settings(database_url=url, sla_watch_seconds=0))
    saved = kit.run_sync
    kit.run_sync = inline  # type: ignore[assignment]
    try:
        app = create_app(services, run_projections=True)

        async def go() -> None:
            life = await _lifespan(app, "startup")
            app.state.run_blocking = inline
            try:
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                             base_url="http://127.0.0.1") as client:
                    form = await client.get("/ui/login")
                    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
                    if csrf is None:
                        raise RuntimeError(f"GET /ui/login: {form.status_code} {form.text[:300]}")
                    r = await client.post("/ui/login", data={
                        "user": DISPATCHER, "password": PASSWORD, "_csrf_token": csrf[1]})
                    if r.status_code != 303:
                        raise RuntimeError(f"POST /ui/login: {r.status_code} {r.text[:300]}")
                    await asyncio.sleep(0.5)  # the runner takes the login's event
                    for name, path in PAGES.items():
                        for k in range(10):
                            await client.get(path(numbers, k))
                        prof = cProfile.Profile()
                        t0 = time.perf_counter()
                        prof.enable()
                        for k in range(samples):
                            r = await client.get(path(numbers, k))
                        prof.disable()
                        each = (time.perf_counter() - t0) * 1000 / samples
                        text = io.StringIO()
                        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(
                            r"adapters|application|projections|jinja2|litestar|msgspec|sqlite3|"
                            r"psycopg|markupsafe|threading", 40)
                        out[name] = (f"{name} in process: {r.status_code}, {each:.2f} ms per "
                                     f"request under cProfile ({samples} requests)\n"
                                     + _trim(text.getvalue()))
            finally:
                if life is not None:
                    await life.inbox.put({"type": "lifespan.shutdown"})  # type: ignore[attr-defined]
                    await life

        asyncio.run(go())
    finally:
        kit.run_sync = saved  # type: ignore[assignment]
        services.close()
    return out


PAGES: dict[str, Callable[[list[str], int], str]] = {
    "GET /ui/?queue=all": lambda numbers, k: "/ui/?queue=all",
    "GET /ui/?queue=unassigned": lambda numbers, k: "/ui/?queue=unassigned",
    "GET /ui/tickets/{number}": lambda numbers, k: f"/ui/tickets/{numbers[k % len(numbers)]}",
}


def _trim(text: str) -> str:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(line.replace(str(Path.cwd()) + "/", "") for line in lines[start:] if line.strip())


# -------------------------------------------------------------------------- main


def run_store(kind: str, args: Any, tmp: Path) -> StoreResult | None:
    store = open_store(kind, tmp, args.pg_url)
    if store is None:
        return None
    services: Services | None = None
    server: Server | None = None
    try:
        services = build(Settings(database_url=store.url, sla_watch_seconds=0))
        events, fill_s = generate(services, store, args.tickets, args.workers, 200_000, MIX)
        t0 = time.perf_counter()
        services.runner.catch_up_all()
        catch_up_s = time.perf_counter() - t0
        token = people(services)
        numbers = [long_ticket(services, k, args.events) for k in range(args.long_tickets)]
        services.runner.catch_up_all()
        services.close()
        services = None
        result = StoreResult(kind, args.tickets, events, fill_s, catch_up_s, numbers, args.samples)
        # One client asks as fast as it can: more than a person's 100 requests a second.
        server = Server(store.url, tmp, secrets.token_urlsafe(24),
                        settings={"OPSLEDGER_RATE_LIMIT": "off"})
        server.wait_healthy(timeout=600)
        run_http(result, server, token, args.samples)
        server.stop()
        server = None
        if args.profile:
            result.profiles = profile_pages(store.url, numbers, max(20, args.samples // 5))
        return result
    finally:
        if server is not None:
            server.stop()
        clean_up(tmp, services, store)


def report(result: StoreResult) -> None:
    print(f"Console pages vs the JSON API ({result.store}): {result.tickets:,} tickets, "
          f"{result.events:,} events (filled in {result.fill_s:.1f} s, read models caught up in "
          f"{result.catch_up_s:.1f} s); ticket pages: {', '.join(result.long_tickets)}")
    print(f"opsledger serve, one keep-alive client over loopback, {result.samples} interleaved "
          f"rounds after {WARMUP} untimed; ms from sending the request to the last byte read")
    print_header(f"{'':28} {'rows':>4} {'KB':>6} | {'p50':>6} {'p95':>6} {'p99':>6} | "
                 f"{'JSON API equivalent':40} {'KB':>5} {'p50':>6} {'p99':>6} | {'p50 x':>5} "
                 f"{'p99 x':>5} | p99 ≤ {TARGET_P99_MS:.0f} ms")
    if result.floor:
        print(f"{'GET /healthz (the floor)':28} {'':4} {'':6} | {result.floor.p50:6.2f} "
              f"{result.floor.p95:6.2f} {result.floor.p99:6.2f} |")
    for p in result.pairs:
        if p.page_dist is None or p.api_dist is None:
            print(f"{p.page:28} not measured: {p.error}")
            continue
        d, a = p.page_dist, p.api_dist
        print(f"{p.page:28} {p.rows:4} {p.page_bytes / 1024:6.1f} | {d.p50:6.2f} {d.p95:6.2f} "
              f"{d.p99:6.2f} | {p.api:40} {p.api_bytes / 1024:5.1f} {a.p50:6.2f} {a.p99:6.2f} | "
              f"{d.p50 / a.p50:5.2f} {d.p99 / a.p99:5.2f} | {'MET' if p.met else 'NOT MET'}"
              + (f"  ({p.error})" if p.error else ""))
    print("(rows: distinct ticket numbers on a queue page; events in the API's history for the "
          "ticket page; x: page / API)")
    for text in result.profiles.values():
        print()
        print(text)
    print()


def main(argv: Sequence[str] | None = None) -> int:
    parser = stores_parser("bench.console", __doc__, samples=300)
    parser.add_argument("--events", type=int, default=200, help="events in each ticket page's history")
    parser.add_argument("--long-tickets", type=int, default=3, help="ticket pages measured in turn")
    parser.add_argument("--profile", action="store_true", help="also profile the pages in process (cProfile)")
    add_output_options(parser)
    args = parser.parse_args(argv)
    results = each_store("console", args, run_store, report)
    write_json(args.json, {"target_p99_ms": TARGET_P99_MS, "stores": [asdict(r) for r in results]})
    measured = [p for r in results for p in r.pairs]
    return 0 if results and all(p.page_dist is not None and not p.error for p in measured) else 1

if __name__ == "__main__":
    sys.exit(main())
