"""Builds the python-telegram-bot application: handlers, rate limiter, outbox and nudge jobs.

It is run by :class:`cpd.bot.polling.BotRunner` (updates through the inbox), not by
``run_polling``."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BasePersistence,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from cpd.bot import (
    conversations,
    drafts,
    fallbacks,
    inbox_dispatch,
    member,
    redelivery,
    secretary,
    workflows,
)
from cpd.bot.callbacks import (
    CATEGORY,
    CONFIRM,
    DECIDE,
    DECLARATION,
    DIPLOMA,
    DISPENSATION,
    DRAFT,
    KIND,
    WITHDRAW,
    action_pattern,
    pattern,
)
from cpd.bot.config import BotConfig
from cpd.bot.context import CONTEXT_TYPES, BotApp, BotContext
from cpd.bot.persistence import conversation_store
from cpd.bot.sender import deliver_due
from cpd.bot.web_link import web_command
from cpd.claims.service import ClaimsService

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
    BotCommand("web", "A sign-in link to the web desk"),
    BotCommand("help", "How to claim"),
]


async def _on_error(update: object, context: BotContext) -> None:
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


def build_application(
    service: ClaimsService,
    config: BotConfig,
    persistence: BasePersistence[Any, Any, Any] | None = None,
    deliver: bool = True,
) -> BotApp:
    """The bot, wired to the claims service. It has no PTB ``Updater``: updates come from the
    inbox (see :mod:`cpd.bot.polling`), which drives ``initialize``/``start`` and calls
    ``post_init`` (setting the command list) itself. With ``config.conversations_file`` its
    conversations persist there (see :mod:`cpd.bot.persistence`), with ``persistence`` there
    instead (the database: :mod:`cpd.bot.db_persistence`). ``deliver`` off: no outbox job
    (the dispatching application of several instances, :mod:`cpd.bot.turns`)."""

    async def post_init(application: BotApp) -> None:
        await application.bot.set_my_commands(COMMANDS)

    builder = (
        ApplicationBuilder()
        .context_types(CONTEXT_TYPES)
        .token(config.token)
        .base_url(config.api_url)
        .base_file_url(config.file_url)
        .rate_limiter(make_rate_limiter(config.max_retries))
        .updater(None)
        .post_init(post_init)
    )
    if persistence is not None:
        builder = builder.persistence(persistence)
    elif config.conversations_file is not None:
        builder = builder.persistence(conversation_store(config.conversations_file))
    application: BotApp = builder.build()
    application.bot_data.wire(service)
    persistent = application.persistence is not None
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
    # the conversations first: an answer the bot waits for is not a new claim
    application.add_handler(conversations.member_conversation(persistent))
    application.add_handler(conversations.secretary_conversation(persistent))
    for name, command in (
        ("progress", member.progress),
        ("history", member.history),
        ("withdraw", member.withdraw),
        ("mute", member.mute),
        ("unmute", member.unmute),
        ("declare", workflows.declare),
        ("diploma", workflows.diploma),
        ("submit", workflows.submit_diploma),
        ("export", workflows.export),
        ("evidence", workflows.evidence),
    ):
        application.add_handler(CommandHandler(name, command, filters=private))
    application.add_handler(CommandHandler("web", web_command(config.web_url)))
    application.add_handler(CommandHandler("pending", secretary.pending))
    application.add_handler(CommandHandler("standings", workflows.standings))
    application.add_handler(CommandHandler("undeclared", workflows.undeclared))
    # one handler per button action (the questions' buttons are the conversations' entries)
    for regex, callback in (
        (action_pattern(DECIDE, "accept"), secretary.on_accept),
        (pattern(DISPENSATION), workflows.on_dispensation_button),
        (pattern(DIPLOMA), workflows.on_diploma_button),
        (pattern(DECLARATION), workflows.on_declaration_button),
        (action_pattern(DRAFT, "submit"), drafts.on_submit),
        (action_pattern(DRAFT, "anyway"), drafts.on_submit),
        (action_pattern(DRAFT, "cancel"), drafts.on_cancel),
        (action_pattern(DRAFT, "kind"), drafts.on_ask_kind),
        (action_pattern(DRAFT, "category"), drafts.on_ask_category),
        (action_pattern(DRAFT, "test"), drafts.on_test),
        (pattern(KIND), drafts.on_kind),
        (pattern(CATEGORY), drafts.on_category),
        (pattern(WITHDRAW), drafts.on_withdraw),
        (pattern(CONFIRM), drafts.on_confirm),
    ):
        application.add_handler(CallbackQueryHandler(callback, pattern=regex))
    application.add_handler(CallbackQueryHandler(fallbacks.on_stale_button))
    application.add_handler(
        MessageHandler(
            private & (filters.TEXT | filters.PHOTO | filters.Document.ALL) & ~filters.COMMAND,
            redelivery.on_message,
        )
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, fallbacks.on_unknown_command))
    application.add_handler(MessageHandler(private, fallbacks.on_unsupported))
    application.add_error_handler(_on_error)
    if not deliver:
        return application
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
