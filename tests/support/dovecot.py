"""A private, real IMAP server for the tests: Debian's Dovecot on 127.0.0.1:<free port>.

``Dovecot(root).start()`` writes its own configuration into ``root`` (no system
configuration is read), runs ``dovecot -c <conf> -F`` in the foreground as a child process and
waits until it answers on its port; ``stop()`` ends it by its PID, ``restart()`` brings it back
on the same port (the poller's reconnect test). Mail is stored as maildir under ``root``;
users are lines of a passwd-file with plain passwords, written before the server starts
(Dovecot notices a changed file by its mtime in whole seconds, too coarse for tests that
follow each other within one), and ``add_user`` hands out the next unused one, so every test
gets an empty mailbox of its own. Messages arrive by IMAP
APPEND (``deliver``), as a mail client or a delivery agent puts them there.

The configuration, found to work as root (CI runs as root; an ordinary user takes the same
path with their own uid, untried here):

* ``base_dir``/``state_dir``/``log_path`` inside ``root``; ``ssl = no`` unless ``tls=True``
  (then a self-signed certificate made with ``openssl`` for 127.0.0.1, STARTTLS on the port
  and IMAPS on ``tls_port``);
* Dovecot refuses mail access as uid 0 and runs its login and internal processes as an
  unprivileged user: as root that is the ``dovecot`` user of the package (``root`` is
  chowned to it), otherwise the current user; the login and anvil processes are not chrooted
  (only root can chroot);
* ``login_trusted_networks = 127.0.0.0/8``, plain-text logins allowed (the tests use the
  loopback interface only);
* ``capabilities``: ``imap_capability`` replaced (e.g. without IDLE, to test polling).

A session fixture ``dovecot_server`` starts one per test process (one per xdist worker);
``imap_user`` makes a fresh mailbox for a test. When ``/usr/sbin/dovecot`` is missing the
fixture fails: ``scripts/test`` installs ``dovecot-imapd`` with apt-get (never a skip).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.support.serve import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "s3cret-imap"
USERS = 500  # mailboxes made ready in the passwd-file, one per test


def _account() -> tuple[str, int, int]:
    """The unprivileged user Dovecot's processes and mail run as (name, uid, gid)."""
    if os.getuid() == 0:
        entry = pwd.getpwnam("dovecot")
    else:
        entry = pwd.getpwuid(os.getuid())
    return entry.pw_name, entry.pw_uid, entry.pw_gid


class Dovecot:
    def __init__(self, root: Path, *, port: int | None = None, capabilities: str | None = None,
                 tls: bool = False) -> None:
        self.root = root
        self.port = port or free_port()
        self.tls_port = free_port() if tls else 0  # IMAPS (TLS from the first byte)
        self.capabilities = capabilities
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None
        self.account, self.uid, self.gid = _account()
        self.passwd = root / "passwd"
        self.conf = root / "dovecot.conf"
        self.log = root / "dovecot.log"
        self.cert = root / "cert.pem"
        self.key = root / "key.pem"
        self.handed_out = 0

    # -------------------------------------------------------------- configuration

    def _configure(self) -> None:
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.passwd.write_text("".join(f"user{n:03d}:{{PLAIN}}{PASSWORD}\n" for n in range(USERS)),
                               encoding="utf-8")
        if self.tls and not self.cert.exists():
            subprocess.run(  # noqa: S603, S607 - openssl from the system, fixed arguments
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                 "-keyout", str(self.key), "-out", str(self.cert)],
                check=True, capture_output=True, timeout=60)
        r = self.root
        tls = (f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{self.key}\n"
               if self.tls else "ssl = no\n")
        capability = (f"protocol imap {{\n  imap_capability = {self.capabilities}\n}}\n"
                      if self.capabilities is not None else "")
        self.conf.write_text(f"""# written by tests/support/dovecot.py
base_dir = {r}/run
state_dir = {r}/state
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {self.account}
default_internal_user = {self.account}
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:{r}/mail/%u
first_valid_uid = {self.uid}
last_valid_uid = {self.uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={r}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
service anvil {{
  chroot =
}}
{capability}""", encoding="utf-8")
        if os.getuid() == 0:
            for path in (r, *r.rglob("*")):
                os.chown(path, self.uid, self.gid)
            r.chmod(0o755)

    # -------------------------------------------------------------- the process

    def start(self, timeout: float = 15.0) -> Dovecot:
        if not os.path.exists(DOVECOT):
            pytest.fail("Dovecot is missing: scripts/test installs it (apt-get install "
                        "dovecot-imapd); the IMAP tests never skip")
        self._configure()
        self.process = subprocess.Popen(  # noqa: S603
            [DOVECOT, "-c", str(self.conf), "-F"], stdin=subprocess.DEVNULL,
            stdout=open(self.root / "stdout.txt", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.process.returncode}: "
                                   f"{self.output()}")
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.output()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # The master leaves its imap, log and stats processes behind on SIGTERM: end the whole
        # process group (its own session), as a server going down ends every connection.
        # Wait for all of them: one killed in the middle of writing a mailbox leaves a lock
        # file that the next server waits on for minutes.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        try:
            process.wait(timeout=10)
            while time.monotonic() < deadline:
                os.killpg(process.pid, 0)  # ProcessLookupError: the group is gone
                time.sleep(0.02)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def output(self) -> str:
        parts = []
        for path in (self.root / "stdout.txt", self.log):
            if path.exists():
                parts.append(path.read_text(encoding="utf-8", errors="replace")[-4000:])
        return "\n".join(parts)

    # -------------------------------------------------------------- mailboxes

    def add_user(self) -> str:
        """A user whose mailbox nobody has used yet."""
        if self.handed_out >= USERS:
            raise RuntimeError(f"more than {USERS} mailboxes asked of one Dovecot")
        self.handed_out += 1
        return f"user{self.handed_out - 1:03d}"

    def url(self, user: str, folder: str = "INBOX") -> str:
        """The poller's OPSLEDGER_IMAP_URL for ``user``'s ``folder``."""
        query = "" if self.tls else "?tls=off"
        return f"imap://{user}:{PASSWORD}@127.0.0.1:{self.port}/{folder}{query}"

    @contextlib.contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        try:
            client.login(user, PASSWORD)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """A message into ``user``'s ``folder`` by IMAP APPEND, unseen."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)

    def messages(self, user: str, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """UID -> flags of every message in the folder (empty when there is no folder)."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            return {uid: data[b"FLAGS"] for uid, data in
                    client.fetch(client.search(["ALL"]), ["FLAGS"]).items()}


@contextlib.contextmanager
def running_dovecot(**options: object) -> Iterator[Dovecot]:
    root = Path(tempfile.mkdtemp(prefix="opsledger-dovecot-"))
    server = Dovecot(root, **options)  # type: ignore[arg-type]
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def imap_user(dovecot_server: Dovecot) -> str:
    return dovecot_server.add_user()


def main() -> None:  # pragma: no cover - a newcomer's mailbox (README, "Polling a mailbox")
    """``python -m tests.support.dovecot``: a throwaway Dovecot to try ``mail-poll`` on, until
    Ctrl-C; prints the OPSLEDGER_IMAP_URL of an empty mailbox and puts a first mail in it."""
    from email.message import EmailMessage

    with running_dovecot() as server:
        user = server.add_user()
        message = EmailMessage()
        message["From"], message["To"] = "王喆 <wangzhe@acme.com>", "helpdesk@example.com"
        message["Subject"] = "打印机无法连接"
        message.set_content("三楼的打印机从早上开始连不上。")
        server.deliver(user, message.as_bytes())
        print(f"export OPSLEDGER_IMAP_URL='{server.url(user)}'   # one unread mail in INBOX",
              flush=True)
        print(f"# more: python -m tests.support.dovecot is serving 127.0.0.1:{server.port} "
              f"(user {user}, password {PASSWORD}) until Ctrl-C", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


def _interrupt(*_: object) -> None:  # pragma: no cover
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover
    main()
