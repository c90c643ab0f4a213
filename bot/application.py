"""Builds the python-telegram-bot application: handlers, rate limiter, outbox and nudge jobs.

It is run by :class:`cpd.bot.polling.BotRunner` (updates through the inbox), not by
``run_polling``."""

from __future__ import annotations

import logging

from telegram import BotCommand
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from cpd.bot import callbacks, fallbacks, inbox_dispatch, member, redelivery, secretary, workflows
from cpd.bot.config import BotConfig
from cpd.bot.sender import deliver_due
from cpd.claims.service import ClaimsService
from cpd.claims.workflows import Workflows

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("progress", "Where you stand and what is still needed"),
    BotCommand("history", "Your latest claims"),
    BotCommand("withdraw", "Withdraw a claim waiting for a decision"),
    BotCommand("mute", "Stop weekly reminders"),
    BotCommand("unmute", "Weekly reminders again"),
    BotCommand("export", "Your CPD record as a PDF"),
    BotCommand("evidence", "Your evidence files as a zip"),
    BotCommand("dispensation", "Ask for a dispensation (with a reason)"),
    BotCommand("help", "How to claim"),
]


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    inbox_dispatch.record_failure(context.error)
    log.error("error while handling an update: %s", context.error, exc_info=context.error)


def make_rate_limiter(max_retries: int) -> AIORateLimiter:
    """The bot's limiter: one message at a time, 28 a second, so that no one-second window ever
    holds more than Telegram's 30 (the default lets 30 burst at once after a pause and the 31st
    gets a 429); groups one per 3.2 s against their 20 a minute. 429s are retried."""
    return AIORateLimiter(
        overall_max_rate=1,
        overall_time_period=1 / 28,
        group_max_rate=1,
        group_time_period=3.2,
        max_retries=max_retries,
    )


def build_application(service: ClaimsService, config: BotConfig) -> Application:
    """The bot, wired to the claims service. It has no PTB ``Updater``: updates come from the
    inbox (see :mod:`cpd.bot.polling`), which drives ``initialize``/``start`` and calls
    ``post_init`` (setting the command list) itself."""

    async def post_init(application: Application) -> None:
        await application.bot.set_my_commands(COMMANDS)

    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_url)
        .base_file_url(config.file_url)
        .rate_limiter(make_rate_limiter(config.max_retries))
        .updater(None)
        .post_init(post_init)
        .build()
    )
    application.bot_data["service"] = service
    application.bot_data["workflows"] = Workflows(service)
    private = filters.ChatType.PRIVATE
    application.add_handler(
        MessageHandler(
            filters.UpdateType.EDITED | filters.UpdateType.CHANNEL_POSTS,
            fallbacks.on_edit_or_channel_post,
        ),
        group=-1,
    )
    application.add_handler(CommandHandler("start", member.start))
    application.add_handler(CommandHandler("help", member.help_command))
    application.add_handler(CommandHandler("progress", member.progress, filters=private))
    application.add_handler(CommandHandler("history", member.history, filters=private))
    application.add_handler(CommandHandler("withdraw", member.withdraw, filters=private))
    application.add_handler(CommandHandler("mute", member.mute, filters=private))
    application.add_handler(CommandHandler("unmute", member.unmute, filters=private))
    application.add_handler(CommandHandler("pending", secretary.pending))
    for name, handler in (
        ("dispensation", workflows.dispensation),
        ("declare", workflows.declare),
        ("diploma", workflows.diploma),
        ("submit", workflows.submit_diploma),
        ("export", workflows.export),
        ("evidence", workflows.evidence),
    ):
        application.add_handler(CommandHandler(name, handler, filters=private))
    application.add_handler(
        CallbackQueryHandler(
            workflows.on_secretary_button,
            pattern=callbacks.pattern(callbacks.DISPENSATION, callbacks.DIPLOMA),
        )
    )
    application.add_handler(
        CallbackQueryHandler(
            workflows.on_declaration_button, pattern=callbacks.pattern(callbacks.DECLARATION)
        )
    )
    application.add_handler(CommandHandler("standings", workflows.standings))
    application.add_handler(CommandHandler("undeclared", workflows.undeclared))
    application.add_handler(
        CallbackQueryHandler(
            secretary.on_decision_button, pattern=callbacks.pattern(callbacks.DECIDE)
        )
    )
    application.add_handler(
        CallbackQueryHandler(
            member.on_draft_button,
            pattern=callbacks.pattern(
                callbacks.DRAFT,
                callbacks.KIND,
                callbacks.CATEGORY,
                callbacks.WITHDRAW,
                callbacks.CONFIRM,
            ),
        )
    )
    application.add_handler(CallbackQueryHandler(fallbacks.on_stale_button))
    application.add_handler(
        MessageHandler(
            private & (filters.TEXT | filters.PHOTO | filters.Document.ALL) & ~filters.COMMAND,
            redelivery.on_message,
        )
    )
    application.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND,
            secretary.on_group_message,
        )
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, fallbacks.on_unknown_command))
    application.add_handler(MessageHandler(private, fallbacks.on_unsupported))
    application.add_error_handler(_on_error)
    jobs = application.job_queue
    assert jobs is not None, "python-telegram-bot[job-queue] is required"
    jobs.run_repeating(
        deliver_due,
        interval=config.outbox_interval,
        first=0.2,
        name="outbox",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    return application
