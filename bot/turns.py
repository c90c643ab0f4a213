"""Several instances on one PostgreSQL: one dispatches the Telegram inbox at a time.

Every instance stores the updates it receives (webhooks; see :mod:`cpd.web.routers.
telegram_webhook`) and delivers the outbox; only the holder of the ``telegram dispatch`` lock
(a PostgreSQL session advisory lock, :meth:`cpd.claims.instances.Instances.lock`) runs the
:class:`~cpd.bot.inbox_dispatch.InboxDispatcher` (and, with long polling, the ``getUpdates``
fetcher: two pollers would get 409 from Telegram). The others try the lock every
``retry`` seconds; when the holder dies its database session ends, the lock is free, and the
next instance takes its turn within a few seconds: it builds a fresh application (``make_app``)
whose ``initialize`` loads the conversations from the database
(:mod:`cpd.bot.db_persistence`) and handles whatever is unhandled in the inbox, the updates
the dead holder had begun included (they are handled again, as after a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from telegram.ext import Application

from cpd.bot.inbox_dispatch import InboxDispatcher
from cpd.claims.inbox import TelegramInbox
from cpd.claims.instances import Lock

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]
Fetch = Callable[[App, asyncio.Event, asyncio.Event], Any]
"""Starts the ``getUpdates`` fetcher for a turn: (application, wake, stopping) -> coroutine."""


async def _sleep_unless(stopping: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
    return stopping.is_set()


class DispatchTurns:
    """Dispatch the inbox only while holding ``lock``; build the application per turn."""

    def __init__(
        self,
        lock: Lock,
        make_app: Callable[[], App],
        inbox: TelegramInbox,
        concurrency: int = 8,
        fetch: Fetch | None = None,
        retry: float = 2.0,
        drain_seconds: float = 5.0,
    ) -> None:
        self.lock, self.make_app, self.inbox = lock, make_app, inbox
        self.concurrency, self.fetch = concurrency, fetch
        self.retry, self.drain_seconds = retry, drain_seconds
        self.turns = 0
        self.dispatcher: InboxDispatcher | None = None

    async def run(self, stopping: asyncio.Event) -> None:
        """Take turns until ``stopping`` is set; the lock is given up at the end."""
        waiting = False
        try:
            while not stopping.is_set():
                if not await asyncio.to_thread(self.lock.try_acquire):
                    if not waiting:
                        log.info("Telegram updates are dispatched by another instance")
                    waiting = True
                    await _sleep_unless(stopping, self.retry)
                    continue
                waiting = False
                await self._turn(stopping)
        finally:
            await asyncio.to_thread(self.lock.release)

    async def _turn(self, stopping: asyncio.Event) -> None:
        application = self.make_app()
        try:
            await application.initialize()  # getMe, and the conversations from the database
        except Exception as exc:
            log.warning("cannot begin dispatching Telegram updates: %s", exc)
            await _sleep_unless(stopping, self.retry)
            return
        self.turns += 1
        log.info("dispatching Telegram updates (turn %d on this instance)", self.turns)
        dispatcher = InboxDispatcher(application, self.inbox, self.concurrency)
        self.dispatcher = dispatcher
        tasks = [asyncio.create_task(dispatcher.run(stopping), name="telegram-handle")]
        if self.fetch is not None:
            fetching = self.fetch(application, dispatcher.wake, stopping)
            tasks.append(asyncio.create_task(fetching, name="telegram-fetch"))
        try:
            while not await _sleep_unless(stopping, self.retry):
                if not await asyncio.to_thread(self.lock.try_acquire):
                    log.warning("lost the Telegram dispatch lock: another instance takes over")
                    break
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            cancelled = await dispatcher.drain(self.drain_seconds)
            if cancelled:
                log.warning("%d Telegram update(s) left for the next turn", cancelled)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(application.shutdown(), 2.0)
