"""Inbound claim mail over SMTP: an aiosmtpd handler on the application's own event loop.

``250`` is only ever sent once the mail is safe. Two ways, chosen by ``spool``:

* direct (no spool): the handler parses the mail and waits until the claims service has
  committed what became of it (a claim, or the polite reply to a stranger);
* spooled (``MailSpool``, what ``cpd run`` uses): the raw bytes are written to a file under
  the data directory and fsynced, then ``250``; a :class:`SpoolWorker` hands the files to the
  service in arrival order and deletes each only after the service returned. Acceptance then
  costs about what receiving costs, and parsing (~10 ms of CPU a mail) and storing happen
  behind it. Files left by a crash are handled at the next start. DATA is streamed into
  the spool file as it arrives (:mod:`cpd.mail_ingest.streaming`), a mail that fails to
  store on its own is quarantined without holding up the rest
  (:mod:`cpd.mail_ingest.spool_worker`), and the layout is in :mod:`cpd.mail_ingest.spool`.

Either way a crash before the ``250`` leaves the mail with the sending server, which retries;
a temporary failure (the database is locked or gone, the spool cannot be written, anything
unexpected) answers ``451`` so it tries again (``451 4.3.1`` for a full disk); at most
``max_sessions`` sessions are served at once (``421`` beyond); a mail without a usable
sender answers ``550`` with the reason (checked on the headers before spooling). A repeated
delivery — a retry after a lost ``250``, a file handled again after a crash — creates nothing
new: the service is idempotent on the Message-ID (on the SHA-256 of the bytes without one).

Blocking work runs in worker threads, so the bot and other sessions on the loop keep going.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import ssl
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from cpd.claims import ops_metrics
from cpd.claims.intake import MAX_ATTACHMENTS, MailOutcome
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.envelope import Envelope as SmtpEnvelope
from cpd.mail_ingest.envelope import split_envelope, with_envelope
from cpd.mail_ingest.identify import checked_intake
from cpd.mail_ingest.parse import MalformedMail, parse_mail
from cpd.mail_ingest.sender_auth import MailAuthConfig
from cpd.mail_ingest.smtp_auth import ThreadedAuthSMTP
from cpd.mail_ingest.spool import Incoming, MailSpool
from cpd.mail_ingest.spool_worker import SpoolWorker
from cpd.mail_ingest.spool_worker import one_line as _one_line
from cpd.mail_ingest.streaming import (
    DISK_FULL,
    TEMPORARY_FAILURE,
    BoundedSMTP,
    SessionGate,
    disk_full,
)

__all__ = ["ClaimMailHandler", "MailSpool", "SpoolWorker", "check_headers", "start_smtp"]

log = logging.getLogger(__name__)

DEFAULT_DATA_SIZE_LIMIT = 25 * 1024 * 1024
DEFAULT_MAX_SESSIONS = 8

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


def with_return_path(raw: bytes, mail_from: str | None) -> bytes:
    """Record the envelope sender as the final delivery does (``Return-Path: <>`` marks a
    bounce, which must get no automatic answer). Always the product's own line, on top: a
    ``Return-Path`` the sender wrote stays below it and is never the one read."""
    return return_path_line(mail_from) + raw


def session_envelope(session: Session | None, mail_from: str | None) -> SmtpEnvelope:
    """What the SMTP session saw (client address, HELO, MAIL FROM), for SPF."""
    peer = getattr(session, "peer", None)
    client_ip = peer[0] if isinstance(peer, tuple) else peer
    helo = getattr(session, "host_name", None)
    return SmtpEnvelope(
        str(client_ip) if client_ip is not None else None,
        helo if isinstance(helo, str) else None,
        (mail_from or "").strip().strip("<>") if mail_from is not None else None,
    )


def return_path_line(mail_from: str | None) -> bytes:
    """``Return-Path: <sender>`` and CRLF, for the envelope sender ``mail_from``."""
    address = (mail_from or "").strip().strip("<>")
    return b"Return-Path: <" + address.encode("utf-8", "replace") + b">\r\n"


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
        max_attachments: int = MAX_ATTACHMENTS,
        auth: MailAuthConfig | None = None,
    ) -> None:
        self.service = service
        self.auth = auth or MailAuthConfig()
        self.max_attachments = max_attachments
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
        local, _, domain = address.rpartition("@")
        if "+" in local and f"{local.partition('+')[0]}+*@{domain}" in addresses:
            return True  # a listed ``tag+*@domain``: any ``tag+<anything>@domain``
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
            ops_metrics.smtp_refused("recipient")
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
        raw = with_envelope(
            with_return_path(raw, envelope.mail_from),
            session_envelope(session, envelope.mail_from),
        )
        peer = session.peer[0] if isinstance(session.peer, tuple) else session.peer
        self._storing += 1
        try:
            if self.spool is not None:
                await asyncio.to_thread(self.put, raw)
                return "250 OK"
            outcome = await asyncio.to_thread(self.store, raw)
        except MalformedMail as exc:
            log.warning("refused malformed mail from %s (%s): %s", envelope.mail_from, peer, exc)
            ops_metrics.smtp_refused("malformed")
            return f"550 5.6.0 Malformed message: {_one_line(str(exc))}"
        except OSError as exc:
            if not disk_full(exc):
                raise
            log.warning("cannot spool mail from %s (%s): %s", envelope.mail_from, peer, exc)
            return DISK_FULL
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
        """Check the headers and write ``raw`` (envelope line first) to the spool (blocking)."""
        assert self.spool is not None
        check_headers(split_envelope(raw)[1])
        path = self.spool.put(raw, self.clock())
        if self.on_spooled is not None:
            self.on_spooled()
        return path

    def store(self, raw: bytes) -> MailOutcome:
        """Parse ``raw`` and hand it to the claims service (blocking: run it in a thread)."""
        received_at = self.clock()
        envelope, raw = split_envelope(raw)
        intake = checked_intake(
            self.auth,
            parse_mail(raw),
            raw,
            received_at,
            envelope,
            max_attachments=self.max_attachments,
        )
        return self.service.receive_mail(intake)

    # -- streamed DATA (BoundedSMTP calls these when there is a spool) -------------------

    def return_path(self, mail_from: str | None, session: Session | None = None) -> bytes:
        """The lines put before a streamed mail: the envelope (for SPF), then the sender."""
        line = return_path_line(mail_from)
        if session is None:
            return line
        return with_envelope(line, session_envelope(session, mail_from))

    def begin_spooled(self) -> Incoming:
        """A new spool file for a mail about to be streamed (blocking; OSError on a full disk)."""
        assert self.spool is not None
        return self.spool.incoming(self.clock())

    async def finish_spooled(self, incoming: Incoming, header: bytes) -> str:
        """Check the streamed mail's headers, then make it durable: the reply to send."""
        self._storing += 1
        try:
            check_headers(header)
            await asyncio.to_thread(incoming.commit)
        except MalformedMail as exc:
            await asyncio.to_thread(incoming.discard)
            log.warning("refused malformed mail (%s)", exc)
            ops_metrics.smtp_refused("malformed")
            return f"550 5.6.0 Malformed message: {_one_line(str(exc))}"
        except OSError as exc:
            log.warning("could not spool mail (%s); asked to retry", exc)
            return DISK_FULL if disk_full(exc) else TEMPORARY_FAILURE
        finally:
            self._storing -= 1
        if self.on_spooled is not None:
            self.on_spooled()
        return "250 OK"


class _PasswordAuthenticator:
    """aiosmtpd authenticator around a plain ``check(username, password)``; a refusal is
    logged with the user name and the peer, never the password."""

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
        if not ok:
            peer = session.peer[0] if isinstance(session.peer, tuple) else session.peer
            user = _one_line(username, 100)
            log.warning("SMTP AUTH %s refused for user %r from %s", mechanism, user, peer)
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
    max_sessions: int | None = DEFAULT_MAX_SESSIONS,
    mail_auth: MailAuthConfig | None = None,
) -> asyncio.base_events.Server:
    """Listen for claim mail on ``host:port`` on the running loop; returns the server.

    STARTTLS is offered when ``tls_context`` is given (``require_starttls`` refuses mail
    before it); AUTH PLAIN/LOGIN is offered when ``auth`` checks credentials
    (``auth_required`` refuses mail without it; by aiosmtpd's default AUTH needs TLS; the
    check runs in a worker thread).
    ``handler`` replaces the default one built from ``service``, ``recipients`` and
    ``mail_auth`` (how senders are verified; default ``verify``). At most
    ``max_sessions`` sessions at once (``421`` beyond; None: no cap); with a spooling
    handler DATA is streamed to the spool (see :mod:`cpd.mail_ingest.streaming`).
    Close the server with ``server.close(); await server.wait_closed()``.
    """
    loop = asyncio.get_running_loop()
    if handler is None:
        handler = ClaimMailHandler(service, recipients, auth=mail_auth)
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
    protocol: type[BoundedSMTP] = BoundedSMTP
    if auth is not None:
        options["authenticator"] = _PasswordAuthenticator(auth)
        protocol = ThreadedAuthSMTP  # the check may be slow (scrypt): off the loop
    gate = SessionGate(max_sessions)
    return await loop.create_server(
        lambda: protocol(handler, gate=gate, loop=loop, **options), host=host, port=port
    )
