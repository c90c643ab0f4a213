"""Handler-level harness: the real bot ``Application`` (``build_application``) against the
fake Bot API, fed with ``process_update``.

Updates are made by the fake server (``send_text``, ``press_button``) exactly as Telegram
would deliver them, turned into ``telegram.Update`` with ``Update.de_json`` and given to the
application, then its persistence is written, as the inbox dispatcher does after each update.
The outbox is delivered on demand (:meth:`Bench.deliver`). No ``cpd run`` subprocess and no
polling: what a handler answered is in ``server.sent`` as soon as :meth:`Bench.feed` returns.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from telegram import Update
from telegram.ext import BasePersistence

from cpd.bot.application import build_application
from cpd.bot.config import BotConfig
from cpd.bot.context import BotApp
from cpd.bot.sender import deliver_one
from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.storage import make_engine, migrate
from tests.bot.conftest import MEMBERS, SECRETARY_CHAT, TOKEN, USERS
from tests.support.extractor import StubExtractor
from tests.support.telegram_api import Call, FakeTelegramServer


@dataclass
class Bench:
    """A migrated database with the members linked, the fake server, and the application."""

    server: FakeTelegramServer
    engine: Engine
    data_dir: Path
    service: ClaimsService
    app: BotApp | None = None
    apps: list[BotApp] = field(default_factory=list)
    persistence: Callable[[ClaimsService], BasePersistence[Any, Any, Any]] | None = None
    """Instead of the conversations file (e.g. the database's, for several instances)."""

    @property
    def conversations_file(self) -> Path:
        """Where the application's conversations persist."""
        return self.data_dir / "telegram-conversations.pickle"

    async def open(self) -> BotApp:
        """A new application on the same database and conversations file (initialized, as
        ``cpd run`` starts it; its job queue is not started)."""
        config = BotConfig(
            TOKEN,
            self.server.api_url,
            self.server.file_url,
            SECRETARY_CHAT,
            max_retries=0,
            conversations_file=self.conversations_file,
        )
        store = self.persistence(self.service) if self.persistence is not None else None
        app = build_application(self.service, config, store)
        await app.initialize()
        self.app = app
        self.apps.append(app)
        return app

    async def crash(self) -> None:
        """The application is gone without a clean stop (nothing written beyond what each
        update wrote); the next :meth:`open` starts from the conversations file."""
        self.app = None

    async def feed(self, update_id: int) -> list[Call]:
        """Handle the fake server's update ``update_id``; the calls the bot made meanwhile."""
        assert self.app is not None
        mark = len(self.server.sent)
        update = Update.de_json(self.server.update(update_id), self.app.bot)
        await self.app.process_update(update)
        await self.app.update_persistence()  # what the inbox dispatcher does after each update
        return self.server.sent[mark:]

    async def text(self, user: int, text: str, chat_id: int | None = None) -> list[Call]:
        """``user`` sends ``text`` (in ``chat_id``, else their private chat)."""
        return await self.feed(self.server.send_text(user, text, chat_id=chat_id))

    async def press(
        self, user: int, card: Call, label: str, chat_id: int | None = None
    ) -> list[Call]:
        """``user`` taps the button labelled ``label`` on the message ``card``."""
        assert card.message_id is not None
        data = button(card, label)
        return await self.feed(
            self.server.press_button(user, card.message_id, data, chat_id=chat_id)
        )

    async def deliver(self) -> list[Call]:
        """Deliver what is due in the outbox; the calls made."""
        assert self.app is not None
        mark = len(self.server.sent)
        while batch := self.service.due_notifications("telegram", 100):
            for notification in batch:
                await deliver_one(self.app.bot, self.service, notification)
        return self.server.sent[mark:]

    async def close(self) -> None:
        """Shut every application opened down (without writing their persistence again)."""
        for app in self.apps:
            app.persistence = None  # a crashed one must not write at its shutdown
            await app.shutdown()
        self.apps.clear()


def button(card: Call, label: str) -> str:
    """The callback data of the button labelled ``label`` on a sent message."""
    for row in (card.reply_markup or {}).get("inline_keyboard", []):
        for key in row:
            if label in key["text"]:
                return str(key["callback_data"])
    raise AssertionError(f"no button {label!r} on {card.text!r}: {card.reply_markup}")


def labels(card: Call) -> list[str]:
    """The labels of a message's buttons, in order."""
    rows = (card.reply_markup or {}).get("inline_keyboard", [])
    return [str(key["text"]) for row in rows for key in row]


def said(calls: list[Call], chat_id: int, words: str) -> Call:
    """The message among ``calls`` sent (or edited) to ``chat_id`` containing ``words``."""
    for call in calls:
        if call.chat_id == chat_id and words in (call.text or ""):
            return call
    texts = [(c.method, c.chat_id, c.text) for c in calls]
    raise AssertionError(f"nothing with {words!r} to {chat_id} in {texts}")


def make_bench(
    tmp_path: Path,
    members: str = MEMBERS,
    users: dict[str, int] | None = None,
    url: str | None = None,
) -> Iterator[Bench]:
    """A bench whose members (``members`` CSV) are all linked to their Telegram users
    (``users``: membership number -> Telegram user id; those of ``tests/bot/conftest.py``),
    on SQLite under ``tmp_path`` or on the database ``url``."""
    users = USERS if users is None else users
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url or f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    migrate(engine)
    import_members(engine, parse_members_csv(members, "iims"))
    service = ClaimsService(
        engine,
        StubExtractor(),
        data_dir / "evidence",
        zoneinfo.ZoneInfo("Europe/London"),
        SECRETARY_CHAT,
    )
    server = FakeTelegramServer(rate_limits=False)
    server.start_in_thread()
    server.add_group(SECRETARY_CHAT, "CPD secretaries")
    for line in members.strip().splitlines()[1:]:
        number = line.split(",", 1)[0]
        user = users[number]
        server.add_user(user, number)
        token = create_invite(engine, number, dt.timedelta(days=1))[0]
        service.link_telegram(token, user)
    try:
        yield Bench(server, engine, data_dir, service)
    finally:
        server.stop_thread()
        engine.dispose()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    """The bench with the members of ``tests/bot/conftest.py``."""
    yield from make_bench(tmp_path)
