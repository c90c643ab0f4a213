"""The bot's inbox on a real PTB Application against the local Bot API server: updates are
stored before they are confirmed, rows left unhandled are handled first, the same update_id
twice is handled once, one chat's updates keep their order, start-up is retried and a stop
interrupts it."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import socket
import sqlite3
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from cpd.bot.inbox_dispatch import record_failure
from cpd.bot.polling import BotRunner
from cpd.claims.inbox import TelegramInbox
from tests.support.telegram_api import FakeTelegramServer

TOKEN = "4242:inbox-test_TOKEN"
App = Application[Any, Any, Any, Any, Any, Any]


def _app(api_url: str, file_url: str) -> App:
    return (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api_url)
        .base_file_url(file_url)
        .updater(None)
        .build()
    )


class Recorder:
    """A text handler that records (update_id, chat, text) and how many ran at once."""

    def __init__(self, work: Callable[[], float] = lambda: 0.0) -> None:
        self.seen: list[tuple[int, int, str]] = []
        self.running = self.most = 0
        self.work = work

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.work())
            message = update.effective_message
            assert message is not None and message.text is not None
            self.seen.append((update.update_id, message.chat_id, message.text))
        finally:
            self.running -= 1


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def _run(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 30))

    return wrapper


async def _started(
    server: FakeTelegramServer, inbox: TelegramInbox, recorder: Recorder, concurrency: int = 8
) -> tuple[BotRunner, asyncio.Event, asyncio.Task[None]]:
    application = _app(server.api_url, server.file_url)
    application.add_handler(MessageHandler(filters.TEXT, recorder))
    runner = BotRunner(application, inbox, concurrency=concurrency, drain_seconds=2)
    stopping = asyncio.Event()
    task = asyncio.create_task(runner.run(stopping))
    return runner, stopping, task


def _raw_text(update_id: int, user: int, text: str) -> dict[str, Any]:
    person = {"id": user, "is_bot": False, "first_name": "Ann"}
    chat = {"id": user, "type": "private", "first_name": "Ann"}
    message = {"message_id": update_id, "from": person, "chat": chat, "date": 1, "text": text}
    return {"update_id": update_id, "message": message}


@_run
async def test_rows_left_unhandled_are_handled_first_then_new_updates(
    sqlite_engine: Engine,
) -> None:
    inbox = TelegramInbox(sqlite_engine)
    inbox.store([_raw_text(11, 7, "left by a crash 1"), _raw_text(12, 7, "left by a crash 2")])
    async with FakeTelegramServer(rate_limits=False) as server:
        server.add_user(7, "Ann")
        server.send_text(7, "new")
        recorder = Recorder()
        runner, stopping, task = await _started(server, inbox, recorder)
        await _until(lambda: len(recorder.seen) == 3)
        stopping.set()
        await task
    assert [text for _, _, text in recorder.seen] == [
        "left by a crash 1",
        "left by a crash 2",
        "new",
    ]
    assert inbox.counts() == (0, 3)


@_run
async def test_the_same_update_id_delivered_twice_is_handled_once(sqlite_engine: Engine) -> None:
    inbox = TelegramInbox(sqlite_engine)
    async with FakeTelegramServer(rate_limits=False) as server:
        server.add_user(7, "Ann")
        recorder = Recorder()
        runner, stopping, task = await _started(server, inbox, recorder)
        first = server.send_text(7, "once")
        await _until(lambda: len(recorder.seen) == 1)
        server.inject_raw(server.update(first))  # Telegram delivers it again
        server.send_text(7, "after")
        await _until(lambda: len(recorder.seen) == 2)
        await asyncio.sleep(0.3)
        stopping.set()
        await task
    assert [text for _, _, text in recorder.seen] == ["once", "after"]
    assert inbox.counts() == (0, 2)


@_run
async def test_one_chats_updates_keep_their_order_while_chats_run_concurrently(
    sqlite_engine: Engine,
) -> None:
    inbox = TelegramInbox(sqlite_engine)
    rng = random.Random(9)
    async with FakeTelegramServer(rate_limits=False) as server:
        users = (7, 8, 9)
        for user in users:
            server.add_user(user, f"U{user}")
        for i in range(15):
            for user in users:
                server.send_text(user, f"{user}-{i}")
        recorder = Recorder(lambda: rng.uniform(0, 0.03))
        runner, stopping, task = await _started(server, inbox, recorder, concurrency=4)
        await _until(lambda: len(recorder.seen) == 45)
        stopping.set()
        await task
    for user in users:
        texts = [text for _, chat, text in recorder.seen if chat == user]
        assert texts == [f"{user}-{i}" for i in range(15)]
    assert 2 <= recorder.most <= 4  # chats ran side by side, never more than the limit


class FlakyInbox(TelegramInbox):
    """The database refuses the first ``fail`` stores (an outage, a full disk)."""

    def __init__(self, engine: Engine, fail: int) -> None:
        super().__init__(engine)
        self.fail = fail

    def store(self, updates: Any) -> int:
        if self.fail > 0:
            self.fail -= 1
            raise OSError("disk I/O error")
        return super().store(updates)


@_run
async def test_an_update_that_could_not_be_stored_is_not_confirmed(sqlite_engine: Engine) -> None:
    inbox = FlakyInbox(sqlite_engine, fail=1)
    async with FakeTelegramServer(rate_limits=False) as server:
        server.add_user(7, "Ann")
        server.send_text(7, "kept by Telegram")
        recorder = Recorder()
        runner, stopping, task = await _started(server, inbox, recorder)
        await _until(lambda: len(recorder.seen) == 1)  # fetched again after the failure
        stopping.set()
        await task
    assert inbox.fail == 0 and [t for _, _, t in recorder.seen] == ["kept by Telegram"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@_run
async def test_start_up_is_retried_and_a_stop_interrupts_the_retry(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    port = _closed_port()
    application = _app(f"http://127.0.0.1:{port}/bot", f"http://127.0.0.1:{port}/file/bot")
    runner = BotRunner(application, TelegramInbox(sqlite_engine), start_retry_max=0.5)
    stopping = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="cpd.bot.polling"):
        task = asyncio.create_task(runner.run(stopping))
        await _until(lambda: caplog.text.count("not started (attempt") >= 3)
        began = time.monotonic()
        stopping.set()
        await task
    assert time.monotonic() - began < 2
    assert not runner.started.is_set()
    assert "mail keeps running" in caplog.text


@_run
async def test_the_bot_starts_once_the_api_comes_up(sqlite_engine: Engine) -> None:
    port = _closed_port()
    server = FakeTelegramServer(rate_limits=False, port=port)
    application = _app(server.api_url, server.file_url)
    recorder = Recorder()
    application.add_handler(MessageHandler(filters.TEXT, recorder))
    runner = BotRunner(application, TelegramInbox(sqlite_engine), start_retry_max=0.5)
    stopping = asyncio.Event()
    task = asyncio.create_task(runner.run(stopping))
    await asyncio.sleep(1.2)
    assert not runner.started.is_set()
    async with server:
        server.add_user(7, "Ann")
        server.send_text(7, "hello")
        await _until(lambda: len(recorder.seen) == 1)
        assert runner.started.is_set()
        stopping.set()
        await task


@_run
async def test_an_update_whose_handler_meets_a_locked_database_is_handled_again_once(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """A temporary fault (here a real SQLite write lock held by another connection past the
    handler's busy timeout) leaves the update unhandled, its attempt not counted; once the
    lock is gone it is handled, and its effect is there once."""
    records = tmp_path / "records.sqlite3"
    setup = sqlite3.connect(records)
    setup.execute("CREATE TABLE seen (update_id INTEGER PRIMARY KEY, text TEXT)")
    setup.commit()
    setup.close()
    blocker = sqlite3.connect(records, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    attempts: list[int] = []

    async def write(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        attempts.append(update.update_id)
        message = update.effective_message
        assert message is not None

        def insert() -> None:
            with sqlite3.connect(records, timeout=0.2) as connection:
                connection.execute(
                    "INSERT INTO seen VALUES (?, ?)", (update.update_id, message.text)
                )

        try:
            await asyncio.to_thread(insert)
        except sqlite3.OperationalError as exc:  # what SQLAlchemy raises, wrapped
            raise OperationalError("INSERT", {}, exc) from exc

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        record_failure(context.error)

    inbox = TelegramInbox(sqlite_engine)
    async with FakeTelegramServer(rate_limits=False) as server:
        server.add_user(7, "Ann")
        application = _app(server.api_url, server.file_url)
        application.add_handler(MessageHandler(filters.TEXT, write))
        application.add_error_handler(on_error)
        runner = BotRunner(application, inbox, concurrency=2, drain_seconds=2)
        stopping = asyncio.Event()
        task = asyncio.create_task(runner.run(stopping))
        server.send_text(7, "three hours at the boat show")
        await _until(lambda: len(attempts) >= 2)  # failed on the lock, tried again
        assert inbox.counts() == (1, 0)
        blocker.execute("ROLLBACK")
        await _until(lambda: inbox.counts() == (0, 1))
        stopping.set()
        await task
    blocker.close()
    with sqlite3.connect(records) as connection:
        rows = connection.execute("SELECT text FROM seen").fetchall()
    assert rows == [("three hours at the boat show",)]
    assert len(attempts) >= 2  # each attempt after the first waits for the lock or gets it
