"""``cpd run``: everything that is configured, in one process and one event loop of our own.

Settings are read once by the CLI and passed in; logging (with every secret masked) is set up
from them; the data directory and the database are checked and migrated before anything
starts (a failure is one line and exit 2). Then, on one ``asyncio.run`` loop: the mail channel
(SMTP listener, IMAP poller, outbound mail) starts first; the Telegram bot starts after it and
retries its start-up with backoff while mail keeps running (a rejected token included: see
:mod:`cpd.bot.polling`). The bot's updates are stored in the inbox before they are
confirmed. Ctrl-C and SIGTERM stop everything within 10 s, also while the bot is still
retrying: mail being stored is finished (and only then acknowledged), the bot finishes the
updates in hand (the rest stay in the inbox), and anything not delivered stays in the outbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from typing import IO, Any

from cpd import redact
from cpd.bot.config import BotConfig
from cpd.claims.instances import Instances
from cpd.claims.mail_verdicts import MailLimits
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.imap_poller import ImapUrlError, parse_imap_url
from cpd.mail_ingest.runtime import MailConfig, MailRuntime, start_mail
from cpd.mail_ingest.sender_auth import MailAuthConfig
from cpd.nlp.lazy import LazyExtractor
from cpd.nlp_loading import nlp_loaded
from cpd.ocr_wiring import OcrWorker, start_ocr
from cpd.schedule import build_scheduler, how_to_claim
from cpd.settings import Settings, SettingsError
from cpd.web_wiring import start_web, web_url

log = logging.getLogger("cpd")

STOP_SECONDS = 10.0  # SIGTERM to exit, at most
BOT_DRAIN_SECONDS = 5.0  # updates in hand at a stop may finish within this


class NothingToRun(Exception):
    """No channel is configured."""


class StartupError(Exception):
    """``cpd run`` cannot start (the data directory, the database): one line, no secret."""


def configure_logging(settings: Settings | None = None) -> None:
    """Log to stderr with the settings' secrets masked; HTTP client request lines stay out."""
    redact.configure(settings)


def database_label(settings: Settings) -> str:
    """The database URL with its password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(settings.effective_database_url).render_as_string(hide_password=True)
    except Exception:
        return redact.redact(settings.effective_database_url)


def prepare_data_dir(settings: Settings) -> None:
    """Create ``CPD_DATA_DIR`` (StartupError when it cannot be)."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if not settings.data_dir.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(settings.data_dir))
    except OSError as exc:
        raise StartupError(
            f"CPD_DATA_DIR: cannot create {settings.data_dir}: {exc.strerror or exc}"
        ) from None


def hold_database(settings: Settings) -> IO[str] | None:
    """On SQLite, this process's exclusive lock on the database file (StartupError when another
    ``cpd run`` holds it); None on PostgreSQL, where any number of instances may share it."""
    from cpd.storage.locks import DatabaseInUse, hold_sqlite_file

    try:
        return hold_sqlite_file(settings.effective_database_url)
    except DatabaseInUse as exc:
        raise StartupError(str(exc)) from None
    except OSError as exc:
        raise StartupError(
            f"cannot lock the database {database_label(settings)}: {exc.strerror or exc}"
        ) from None


def build_service(settings: Settings) -> ClaimsService:
    """The claims service on the configured database, with the shipped NLP pipeline
    (StartupError when the database cannot be reached or its file cannot be created)."""
    from sqlalchemy.exc import SQLAlchemyError

    from cpd.nlp import LOW_CONFIDENCE
    from cpd.storage import make_engine, migrate
    from cpd.storage.evidence import remove_incoming_leftovers

    try:
        engine = make_engine(settings.effective_database_url)
        migrate(engine)
    except (SQLAlchemyError, OSError) as exc:
        cause = getattr(exc, "orig", None) or exc
        detail = " ".join(str(cause).split()) or type(cause).__name__
        raise StartupError(
            redact.redact(f"cannot use the database {database_label(settings)}: {detail[:300]}")
        ) from None
    remove_incoming_leftovers(settings.evidence_dir)
    extractor = LazyExtractor()  # spaCy loads when a text first needs it; the bot waits for
    if settings.telegram_token is not None:  # it before handling updates: begin at once
        extractor.start()
    return ClaimsService(
        engine,
        extractor,
        settings.evidence_dir,
        settings.zone,
        settings.secretary_chat_id,
        low_confidence=LOW_CONFIDENCE,
        retention=settings.retention,
        mail_limits=MailLimits(
            stranger_replies_per_day=settings.stranger_replies_per_day,
            claims_per_hour=settings.mail_claims_per_hour,
        ),
        instances=Instances(
            engine, settings.instance_id, dt.timedelta(seconds=settings.outbox_lease_seconds)
        ),
        outbox_retry=settings.outbox_retry_seconds,
    )


def bot_config(settings: Settings) -> BotConfig:
    """The bot's part of the settings."""
    assert settings.telegram_token is not None
    return BotConfig(
        token=settings.telegram_token.get_secret_value(),
        api_url=settings.telegram_api_url,
        file_url=settings.telegram_file_url,
        secretary_chat_id=settings.secretary_chat_id,
        start_retry_max=settings.telegram_retry_max,
        rejected_token_retry=settings.telegram_retry_max * 5,
        conversations_file=settings.data_dir / "telegram-conversations.pickle",
        web_url=settings.effective_web_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=(
            settings.telegram_webhook_secret.get_secret_value()
            if settings.telegram_webhook_secret is not None
            else None
        ),
        outbox_interval=settings.outbox_poll_seconds,
    )


def _split_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def mail_config(settings: Settings) -> MailConfig:
    """The mail channel's part of the settings (SettingsError for a bad ``CPD_IMAP_URL``)."""
    smtp_host = smtp_port = relay_host = relay_port = None
    if settings.smtp_listen:
        smtp_host, smtp_port = _split_host_port(settings.smtp_listen)
    if settings.smtp_relay:
        relay_host, relay_port = _split_host_port(settings.smtp_relay)
    imap_url = settings.imap_url.get_secret_value() if settings.imap_url is not None else None
    if imap_url is not None:
        try:
            parse_imap_url(imap_url)
        except ImapUrlError as exc:
            raise SettingsError(f"CPD_IMAP_URL: {exc}") from None
    return MailConfig(
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        relay_host=relay_host,
        relay_port=relay_port,
        mail_from=settings.mail_from,
        imap_url=imap_url or None,
        recipients=_with_return_addresses(settings),
        mail_rate=settings.mail_rate_per_second,
        web_url=settings.web_url or None,
        spool_dir=settings.data_dir / "spool" / "smtp",
        max_sessions=settings.smtp_max_sessions,
        max_attachments=settings.max_attachments,
        max_attempts=settings.mail_max_attempts,
        retry_initial=settings.mail_retry_seconds,
        **_transport_security(settings),
        auth=MailAuthConfig(
            mode=settings.mail_auth,
            authserv_id=settings.mail_authserv_id,
            dns_servers=settings.dns_server_addresses,
        ),
    )


def _with_return_addresses(settings: Settings) -> tuple[str, ...] | None:
    """CPD_SMTP_RECIPIENTS, plus the addresses reminder mail asks to be answered at
    (``bounces+<token>@`` and ``unsubscribe+<token>@`` the CPD_MAIL_FROM domain)."""
    listed = tuple(r.strip() for r in settings.smtp_recipients.split(",") if r.strip())
    if not listed:
        return None
    domain = settings.mail_from.rpartition("@")[2].strip(" >").lower()
    return (*listed, f"bounces+*@{domain}", f"unsubscribe+*@{domain}") if domain else listed


def _transport_security(settings: Settings) -> dict[str, Any]:
    """The mail channel's TLS, AUTH, relay and IMAP-since settings, as MailConfig fields."""
    password = settings.smtp_relay_password
    since = settings.imap_since
    return {
        "tls_cert": settings.smtp_tls_cert,
        "tls_key": settings.smtp_tls_key,
        "require_tls": settings.smtp_require_tls,
        "auth_users": settings.smtp_auth_users,
        "relay_tls": settings.smtp_relay_tls,
        "relay_ca": settings.smtp_relay_ca,
        "relay_user": settings.smtp_relay_user,
        "relay_password": password.get_secret_value() if password is not None else None,
        "imap_since": (
            dt.datetime.combine(since, dt.time(), tzinfo=settings.zone) if since else None
        ),
    }


def _listener_note(mail: MailConfig) -> str:
    """`` (STARTTLS offered; AUTH required)`` and the like, for the startup line."""
    if not mail.tls_enabled:
        return " (no TLS: CPD_SMTP_TLS_CERT is not set)"
    notes = ["STARTTLS required" if mail.require_tls else "STARTTLS offered"]
    if mail.auth_users is not None:
        notes.append(f"AUTH required (users from {mail.auth_users})")
    return f" ({'; '.join(notes)})"


def _relay_note(mail: MailConfig) -> str:
    """How the relay is talked to, for the startup line."""
    mode = mail.effective_relay_tls
    trust = f"verified against {mail.relay_ca}" if mail.relay_ca else "verified"
    text = {
        "auto": f"STARTTLS when offered, {trust}",
        "starttls": f"STARTTLS required, {trust}",
        "tls": f"TLS, {trust}",
        "none": "no TLS",
    }[mode]
    if mail.relay_user:
        text += f"; login as {mail.relay_user}"
    return f" ({text})"


async def _start_mail(service: ClaimsService, config: MailConfig) -> MailRuntime:
    try:
        return await start_mail(service, config)
    except OSError as exc:
        if exc.filename:  # the spool directory under the data directory
            raise SettingsError(
                f"CPD_DATA_DIR: cannot use {exc.filename}: {exc.strerror or exc}"
            ) from None
        address = f"{config.smtp_host}:{config.smtp_port}"
        raise SettingsError(
            f"CPD_SMTP_LISTEN: cannot listen on {address}: {exc.strerror or exc}"
        ) from None


def startup_lines(settings: Settings, mail: MailConfig) -> list[str]:
    """What ``cpd run`` says at start: where its data lives, which channels are on, how to
    stop it."""
    lines = [f"data directory {settings.data_dir.resolve()}; database {database_label(settings)}"]
    if settings.telegram_token is not None:
        chat = settings.secretary_chat_id
        lines.append("Telegram bot: on" + (f" (secretary chat {chat})" if chat is not None else ""))
    else:
        lines.append("Telegram bot: off (no CPD_TELEGRAM_TOKEN)")
    if mail.smtp_enabled:
        lines.append(
            f"SMTP claim mail: listening on {mail.smtp_host}:{mail.smtp_port}"
            + _listener_note(mail)
        )
    else:
        lines.append("SMTP claim mail: off (CPD_SMTP_LISTEN is empty)")
    if mail.imap_url:
        since = ""
        if mail.imap_since is not None:
            since = f" (mail before {mail.imap_since.isoformat()} left alone)"
        lines.append(f"IMAP claim mail: polling {parse_imap_url(mail.imap_url)}{since}")
    else:
        lines.append("IMAP claim mail: off (no CPD_IMAP_URL)")
    if mail.relay_enabled:
        lines.append(f"outbound mail: relay {mail.relay_host}:{mail.relay_port}{_relay_note(mail)}")
    else:
        lines.append("outbound mail: no CPD_SMTP_RELAY, mail is kept in the outbox")
    return lines


async def _bot(service: ClaimsService, config: BotConfig, stopping: asyncio.Event) -> None:
    from cpd.bot.polling import BotRunner
    from cpd.bot.wiring import dispatch_turns, sending_application
    from cpd.claims.inbox import TelegramInbox

    try:
        if not await nlp_loaded(service, stopping):
            return
        runner = BotRunner(
            sending_application(service, config),
            TelegramInbox(service.engine),
            concurrency=config.concurrent_updates,
            start_retry_max=config.start_retry_max,
            rejected_token_retry=config.rejected_token_retry,
            drain_seconds=BOT_DRAIN_SECONDS,
            webhook=(
                (config.webhook_url, config.webhook_secret or "") if config.webhook_url else None
            ),
            turns=dispatch_turns(service, config, BOT_DRAIN_SECONDS),
        )
        await runner.run(stopping)
    except Exception as exc:  # mail must never go down because of the bot
        log.error("the Telegram bot stopped: %s", exc, exc_info=exc)


async def serve(settings: Settings, service: ClaimsService, mail: MailConfig) -> None:
    """Mail first, then the bot, until SIGINT/SIGTERM; then everything stops."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    runtime: MailRuntime | None = None
    bot: asyncio.Task[Any] | None = None
    web: Any = None
    ocr: OcrWorker | None = None
    scheduler = build_scheduler(
        service,
        settings.nudge_cron,
        settings.zone,
        settings.mail_nudge_cron,
        how_to_claim(settings),
    )
    try:
        if mail.enabled:
            runtime = await _start_mail(service, mail)
        scheduler.start()
        ocr = start_ocr(settings, service)  # evidence read off the intakes' path
        log.info(
            "scheduled: period end and retention purge nightly at 00:05, Telegram nudges on "
            "'%s', mail reminders on '%s', countdowns daily at 09:00, in %s",
            settings.nudge_cron,
            settings.mail_nudge_cron,
            settings.zone.key,
        )
        web = await start_web(settings, service)  # the web desk: after mail, before the bot
        if web is not None:
            log.info("web desk: listening on %s:%s (%s)", web.host, web.port, web_url(settings))
        if settings.telegram_token is not None:
            bot = asyncio.create_task(_bot(service, bot_config(settings), stopping), name="bot")
        log.info("running; stop it with Ctrl-C or SIGTERM")
        await stopping.wait()
        log.info("stopping")
    finally:
        stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if ocr is not None:
            ocr.stop()
        parts = [asyncio.ensure_future(runtime.stop())] if runtime is not None else []
        if web is not None:
            parts.append(asyncio.ensure_future(web.stop(STOP_SECONDS / 2)))
        if bot is not None:
            parts.append(bot)
        if parts:
            _, late = await asyncio.wait(parts, timeout=STOP_SECONDS - 1.5)
            for part in late:
                part.cancel()
            if late:
                log.warning("stopping took too long; %d part(s) cancelled", len(late))
                await asyncio.wait(late, timeout=1.0)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run(settings: Settings) -> None:
    """Start every configured part and block until stopped (StartupError, SettingsError or
    NothingToRun: one line for the CLI)."""
    configure_logging(settings)
    mail = mail_config(settings)
    if settings.telegram_token is None and not mail.enabled and not settings.web_listen:
        raise NothingToRun(
            "nothing to run: set CPD_TELEGRAM_TOKEN for the Telegram bot, CPD_SMTP_LISTEN "
            "/ CPD_IMAP_URL / CPD_SMTP_RELAY for mail, or CPD_WEB_LISTEN for the web desk"
        )
    prepare_data_dir(settings)
    database_lock = hold_database(settings)  # kept for the life of the process
    service = build_service(settings)
    for line in startup_lines(settings, mail):
        log.info("%s", line)
    if settings.telegram_token is not None and settings.secretary_chat_id is None:
        log.warning(
            "CPD_SECRETARY_CHAT_ID is not set: claims will wait for a decision with no "
            "secretary chat to post them to (secretaries can still use /pending)"
        )
    if mail.enabled and mail.auth.mode == "off":
        log.warning(
            "CPD_MAIL_AUTH=off: mail senders are not verified, anyone can claim as a member "
            "by writing their address in From: (tests and development only)"
        )
    asyncio.run(serve(settings, service, mail))
    log.info("stopped")
    if database_lock is not None:
        database_lock.close()
