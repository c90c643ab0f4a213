"""Which applications ``cpd run`` gives the bot: one on SQLite (today's: it dispatches and
delivers, its conversations in a pickle file), two kinds on PostgreSQL, where several instances
may run: a sending application on every instance (the outbox) and, per dispatching turn, an
application with the conversations in the database (:mod:`cpd.bot.turns`)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from typing import Any

from cpd.bot.application import build_application
from cpd.bot.config import BotConfig
from cpd.bot.context import BotApp
from cpd.bot.db_persistence import DatabasePersistence
from cpd.bot.polling import UpdateFetcher
from cpd.bot.turns import App, DispatchTurns, Fetch
from cpd.claims.inbox import TelegramInbox
from cpd.claims.service import ClaimsService

TURN_RETRY = 2.0
"""How often an instance that does not dispatch tries the lock (seconds)."""


def sending_application(service: ClaimsService, config: BotConfig) -> BotApp:
    """The application ``BotRunner`` starts: on PostgreSQL without persistence (it only
    delivers the outbox), else today's single application."""
    if service.instances.shared:
        config = dataclasses.replace(config, conversations_file=None)
    return build_application(service, config)


def dispatch_turns(
    service: ClaimsService, config: BotConfig, drain_seconds: float
) -> DispatchTurns | None:
    """Turns at dispatching for several instances on PostgreSQL; None on SQLite."""
    if not service.instances.shared:
        return None
    inbox = TelegramInbox(service.engine)

    def make_app() -> App:
        return build_application(service, config, DatabasePersistence(service), deliver=False)

    def poll(
        application: App, wake: asyncio.Event, stopping: asyncio.Event
    ) -> Coroutine[Any, Any, None]:
        fetcher = UpdateFetcher(application, inbox, wake, retry_max=config.start_retry_max)
        return fetcher.run(stopping)

    # long polling: only the instance whose turn it is polls (two would get 409s)
    fetch: Fetch | None = poll if config.webhook_url is None else None

    return DispatchTurns(
        service.instances.lock("telegram dispatch"),
        make_app,
        inbox,
        config.concurrent_updates,
        fetch,
        TURN_RETRY,
        drain_seconds,
    )
