"""The bot's conversations in the database, for several instances on one PostgreSQL.

Only one instance dispatches Telegram updates at a time (:mod:`cpd.bot.turns`); when another
takes over, it builds a fresh application whose ``initialize`` reads this persistence, so it
continues every conversation where it stood. What is kept is what
:mod:`cpd.bot.persistence`'s file keeps (conversation states, ``user_data``, ``chat_data``;
not ``bot_data`` nor callback data), pickled, one ``bot_state`` row per user, chat or
conversation key. Each change is written when PTB reports it: the inbox dispatcher calls
``update_persistence`` after every update, before it marks the update handled.
"""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Sequence

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from cpd.bot.context import BotData, ChatData, UserData
from cpd.claims.service import ClaimsService

USER, CHAT, CONVERSATION = "user", "chat", "conversation:"


def _key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


class DatabasePersistence(BasePersistence[UserData, ChatData, BotData]):
    """PTB persistence on the claims service's ``bot_state`` (read once, at ``initialize``)."""

    def __init__(self, service: ClaimsService) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, callback_data=False), update_interval=60
        )
        self.service = service
        self._stored: dict[str, dict[str, bytes]] | None = None

    async def _all(self) -> dict[str, dict[str, bytes]]:
        if self._stored is None:
            stored: dict[str, dict[str, bytes]] = {}
            for kind, key, value in await asyncio.to_thread(self.service.load_bot_state):
                stored.setdefault(kind, {})[key] = value
            self._stored = stored
        return self._stored

    async def _save(self, changes: Sequence[tuple[str, str, bytes | None]]) -> None:
        await asyncio.to_thread(self.service.save_bot_state, changes)

    async def get_user_data(self) -> dict[int, UserData]:
        """Every user's data."""
        return {int(k): pickle.loads(v) for k, v in (await self._all()).get(USER, {}).items()}

    async def get_chat_data(self) -> dict[int, ChatData]:
        """Every chat's data."""
        return {int(k): pickle.loads(v) for k, v in (await self._all()).get(CHAT, {}).items()}

    async def get_bot_data(self) -> BotData:
        """Not persisted (it holds the claims service)."""
        return BotData()

    async def get_callback_data(self) -> CDCData | None:
        """Not persisted (buttons carry plain strings)."""
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        """The states of the conversation handler ``name``."""
        stored = (await self._all()).get(CONVERSATION + name, {})
        return {tuple(json.loads(k)): pickle.loads(v) for k, v in stored.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Write one conversation's state (None: it ended)."""
        value = None if new_state is None else pickle.dumps(new_state)
        await self._save([(CONVERSATION + name, _key(key), value)])

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        """Write one user's data."""
        await self._save([(USER, str(user_id), pickle.dumps(data))])

    async def update_chat_data(self, chat_id: int, data: ChatData) -> None:
        """Write one chat's data."""
        await self._save([(CHAT, str(chat_id), pickle.dumps(data))])

    async def update_bot_data(self, data: BotData) -> None:
        """Not persisted."""

    async def update_callback_data(self, data: CDCData) -> None:
        """Not persisted."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Forget a chat's data."""
        await self._save([(CHAT, str(chat_id), None)])

    async def drop_user_data(self, user_id: int) -> None:
        """Forget a user's data."""
        await self._save([(USER, str(user_id), None)])

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        """Nothing: one instance dispatches at a time, its memory is current."""

    async def refresh_chat_data(self, chat_id: int, chat_data: ChatData) -> None:
        """Nothing (see :meth:`refresh_user_data`)."""

    async def refresh_bot_data(self, bot_data: BotData) -> None:
        """Nothing (not persisted)."""

    async def flush(self) -> None:
        """Nothing: every change was written when it was reported."""
