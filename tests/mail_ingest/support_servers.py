"""Real servers for the mail tests: an SMTP relay sink, a pymap IMAP server, `cpd run`.

Everything listens on 127.0.0.1 on a free port. Nothing here fakes a protocol: the relay is
aiosmtpd, the IMAP server is pymap's maildir backend (its mailbox survives a restart, as a
real server's does), and `cpd run` is the real console script in a subprocess.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import os
import shutil
import signal
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from cpd.claims.members import import_members, parse_members_csv
from cpd.storage import make_engine, migrate
from tests.support.mail_auth import AUTH_OFF_ENV, MANY_CLAIMS_ENV

MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
S1,Sam Secretary,sam@example.com,iims,member,2015-01-01,secretary
"""
CLAIMS_ADDRESS = "claims@example.com"
IMAP_PASSWORD = "s3cret-imap-pw"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 64 + b"\xff\xd9"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    check: Callable[[], object], timeout: float = 20, interval: float = 0.05, what: str = ""
) -> object:
    """Poll ``check`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(interval)


# -- messages ---------------------------------------------------------------------------------


_counter = iter(range(1, 10**9))


def make_mail(
    text: str = "Boat show yesterday, 3 hours",
    *,
    sender: str = "Jane Surveyor <jane@example.com>",
    to: str = CLAIMS_ADDRESS,
    subject: str = "CPD claim",
    message_id: str | None = None,
    attachments: tuple[tuple[bytes, str, str], ...] = (),
    html: str | None = None,
) -> EmailMessage:
    """A mail as a member's client would send it; ``attachments`` are (data, type, name)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id or f"<t{next(_counter)}.{time.time_ns()}@example.com>"
    if html is not None and not text:
        message.set_content(html, subtype="html")
    else:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    for data, content_type, name in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def as_bytes(message: EmailMessage) -> bytes:
    """Wire form with CRLF line endings (LF endings get ``500 Line too long``)."""
    return message.as_bytes(policy=policy.SMTP)


def send(port: int, message: EmailMessage | bytes, *, sender: str = "jane@example.com") -> None:
    """Send one mail to 127.0.0.1:``port`` with smtplib (raises on any refusal)."""
    raw = message if isinstance(message, bytes) else as_bytes(message)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, [CLAIMS_ADDRESS], raw)


def send_until_accepted(
    port: int, raw: bytes, deadline: float, *, sender: str = "jane@example.com"
) -> int:
    """What a sending MTA does: retry on 4xx and on a lost connection until ``250``.

    Returns the number of attempts; raises on a permanent (5xx) refusal or at ``deadline``.
    """
    attempts = 0
    while True:
        attempts += 1
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.sendmail(sender, [CLAIMS_ADDRESS], raw)
            return attempts
        except smtplib.SMTPResponseException as exc:
            if not 400 <= exc.smtp_code < 500:
                raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if not all(400 <= code < 500 for code in codes):
                raise
        except (smtplib.SMTPServerDisconnected, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not accepted after {attempts} attempts")
        time.sleep(0.2)


# -- the relay: where `cpd run` delivers its outbound mail --------------------------------------


@dataclass
class Delivered:
    """One mail the relay received."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None = None
    """The user the client logged in as (AUTH), if it did."""


class _Collector:
    def __init__(self, sink: RelaySink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=policy.default)
        with self.sink.lock:
            self.sink.delivered.append(
                Delivered(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    parsed,  # type: ignore[arg-type]
                    session.login_data.decode() if session.login_data else None,
                )
            )
        return "250 OK"


class _CountingController(Controller):
    """A Controller that counts the SMTP connections it is given (one protocol each)."""

    def __init__(self, sink: RelaySink, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sink = sink

    def factory(self) -> SMTP:
        with self.sink.lock:
            self.sink.connections += 1
        return super().factory()


@dataclass
class RelaySink:
    """An aiosmtpd server (in its own thread) that keeps every mail it is given.

    With ``tls_context`` it offers STARTTLS and refuses mail before it (a relay with a
    certificate of its own); with ``users`` it also requires AUTH with one of them.
    """

    port: int = field(default_factory=free_port)
    delivered: list[Delivered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None
    tls_context: ssl.SSLContext | None = None
    users: dict[str, str] | None = None
    connections: int = 0
    """SMTP connections accepted so far."""

    def start(self) -> None:
        """Listen on 127.0.0.1:port."""
        options: dict[str, object] = {}
        if self.tls_context is not None:
            options = {"tls_context": self.tls_context, "require_starttls": True}
        if self.users is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
        self.controller = _CountingController(
            self, _Collector(self), hostname="127.0.0.1", port=self.port, **options
        )
        self.controller.start()
        with self.lock:
            self.connections = 0  # the controller's own readiness probe does not count

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        assert self.users is not None
        ok = isinstance(data, LoginPassword) and (
            self.users.get(data.login.decode()) == data.password.decode()
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    def stop(self) -> None:
        """Stop listening."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Delivered]:
        """Mails delivered to ``address`` so far."""
        with self.lock:
            return [d for d in self.delivered if address in d.rcpt_tos]

    @classmethod
    @contextlib.contextmanager
    def running(
        cls, tls_context: ssl.SSLContext | None = None, users: dict[str, str] | None = None
    ) -> Iterator[RelaySink]:
        """A started sink, stopped afterwards."""
        sink = cls(tls_context=tls_context, users=users)
        sink.start()
        try:
            yield sink
        finally:
            sink.stop()


# -- pymap: a real IMAP server ------------------------------------------------------------------


def pymap_available() -> bool:
    """Whether the ``pymap`` server is installed (a dev dependency)."""
    return shutil.which("pymap") is not None or _module_exists("pymap")


def _module_exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@dataclass
class PymapServer:
    """pymap's maildir backend under ``base``, one user; restartable, mail kept on disk."""

    base: Path
    user: str = CLAIMS_ADDRESS
    password: str = IMAP_PASSWORD
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``CPD_IMAP_URL`` for this server's INBOX."""
        return f"imap://{self.user}:{self.password}@127.0.0.1:{self.port}/INBOX"

    def setup(self) -> None:
        """Write the user and password files pymap's maildir backend reads."""
        from pymap.config import IMAPConfig

        self.base.mkdir(parents=True, exist_ok=True)
        digest = IMAPConfig._get_hash_context(None).hash(self.password)
        (self.base / "pymap-etc-passwd").write_text(f"{self.user}:x::::mail:\n")
        (self.base / "pymap-etc-shadow").write_text(f"{self.user}:{digest}:::::::\n")

    def start(self) -> None:
        """Start the server and wait until it answers."""
        assert self.process is None
        log = (self.base / "pymap.log").open("ab")
        command = [sys.executable, "-m", "pymap"] if not shutil.which("pymap") else ["pymap"]
        self.process = subprocess.Popen(
            [
                *command,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-tls",
                "maildir",
                str(self.base),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._answers, timeout=20, what="pymap to listen")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"pymap exited:\n{(self.base / 'pymap.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(100).startswith(b"* OK")
        except OSError:
            return False

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the server (connected clients see the connection drop)."""
        if self.process is None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def client(self):  # type: ignore[no-untyped-def]
        """A logged-in IMAPClient (the caller logs out)."""
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=20)
        client.login(self.user, self.password)
        return client

    def append(self, *messages: EmailMessage | bytes, folder: str = "INBOX") -> None:
        """Deliver ``messages`` into ``folder`` (as the organisation's MX would)."""
        client = self.client()
        try:
            for message in messages:
                raw = message if isinstance(message, bytes) else as_bytes(message)
                client.append(folder, raw)
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        """How many messages ``folder`` holds (0 when it does not exist)."""
        client = self.client()
        try:
            if not client.folder_exists(folder):
                return 0
            client.select_folder(folder, readonly=True)
            return len(client.search(["ALL"]))
        finally:
            client.logout()

    def flags(self, folder: str) -> list[tuple[bytes, ...]]:
        """The flags of every message in ``folder``."""
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            return [tuple(f[b"FLAGS"]) for f in client.fetch(uids, ["FLAGS"]).values()]
        finally:
            client.logout()

    @classmethod
    @contextlib.contextmanager
    def running(cls, base: Path) -> Iterator[PymapServer]:
        """A started server under ``base``, stopped afterwards."""
        server = cls(base)
        server.setup()
        server.start()
        try:
            yield server
        finally:
            server.stop()


# -- `cpd run` as a subprocess -------------------------------------------------------------------


def prepare_data_dir(data_dir: Path, members: str = MEMBERS) -> None:
    """A migrated SQLite database with the members imported (senders are known)."""
    engine = make_engine(f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    try:
        migrate(engine)
        import_members(engine, parse_members_csv(members, "iims"))
    finally:
        engine.dispose()


@dataclass
class CpdRun:
    """`cpd run` with the mail channel only, on its own data directory."""

    data_dir: Path
    env: dict[str, str]
    smtp_port: int
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @classmethod
    def configure(
        cls,
        data_dir: Path,
        *,
        relay_port: int | None = None,
        imap_url: str | None = None,
        smtp: bool = True,
        extra: dict[str, str] | None = None,
    ) -> CpdRun:
        """The environment for a run (no Telegram token: mail only)."""
        prepare_data_dir(data_dir)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
        env["CPD_DATA_DIR"] = str(data_dir)
        env["CPD_WEB_LISTEN"] = ""  # the web desk off unless a test asks for it
        env["CPD_SMTP_LISTEN"] = f"127.0.0.1:{port}" if smtp else ""
        env["CPD_MAIL_FROM"] = "CPD Claims <claims@example.com>"
        env.update(AUTH_OFF_ENV)  # today's intake: From: believed (tests/support/mail_auth.py)
        env.update(MANY_CLAIMS_ENV)  # load and fault runs send more than 20 claims an hour
        if relay_port is not None:
            env["CPD_SMTP_RELAY"] = f"127.0.0.1:{relay_port}"
        if imap_url is not None:
            env["CPD_IMAP_URL"] = imap_url
        env.update(extra or {})
        return cls(data_dir, env, port)

    @property
    def log_text(self) -> str:
        """Everything the runs so far logged."""
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def start(self, wait_for: str | None = "listening for claim mail on") -> None:
        """Start `cpd run` and wait until its log shows ``wait_for``."""
        assert self.process is None
        log = self.data_dir / f"cpd-run-{len(self.logs)}.log"
        self.logs.append(log)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from cpd.cli import main; main()", "run"],
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )
        if wait_for is None:
            return

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"cpd run exited early:\n{log.read_text()}")
            return wait_for in log.read_text(errors="replace")

        wait_until(ready, timeout=60, what=f"{wait_for!r} in the log of cpd run")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        """Stop `cpd run` with ``sig``; its exit status."""
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.process = None

    def kill(self) -> None:
        """SIGKILL, as a power cut would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        """Rows from the run's SQLite database, read-only."""
        path = self.data_dir / "cpd.sqlite3"
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, args).fetchall()
        finally:
            connection.close()

    def claims(self) -> list[tuple[object, ...]]:
        """(id, source_key, status, title, raw_text) of every claim."""
        return self.query("SELECT id, source_key, status, title, raw_text FROM claim ORDER BY id")

    def wait_claims(self, count: int, timeout: float = 20) -> list[tuple[object, ...]]:
        """The claims once there are ``count`` (a ``250`` means spooled, stored soon after)."""
        wait_until(lambda: len(self.claims()) >= count, timeout=timeout, what=f"{count} claim(s)")
        time.sleep(0.1)  # nothing more should come
        return self.claims()

    def spooled(self) -> list[Path]:
        """Mail files waiting in the SMTP spool."""
        folder = self.data_dir / "spool" / "smtp" / "new"
        return sorted(folder.glob("*.eml")) if folder.exists() else []

    def evidence(self, claim_id: int) -> list[tuple[object, ...]]:
        """(original_name, content_type, size, stored_path) of a claim's files."""
        return self.query(
            "SELECT original_name, content_type, size, stored_path FROM evidence_file "
            "WHERE claim_id = ? ORDER BY id",
            claim_id,
        )
