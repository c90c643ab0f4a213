"""``cpd run``: everything that is configured, in one process (today: the Telegram bot).

Settings are read once by the CLI and passed in; the database is migrated before anything
starts. Ctrl-C and SIGTERM stop the bot cleanly: python-telegram-bot finishes the updates in
hand, and anything not yet delivered stays in the outbox for the next start.
"""

from __future__ import annotations

import logging
import sys

from cpd.app.settings import Settings
from cpd.bot.config import BotConfig
from cpd.claims.service import ClaimsService

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
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Application"):
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


def run(settings: Settings) -> None:
    """Start every configured part and block until stopped."""
    configure_logging()
    if settings.telegram_token is None:
        raise NothingToRun(
            "nothing to run: set CPD_TELEGRAM_TOKEN for the Telegram bot (the mail channel is "
            "not built yet, issue 5)"
        )
    from cpd.bot.application import run as run_bot

    service = build_service(settings)
    log.info("starting the Telegram bot (secretary chat %s)", settings.secretary_chat_id)
    run_bot(service, bot_config(settings))
    log.info("stopped")
