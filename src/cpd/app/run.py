"""``cpd run``: everything that is configured, in one process and one event loop.

Settings are read once by the CLI and passed in; the database is migrated before anything
starts. With a Telegram token the bot owns the loop and the mail channel (SMTP listener,
IMAP poller, outbound mail) starts in its ``post_init`` and stops in its ``post_shutdown``;
without one, a loop of our own runs the mail channel alone. Ctrl-C and SIGTERM stop
everything cleanly: mail being stored is finished (and only then acknowledged), the bot
finishes the updates in hand, and anything not yet delivered stays in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from cpd.app.settings import Settings, SettingsError
from cpd.bot.config import BotConfig
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.imap_poller import ImapUrlError, parse_imap_url
from cpd.mail_ingest.runtime import MailConfig, MailRuntime, start_mail

log = logging.getLogger("cpd")


class NothingToRun(Exception):
    """No channel is configured."""


def configure_logging() -> None:
    """Log to stderr; keep HTTP client request lines (which carry the bot token) out."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Application", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def build_service(settings: Settings) -> ClaimsService:
    """The claims service on the configured database, with the shipped NLP pipeline."""
    from cpd.nlp import LOW_CONFIDENCE, load_extractor
    from cpd.storage import make_engine, migrate

    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    return ClaimsService(
        engine,
        load_extractor(),
        settings.evidence_dir,
        settings.zone,
        settings.secretary_chat_id,
        low_confidence=LOW_CONFIDENCE,
    )


def bot_config(settings: Settings) -> BotConfig:
    """The bot's part of the settings."""
    assert settings.telegram_token is not None
    return BotConfig(
        token=settings.telegram_token.get_secret_value(),
        api_url=settings.telegram_api_url,
        file_url=settings.telegram_file_url,
        secretary_chat_id=settings.secretary_chat_id,
        nudge_cron=settings.nudge_cron,
        timezone=settings.zone,
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
        recipients=tuple(r.strip() for r in settings.smtp_recipients.split(",") if r.strip())
        or None,
        spool_dir=settings.data_dir / "spool" / "smtp",
        max_sessions=settings.smtp_max_sessions,
        max_attachments=settings.max_attachments,
        max_attempts=settings.mail_max_attempts,
        retry_initial=settings.mail_retry_seconds,
    )


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


async def run_mail_only(service: ClaimsService, config: MailConfig) -> None:
    """The mail channel on this loop until SIGINT/SIGTERM, then a clean stop."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    runtime = await _start_mail(service, config)
    try:
        await stopping.wait()
        log.info("stopping")
    finally:
        await runtime.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run(settings: Settings) -> None:
    """Start every configured part and block until stopped."""
    configure_logging()
    mail = mail_config(settings)
    if settings.telegram_token is None and not mail.enabled:
        raise NothingToRun(
            "nothing to run: set CPD_TELEGRAM_TOKEN for the Telegram bot, or CPD_SMTP_LISTEN "
            "/ CPD_IMAP_URL / CPD_SMTP_RELAY for mail"
        )
    service = build_service(settings)
    if settings.telegram_token is None:
        log.info("no CPD_TELEGRAM_TOKEN: running the mail channel only")
        asyncio.run(run_mail_only(service, mail))
        log.info("stopped")
        return

    from cpd.bot.application import run as run_bot

    runtime: list[MailRuntime] = []

    async def start() -> None:
        if mail.enabled:
            runtime.append(await _start_mail(service, mail))

    async def stop() -> None:
        while runtime:
            await runtime.pop().stop()

    log.info("starting the Telegram bot (secretary chat %s)", settings.secretary_chat_id)
    run_bot(service, bot_config(settings), on_start=start, on_stop=stop)
    log.info("stopped")
