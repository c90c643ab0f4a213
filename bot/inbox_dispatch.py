"""Handles the updates stored in the Telegram inbox: in ``update_id`` order, one chat at a time.

Rows are read from the inbox (the source of truth, so rows left unhandled by a crash are
handled first on start), turned back into ``Update`` objects and given to
``application.process_update``; only then is the row marked handled. Updates of one chat (or,
without a chat, of one user) run strictly in order, because conversations depend on it (a
"Decline" press, then the reason); different chats run concurrently, at most
``concurrency`` at once (PTB's ``concurrent_updates`` meaning). After each update the
application's persistence (the conversations) is written, before the row is marked handled.
A handler interrupted by a
crash leaves its row unhandled and it is handled again after the restart: the claims service
makes that safe (claims are idempotent on their source key, decisions are conditional
updates, notifications are deduplicated in the outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from typing import Any

from telegram import Update
from telegram.ext import Application

from cpd.claims.inbox import StoredUpdate, TelegramInbox, is_temporary

log = logging.getLogger(__name__)

RESCAN_SECONDS = 1.0  # the inbox is read again this often even without a wake-up
RETRY_MAX_SECONDS = 30.0  # the longest pause after an update met a temporary fault
_AGAIN: contextvars.ContextVar[bool] = contextvars.ContextVar("handled_again", default=False)
_FAILURES: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar(
    "handler_failures", default=None
)


def record_failure(error: BaseException | None) -> None:
    """Called by the application's error handler: remember what the handler of the update in
    hand raised, so that a temporary fault makes the dispatcher handle it again later."""
    failures = _FAILURES.get()
    if failures is not None and error is not None:
        failures.append(error)


def handled_again() -> bool:
    """Whether the update being handled was begun before by a run that crashed (so what the
    first attempt did may be in the database while its answer was never sent)."""
    return _AGAIN.get()


def chat_key(update: Update) -> int | None:
    """What orders updates: the chat, else the user; None for updates with neither."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class InboxDispatcher:
    """Takes unhandled inbox rows and runs the application's handlers on them."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        inbox: TelegramInbox,
        concurrency: int = 8,
    ) -> None:
        self.application = application
        self.inbox = inbox
        self.concurrency = max(1, concurrency)
        self.window = self.concurrency * 4  # rows taken from the inbox ahead of the handlers
        self.wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.concurrency)
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._tails: dict[int, asyncio.Task[None]] = {}  # chat -> its latest task
        self._last: int | None = None
        self._retry_delay = 0.0  # the pause before handling again after a temporary fault
        self._faulted: set[int] = set()  # met a temporary fault: what it did may be stored
        self.handled_count = 0
        self.retried_count = 0

    async def run(self, stopping: asyncio.Event) -> None:
        """Dispatch until ``stopping`` is set (in-flight handlers are left to :meth:`drain`)."""
        while not stopping.is_set():
            self.wake.clear()
            room = self.window - len(self._inflight)
            rows: list[StoredUpdate] = []
            if room > 0:
                after = self._last if self._inflight else None
                try:
                    rows = await asyncio.to_thread(self.inbox.unhandled, room, after)
                except Exception as exc:  # the database is unreachable: try again shortly
                    log.warning("cannot read the Telegram inbox: %s", exc)
            for row in rows:
                if row.update_id not in self._inflight:
                    self._dispatch(row)
            if rows and len(rows) == room:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), RESCAN_SECONDS)

    def _dispatch(self, row: StoredUpdate) -> None:
        try:
            update = Update.de_json(row.payload, self.application.bot)
        except Exception as exc:
            log.error("Telegram update %s cannot be read: %s", row.update_id, exc)
            task = asyncio.create_task(self._finish(row.update_id, "unreadable"))
            self._track(row.update_id, None, task)
            return
        key = chat_key(update)
        previous = self._tails.get(key) if key is not None else None
        task = asyncio.create_task(self._handle(row.update_id, update, previous))
        self._track(row.update_id, key, task)

    def _track(self, update_id: int, key: int | None, task: asyncio.Task[None]) -> None:
        self._inflight[update_id] = task
        self._last = max(self._last or update_id, update_id)
        if key is not None:
            self._tails[key] = task

        def done(finished: asyncio.Task[None]) -> None:
            self._inflight.pop(update_id, None)
            if key is not None and self._tails.get(key) is finished:
                del self._tails[key]
            self.wake.set()

        task.add_done_callback(done)

    async def _handle(
        self, update_id: int, update: Update, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # the chat's earlier update first, however it ended
        async with self._slots:
            try:
                attempt = await asyncio.to_thread(self.inbox.begin, update_id)
            except Exception as exc:  # the database is down: the row stays, tried again later
                log.warning("cannot begin Telegram update %s: %s", update_id, exc)
                await asyncio.sleep(RESCAN_SECONDS)
                return
            if not attempt:
                return
            # (this task's context only; an attempt after a temporary fault is not counted,
            # but it may have stored its claim all the same, so it is "again" too)
            _AGAIN.set(attempt > 1 or update_id in self._faulted)
            failures: list[BaseException] = []
            _FAILURES.set(failures)
            try:
                await self.application.process_update(update)
            except Exception as exc:  # process_update routes handler errors to the error handler
                failures.append(exc)
                log.error("Telegram update %s failed: %s", update_id, exc, exc_info=exc)
            await self._persist(failures)
            if any(is_temporary(error) for error in failures):
                await self._retry_later(update_id)
                return
            self._retry_delay = 0.0
            self._faulted.discard(update_id)
            await self._finish(update_id, "handled")

    async def _persist(self, failures: list[BaseException]) -> None:
        """Write what the update changed in the conversations (their states, ``user_data``)
        before its row is marked handled, so that a crash after that loses none of it."""
        if self.application.persistence is None:
            return
        try:
            await self.application.update_persistence()
        except Exception as exc:  # pragma: no cover - PTB routes its own errors to process_error
            failures.append(exc)
            log.error("the bot's conversations could not be saved: %s", exc, exc_info=exc)

    async def _retry_later(self, update_id: int) -> None:
        """Leave the row unhandled (its attempt taken back) and pause before the next try, so
        that a database outage delays updates and loses none."""
        self._retry_delay = min(max(self._retry_delay * 2, 0.5), RETRY_MAX_SECONDS)
        self._faulted.add(update_id)
        self.retried_count += 1
        log.warning(
            "Telegram update %s met a temporary fault; handling it again in %.1f s",
            update_id,
            self._retry_delay,
        )
        await asyncio.sleep(self._retry_delay)
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.inbox.retry_later, update_id)
                return
            except Exception as exc:
                if not is_temporary(exc):
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _finish(self, update_id: int, outcome: str) -> None:
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.inbox.handled, update_id, outcome)
                self.handled_count += 1
                return
            except Exception as exc:  # keep the row: it would otherwise be handled again
                log.warning("cannot mark Telegram update %s handled: %s", update_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for the handlers in flight, then cancel the rest (their rows
        stay unhandled and are handled after the next start); how many were cancelled."""
        tasks = list(self._inflight.values())
        if not tasks:
            return 0
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        return len(pending)
