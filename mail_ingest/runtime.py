"""The mail channel on a running event loop: SMTP inbound, the IMAP poller, outbound mail.

``cpd run`` calls :func:`start_mail` on its one event loop (the bot's, or a loop of its own
when there is no bot) and :meth:`MailRuntime.stop` when it stops. Stopping closes the SMTP
listener, lets messages being stored finish (a ``250`` is only ever sent after the commit, so
anything cut short is retried by its sender), waits for the IMAP worker to finish the message
in hand, and cancels the outbound sender (what it has not delivered stays in the outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpd.claims.intake import MAX_ATTACHMENTS
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.imap_poller import ImapPoller, parse_imap_url
from cpd.mail_ingest.outbound import MailSender
from cpd.mail_ingest.passwords import PasswordFile
from cpd.mail_ingest.sender_auth import MailAuthConfig
from cpd.mail_ingest.smtp_server import (
    DEFAULT_DATA_SIZE_LIMIT,
    DEFAULT_MAX_SESSIONS,
    ClaimMailHandler,
    MailSpool,
    SpoolWorker,
    start_smtp,
)
from cpd.mail_ingest.spool_worker import DEFAULT_MAX_ATTEMPTS
from cpd.mail_ingest.tls import effective_relay_tls, relay_context, server_context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailConfig:
    """What the mail channel needs from the settings, as plain values.

    ``smtp_host``/``smtp_port`` None: no SMTP listener. ``recipients`` None: accept mail for
    any recipient (else addresses ``claims@example.org`` or domains ``example.org``).
    ``relay_host`` None: outbound mail stays queued in the outbox. ``imap_url`` None: no
    poller (the URL holds a password and is kept out of ``repr``). ``spool_dir``: SMTP mail
    is spooled there (fsynced) and acknowledged before it is parsed and stored; None: the
    ``250`` waits for the database commit. ``max_sessions``: concurrent SMTP sessions
    (``421`` beyond). ``max_attachments``: evidence files kept per claim (the rest are named
    in the receipt). ``max_attempts``/``retry_initial``: a spooled mail that fails on its own
    is retried that often, after ``retry_initial`` seconds doubling, then quarantined.

    Transport security: ``tls_cert``/``tls_key`` offer STARTTLS on the listener
    (``require_tls`` refuses mail before it); ``auth_users`` (a ``user:scrypt$...`` file,
    see :mod:`cpd.mail_ingest.passwords`) offers AUTH over TLS and requires it for every
    mail. ``relay_tls`` (auto|starttls|tls|none, see :mod:`cpd.mail_ingest.tls`) and
    ``relay_ca`` decide how the relay is talked to, ``relay_user``/``relay_password`` log in
    to it. ``imap_since``: the poller leaves mail received before this moment where it is.
    ``auth``: how senders are verified (``CPD_MAIL_AUTH``; the IMAP poller never has SPF).
    """

    smtp_host: str | None = None
    smtp_port: int | None = None
    recipients: tuple[str, ...] | None = None
    relay_host: str | None = None
    relay_port: int | None = None
    mail_from: str = "cpd@localhost"
    imap_url: str | None = field(default=None, repr=False)
    spool_dir: Path | None = None
    data_size_limit: int = DEFAULT_DATA_SIZE_LIMIT
    imap_poll_interval: float = 60.0
    drain_timeout: float = 30.0
    max_sessions: int = DEFAULT_MAX_SESSIONS
    max_attachments: int = MAX_ATTACHMENTS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_initial: float = 1.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    require_tls: bool = False
    auth_users: Path | None = None
    relay_tls: str = "auto"
    relay_ca: Path | None = None
    relay_user: str | None = None
    relay_password: str | None = field(default=None, repr=False)
    imap_since: dt.datetime | None = None
    mail_rate: float | None = None
    """Outbound mails a second (None: no limit)."""
    web_url: str | None = None
    """Base of the one-click unsubscribe URL in reminder mail (``https://`` only)."""

    @property
    def tls_enabled(self) -> bool:
        """Whether the SMTP listener offers STARTTLS."""
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def effective_relay_tls(self) -> str:
        """The relay TLS mode in force (``auto`` with a CA file is ``starttls``)."""
        return effective_relay_tls(self.relay_tls, self.relay_ca)

    auth: MailAuthConfig = field(default_factory=MailAuthConfig)

    @property
    def smtp_enabled(self) -> bool:
        """Whether an SMTP listener is configured."""
        return self.smtp_host is not None and self.smtp_port is not None

    @property
    def relay_enabled(self) -> bool:
        """Whether outbound mail is delivered (to a relay)."""
        return self.relay_host is not None and self.relay_port is not None

    @property
    def enabled(self) -> bool:
        """Whether any part of the mail channel is configured."""
        return self.smtp_enabled or self.relay_enabled or self.imap_url is not None


class MailRuntime:
    """The running parts of the mail channel; :meth:`stop` ends them."""

    def __init__(
        self,
        server: asyncio.base_events.Server | None = None,
        handler: ClaimMailHandler | None = None,
        tasks: dict[str, asyncio.Task[None]] | None = None,
        poller: ImapPoller | None = None,
        drain_timeout: float = 30.0,
        spool_worker: SpoolWorker | None = None,
    ) -> None:
        self.server = server
        self.handler = handler
        self.tasks: dict[str, asyncio.Task[None]] = dict(tasks or {})
        self.poller = poller
        self.spool_worker = spool_worker
        self.drain_timeout = drain_timeout
        self._stopped = False

    @property
    def smtp_address(self) -> tuple[str, int] | None:
        """The (host, port) the SMTP listener is bound to, if it runs."""
        if self.server is None or not self.server.sockets:
            return None
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    async def stop(self) -> None:
        """Stop accepting mail, finish what is in hand, end the background tasks (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if self.server is not None:
            self.server.close()
            # (from Python 3.12 this also waits for idle client connections: bounded)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)
        if self.handler is not None and not await self.handler.drain(self.drain_timeout):
            log.warning("stopped with mail still being stored; its senders will retry")
        if self.poller is not None:
            self.poller.stop()
        if self.spool_worker is not None:
            self.spool_worker.stop()
        for task in self.tasks.values():
            task.cancel()
        for name, task in self.tasks.items():
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await task
                except Exception:
                    log.exception("the %s task failed while stopping", name)
        log.info("mail channel stopped")


def _listener_security(config: MailConfig) -> dict[str, Any]:
    """``start_smtp`` options for STARTTLS and AUTH (TlsFileError/PasswordFileError)."""
    if not config.tls_enabled:
        return {}
    assert config.tls_cert is not None and config.tls_key is not None
    options: dict[str, Any] = {
        "tls_context": server_context(config.tls_cert, config.tls_key),
        "require_starttls": config.require_tls,
    }
    if config.auth_users is not None:
        options["auth"] = PasswordFile.load(config.auth_users)
        options["auth_required"] = True
    return options


async def start_mail(service: ClaimsService, config: MailConfig) -> MailRuntime:
    """Start every configured part of the mail channel on the running loop.

    Raises OSError when the SMTP address cannot be bound and ValueError for a bad IMAP URL,
    before anything is left running.
    """
    account = parse_imap_url(config.imap_url) if config.imap_url is not None else None
    server = handler = worker = None
    spool_dir = config.spool_dir
    if spool_dir is not None and (config.smtp_enabled or spool_dir.exists()):
        # (without SMTP only to finish what an earlier run spooled)
        spool = await asyncio.to_thread(MailSpool, spool_dir)
        worker = SpoolWorker(
            service,
            spool,
            max_attempts=config.max_attempts,
            retry_initial=config.retry_initial,
            max_attachments=config.max_attachments,
            auth=config.auth,
        )
    if config.smtp_enabled:
        assert config.smtp_host is not None and config.smtp_port is not None
        if worker is not None:
            handler = ClaimMailHandler(
                service,
                config.recipients,
                spool=worker.spool,
                on_spooled=worker.wake,
                max_attachments=config.max_attachments,
                auth=config.auth,
            )
        else:
            handler = ClaimMailHandler(
                service,
                config.recipients,
                max_attachments=config.max_attachments,
                auth=config.auth,
            )
        server = await start_smtp(
            service,
            config.smtp_host,
            config.smtp_port,
            data_size_limit=config.data_size_limit,
            handler=handler,
            max_sessions=config.max_sessions,
            **_listener_security(config),
        )
    runtime = MailRuntime(server, handler, drain_timeout=config.drain_timeout, spool_worker=worker)
    if worker is not None:
        runtime.tasks["spool"] = asyncio.create_task(worker.run(), name="cpd-mail-spool")
    if (address := runtime.smtp_address) is not None:
        log.info("listening for claim mail on %s:%s", *address)
    if account is not None:
        poller = ImapPoller(
            service,
            account,
            poll_interval=config.imap_poll_interval,
            since=config.imap_since,
            auth=config.auth,
            max_attachments=config.max_attachments,
            lock=service.instances.lock("imap"),
        )
        runtime.poller = poller
        runtime.tasks["imap"] = asyncio.create_task(poller.run(), name="cpd-imap-poller")
        log.info("polling %s for claim mail", account)
    if config.relay_enabled:
        assert config.relay_host is not None and config.relay_port is not None
        mode = config.effective_relay_tls
        sender = MailSender(
            service,
            config.relay_host,
            config.relay_port,
            config.mail_from,
            tls=mode,
            tls_context=relay_context(config.relay_ca) if mode != "none" else None,
            username=config.relay_user,
            password=config.relay_password,
            rate=config.mail_rate,
            web_url=config.web_url,
        )
        runtime.tasks["outbound"] = asyncio.create_task(sender.run(), name="cpd-mail-sender")
        log.info(
            "sending mail from %s through %s:%s",
            config.mail_from,
            config.relay_host,
            config.relay_port,
        )
    else:
        log.info("no CPD_SMTP_RELAY: outbound mail stays queued in the outbox")
    return runtime
