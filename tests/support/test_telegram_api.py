"""Self-tests of the local Bot API server with a real python-telegram-bot 22 Application."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import io
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import EndPointNotFound, NetworkError, RetryAfter
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

from .telegram_api import Call, FakeTelegramServer
from .waiting import wait_until_async

# PTB 22.2+ warns inside RetryAfter.__init__ itself on every 429 (until PTB_TIMEDELTA=1).
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
TOKEN = "123456:TEST-token_abc"
ANN = 42
# 1x1 JPEG header with an SOF0 segment (the server reads the size from it; nothing decodes it).
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xc0\x00\x11\x08\x00\x02\x00\x03\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    + bytes(range(256)) * 40
    + b"\xff\xd9"
)


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test with asyncio.run (no pytest-asyncio needed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 20))

    return wrapper


def build_app(server: FakeTelegramServer, builder: ApplicationBuilder | None = None) -> Application:
    builder = builder or ApplicationBuilder()
    return builder.token(TOKEN).base_url(server.api_url).base_file_url(server.file_url).build()


@contextlib.asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def to(chat_id: int, method: str = "sendMessage") -> Callable[[Call], bool]:
    return lambda call: call.method == method and call.chat_id == chat_id


def test_echo_bot_in_thread_mode_and_duplicate_delivery() -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(f"echo: {update.message.text}")

    with FakeTelegramServer(rate_limits=False) as server:  # own loop in a daemon thread
        server.add_user(ANN, "Ann", "ann")

        async def main() -> None:
            app = build_app(server)
            app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
            async with polling(app):
                update_id = server.send_text(ANN, "hello")
                call = await asyncio.to_thread(server.wait_for, to(ANN), 5)
                assert call.text == "echo: hello"
                after = server.sent.index(call) + 1
                server.inject_raw(server.update(update_id))  # the same update once more
                await asyncio.to_thread(server.wait_for, to(ANN), 5, after)

        asyncio.run(main())
    assert [c.text for c in server.messages_to(ANN)] == ["echo: hello", "echo: hello"]
    assert server.sent[0].method == "getMe"
    assert any(c.method == "deleteWebhook" for c in server.sent)


@run_async
async def test_bot_downloads_photo_and_document_and_sends_files_back() -> None:
    async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        photo = update.message.photo[-1]
        data = await (await photo.get_file()).download_as_bytearray()
        await update.message.reply_text(f"{update.message.caption} {photo.width}x{photo.height}")
        await update.message.reply_text(hashlib.sha256(data).hexdigest())
        await update.message.reply_photo(photo.file_id, caption="again")  # re-send by file_id
        await update.message.reply_photo(io.BytesIO(bytes(data)), filename="copy.jpg")

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.document is not None
        doc = update.message.document
        data = await (await doc.get_file()).download_as_bytearray()
        await update.message.reply_text(f"{doc.file_name} {doc.mime_type} {len(data)}")
        await update.message.reply_document(io.BytesIO(b"%PDF-1.4 receipt"), filename="r.pdf")

    async with FakeTelegramServer(rate_limits=False) as server:
        app = build_app(server)
        app.add_handler(MessageHandler(filters.PHOTO, on_photo))
        app.add_handler(MessageHandler(filters.Document.ALL, on_document))
        async with polling(app):
            server.send_photo(ANN, JPEG, caption="cert", media_group_id="g1")
            await server.wait_for_async(lambda c: c.method == "sendPhoto" and "photo" in c.files)
            server.send_document(ANN, b"x" * 5000, "cert.pdf", "application/pdf", caption="c")
            await server.wait_for_async(to(ANN, "sendDocument"))
        texts = [c.text for c in server.messages_to(ANN)]
        assert texts[:2] == ["cert 3x2", hashlib.sha256(JPEG).hexdigest()]
        assert "cert.pdf application/pdf 5000" in texts
        resent, uploaded = [c.result["photo"][0] for c in server.sent if c.method == "sendPhoto"]
        assert resent["file_unique_id"] == uploaded["file_unique_id"]  # same bytes, same unique id
        document = server.messages_to(ANN)[-1]
        assert document.files["document"].filename == "r.pdf"
        async with aiohttp.ClientSession() as http:  # the bot's upload can be downloaded too
            file = server.files[document.result["document"]["file_id"]]
            async with http.get(f"{server.file_url}{TOKEN}/{file.file_path}") as response:
                assert await response.read() == b"%PDF-1.4 receipt"


@run_async
async def test_button_press_reaches_callback_handler_and_bot_edits_message() -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        keyboard = [[InlineKeyboardButton("Approve", callback_data="approve:7")]]
        await update.message.reply_text("Claim 7", reply_markup=InlineKeyboardMarkup(keyboard))

    async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.from_user is not None
        await query.answer("Done")
        await query.edit_message_text(f"Claim 7 approved by {query.from_user.first_name}")

    async with FakeTelegramServer() as server:
        server.add_user(ANN, "Ann")
        server.add_group(-100, "Secretaries")
        app = build_app(server)
        app.add_handler(CommandHandler("start", start))
        app.add_handler(CallbackQueryHandler(decide, pattern=r"^approve:\d+$"))
        async with polling(app):
            server.send_text(ANN, "/start", chat_id=-100)  # in the secretary group
            sent = await server.wait_for_async(to(-100))
            assert sent.reply_markup == {
                "inline_keyboard": [[{"text": "Approve", "callback_data": "approve:7"}]]
            }
            server.press_button(ANN, sent.message_id or 0, "approve:7", chat_id=-100)
            edit = await server.wait_for_async(lambda c: c.method == "editMessageText")
        assert edit.text == "Claim 7 approved by Ann"
        assert [c.params["text"] for c in server.answered_callbacks] == ["Done"]
        assert server.edits == [edit]
        message = server.message(-100, sent.message_id or 0)
        assert message["text"] == edit.text and "reply_markup" not in message
        with pytest.raises(ValueError):  # the keyboard is gone
            server.press_button(ANN, sent.message_id or 0, "approve:7", chat_id=-100)


@run_async
async def test_burst_with_rate_limiter_drops_nothing(record_property: Any) -> None:
    async with FakeTelegramServer() as server:
        for user_id in range(1000, 1060):
            server.add_user(user_id, f"U{user_id}")
        app = build_app(server, ApplicationBuilder().rate_limiter(AIORateLimiter(max_retries=3)))
        started = time.monotonic()
        async with app:
            await asyncio.gather(*(app.bot.send_message(1000 + i, f"n{i}") for i in range(60)))
        elapsed = time.monotonic() - started
    delivered = [c for c in server.sent if c.method == "sendMessage"]
    assert len(delivered) == 60
    assert server.rate_limited_count == len(server.rejected)
    record_property("rate_limited_count", server.rate_limited_count)
    print(f"60 sends in {elapsed:.2f}s, {server.rate_limited_count} answered 429")


@run_async
async def test_without_limiter_bursts_get_429() -> None:
    async with FakeTelegramServer() as server, Bot(TOKEN, server.api_url, server.file_url) as bot:
        for user_id in [ANN, *range(1000, 1040)]:
            server.add_user(user_id, f"U{user_id}")
        results = await asyncio.gather(
            *(bot.send_message(u, "hi") for u in range(1000, 1040)), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, Exception)]
        assert errors and all(isinstance(e, RetryAfter) for e in errors)  # 10 if within 1 s
        await asyncio.sleep(1.05)
        await bot.send_message(ANN, "one")
        with pytest.raises(RetryAfter, match="Retry in 1 seconds"):  # 1/s to the same private chat
            await bot.send_message(ANN, "two")
        assert server.rate_limited_count == len(errors) + 1
        server.rate_limits = False
        await bot.send_message(ANN, "three")


@run_async
async def test_stop_wakes_pending_long_poll_promptly() -> None:
    server = await FakeTelegramServer().start()
    async with Bot(TOKEN, server.api_url, server.file_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=20, read_timeout=25))
        await wait_until_async(lambda: server.long_polls_waiting == 1, 10, what="the long poll")
        started = time.monotonic()
        await server.stop()
        assert await poll == ()
        assert time.monotonic() - started < 1.0


@run_async
async def test_injected_failures_outage_and_unknown_method() -> None:
    async with FakeTelegramServer(rate_limits=False) as server:
        async with Bot(TOKEN, server.api_url, server.file_url) as bot:
            server.add_user(ANN, "Ann")
            server.fail_next("sendMessage", 2)
            for _ in range(2):
                with pytest.raises(NetworkError, match="Injected failure"):
                    await bot.send_message(ANN, "x")
            assert (await bot.send_message(ANN, "x")).text == "x"
            server.outage(0.3)
            with pytest.raises(NetworkError):
                await bot.get_me()
            server.outage(0.3, drop_connections=True)
            with pytest.raises(NetworkError):
                await bot.get_me()
            await asyncio.sleep(0.35)
            assert (await bot.get_me()).username == "cpd_test_bot"
            with pytest.raises(EndPointNotFound):
                await bot.do_api_request("fooBar")
        url = f"{server.api_url}{TOKEN}/fooBar"
        async with aiohttp.ClientSession() as http, http.post(url) as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
