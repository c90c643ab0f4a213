"""Inbound claim mail over SMTP: an aiosmtpd handler on the application's own event loop.

``250`` is only ever sent once the mail is safe. Two ways, chosen by ``spool``:

* direct (no spool): the handler parses the mail and waits until the claims service has
  committed what became of it (a claim, or the polite reply to a stranger);
* spooled (``MailSpool``, what ``cpd run`` uses): the raw bytes are written to a file under
  the data directory and fsynced, then ``250``; a :class:`SpoolWorker` hands the files to the
  service in arrival order and deletes each only after the service returned. Acceptance then
  costs about what receiving costs, and parsing (~10 ms of CPU a mail) and storing happen
  behind it. Files left by a crash are handled at the next start.

Either way a crash before the ``250`` leaves the mail with the sending server, which retries;
a temporary failure (the database is locked or gone, the spool cannot be written, anything
unexpected) answers ``451`` so it tries again; a mail without a usable sender answers ``550``
with the reason (checked on the headers before spooling). A repeated delivery — a retry after
a lost ``250``, a file handled again after a crash — creates nothing new: the service is
idempotent on the Message-ID (on the SHA-256 of the bytes without one).

Blocking work runs in worker threads, so the bot and other sessions on the loop keep going.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import os
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from cpd.claims.intake import MailOutcome
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.parse import MalformedMail, parse_mail, to_intake
from cpd.mail_ingest.worker import run_in_thread

log = logging.getLogger(__name__)

DEFAULT_DATA_SIZE_LIMIT = 25 * 1024 * 1024
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure storing your claim; please try again later"

PasswordCheck = Callable[[str, str], bool]
"""``check(username, password)``: whether a client may AUTH with these credentials."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _normalise_recipients(recipients: Iterable[str] | None) -> tuple[set[str], set[str]] | None:
    """Split configured recipients into full addresses and bare domains (``@d`` or ``d``)."""
    if recipients is None:
        return None
    addresses: set[str] = set()
    domains: set[str] = set()
    for item in recipients:
        item = item.strip().lower()
        if not item:
            continue
        if item.startswith("@"):
            domains.add(item[1:])
        elif "@" in item:
            addresses.add(item)
        else:
            domains.add(item)
    return addresses, domains


def check_headers(raw: bytes) -> None:
    """Raise MalformedMail for what ``parse_mail`` would refuse, reading the headers only."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    parse_mail(raw if end < 0 else raw[:end] + b"\r\n\r\n")


class MailSpool:
    """Raw mails on disk, durably, until the claims service has them.

    Layout under ``directory``: ``tmp/`` (being written), ``new/`` (complete, fsynced, waiting;
    the name starts with the arrival time in nanoseconds, so names sort in arrival order) and
    ``rejected/`` (files the parser refused, kept for a person to look at).
    """

    NAME = re.compile(r"^(\d{19,20})-\d+-\d+\.eml$")

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.tmp, self.new, self.rejected = (directory / n for n in ("tmp", "new", "rejected"))
        for folder in (self.tmp, self.new, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count()

    def put(self, raw: bytes, received_at: dt.datetime) -> Path:
        """Write ``raw`` durably (file and directory fsynced); its path in ``new/``."""
        stamp = int(received_at.timestamp() * 1_000_000) * 1000
        name = f"{stamp:020d}-{os.getpid()}-{next(self._numbers)}.eml"
        partial, final = self.tmp / name, self.new / name
        try:
            with partial.open("xb") as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        _fsync_directory(self.new)
        return final

    def waiting(self) -> list[Path]:
        """The files waiting, oldest first."""
        return sorted(p for p in self.new.iterdir() if self.NAME.match(p.name))

    def received_at(self, path: Path) -> dt.datetime:
        """When the mail in ``path`` arrived (from its name)."""
        match = self.NAME.match(path.name)
        if match is None:
            return _utcnow()
        return dt.datetime.fromtimestamp(int(match.group(1)) / 1e9, dt.UTC)

    def reject(self, path: Path) -> None:
        """Set a file aside that can never become a claim."""
        os.replace(path, self.rejected / path.name)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolWorker:
    """Hands spooled mails to the claims service, oldest first; ``await run()`` until cancelled.

    A file is deleted only after ``receive_mail`` returned, so a crash in between hands the
    same mail over again, which the service recognises. When the service fails (the database
    is down) the worker waits with exponential backoff and tries the same file again.
    """

    def __init__(
        self,
        service: ClaimsService,
        spool: MailSpool,
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 60.0,
        idle_check: float = 5.0,
    ) -> None:
        self.service = service
        self.spool = spool
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.idle_check = idle_check
        self.handled = 0
        """How many spooled mails were handed to the service."""
        self._stopping = threading.Event()
        self._wakeup = threading.Event()

    def wake(self) -> None:
        """A new file is waiting (called by the handler after each ``250``)."""
        self._wakeup.set()

    def stop(self) -> None:
        """Stop after the file in hand."""
        self._stopping.set()
        self._wakeup.set()

    async def run(self) -> None:
        """Work in a thread of its own until cancelled (cancelling waits for the file in hand)."""
        await run_in_thread(self.run_blocking, self.stop, "mail-spool")

    def run_blocking(self) -> None:
        """Drain the spool, then wait to be woken (or ``idle_check`` seconds); until stopped."""
        delay = self.backoff_initial
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                self.drain()
                delay = self.backoff_initial
            except Exception as exc:
                log.warning(
                    "could not store a spooled mail (%s: %s); retrying in %.1f s",
                    type(exc).__name__,
                    _one_line(str(exc)),
                    delay,
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            self._wakeup.wait(self.idle_check)

    def drain(self) -> int:
        """Hand every waiting file to the service; how many (raises on a service failure)."""
        count = 0
        for path in self.spool.waiting():
            if self._stopping.is_set():
                break
            self.handle(path)
            count += 1
        return count

    def handle(self, path: Path) -> MailOutcome | None:
        """One file: parse, store, delete; a file the parser refuses is set aside."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            intake = to_intake(parse_mail(raw), raw, self.spool.received_at(path))
        except MalformedMail as exc:
            log.warning("spooled mail %s is not readable (%s); set aside", path.name, exc)
            self.spool.reject(path)
            return None
        outcome = self.service.receive_mail(intake)
        path.unlink(missing_ok=True)
        self.handled += 1
        log.info(
            "mail from %s: %s%s%s",
            intake.sender.email,
            outcome.outcome,
            f" (claim #{outcome.claim.id})" if outcome.claim else "",
            " (duplicate)" if outcome.duplicate else "",
        )
        return outcome


def _one_line(text: str, limit: int = 200) -> str:
    """Text safe for an SMTP reply line: printable ASCII, one line, bounded."""
    clean = "".join(ch if 32 <= ord(ch) < 127 else " " for ch in text)
    clean = " ".join(clean.split())
    return clean[:limit] or "unreadable message"


def with_return_path(raw: bytes, mail_from: str | None) -> bytes:
    """Record the envelope sender as the final delivery does (``Return-Path: <>`` marks a
    bounce, which must get no automatic answer)."""
    if raw[:12].lower() == b"return-path:":
        return raw
    address = (mail_from or "").strip().strip("<>")
    return b"Return-Path: <" + address.encode("utf-8", "replace") + b">\r\n" + raw


class ClaimMailHandler:
    """aiosmtpd handler: accepts mail for the claims address and hands it to the service.

    ``recipients`` lists the addresses (``claims@example.org``) and domains (``example.org``
    or ``@example.org``) mail is accepted for; ``None`` accepts any recipient. With a
    ``spool`` the mail is written there (and ``on_spooled`` called) instead of stored at once.
    """

    def __init__(
        self,
        service: ClaimsService,
        recipients: Iterable[str] | None = None,
        *,
        spool: MailSpool | None = None,
        on_spooled: Callable[[], None] | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.service = service
        self.spool = spool
        self.on_spooled = on_spooled
        self.clock = clock
        self._recipients = _normalise_recipients(recipients)
        self._storing = 0

    async def drain(self, timeout: float) -> bool:
        """Wait until no message is being stored (True), or ``timeout`` seconds (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._storing and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return not self._storing

    def accepts(self, address: str) -> bool:
        """Whether mail to ``address`` is for us."""
        if self._recipients is None:
            return True
        addresses, domains = self._recipients
        address = address.strip().strip("<>").lower()
        domain = address.rpartition("@")[2]
        return address in addresses or (bool(domain) and domain in domains)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Accept only the configured recipients (550 for anything else: no relaying)."""
        if not self.accepts(address):
            return f"550 5.1.1 <{_one_line(address, 100)}>: no such recipient here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """Store (or spool) the message; ``250`` only once it is safe."""
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):  # only when decode_data=True, which we never set
            raw = raw.encode("utf-8", "surrogateescape")
        raw = with_return_path(raw, envelope.mail_from)
        peer = session.peer[0] if isinstance(session.peer, tuple) else session.peer
        self._storing += 1
        try:
            if self.spool is not None:
                await asyncio.to_thread(self.put, raw)
                return "250 OK"
            outcome = await asyncio.to_thread(self.store, raw)
        except MalformedMail as exc:
            log.warning("refused malformed mail from %s (%s): %s", envelope.mail_from, peer, exc)
            return f"550 5.6.0 Malformed message: {_one_line(str(exc))}"
        except Exception:
            log.exception(
                "could not store mail from %s (%s); asked to retry", envelope.mail_from, peer
            )
            return TEMPORARY_FAILURE
        finally:
            self._storing -= 1
        log.info(
            "mail from %s: %s%s%s",
            envelope.mail_from,
            outcome.outcome,
            f" (claim #{outcome.claim.id})" if outcome.claim else "",
            " (duplicate)" if outcome.duplicate else "",
        )
        return "250 OK"

    def put(self, raw: bytes) -> Path:
        """Check the headers and write ``raw`` to the spool (blocking: run it in a thread)."""
        assert self.spool is not None
        check_headers(raw)
        path = self.spool.put(raw, self.clock())
        if self.on_spooled is not None:
            self.on_spooled()
        return path

    def store(self, raw: bytes) -> MailOutcome:
        """Parse ``raw`` and hand it to the claims service (blocking: run it in a thread)."""
        received_at = self.clock()
        intake = to_intake(parse_mail(raw), raw, received_at)
        return self.service.receive_mail(intake)


class _PasswordAuthenticator:
    """aiosmtpd authenticator around a plain ``check(username, password)``."""

    def __init__(self, check: PasswordCheck) -> None:
        self.check = check

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        username = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        try:
            ok = self.check(username, password)
        except Exception:
            log.exception("the SMTP password check failed")
            ok = False
        return AuthResult(success=bool(ok), handled=False, auth_data=username if ok else None)


async def start_smtp(
    service: ClaimsService,
    host: str,
    port: int,
    *,
    data_size_limit: int = DEFAULT_DATA_SIZE_LIMIT,
    recipients: Iterable[str] | None = None,
    tls_context: ssl.SSLContext | None = None,
    require_starttls: bool = False,
    auth: PasswordCheck | None = None,
    auth_required: bool = False,
    auth_require_tls: bool = True,
    hostname: str | None = None,
    timeout: float = 300,
    handler: ClaimMailHandler | None = None,
) -> asyncio.base_events.Server:
    """Listen for claim mail on ``host:port`` on the running loop; returns the server.

    STARTTLS is offered when ``tls_context`` is given (``require_starttls`` refuses mail
    before it); AUTH PLAIN/LOGIN is offered when ``auth`` checks credentials
    (``auth_required`` refuses mail without it; by aiosmtpd's default AUTH needs TLS).
    ``handler`` replaces the default one built from ``service`` and ``recipients``.
    Close the server with ``server.close(); await server.wait_closed()``.
    """
    loop = asyncio.get_running_loop()
    if handler is None:
        handler = ClaimMailHandler(service, recipients)
    if hostname is None:
        hostname = await asyncio.to_thread(socket.getfqdn)
    options: dict[str, Any] = {
        "data_size_limit": data_size_limit,
        "hostname": hostname,
        "ident": "CPD Claims Assistant",
        "timeout": timeout,
        "tls_context": tls_context,
        "require_starttls": require_starttls,
        "auth_required": auth_required,
        "auth_require_tls": auth_require_tls,
        "enable_SMTPUTF8": True,
    }
    if auth is not None:
        options["authenticator"] = _PasswordAuthenticator(auth)
    return await loop.create_server(
        lambda: SMTP(handler, loop=loop, **options), host=host, port=port
    )
