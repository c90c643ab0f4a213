"""The bot's life on ``cpd run``'s loop: start-up retried with backoff, a ``getUpdates``
fetcher that stores each batch in the inbox before its offset confirms it, and a clean stop.

Why not PTB's ``Updater``: it sends the offset that confirms a batch to Telegram before the
handlers have run, so a crash in between loses those updates. Here a batch is written to the
inbox (one transaction) first and only the next ``getUpdates`` call carries the offset; the
:class:`~cpd.bot.inbox_dispatch.InboxDispatcher` handles rows from the inbox.

Start-up (``getMe``, ``deleteWebhook``, ``setMyCommands``) is retried for as long as the
process runs, one log line per attempt: 1 s, 2 s, 4 s ... up to ``start_retry_max``. A token
Telegram rejects (401/404) is a configuration error, but mail must never go down because of
the bot: it is logged (token redacted) and retried slowly, every ``rejected_token_retry``
seconds, so that a token fixed at BotFather (or a Telegram-side hiccup) recovers without a
restart. Stopping (``stopping`` set by SIGINT/SIGTERM) interrupts a retry wait at once.

With a ``webhook`` (url, secret) start-up calls ``setWebhook`` instead of ``deleteWebhook`` and
no fetcher runs: the web server stores the updates. With ``turns`` (several instances on
PostgreSQL) this application only delivers the outbox, and dispatching runs in
:class:`~cpd.bot.turns.DispatchTurns`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from cpd.bot.inbox_dispatch import InboxDispatcher
from cpd.bot.turns import DispatchTurns
from cpd.claims.inbox import TelegramInbox

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]


async def _sleep_unless(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stopping`` is set; True when stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
    return stopping.is_set()


def describe(exc: BaseException) -> str:
    """A short, secret-free description of a Bot API failure."""
    if isinstance(exc, InvalidToken):
        return "the token was rejected (401/404 from getMe)"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _unless_stopped(work: Coroutine[Any, Any, None], stopping: asyncio.Event) -> bool:
    """Run ``work`` unless ``stopping`` is set first (then cancel it); True when it finished.
    Its exception, if any, is raised."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return False
    task.result()
    return True


class UpdateFetcher:
    """Long-polls ``getUpdates``; each batch is stored before the next call confirms it."""

    def __init__(
        self,
        application: App,
        inbox: TelegramInbox,
        wake: asyncio.Event,
        poll_timeout: int = 10,
        retry_max: float = 60.0,
    ) -> None:
        self.application, self.inbox, self.wake = application, inbox, wake
        self.poll_timeout, self.retry_max = poll_timeout, retry_max
        self.offset: int | None = None  # None: Telegram re-sends whatever is unconfirmed
        self.stored = 0

    async def run(self, stopping: asyncio.Event) -> None:
        """Fetch and store until ``stopping`` is set (or the task is cancelled)."""
        delay = 1.0
        while not stopping.is_set():
            try:
                updates = await self.application.bot.get_updates(
                    offset=self.offset,
                    timeout=self.poll_timeout,
                    limit=100,
                    allowed_updates=Update.ALL_TYPES,
                )
                if updates:
                    payloads = [u.to_dict() for u in updates]
                    self.stored += await asyncio.to_thread(self.inbox.store, payloads)
                    # only now may Telegram forget them: the next call carries this offset
                    self.offset = max(u.update_id for u in updates) + 1
                    self.wake.set()
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                wait = float(exc.retry_after if isinstance(exc.retry_after, int | float) else 1)
                if await _sleep_unless(stopping, wait):
                    return
            except Exception as exc:  # network, 409 (another poller, a webhook), the database
                log.warning("getUpdates failed (%s); again in %.0f s", describe(exc), delay)
                if await _sleep_unless(stopping, delay):
                    return
                delay = min(delay * 2, self.retry_max)


class BotRunner:
    """Starts the bot (retrying), runs fetcher and dispatcher, stops within the time given."""

    def __init__(
        self,
        application: App,
        inbox: TelegramInbox,
        concurrency: int = 8,
        start_retry_max: float = 60.0,
        rejected_token_retry: float = 300.0,
        drain_seconds: float = 5.0,
        webhook: tuple[str, str] | None = None,
        turns: DispatchTurns | None = None,
    ) -> None:
        self.application, self.inbox = application, inbox
        self.webhook, self.turns = webhook, turns  # (url, secret); several instances
        self.start_retry_max, self.rejected_token_retry = start_retry_max, rejected_token_retry
        self.drain_seconds = drain_seconds
        self.dispatcher = InboxDispatcher(application, inbox, concurrency)
        self.fetcher = UpdateFetcher(
            application, inbox, self.dispatcher.wake, retry_max=start_retry_max
        )
        self.started = asyncio.Event()

    async def start(self, stopping: asyncio.Event) -> bool:
        """Initialise and start the application, retrying until it works or ``stopping`` is
        set; True when the bot runs."""
        delay, attempt = 1.0, 0
        while not stopping.is_set():
            attempt += 1
            try:
                if not await _unless_stopped(self._start_once(), stopping):
                    break
                me = self.application.bot.username
                log.info("Telegram bot @%s started (attempt %d)", me, attempt)
                return True
            except asyncio.CancelledError:
                raise
            except InvalidToken as exc:
                wait = self.rejected_token_retry
                log.error(
                    "Telegram bot not started (attempt %d): %s; check CPD_TELEGRAM_TOKEN. Mail "
                    "keeps running; trying again in %.0f s",
                    attempt,
                    describe(exc),
                    wait,
                )
            except (TelegramError, OSError) as exc:
                wait = delay
                delay = min(delay * 2, self.start_retry_max)
                log.warning(
                    "Telegram bot not started (attempt %d): %s; mail keeps running; trying "
                    "again in %.0f s",
                    attempt,
                    describe(exc),
                    wait,
                )
            if await _sleep_unless(stopping, wait):
                break
        return False

    async def _start_once(self) -> None:
        application = self.application
        await application.initialize()  # getMe (a no-op once it has worked)
        if self.webhook is not None:
            url, secret = self.webhook
            await application.bot.set_webhook(
                url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )
        else:
            await application.bot.delete_webhook(drop_pending_updates=False)
        if application.post_init is not None:  # run only by run_polling otherwise
            await application.post_init(application)
        await application.start()  # the job queue: outbox delivery

    async def run(self, stopping: asyncio.Event) -> None:
        """Start, then fetch and handle updates until ``stopping`` is set; then stop."""
        try:
            if not await self.start(stopping):
                return
            self.started.set()
            if self.turns is not None:  # several instances: dispatch in turns (cpd.bot.turns)
                await self.turns.run(stopping)
                return
            work = [asyncio.create_task(self.dispatcher.run(stopping), name="telegram-handle")]
            if self.webhook is None:  # long polling; a webhook's updates come through the web
                work.append(asyncio.create_task(self.fetcher.run(stopping), name="telegram-fetch"))
            await stopping.wait()
            for task in work:
                task.cancel()
            await asyncio.gather(*work, return_exceptions=True)
            cancelled = await self.dispatcher.drain(self.drain_seconds)
            if cancelled:
                log.warning("%d Telegram update(s) left for the next start", cancelled)
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        application = self.application
        try:
            if application.running:
                await asyncio.wait_for(application.stop(), 3.0)
        except Exception as exc:  # never let the bot's stop keep mail from stopping
            log.warning("the Telegram bot did not stop cleanly: %s", describe(exc))
        try:
            await asyncio.wait_for(application.shutdown(), 2.0)
        except Exception as exc:
            log.warning("the Telegram bot did not shut down cleanly: %s", describe(exc))
