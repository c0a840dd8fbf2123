"""``opsledger serve --workers N``: N HTTP processes on one port (ADR 0039).

One ``serve`` process is CPU-bound under one interpreter lock (ADR 0038). Here the process
that was started is a small supervisor instead:

* it prepares the store (schema, read models caught up) once, then closes it;
* it starts N HTTP workers -- ``opsledger serve`` again, with hidden ``--http-worker-of``
  options -- each with its own uvicorn, Litestar app and ``ServiceDesk``;
* it accepts the connections itself and hands each one (its file descriptor, over a
  ``SOCK_SEQPACKET`` pair) to the worker with the fewest open connections; the workers report
  each close back. Workers accepting on a shared socket themselves split 8 keep-alive clients
  at random -- 7:1 as often as 4:4, measured -- and one busy worker then holds the others up;
* it starts the projections worker of ADR 0038 (read models, SLA watcher, routine follower)
  unless ``--no-projections`` leaves them to a separate ``opsledger projections run``;
* each HTTP worker writes one byte to a shared wake pipe after each save; the supervisor
  passes it on to the projections worker (which then applies at once, not at its next poll);
* the projections worker's status reports (``apply_report``) are copied to every HTTP worker,
  whose ``/healthz`` shows them as a single ``serve`` does;
* an HTTP worker that dies is started again with a growing delay; the workers die with the
  supervisor (the kernel's parent-death signal, and end-of-file on their report pipe).

Everything that keeps several processes apart was already there for two ``serve`` processes on
one database (ADR 0025): the SQLite writers' ``flock`` (ADR 0038), record numbers checked
against the store before they are issued, reference records checked against the store's
version, idempotency records in the store, read-your-writes by stored positions.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import structlog
import uvicorn

from adapters.serve.heap import freeze_startup_heap
from adapters.serve.worker_process import keep_restarting, terminate, wake_on_bytes

log = structlog.get_logger("opsledger.serve")


def listening_socket(host: str, port: int) -> socket.socket:
    """The port the supervisor accepts on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048)
    sock.settimeout(0.5)  # the accept loop looks at its stop flag this often
    return sock


class HttpWorkers:
    """Starts, restarts and stops the N HTTP worker processes of one supervisor, and hands
    them the connections it accepts (the fewest open connections first)."""

    def __init__(self, count: int, base_command: list[str], wake_fd: int) -> None:
        self.count = count
        self.base_command = base_command
        self.wake_fd = wake_fd
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self.channels: list[socket.socket | None] = [None] * count  # our end of each pair
        self.reports: list[int | None] = [None] * count  # our end of each worker's report pipe
        self.open: list[int] = [0] * count  # connections handed to each, not yet closed
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> None:
        for slot in range(self.count):
            self._spawn(slot)
        for slot in range(self.count):
            threading.Thread(target=self._supervise, args=(slot,), name=f"http-worker-{slot}",
                             daemon=True).start()

    def _spawn(self, slot: int) -> None:
        reader, writer = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fds = (theirs.fileno(), self.wake_fd, reader)
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [*self.base_command, "--http-worker-of", str(os.getpid()),
                 "--channel-fd", str(fds[0]), "--wake-fd", str(fds[1]), "--report-fd", str(reader)],
                stdin=subprocess.DEVNULL, pass_fds=fds, start_new_session=True,
            )
        except BaseException:
            os.close(writer)
            ours.close()
            raise
        finally:
            os.close(reader)
            theirs.close()
        os.set_blocking(writer, False)  # a slow worker never holds the others' reports up
        with self._lock:
            self.procs[slot], self.reports[slot] = proc, writer
            self.channels[slot], self.open[slot] = ours, 0
        threading.Thread(target=self._count_closes, args=(slot, ours), name=f"http-closes-{slot}",
                         daemon=True).start()
        log.info("serve.http_worker_started", slot=slot, pid=proc.pid)

    def _count_closes(self, slot: int, channel: socket.socket) -> None:
        """One message per connection the worker closed; end-of-file when it is gone."""
        while True:
            try:
                data = channel.recv(16)
            except OSError:
                data = b""
            with self._lock:
                if self.channels[slot] is not channel:
                    return
                if not data:  # the worker is gone: hand it nothing until it is replaced
                    self.channels[slot] = None
                    self.open[slot] = 0
                    return
                self.open[slot] = max(0, self.open[slot] - 1)

    def accept(self, sock: socket.socket) -> None:
        """The supervisor's accept loop, until ``stop``."""
        while not self._stopping.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError as e:
                if self._stopping.is_set():
                    return
                log.error("serve.accept_failed", error=f"{type(e).__name__}: {e}")
                time.sleep(0.1)  # e.g. out of file descriptors: let connections close
                continue
            with conn:
                with contextlib.suppress(OSError):
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._hand(conn)

    def _hand(self, conn: socket.socket) -> None:
        while True:
            with self._lock:
                live = [i for i, c in enumerate(self.channels) if c is not None]
                if not live:
                    return  # no worker up (all restarting): the client sees a closed connection
                slot = min(live, key=lambda i: self.open[i])
                channel = self.channels[slot]
                self.open[slot] += 1
            assert channel is not None
            try:
                socket.send_fds(channel, [b"c"], [conn.fileno()])
                return
            except OSError:  # it died just now: mark it and try another
                with self._lock:
                    if self.channels[slot] is channel:
                        self.channels[slot] = None

    def report(self, line: bytes) -> None:
        """A projections worker report, to every HTTP worker (dropped where a pipe is full:
        the next one follows a quarter of a second later)."""
        with self._lock:
            for fd in self.reports:
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.write(fd, line)

    def _supervise(self, slot: int) -> None:
        def exited(proc: subprocess.Popen[bytes], code: int, delay: float) -> None:
            log.error("serve.http_worker_exited", slot=slot, pid=proc.pid, returncode=code,
                      restart_in_seconds=delay)
            with self._lock:
                fd, self.reports[slot] = self.reports[slot], None
                channel, self.channels[slot] = self.channels[slot], None
            if fd is not None:
                os.close(fd)
            if channel is not None:
                channel.close()

        def respawn() -> None:
            self._spawn(slot)
            self.restarts += 1

        keep_restarting(self._stopping, lambda: self.procs[slot], exited, respawn, "serve.http_worker")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (uvicorn finishes the requests in flight), SIGKILL after ``timeout``."""
        self._stopping.set()
        terminate([p for p in self.procs if p is not None], timeout)
        with self._lock:
            for slot, fd in enumerate(self.reports):
                if fd is not None:
                    os.close(fd)
                self.reports[slot] = None
            for slot, channel in enumerate(self.channels):
                if channel is not None:
                    channel.close()
                self.channels[slot] = None


def relay_wakes(read_fd: int, wake: Any) -> threading.Thread:
    """The HTTP workers' wake-ups (one byte per save, any number at once) to the projections
    worker: one wake per read, until the pipe is closed."""
    return wake_on_bytes(read_fd, wake, lambda: None, "wake-relay")


def supervise(args: Any, settings: Any, count: int, base_command: list[str]) -> int:
    """The supervisor's life: prepare the store, start everything, wait for SIGTERM/Ctrl-C."""
    from adapters.container import build
    from adapters.serve.first_run import first_run_notice

    services = build(settings)  # creates the schema once, before N processes race to
    try:
        if args.projections:
            services.runner.catch_up_all()
        notice = first_run_notice(services, f"http://{settings.host}:{settings.port}/")
    finally:
        services.close()

    sock = listening_socket(settings.host, settings.port)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)  # a full pipe already holds a wake-up
    workers = HttpWorkers(count, base_command, wake_write)
    projections = None
    if args.projections:
        import json

        from adapters.serve.worker_process import ProjectionWorker

        def on_report(report: dict[str, Any]) -> None:
            workers.report(json.dumps(report, default=str).encode() + b"\n")

        projections = ProjectionWorker(settings.database_url, on_report)

    from adapters.mail.smtp import gateway_for

    # The fault mailbox's listener (ADR 0057): once, here, with services of its own.
    mail_services = build(settings) if settings.smtp_address or settings.lmtp_address else None
    gateway = gateway_for(mail_services) if mail_services is not None else None
    if mail_services is not None and projections is not None:
        mail_services.desk.after_save.append(lambda _position: projections.wake())

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(
        f"opsledger serving on http://{host}:{sock.getsockname()[1]}  (store: "
        f"{settings.database.kind}, {count} HTTP worker processes"
        f"{', read models kept by a projections worker process' if projections else ', read models kept by a projections worker'}"
        f", docs: /docs, OpenAPI: /schema/openapi.json)",
        file=sys.stderr,
    )
    if notice is not None:
        print(notice, file=sys.stderr)
    try:
        if projections is not None:
            projections.start()
            relay_wakes(wake_read, projections.wake)
        workers.start()
        threading.Thread(target=workers.accept, args=(sock,), name="accept", daemon=True).start()
        if gateway is not None:
            print(f"opsledger mail intake: {gateway.start().describe()}", file=sys.stderr)
        while not stop.wait(1.0):
            pass
    finally:
        sock.close()  # no new connections; the workers finish the requests in flight
        workers.stop()
        if gateway is not None:
            gateway.stop()
        if mail_services is not None:
            mail_services.close()
        if projections is not None:
            projections.stop()
        os.close(wake_write)
        os.close(wake_read)
    return 0


def run_http_worker(args: Any, settings: Any) -> int:
    """One HTTP worker: the connections the supervisor hands over, its own services; never
    outlives the supervisor."""
    import json

    from adapters.container import build
    from adapters.http.app import create_app
    from adapters.serve.corked import CorkedHttpToolsProtocol
    from adapters.serve.worker_process import RemoteWatch, apply_report, die_with_parent

    die_with_parent(args.http_worker_of)
    services = build(settings)
    watch = RemoteWatch(settings.sla_watch_seconds)
    services.watch_thread = watch  # type: ignore[assignment]  # /healthz shows the worker's
    wake_fd = args.wake_fd

    def wake(_position: int) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError: a wake-up is already waiting
            os.write(wake_fd, b"w")

    if args.projections:
        services.desk.after_save.append(wake)

    def reports() -> None:
        with os.fdopen(args.report_fd, "rb") as lines:
            for line in lines:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    apply_report(json.loads(line), services.runner, watch, services.notifier)
        os._exit(0)  # end-of-file: the supervisor is gone

    threading.Thread(target=reports, name="supervisor-reports", daemon=True).start()
    app = create_app(services, run_projections=False)
    server = HandedServer(uvicorn.Config(app, log_level="warning", access_log=False,
                                         timeout_graceful_shutdown=5,
                                         http=CorkedHttpToolsProtocol),
                          socket.socket(fileno=args.channel_fd))
    freeze_startup_heap()  # ADR 0054
    try:
        server.run()
    finally:
        services.close()
    return 0


class HandedServer(uvicorn.Server):
    """uvicorn serving the connections the supervisor hands over (``channel``: a
    ``SOCK_SEQPACKET`` socket, one file descriptor per message) instead of a listening
    socket; each connection closed is reported back with one message."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the lifespan, no listener
        config, channel = self.config, self.channel
        base = config.http_protocol_class

        class Counted(base):  # type: ignore[misc, valid-type]
            def connection_lost(self, exc: Exception | None) -> None:
                super().connection_lost(exc)
                with contextlib.suppress(OSError):
                    channel.send(b"x")

        def create_protocol() -> asyncio.Protocol:
            return Counted(config=config, server_state=self.server_state,  # type: ignore[no-any-return]
                           app_state=self.lifespan.state)

        loop = asyncio.get_running_loop()
        channel.setblocking(False)
        loop.add_reader(channel.fileno(), self._take, loop, create_protocol)

    def _take(self, loop: asyncio.AbstractEventLoop, create_protocol: Any) -> None:
        while True:
            try:
                _, fds, _, _ = socket.recv_fds(self.channel, 16, 16)
            except BlockingIOError:
                return
            except OSError:
                fds = None
            if not fds:  # end-of-file: the supervisor is gone
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                sock = socket.socket(fileno=fd)
                loop.create_task(loop.connect_accepted_socket(create_protocol, sock))
