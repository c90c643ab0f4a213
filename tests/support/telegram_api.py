"""A local Telegram Bot API server for end-to-end tests (a real aiohttp server on 127.0.0.1).

Point python-telegram-bot at it with ``ApplicationBuilder().token(t).base_url(server.api_url)
.base_file_url(server.file_url)``. It reads what PTB posts (form-urlencoded or multipart, JSON
text inside the fields, an empty body for ``getMe``) and answers with Bot API objects and
Telegram's error bodies.

Run it on the test's loop (``await server.start()`` / ``stop()``, or ``async with``) or on its
own loop in a daemon thread for sync tests driving a subprocess bot (``start_in_thread()`` /
``stop_thread()``, or ``with``). Tests play the users through the thread-safe injection API
(``send_text``, ``send_photo``, ``send_document``, ``press_button``, ``inject_raw``; pass
``chat_id`` for a group) and inspect the bot through ``sent`` (accepted calls; ``getUpdates`` is
not recorded), ``rejected``, ``wait_for``, ``messages_to``, ``edits`` and ``answered_callbacks``.

Sends are rate limited as Telegram does (30/s overall, 1/s per private chat, 20/min per group:
429 with ``retry_after``); ``rate_limits=False`` turns that off. ``fail_next`` (``"download"``
for file downloads), ``refuse`` (a 400 for a chat or above a size) and ``outage`` inject
failures so tests can show retries. Telegram's own size limits are enforced: photos over 10 MB
(400), documents over 50 MB (413), ``getFile`` of a file over 20 MB (400).

Webhooks: ``setWebhook`` (its ``secret_token`` kept) switches delivery from ``getUpdates``
(which then answers 409, as Telegram does) to POSTs of each update with
``X-Telegram-Bot-Api-Secret-Token``. Telegram posts to one URL; the tests stand for the load
balancer in front of several instances: ``webhook_targets`` (set by the test) are the URLs
posted to, round-robin, and every ``webhook_twice``-th update is posted to two of them. An
update is confirmed by a 200; any other answer, or none, makes it go to the next target after
``webhook_retry`` seconds. ``deleteWebhook`` switches back to ``getUpdates``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
# Fields PTB sends as plain strings; every other field is JSON text (numbers, booleans, objects).
TEXT_FIELDS = frozenset({"text", "caption", "callback_query_id", "file_id", "photo", "document"})
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
PHOTO_MAX, DOCUMENT_MAX, GETFILE_MAX = 10 * 2**20, 50 * 2**20, 20 * 2**20

Json = dict[str, Any]


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code", "description"[, "parameters"]}``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def response(self) -> web.Response:
        body: Json = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.code)


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Call:
    """One bot call: decoded params, uploaded files, result or error, ``time.monotonic()``."""

    method: str
    params: Json
    files: dict[str, Upload]
    time: float
    status: int = 200
    result: Any = None
    error: str | None = None

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        return self.params.get("text", self.params.get("caption"))

    @property
    def reply_markup(self) -> Json | None:
        return self.params.get("reply_markup")

    @property
    def message_id(self) -> int | None:
        if isinstance(self.result, dict) and "message_id" in self.result:
            return self.result["message_id"]
        return self.params.get("message_id")


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None

    def meta(self, **extra: Any) -> Json:
        """The Bot API object (File, Document, PhotoSize) with the ``extra`` fields that are set."""
        fields = {"file_id": self.file_id, "file_unique_id": self.file_unique_id, **extra}
        return {"file_size": len(self.data)} | {k: v for k, v in fields.items() if v is not None}

    def document(self) -> Json:
        return self.meta(file_name=self.file_name, mime_type=self.mime_type)

    def photo_size(self) -> Json:
        """A PhotoSize; width and height come from a JPEG SOF segment (0 if there is none)."""
        data, i, size = self.data, 2, (0, 0)
        while data[:2] == b"\xff\xd8" and i + 9 < len(data) and data[i] == 0xFF:
            if data[i + 1] in (0xC0, 0xC1, 0xC2):
                size = int.from_bytes(data[i + 7 : i + 9]), int.from_bytes(data[i + 5 : i + 7])
                break
            i += 2 + int.from_bytes(data[i + 2 : i + 4])
        return self.meta(width=size[0], height=size[1])


@dataclass
class _Pending:
    update: Json
    delivered: bool = False


class FakeTelegramServer:
    """Local Bot API server; see the module docstring."""

    def __init__(
        self,
        *,
        bot_username: str = "cpd_test_bot",
        bot_first_name: str = "CPD Bot",
        port: int = 0,
        rate_limits: bool = True,
        per_second: int = 30,
        per_private_chat_second: int = 1,
        per_group_minute: int = 20,
    ) -> None:
        self.bot_username, self.bot_first_name, self.port = bot_username, bot_first_name, port
        self.rate_limits = rate_limits
        self.limits = (per_second, per_private_chat_second, per_group_minute)
        self.sent: list[Call] = []  # accepted calls in order (getUpdates is not recorded)
        self.rejected: list[Call] = []  # calls answered with an error (429, 400, injected...)
        self.rate_limited_count = 0
        self.users: dict[int, Json] = {}
        self.chats: dict[int, Json] = {}
        self.files: dict[str, StoredFile] = {}
        self.blocked: set[int] = set()  # chats whose user blocked the bot: sends answer 403
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._messages: dict[tuple[int, int], Json] = {}
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._updates: dict[int, Json] = {}
        self._pending: list[_Pending] = []
        self.long_polls_waiting = 0
        """``getUpdates`` calls waiting for an update right now (on the server's loop)."""
        self._update_ids, self._ids = itertools.count(100_000), itertools.count(1)
        self._callbacks: dict[str, bool] = {}  # callback_query id -> answered
        self._allowed: set[str] | None = None
        self._send_times: dict[int | None, deque[float]] = defaultdict(deque)
        self._failures: dict[str, list[int]] = {}  # lower-case method -> [times, status]
        self._refusals: list[tuple[str, int | None, int, int, str]] = []
        self._outage_until, self._outage_drop = 0.0, False
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.webhook: Json | None = None  # setWebhook's url and secret_token, while set
        self.webhook_targets: list[str] = []  # where updates are posted, round-robin
        self.webhook_twice = 0  # every n-th update goes to two targets (0: never)
        self.webhook_retry = 0.2
        self.webhook_posts: list[tuple[int, str, int]] = []  # (update_id, target, status)
        self._pump: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> FakeTelegramServer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._loop, self._wakeup, self._closing = asyncio.get_running_loop(), asyncio.Event(), False
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]
        self._pump = asyncio.create_task(self._webhook_pump())
        return self

    async def stop(self) -> None:
        """Answer every waiting long poll at once (empty result), then close the server."""
        self._closing = True
        self._fire_wakeup()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self, timeout: float = 10.0) -> FakeTelegramServer:
        """Run the server on its own event loop in a daemon thread (for sync tests)."""
        ready, errors = threading.Event(), []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the starting thread
                errors.append(exc)
                return
            finally:
                ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or errors:
            raise RuntimeError("fake Telegram server did not start") from (errors or [None])[0]
        return self

    def stop_thread(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> FakeTelegramServer:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop_thread()

    def _fire_wakeup(self) -> None:  # on the server loop: wake every waiting getUpdates
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = asyncio.Event()

    # ------------------------------------------------------------------ switches
    def fail_next(self, method: str, times: int = 1, status: int = 502) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` (429: retry_after=1)."""
        with self._lock:
            self._failures[method.lower()] = [times, status]

    def refuse(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        min_bytes: int = 0,
        status: int = 400,
        description: str = "Bad Request: IMAGE_PROCESS_FAILED",
    ) -> None:
        """From now on answer ``method`` with ``status`` when it goes to ``chat_id`` (any chat
        if None) and uploads at least ``min_bytes``; ``clear_refusals`` ends it."""
        with self._lock:
            self._refusals.append((method.lower(), chat_id, min_bytes, status, description))

    def clear_refusals(self) -> None:
        """End every ``refuse``."""
        with self._lock:
            self._refusals.clear()

    def _refused(self, name: str, call: Call) -> None:
        size = sum(len(upload.data) for upload in call.files.values())
        for method, chat_id, min_bytes, status, description in self._refusals:
            if method == name and chat_id in (None, call.chat_id) and size >= min_bytes:
                raise ApiError(status, description)
        if name == "sendphoto" and size > PHOTO_MAX:
            raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
        if name == "senddocument" and size > DOCUMENT_MAX:
            raise ApiError(413, "Request Entity Too Large")

    def outage(self, seconds: float, drop_connections: bool = False) -> None:
        """For ``seconds``, answer every request with 502, or drop its connection unanswered."""
        with self._lock:
            self._outage_until = time.monotonic() + seconds
            self._outage_drop = drop_connections

    # ------------------------------------------------------------------ injection
    def add_user(self, user_id: int, first_name: str, username: str | None = None) -> Json:
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        named = {"username": username} if username else {}
        with self._lock:
            self.users[user_id] = user | named
            self.chats[user_id] = {"id": user_id, "type": "private", "first_name": first_name}
            self.chats[user_id].update(named)
            return dict(self.users[user_id])

    def add_group(self, chat_id: int, title: str = "Secretaries", kind: str = "group") -> Json:
        """Register a group chat (negative id) the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        with self._lock:
            self.chats[chat_id] = {"id": chat_id, "type": kind, "title": title}
            return dict(self.chats[chat_id])

    def add_bot_message(
        self, chat_id: int, text: str, reply_markup: Json | None = None, bot_id: int = 1
    ) -> int:
        """A message the bot sent before the test began (seed data, e.g. a claim card with
        buttons to press); returns its message_id."""
        content: Json = {"text": text}
        if reply_markup is not None:
            content["reply_markup"] = copy.deepcopy(reply_markup)
        with self._lock:
            return int(self._new_message(chat_id, self._bot_user(bot_id), content)["message_id"])

    def unconfirmed(self) -> list[int]:
        """The update_ids not yet confirmed by a ``getUpdates`` offset (delivered or not)."""
        with self._lock:
            return [p.update["update_id"] for p in self._pending]

    def send_text(
        self, user_id: int, text: str, chat_id: int | None = None, reply_to: int | None = None
    ) -> int:
        """The user writes ``text`` (in private, or in group ``chat_id``; ``reply_to``: as a
        reply to that message of the chat); returns the update_id."""
        content: Json = {"text": text}
        if text.startswith("/"):  # CommandHandler needs the bot_command entity
            length = len(text.split()[0].encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            with self._lock:
                replied = self._messages[(chat_id or user_id, reply_to)]
                content["reply_to_message"] = copy.deepcopy(replied)
        return self._user_message(user_id, chat_id, content)

    def send_photo(
        self,
        user_id: int,
        jpeg_bytes: bytes,
        caption: str | None = None,
        media_group_id: str | None = None,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """The user sends a photo (``reply_to``: as a reply to that message of the chat)."""
        photo = self._store(jpeg_bytes, "photos", "photo.jpg", "image/jpeg").photo_size()
        extra = {"caption": caption, "media_group_id": media_group_id}
        if reply_to is not None:
            with self._lock:
                replied = self._messages[(chat_id or user_id, reply_to)]
                extra["reply_to_message"] = copy.deepcopy(replied)
        return self._user_message(user_id, chat_id, {"photo": [photo]}, extra)

    def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> int:
        document = self._store(data, "documents", file_name, mime_type).document()
        return self._user_message(user_id, chat_id, {"document": document}, {"caption": caption})

    def send_raw_message(self, user_id: int, content: Json, chat_id: int | None = None) -> int:
        """The user sends a message of any other kind (``{"sticker": {...}}``, a location,
        a poll...) given as its Bot API fields; returns the update_id."""
        return self._user_message(user_id, chat_id, dict(content))

    def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        chat_id: int | None = None,
        strict: bool = True,
    ) -> int:
        """The user taps an inline button of a bot message; returns the update_id.
        With ``strict`` the message must currently show a button with this callback_data."""
        chat = chat_id or user_id
        with self._lock:
            self._ensure_user(user_id)
            message = self._messages.get((chat, message_id))
            if message is None or not message["from"]["is_bot"]:
                raise KeyError(f"no bot message {message_id} in chat {chat}")
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            buttons = [button.get("callback_data") for row in rows for button in row]
            if strict and callback_data not in buttons:
                raise ValueError(f"message {message_id} has no button {callback_data!r}: {buttons}")
            query_id = str(next(self._ids) * 7_919_993)
            self._callbacks[query_id] = False
            query = {"id": query_id, "from": self.users[user_id], "message": message}
            query |= {"chat_instance": str(abs(hash(chat))), "data": callback_data}
            return self.inject_raw({"callback_query": query})

    def inject_raw(self, update: Json) -> int:
        """Queue an update as given (an update_id is added if missing). An update injected again
        is delivered again, even if its id was confirmed already."""
        with self._lock:
            update = {"update_id": next(self._update_ids)} | copy.deepcopy(update)
            self._updates[update["update_id"]] = update
            self._pending.append(_Pending(update))
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._fire_wakeup)
            return update["update_id"]

    def update(self, update_id: int) -> Json:
        """A copy of an injected update (e.g. to ``inject_raw`` it a second time)."""
        with self._lock:
            return copy.deepcopy(self._updates[update_id])

    def message(self, chat_id: int, message_id: int) -> Json:
        """The current state of a message (after edits)."""
        with self._lock:
            return copy.deepcopy(self._messages[(chat_id, message_id)])

    def _ensure_user(self, user_id: int) -> None:
        if user_id not in self.users:
            self.add_user(user_id, f"User{user_id}")

    def _user_message(
        self, user_id: int, chat_id: int | None, content: Json, extra: Json | None = None
    ) -> int:
        content |= {k: v for k, v in (extra or {}).items() if v is not None}
        with self._lock:
            self._ensure_user(user_id)
            if chat_id is not None and chat_id not in self.chats:
                self.add_group(chat_id)
            message = self._new_message(chat_id or user_id, self.users[user_id], content)
            return self.inject_raw({"message": message})

    def _new_message(self, chat_id: int, sender: Json, content: Json) -> Json:
        message_id = next(self._message_ids[chat_id])
        message = {"message_id": message_id, "from": sender, "chat": self.chats[chat_id]}
        message |= {"date": int(time.time()), **content}
        self._messages[(chat_id, message_id)] = message
        return copy.deepcopy(message)

    def _store(self, data: bytes, folder: str, name: str | None, mime: str | None) -> StoredFile:
        """Keep a file; the same bytes always get the same file_unique_id, as on Telegram."""
        n, suffix = next(self._ids), f".{name.rsplit('.', 1)[-1]}" if name and "." in name else ""
        digest = hashlib.sha256(data).hexdigest()
        path = f"{folder}/file_{n}{suffix}"
        stored = StoredFile(f"BQACAgQAAx{n:06d}{digest[:24]}", f"AgAD{digest[:12]}", path, data)
        stored.file_name, stored.mime_type = name, mime
        with self._lock:
            self.files[stored.file_id] = stored
        return stored

    # ------------------------------------------------------------------ inspection
    def messages_to(self, chat_id: int) -> list[Call]:
        """Accepted sendMessage/sendPhoto/sendDocument calls to ``chat_id``."""
        with self._lock:
            return [
                c for c in self.sent if c.method.lower() in SEND_METHODS and c.chat_id == chat_id
            ]

    @property
    def edits(self) -> list[Call]:
        with self._lock:
            return [c for c in self.sent if c.method.lower().startswith("editmessage")]

    @property
    def answered_callbacks(self) -> list[Call]:
        with self._lock:
            return [c for c in self.sent if c.method.lower() == "answercallbackquery"]

    def wait_for(
        self, predicate: Callable[[Call], bool], timeout: float = 5.0, after: int = 0
    ) -> Call:
        """Block until an accepted call in ``sent[after:]`` matches, or raise TimeoutError.
        Not on the server's own loop: use ``wait_for_async`` there."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (found := next((c for c in self.sent[after:] if predicate(c)), None)) is None:
                if not self._changed.wait(deadline - time.monotonic()):
                    recent = [(c.method, c.chat_id, c.text) for c in self.sent[-5:]]
                    raise TimeoutError(f"no matching bot call in {timeout}s; last: {recent}")
            return found

    async def wait_for_async(
        self, predicate: Callable[[Call], bool], timeout: float = 5.0, after: int = 0
    ) -> Call:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = next((c for c in self.sent[after:] if predicate(c)), None)
            if found is not None:
                return found
            await asyncio.sleep(0.01)
        raise TimeoutError(f"no matching bot call in {timeout}s")

    # ------------------------------------------------------------------ HTTP
    def _in_outage(self, request: web.Request) -> bool:
        if time.monotonic() >= self._outage_until:
            return False
        if self._outage_drop and request.transport is not None:
            request.transport.abort()
        return True

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if self._in_outage(request):
            return ApiError(502, "Bad Gateway").response()
        with self._lock:
            failure = self._failures.get("download", [0, 0])
            if failure[0] > 0:
                failure[0] -= 1
                self.rejected.append(Call("download", {}, {}, time.monotonic(), failure[1]))
                return ApiError(failure[1], "Injected failure").response()
            found = [f for f in self.files.values() if f.file_path == request.match_info["path"]]
        if not found or not TOKEN_RE.fullmatch(request.match_info["token"]):
            return ApiError(404, "Not Found").response()
        return web.Response(body=found[0].data, content_type="application/octet-stream")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._in_outage(request):
            return ApiError(502, "Bad Gateway").response()
        token, method = request.match_info["token"], request.match_info["method"]
        name = method.lower()
        call = Call(method, dict(request.query), {}, time.monotonic())
        if request.content_type == "application/json" and request.can_read_body:
            call.params.update(await request.json())
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    call.files[key] = Upload(value.filename, value.content_type, value.file.read())
                elif key in TEXT_FIELDS:
                    call.params[key] = value
                else:
                    with contextlib.suppress(ValueError):  # chat_id="@channel" stays a string
                        value = json.loads(value)
                    call.params[key] = value
        try:
            with self._lock:
                failure = self._failures.get(name, [0, 0])
                if failure[0] > 0:
                    failure[0] -= 1
                    raise ApiError(failure[1], "Injected failure", 1 if failure[1] == 429 else None)
            if not TOKEN_RE.fullmatch(token):
                raise ApiError(401, "Unauthorized")
            if name == "getupdates" and self.webhook is not None:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
            if name == "getupdates":
                return web.json_response({"ok": True, "result": await self._get_updates(call)})
            handler = getattr(self, f"_api_{name}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            with self._lock:
                self._refused(name, call)
                if name in SEND_METHODS:
                    self._check_chat(call.chat_id)
                    self._rate_check(call.chat_id)
                call.result = handler(int(token.split(":")[0]), call)
                if name in SEND_METHODS:
                    self._rate_count(call.chat_id)
                self.sent.append(call)
                self._changed.notify_all()
            return web.json_response({"ok": True, "result": call.result})
        except ApiError as err:
            with self._lock:
                call.status, call.error = err.code, err.description
                self.rejected.append(call)
                self.rate_limited_count += 1 if err.code == 429 else 0
            return err.response()

    # ------------------------------------------------------------------ rate limits
    def _windows(self, chat_id: Any) -> list[tuple[deque[float], float, int]]:
        overall, private, group = self.limits
        windows = [(self._send_times[None], 1.0, overall)]
        if isinstance(chat_id, int):
            limit = (1.0, private) if chat_id > 0 else (60.0, group)
            windows.append((self._send_times[chat_id], *limit))
        return windows

    def _rate_check(self, chat_id: Any) -> None:
        now, wait = time.monotonic(), 0.0
        for times, window, limit in self._windows(chat_id) if self.rate_limits else []:
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= limit:
                wait = max(wait, times[-limit] + window - now)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)

    def _rate_count(self, chat_id: Any) -> None:
        for times, _, _ in self._windows(chat_id):
            times.append(time.monotonic())

    # ------------------------------------------------------------------ Bot API methods
    async def _get_updates(self, call: Call) -> list[Json]:
        params = call.params
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        if params.get("allowed_updates") is not None:
            self._allowed = set(params["allowed_updates"]) or None
        while True:
            wakeup = self._wakeup
            with self._lock:  # an offset confirms the delivered updates below it
                self._pending = [
                    p for p in self._pending if not (p.delivered and p.update["update_id"] < offset)
                ]
                ready = [p for p in self._pending if self._wanted(p.update)][:limit]
                if ready or self._closing or time.monotonic() >= deadline:
                    for pending in ready:
                        pending.delivered = True
                    return [copy.deepcopy(p.update) for p in ready]
            assert wakeup is not None
            self.long_polls_waiting += 1
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), deadline - time.monotonic())
            finally:
                self.long_polls_waiting -= 1

    def _wanted(self, update: Json) -> bool:  # allowed_updates filter
        return self._allowed is None or any(k in self._allowed for k in update)

    def _bot_user(self, bot_id: int) -> Json:
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_getme(self, bot_id: int, call: Call) -> Json:
        return self._bot_user(bot_id)

    def _api_deletewebhook(self, bot_id: int, call: Call) -> bool:
        if call.params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = None
        return True

    def _api_setwebhook(self, bot_id: int, call: Call) -> bool:
        if not str(call.params.get("url", "")).startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: an HTTPS URL must be provided")
        self.webhook = {"url": call.params["url"], "secret": call.params.get("secret_token")}
        if call.params.get("allowed_updates") is not None:
            self._allowed = set(call.params["allowed_updates"]) or None
        if self._loop is not None:
            self._loop.call_soon(self._fire_wakeup)
        return True

    async def _webhook_pump(self) -> None:
        """Post pending updates to the webhook targets while a webhook is set."""
        import aiohttp

        turn = itertools.count()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
            while not self._closing:
                wakeup = self._wakeup
                with self._lock:
                    hook, targets = self.webhook, list(self.webhook_targets)
                    ready = [p for p in self._pending if self._wanted(p.update)]
                if hook is None or not targets or not ready:
                    assert wakeup is not None
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wakeup.wait(), 0.5)
                    continue
                for pending in ready:
                    await self._post_update(client, hook, targets, pending, next(turn))

    async def _post_update(
        self, client: Any, hook: Json, targets: list[str], pending: _Pending, n: int
    ) -> None:
        """POST one update (twice to two targets every ``webhook_twice``-th time) until a
        target answers 200; then it is confirmed."""
        update = pending.update
        copies = 2 if self.webhook_twice and n % self.webhook_twice == self.webhook_twice - 1 else 1
        headers = {"X-Telegram-Bot-Api-Secret-Token": str(hook.get("secret") or "")}
        confirmed, attempt = 0, 0
        while confirmed < copies and not self._closing:
            target = targets[(n + attempt) % len(targets)]
            attempt += 1
            try:
                async with client.post(target, json=update, headers=headers) as response:
                    status = response.status
            except Exception:
                status = 0
            with self._lock:
                self.webhook_posts.append((update["update_id"], target, status))
            if status == 200:
                confirmed += 1
            else:
                await asyncio.sleep(self.webhook_retry)
        with self._lock:
            pending.delivered = True
            if pending in self._pending:
                self._pending.remove(pending)
            self._changed.notify_all()

    def _api_setmycommands(self, bot_id: int, call: Call) -> bool:
        return True

    @staticmethod
    def _inline_markup(call: Call) -> Json | None:
        markup = call.reply_markup
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None  # reply keyboards are not echoed back in Message.reply_markup
        for row in markup["inline_keyboard"]:
            if any(len(b.get("callback_data", "").encode()) > 64 for b in row):
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _check_chat(self, chat_id: Any) -> None:
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _bot_message(self, bot_id: int, call: Call, content: Json) -> Json:
        chat_id = call.chat_id
        assert isinstance(chat_id, int)
        if (markup := self._inline_markup(call)) is not None:
            content["reply_markup"] = markup
        if call.params.get("caption"):
            content["caption"] = call.params["caption"]
        reply_to = (call.params.get("reply_parameters") or {}).get("message_id")
        if (chat_id, reply_to) in self._messages:
            content["reply_to_message"] = copy.deepcopy(self._messages[(chat_id, reply_to)])
        return self._new_message(chat_id, self._bot_user(bot_id), content)

    def _upload(self, call: Call, field: str, folder: str) -> StoredFile:
        """The uploaded file part, or the stored file a file_id string names."""
        ref = call.params.get(field)
        if isinstance(ref, str) and ref.startswith("attach://"):
            field = ref.removeprefix("attach://")
        if field in call.files:
            upload = call.files[field]
            return self._store(upload.data, folder, upload.filename, upload.content_type)
        if ref is None:
            raise ApiError(400, f"Bad Request: there is no {field} in the request")
        if ref not in self.files:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return self.files[ref]

    def _api_sendmessage(self, bot_id: int, call: Call) -> Json:
        text = call.params.get("text") or ""
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._bot_message(bot_id, call, {"text": text})

    def _api_sendphoto(self, bot_id: int, call: Call) -> Json:
        photo = self._upload(call, "photo", "photos").photo_size()
        return self._bot_message(bot_id, call, {"photo": [photo]})

    def _api_senddocument(self, bot_id: int, call: Call) -> Json:
        document = self._upload(call, "document", "documents").document()
        return self._bot_message(bot_id, call, {"document": document})

    def _edit(self, call: Call, changes: Json) -> Json:
        message = self._messages.get((call.chat_id, call.message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message["from"]["is_bot"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        if "text" in changes and "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if all(message.get(key) == value for key, value in changes.items()):
            raise ApiError(400, NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _api_editmessagetext(self, bot_id: int, call: Call) -> Json:
        if not (call.params.get("text") or "").strip():
            raise ApiError(400, "Bad Request: message text is empty")
        return self._edit(call, {"text": call.text, "reply_markup": self._inline_markup(call)})

    def _api_editmessagereplymarkup(self, bot_id: int, call: Call) -> Json:
        return self._edit(call, {"reply_markup": self._inline_markup(call)})

    def _api_answercallbackquery(self, bot_id: int, call: Call) -> bool:
        query_id = call.params.get("callback_query_id", "")
        if self._callbacks.get(query_id, True):  # unknown or answered already
            raise ApiError(400, QUERY_TOO_OLD)
        self._callbacks[query_id] = True
        return True

    def _api_getfile(self, bot_id: int, call: Call) -> Json:
        stored = self.files.get(call.params.get("file_id", ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > GETFILE_MAX:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.meta(file_path=stored.file_path)
